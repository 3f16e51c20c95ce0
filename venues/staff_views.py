"""Venue staff and administrators: the door, the day's bookings, crowd levels, administration."""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app import clock
from app.accounts.models import Role
from app.accounts.services import mask_phone
from app.audit.services import record_access
from app.auth import authorize, require_role
from app.csvexport import csv_response
from app.errors import DomainError
from app.extensions import db
from app.forms import WEEKDAY_LABELS, add_error, submit_to_service
from app.places.districts import overseen_district_ids
from app.places.models import Town
from app.registry import Link
from bookings.models import BookingStatus
from venues.forms import (
    ClosureForm,
    ConfirmForm,
    DoorForm,
    HoursForm,
    ReasonForm,
    SpaceForm,
    VenueForm,
)
from venues.models import Closure, Venue
from venues.services import admin, catalogue, door
from venues.services import booking as booking_service

bp = Blueprint("venue_staff", __name__, url_prefix="/staff/venues")
media_bp = Blueprint("venue_media", __name__)

STAFF_ROLES = (Role.VENUE_STAFF, Role.VENUE_ADMIN, Role.ADMINISTRATOR)
ADMIN_ROLES = (Role.VENUE_ADMIN, Role.ADMINISTRATOR)


def _venue_for(venue_id: int, *roles) -> Venue:
    venue = db.session.get(Venue, venue_id)
    if venue is None:
        abort(404)
    authorize(current_user, *roles, obj=venue)
    return venue


def _venue_booking(venue_id: int, reference: str):
    """The venue (its staff only) and the booking named, which must be one of its own: any
    other is a 404, as if it did not exist."""
    venue = _venue_for(venue_id, *STAFF_ROLES)
    booking = booking_service.booking_for(db.session, reference)
    space = catalogue.space_for_resource(db.session, booking.resource_id) if booking else None
    if space is None or space.venue_id != venue.id:
        abort(404)
    return venue, booking


@bp.route("/<int:venue_id>/door", methods=["GET", "POST"])
@login_required
def door_page(venue_id: int):
    venue = _venue_for(venue_id, *STAFF_ROLES)
    form = DoorForm()
    outcome = None
    if form.validate_on_submit():
        outcome = door.check_in(db.session, venue, form.code.data, current_user)
        form = DoorForm(formdata=None)
    return render_template(
        "venues/staff/door.html",
        venue=venue,
        form=form,
        outcome=outcome,
        messages=door.DOOR_MESSAGES,
        status_label=booking_service.status_label,
        crowd=door.crowd_levels(db.session, [venue])[0],
    )


def _day_arg() -> date:
    try:
        day = date.fromisoformat(request.args.get("date", ""))
    except ValueError:
        return clock.today()
    return day if clock.plausible(day) else clock.today()


@bp.route("/<int:venue_id>/bookings")
@login_required
def day(venue_id: int):
    venue = _venue_for(venue_id, *STAFF_ROLES)
    the_day = _day_arg()
    bookings = door.day_bookings(db.session, venue, the_day)
    spaces = {s.resource_id: s for s in venue.spaces}
    return render_template(
        "venues/staff/day.html",
        venue=venue,
        day=the_day,
        bookings=bookings,
        spaces=spaces,
        status_label=booking_service.status_label,
        form=ReasonForm(),
        BookingStatus=BookingStatus,
    )


@bp.route("/<int:venue_id>/bookings.csv")
@login_required
def export(venue_id: int):
    venue = _venue_for(venue_id, *STAFF_ROLES)
    the_day = _day_arg()
    record_access(
        db.session, current_user, "venues.bookings_exported", venue, day=the_day.isoformat()
    )
    spaces = {s.resource_id: s for s in venue.spaces}
    rows = (
        [
            b.reference,
            spaces[b.resource_id].name_zh,
            clock.local(b.starts_at).isoformat(),
            clock.local(b.ends_at).isoformat(),
            b.quantity,
            b.status.value,
            b.holder.name,
            mask_phone(b.holder.phone),
            b.booked_by.name if b.booked_by_id and b.booked_by_id != b.holder_id else "",
            clock.local(b.checked_in_at).isoformat() if b.checked_in_at else "",
        ]
        for b in door.day_bookings(db.session, venue, the_day)
    )
    return csv_response(
        [
            "reference",
            "space",
            "starts_at",
            "ends_at",
            "people",
            "status",
            "name",
            "phone",
            "booked_by",
            "checked_in_at",
        ],
        rows,
        f"venue-{venue.id}-{the_day.isoformat()}.csv",
    )


