"""Residents: find a venue, see its availability, book a slot or a span."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from accessibility import current_display_mode
from app import clock
from app.accounts.models import DisplayMode, HelpService
from app.acting import current_holder
from app.errors import DomainError
from app.extensions import db
from app.forms import WEEKDAY_LABELS, add_error, member_or_none
from app.pagecache import cached_page
from app.paging import page_size, paginate
from app.places import districts
from app.places.models import Town
from app.templating import content_key, render_fragment
from bookings.models import CapacityBucket
from bookings.services import SoldOut
from venues import current_settings, finding
from venues.forms import (
    ConfirmForm,
    PartySizeForm,
    SearchForm,
    SpanForm,
    party_choices,
)
from venues.models import BookingMode, Space, VenueType
from venues.services import booking as booking_service
from venues.services import catalogue, changes, rules, waitlist

bp = Blueprint("venues", __name__, url_prefix="/venues")


@bp.route("")
@cached_page
def index():
    form = SearchForm(request.args)
    # The chosen district's venues and towns (issue 15: app/places/districts.py).
    district = districts.current()
    towns = select(Town).where(Town.archived_at.is_(None)).order_by(Town.id)
    if district.id is not None:
        towns = towns.where(Town.district_id == district.id)
    form.town.choices = [SelectChoice("", _("Any town"))] + [
        SelectChoice(str(t.id), t.name) for t in db.session.scalars(towns)
    ]
    results = []
    today, elderly = clock.today(), current_display_mode() == DisplayMode.ELDERLY
    # (validate() runs first: a date the search cannot answer is explained, not an empty list)
    if not request.args or (form.validate() & finding.explain_day(form.day, today)):
        results = catalogue.search_with_free_places(
            db.session,
            catalogue.Filters(
                q=form.q.data or "",
                type=member_or_none(VenueType, form.type.data),
                town_id=form.town.data,
                day=form.day.data,
                time_of_day=form.time_of_day.data or None,
                min_free=form.places.data or 0,
                facilities=tuple(form.facilities.data or ()),
                district_id=district.id,
            ),
        )
    # The page is the same for everyone who asks the same in the same language while the
    # towns, venues and free places stay as they are: rendered once for all of them (its form
    # alone was 2.3 ms of WTForms widgets).
    content = render_fragment(
        "venues/search_content.html",
        (
            tuple(request.args.items(multi=True)),
            tuple((c.value, c.label) for c in form.town.choices),
            content_key([(venue, venue.town, free) for venue, free in results]),
            elderly,
            today,
            district,
            districts.several(),  # whether the chooser's line shows
        ),
        search_form=form,
        results=results,
        elderly=elderly,
        page=paginate(
            results, request.args.get("page"), page_size(elderly), request.path, request.args
        ),
        days=finding.day_choices(request.args, request.path, today, form.day.data),
    )
    return render_template("venues/index.html", form=form, content_html=content)


def _venue_or_404(venue_id: int):
    venue = catalogue.get_venue(db.session, venue_id)
    if venue is None:
        abort(404)
    return venue


def _space_or_404(venue, space_id: int) -> Space:
    space = next((s for s in venue.spaces if s.id == space_id and s.active), None)
    if space is None:
        abort(404)
    return space


def _parse_day(value: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        abort(404)
    if not clock.plausible(day):
        abort(404)
    return day


@bp.route("/<int:venue_id>")
@cached_page
def show(venue_id: int):
    page = catalogue.venue_page(db.session, venue_id)
    if page is None:
        abort(404)
    # It starts with "when can I go": the next free times, each a tap from booking them; the
    # table marks the days whose booking has not opened yet.
    now = clock.now()
    times = finding.next_free_times(db.session, page.venue, now)
    opening = finding.not_yet_open(page.spaces[0][1], now) if page.spaces else {}
    # What the page shows is the same for everyone while the venue, its spaces, hours,
    # closures, photos, free places and times stay as they are: rendered once for all of them.
    content = render_fragment(
        "venues/venue_content.html",
        content_key(
            (page.venue, page.spaces, page.hours, page.closures, page.photos, times, opening)
        ),
        next_times=times,
        opening=opening,
        venue=page.venue,
        spaces=page.spaces,
        weekdays=WEEKDAY_LABELS,
        hours=page.hours,
        closures=page.closures,
        photos=page.photos,
    )
    return render_template("venues/show.html", venue=page.venue, content_html=content)


@bp.route("/<int:venue_id>/spaces/<int:space_id>/<day>")
def day(venue_id: int, space_id: int, day: str):
    venue = _venue_or_404(venue_id)
    space = _space_or_404(venue, space_id)
    the_day = _parse_day(day)
    slots = catalogue.day_slots(db.session, space, the_day)
    return render_template(
        "venues/day.html",
        venue=venue,
        space=space,
        day=the_day,
        slots=slots,
        now=clock.now(),
        opens=catalogue.booking_opens_at(venue, the_day),
        closure=catalogue.closed_on(venue, the_day),
    )


def _slot_or_404(bucket_id: int):
    bucket = db.session.get(CapacityBucket, bucket_id)
    space = catalogue.space_for_resource(db.session, bucket.resource_id) if bucket else None
    if space is None or not space.active or not space.venue.active:
        abort(404)
    return bucket, space


@bp.route("/slots/<int:bucket_id>/book", methods=["GET", "POST"])
@login_required
def party(bucket_id: int):
    bucket, space = _slot_or_404(bucket_id)
    if space.mode != BookingMode.GENERAL:
        abort(404)
    form = PartySizeForm(party_size=request.args.get("party_size"))
    form.party_size.choices = party_choices(space.max_party_size)
    holder = current_holder(HelpService.VENUES)
    if holder.id != current_user.id:  # a helper answers for the resident, not for themselves
        form.party_size.label.text = _(
            "How many people are coming, including %(name)s?", name=holder.name
        )
    if form.validate_on_submit():
        return redirect(
            url_for("venues.check", bucket_id=bucket.id, party_size=form.party_size.data)
        )
    return render_template(
        "venues/party.html",
        form=form,
        bucket=bucket,
        space=space,
        venue=space.venue,
        holder=holder,
        **_slot_facts(holder, space, bucket.starts_at, bucket.ends_at),
    )


def _slot_facts(holder, space: Space, starts_at, ends_at) -> dict:
    """What the booking pages say before the person commits (the services' rules): the live
    booking the holder already has of this time (`already_booked`: no second one; its party
    size can be changed instead) and whether cancelling would already count as a no-show
    (`late_to_cancel`)."""
    held = rules.already_booked(db.session, holder.id, space.resource_id, starts_at, ends_at)
    return {
        "held": held,
        "held_changeable": held is not None
        and changes.can_change_party(db.session, held, current_user),
        "late": rules.late_to_cancel(space.venue, starts_at),
        "acting": holder.id != current_user.id,
    }


@bp.route("/slots/<int:bucket_id>/check")
@login_required
def check(bucket_id: int):
    bucket, space = _slot_or_404(bucket_id)
    party_size = request.args.get("party_size", type=int)
    if (
        space.mode != BookingMode.GENERAL
        or not party_size
        or not 1 <= party_size <= space.max_party_size
    ):
        return redirect(url_for("venues.party", bucket_id=bucket_id))
    form = ConfirmForm(idempotency_key=uuid.uuid4().hex)
    holder = current_holder(HelpService.VENUES)
    return render_template(
        "venues/check.html",
        form=form,
        bucket=bucket,
        space=space,
        venue=space.venue,
        party_size=party_size,
        holder=holder,
        starts_at=bucket.starts_at,
        ends_at=bucket.ends_at,
        action=url_for("venues.confirm", bucket_id=bucket.id, party_size=party_size),
        **_slot_facts(holder, space, bucket.starts_at, bucket.ends_at),
    )


@bp.route("/slots/<int:bucket_id>/confirm", methods=["POST"])
@login_required
def confirm(bucket_id: int):
    bucket, space = _slot_or_404(bucket_id)
    party_size = request.args.get("party_size", type=int) or 0
    form = ConfirmForm()
    holder = current_holder(HelpService.VENUES)
    if form.validate_on_submit():
        try:
            booking = booking_service.book_general(
                db.session,
                current_user,
                holder,
                bucket.id,
                party_size,
                idempotency_key=form.idempotency_key.data,
                settings=current_settings(),
            )
        except DomainError as error:  # the service's unit of work has rolled back
            add_error(form, error)
            bucket, space = _slot_or_404(bucket_id)
            return render_template(
                "venues/check.html",
                form=form,
                bucket=bucket,
                space=space,
                venue=space.venue,
                party_size=party_size,
                holder=holder,
                starts_at=bucket.starts_at,
                ends_at=bucket.ends_at,
                sold_out=isinstance(error, SoldOut),
                action=url_for("venues.confirm", bucket_id=bucket.id, party_size=party_size),
                **_slot_facts(holder, space, bucket.starts_at, bucket.ends_at),
            ), 409 if isinstance(error, SoldOut | rules.AlreadyBooked) else 400
        return redirect(url_for("my_bookings.show", reference=booking.reference, new=1))
    return redirect(url_for("venues.check", bucket_id=bucket_id, party_size=party_size))


@bp.route("/slots/<int:bucket_id>/waitlist", methods=["POST"])
@login_required
def join_waitlist(bucket_id: int):
    bucket, space = _slot_or_404(bucket_id)
    form = ConfirmForm()
    party_size = request.form.get("party_size", type=int) or 1
    if form.validate_on_submit():
        try:
            entry = waitlist.join_waitlist(
                db.session,
                current_user,
                current_holder(HelpService.VENUES),
                bucket.id,
                party_size,
                settings=current_settings(),
            )
        except DomainError as error:
            flash(str(error), "error")
            return redirect(
                url_for(
                    "venues.day",
                    venue_id=space.venue_id,
                    space_id=space.id,
                    day=clock.local(bucket.starts_at).date().isoformat(),
                )
            )
        position = waitlist.waitlist_position(db.session, entry)
        holder = current_holder(HelpService.VENUES)
        flash(
            _(
                "%(name)s is number %(n)d on the waitlist. If places free up, we will let "
                "them know: the offer is always in their inbox, and also comes by text message "
                "or e-mail if they chose them.",
                name=holder.name,
                n=position,
            )
            if holder.id != current_user.id  # a helper is told of the resident's place
            else _(
                "You are number %(n)d on the waitlist. If places free up, we will let you "
                "know: the offer is always in your inbox, and also comes by text message or "
                "e-mail if you chose them.",
                n=position,
            ),
            "success",
        )
    return redirect(url_for("my_bookings.index"))


# --- Personalised: the whole space for a chosen span ----------------------------------------


def _span_choices(space: Space, the_day: date):
    now = clock.now()
    free = [
        b
        for b in catalogue.day_slots(db.session, space, the_day)
        if b.remaining >= 1 and b.starts_at > now
    ]
    # A start whose free cancellation time has passed says so in its label (`late_to_cancel`).
    starts = [
        SelectChoice(
            b.starts_at.isoformat(),
            _(
                "%(time)s (cancelling now counts as a no-show)",
                time=f"{clock.local(b.starts_at):%H:%M}",
            )
            if rules.late_to_cancel(space.venue, b.starts_at)
            else clock.local(b.starts_at).strftime("%H:%M"),
        )
        for b in free
    ]
    steps = [
        SelectChoice(str(n), _("%(n)d minutes", n=n * space.slot_minutes))
        for n in range(1, space.max_steps + 1)
    ]
    return starts, steps


@bp.route("/<int:venue_id>/spaces/<int:space_id>/<day>/book", methods=["GET", "POST"])
@login_required
def span(venue_id: int, space_id: int, day: str):
    venue = _venue_or_404(venue_id)
    space = _space_or_404(venue, space_id)
    if space.mode != BookingMode.PERSONALISED:
        abort(404)
    the_day = _parse_day(day)
    form = SpanForm(start=request.args.get("start"), steps=request.args.get("steps"))
    form.start.choices, form.steps.choices = _span_choices(space, the_day)
    if form.validate_on_submit():
        return redirect(
            url_for(
                "venues.span_check", space_id=space.id, start=form.start.data, steps=form.steps.data
            )
        )
    return render_template(
        "venues/span.html",
        form=form,
        venue=venue,
        space=space,
        day=the_day,
        holder=current_holder(HelpService.VENUES),
    )


def _span_args(space: Space):
    try:
        start = datetime.fromisoformat(request.args.get("start", ""))
        steps = int(request.args.get("steps", ""))
    except ValueError:
        return None, None
    if (
        start.tzinfo is None
        or not 1 <= steps <= space.max_steps
        or not clock.plausible(start.date())
    ):
        return None, None  # (a start next to the year 9999 overflowed: tests/test_fuzz.py)
    return start, steps


@bp.route("/spaces/<int:space_id>/check")
@login_required
def span_check(space_id: int):
    space = db.session.get(Space, space_id)
    if space is None or not space.active or space.mode != BookingMode.PERSONALISED:
        abort(404)
    start, steps = _span_args(space)
    if start is None:
        abort(404)
    form = ConfirmForm(idempotency_key=uuid.uuid4().hex)
    holder = current_holder(HelpService.VENUES)
    ends_at = start + timedelta(minutes=steps * space.slot_minutes)
    return render_template(
        "venues/check.html",
        form=form,
        space=space,
        venue=space.venue,
        holder=holder,
        starts_at=start,
        ends_at=ends_at,
        party_size=None,
        steps=steps,
        action=url_for(
            "venues.span_confirm", space_id=space.id, start=start.isoformat(), steps=steps
        ),
        **_slot_facts(holder, space, start, ends_at),
    )


@bp.route("/spaces/<int:space_id>/confirm", methods=["POST"])
@login_required
def span_confirm(space_id: int):
    space = db.session.get(Space, space_id)
    if space is None:
        abort(404)
    start, steps = _span_args(space)
    if start is None:
        abort(404)
    form = ConfirmForm()
    holder = current_holder(HelpService.VENUES)
    if form.validate_on_submit():
        try:
            booking = booking_service.book_personalised(
                db.session,
                current_user,
                holder,
                space.id,
                start,
                steps,
                idempotency_key=form.idempotency_key.data,
                settings=current_settings(),
            )
        except DomainError as error:  # the service's unit of work has rolled back
            add_error(form, error)
            space = db.session.get(Space, space_id)
            return render_template(
                "venues/check.html",
                form=form,
                space=space,
                venue=space.venue,
                holder=holder,
                starts_at=start,
                ends_at=start + timedelta(minutes=steps * space.slot_minutes),
                party_size=None,
                steps=steps,
                action=url_for(
                    "venues.span_confirm", space_id=space.id, start=start.isoformat(), steps=steps
                ),
                **_slot_facts(
                    holder, space, start, start + timedelta(minutes=steps * space.slot_minutes)
                ),
            ), 409
        return redirect(url_for("my_bookings.show", reference=booking.reference, new=1))
    return redirect(
        url_for("venues.span_check", space_id=space.id, start=start.isoformat(), steps=steps)
    )