@bp.route("/<int:venue_id>/bookings/<reference>/decide", methods=["POST"])
@login_required
def decide(venue_id: int, reference: str):
    venue, booking = _venue_booking(venue_id, reference)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            booking_service.decide(
                db.session,
                booking,
                current_user,
                approve=request.form.get("decision") == "approve",
                reason=form.reason.data or "",
            )
            flash(_("Decision saved; the resident has been told."), "success")
        except DomainError as error:
            flash(str(error), "error")
    return redirect(
        url_for(
            "venue_staff.day",
            venue_id=venue.id,
            date=clock.local(booking.starts_at).date().isoformat(),
        )
    )


def _approval_forms(bookings, failed=None) -> dict:
    """booking id -> its decision form (ids prefixed by the booking, so each reason box is its
    own); a refused decision keeps what was typed and its error."""
    forms = {b.id: ReasonForm(prefix=f"b{b.id}", formdata=None) for b in bookings}
    if failed is not None:
        forms[failed[0]] = failed[1]
    return forms


@bp.route("/<int:venue_id>/approvals")
@login_required
def approvals(venue_id: int, failed=None):
    """The venue's bookings waiting for approval, soonest first, each approved or declined
    here (declining needs a reason for the resident)."""
    venue = _venue_for(venue_id, *STAFF_ROLES)
    waiting = admin.waiting_for_approval(db.session, venue)
    forms = _approval_forms(waiting, failed)
    return render_template(
        "venues/staff/approvals.html",
        venue=venue,
        bookings=waiting,
        forms=forms,
        spaces={s.resource_id: s for s in venue.spaces},
        # After a refused decision, the page title and error summary name it.
        form=failed[1] if failed is not None else None,
    )


@bp.route("/<int:venue_id>/approvals/<reference>", methods=["POST"])
@login_required
def approval_decision(venue_id: int, reference: str):
    venue, booking = _venue_booking(venue_id, reference)
    form = ReasonForm(prefix=f"b{booking.id}")
    approve = request.form.get("decision") == "approve"
    if form.validate_on_submit():
        try:
            booking_service.decide(
                db.session, booking, current_user, approve=approve, reason=form.reason.data or ""
            )
        except DomainError as error:
            add_error(form, error)
        else:
            flash(
                _("Booking %(ref)s approved; the resident has been told.", ref=booking.reference)
                if approve
                else _(
                    "Booking %(ref)s declined; the resident has been told why.",
                    ref=booking.reference,
                ),
                "success",
            )
            return redirect(url_for("venue_staff.approvals", venue_id=venue.id))
    return approvals(venue.id, failed=(booking.id, form))


def workspace_links(user, assignment) -> list:
    """The venue staff's tasks on the home page; the approval queue, with how many bookings
    wait, for a venue with spaces that need approval."""
    venue_id = assignment.scope_id
    links = [
        Link(_("Door check-in"), url_for("venue_staff.door_page", venue_id=venue_id)),
        Link(_("Bookings today"), url_for("venue_staff.day", venue_id=venue_id)),
        Link(_("Crowd level"), url_for("venue_staff.crowd", venue_id=venue_id)),
    ]
    if venue_id is not None and admin.approval_venue_ids(db.session, [venue_id]):
        waiting = admin.waiting_counts(db.session, [venue_id]).get(venue_id, 0)
        links.insert(
            0,
            Link(
                ngettext(
                    "Bookings waiting for approval: %(num)d",
                    "Bookings waiting for approval: %(num)d",
                    waiting,
                ),
                url_for("venue_staff.approvals", venue_id=venue_id),
            ),
        )
    return links


@bp.route("/<int:venue_id>/crowd")
@login_required
def crowd(venue_id: int):
    venue = _venue_for(venue_id, *STAFF_ROLES)
    return render_template(
        "venues/staff/crowd.html", levels=door.crowd_levels(db.session, [venue]), single=True
    )


@bp.route("/crowd")
@require_role(Role.VENUE_ADMIN, Role.DISTRICT_SUPERVISOR, Role.ADMINISTRATOR)
def overview():
    query = select(Venue).where(Venue.active.is_(True)).order_by(Venue.town_id, Venue.name_zh)
    # A district supervisor or district administrator sees their district's venues (issue 15).
    shown = None if current_user.has_role(Role.VENUE_ADMIN) else overseen_district_ids(current_user)
    if shown is not None:
        query = query.join(Town, Town.id == Venue.town_id).where(Town.district_id.in_(shown))
    venues = list(db.session.scalars(query))
    levels = sorted(door.crowd_levels(db.session, venues), key=lambda c: -c.percent_now)
    return render_template("venues/staff/crowd.html", levels=levels, single=False)


# --- Administration -------------------------------------------------------------------------


@bp.route("/admin")
@require_role(*ADMIN_ROLES)
def admin_list():
    venues = [
        v
        for v in db.session.scalars(select(Venue).order_by(Venue.town_id, Venue.name_zh))
        if any(current_user.has_role(role, v) for role in ADMIN_ROLES)
    ]
    can_create = current_user.has_role(Role.ADMINISTRATOR) or any(
        a.role == Role.VENUE_ADMIN and a.scope_id is None for a in current_user.roles
    )
    return render_template("venues/staff/admin_list.html", venues=venues, can_create=can_create)


def _town_choices(venue=None):
    """The live towns, named with their district (issue 15: several districts), and the venue's
    own town even if it was archived since."""
    own = venue.town_id if venue is not None else None
    towns = select(Town).where((Town.archived_at.is_(None)) | (Town.id == own)).order_by(Town.id)
    return [
        SelectChoice(str(t.id), f"{t.district.name} · {t.name}") for t in db.session.scalars(towns)
    ]


@bp.route("/admin/new", methods=["GET", "POST"])
@bp.route("/<int:venue_id>/edit", methods=["GET", "POST"])
@login_required
def edit(venue_id: int | None = None):
    if venue_id is None:
        if not (
            current_user.has_role(Role.ADMINISTRATOR)
            or any(a.role == Role.VENUE_ADMIN and a.scope_id is None for a in current_user.roles)
        ):
            abort(403)
        venue = None
    else:
        venue = _venue_for(venue_id, *ADMIN_ROLES)
    form = VenueForm(obj=venue)
    form.town_id.choices = _town_choices(venue)
    if request.method == "GET" and venue is not None:
        form.opens_at.data = clock.hhmm(venue.opens_at_minutes)
        form.type.data = venue.type.value
    elif request.method == "GET":
        form.opens_at.data = "08:00"
        for name, value in (
            ("opens_days_ahead", 7),
            ("max_per_day", 2),
            ("max_per_week", 5),
            ("cancel_cutoff_minutes", 120),
            ("checkin_grace_minutes", 30),
            ("crowd_warning_percent", 80),
            ("waitlist_offer_minutes", 60),
        ):
            getattr(form, name).data = value
    done = submit_to_service(
        form,
        lambda: admin.save_venue(db.session, current_user, venue, form.data),
        success=_("Venue saved."),
        then=lambda saved: url_for("venue_staff.manage", venue_id=saved.id),
    )
    return done or render_template("venues/staff/edit.html", form=form, venue=venue)


@bp.route("/<int:venue_id>/manage")
@login_required
def manage(venue_id: int):
    venue = _venue_for(venue_id, *ADMIN_ROLES)
    return render_template(
        "venues/staff/manage.html",
        venue=venue,
        weekdays=WEEKDAY_LABELS,
        hhmm=clock.hhmm,
        form=ConfirmForm(),
        pending=door.pending_count(db.session, venue),
    )


@bp.route("/<int:venue_id>/spaces/new", methods=["GET", "POST"])
@bp.route("/<int:venue_id>/spaces/<int:space_id>", methods=["GET", "POST"])
@login_required
def space(venue_id: int, space_id: int | None = None):
    venue = _venue_for(venue_id, *ADMIN_ROLES)
    space_obj = None
    if space_id is not None:
        space_obj = next((s for s in venue.spaces if s.id == space_id), None)
        if space_obj is None:
            abort(404)
    form = SpaceForm(obj=space_obj)
    if request.method == "GET" and space_obj is not None:
        form.mode.data = space_obj.mode.value
    elif request.method == "GET":
        form.capacity.data, form.max_party_size.data, form.max_steps.data = 50, 4, 2
        form.slot_minutes.data = 60
    done = submit_to_service(
        form,
        lambda: admin.save_space(db.session, current_user, venue, space_obj, form.data),
        success=_("Space saved; slots for the next 14 days are updated."),
        then=url_for("venue_staff.manage", venue_id=venue.id),
    )
    return done or render_template(
        "venues/staff/space.html", form=form, venue=venue, space=space_obj
    )


@bp.route("/<int:venue_id>/hours", methods=["GET", "POST"])
@login_required
def hours(venue_id: int):
    venue = _venue_for(venue_id, *ADMIN_ROLES)
    form = HoursForm()
    if request.method == "GET":
        for h in venue.hours:
            getattr(form, f"opens_{h.weekday}").data = clock.hhmm(h.opens)
            getattr(form, f"closes_{h.weekday}").data = clock.hhmm(h.closes)
    done = submit_to_service(
        form,
        lambda: admin.save_hours(
            db.session,
            current_user,
            venue,
            {
                d: (getattr(form, f"opens_{d}").data, getattr(form, f"closes_{d}").data)
                for d in range(7)
            },
        ),
        success=_("Opening hours saved; slots for the next 14 days are updated."),
        then=url_for("venue_staff.manage", venue_id=venue.id),
    )
    return done or render_template(
        "venues/staff/hours.html", form=form, venue=venue, weekdays=WEEKDAY_LABELS
    )


@bp.route("/<int:venue_id>/closures", methods=["GET", "POST"])
@login_required
def closure(venue_id: int):
    venue = _venue_for(venue_id, *ADMIN_ROLES)
    form = ClosureForm()
    done = submit_to_service(
        form,
        lambda: admin.add_closure(
            db.session,
            current_user,
            venue,
            form.starts_on.data,
            form.ends_on.data,
            form.reason.data,
        ),
        success=lambda result: ngettext(
            "Closure saved. %(num)d booking was cancelled and the resident told why.",
            "Closure saved. %(num)d bookings were cancelled and the residents told why.",
            result[1],
        ),
        then=url_for("venue_staff.manage", venue_id=venue.id),
    )
    return done or render_template("venues/staff/closure.html", form=form, venue=venue)


@bp.route("/<int:venue_id>/closures/<int:closure_id>/delete", methods=["POST"])
@login_required
def delete_closure(venue_id: int, closure_id: int):
    venue = _venue_for(venue_id, *ADMIN_ROLES)
    item = db.session.get(Closure, closure_id)
    if item is None or item.venue_id != venue.id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        admin.remove_closure(db.session, current_user, item)
        flash(_("Closure removed; the days are open for booking again."), "success")
    return redirect(url_for("venue_staff.manage", venue_id=venue.id))


@media_bp.route("/media/venues/<filename>")
def media(filename: str):
    """Venue photos are public; the filename is random and re-encoded on upload."""
    return send_from_directory(
        current_app.config["UPLOAD_DIR"] + "/venues", filename, max_age=86400
    )


# The photo pages are routes of this blueprint, in their own module.
from venues import photo_views  # noqa: E402, F401
