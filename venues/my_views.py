"""A resident's own bookings: confirmation, QR and door code, cancellation, offers, calendar,
and the consent that lets a community helper act for them."""
from __future__ import annotations

import segno
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select

from app import clock
from app.accounts.models import HelperConsent, Role, User
from app.accounts.services import find_by_login
from app.auth import require_role
from app.db import utcnow
from app.errors import DomainError
from app.extensions import db
from app.forms import add_error
from bookings.models import BookingStatus, WaitlistEntry
from app.acting import acting_for, current_holder, start_acting, stop_acting
from venues.calendar import calendar_for, feed_token, user_for_token
from venues.forms import ConfirmForm, ConsentForm
from venues.services import booking as service

bp = Blueprint("my_bookings", __name__, url_prefix="/bookings")
feed_bp = Blueprint("calendar_feed", __name__)


def _own_booking_or_404(reference: str):
    booking = service.booking_for(db.session, reference)
    if booking is None or not service.can_act_for(db.session, current_user, booking.holder):
        abort(404)
    return booking


@bp.route("")
@login_required
def index():
    holder = current_holder()
    bookings = service.my_bookings(db.session, holder)
    now = clock.now()
    upcoming = [b for b in bookings if b.ends_at > now and b.holds_capacity]
    past = [b for b in bookings if b not in upcoming]
    waiting = [(e, service.waitlist_position(db.session, e)) for e in service.my_waitlist(db.session, holder)]
    spaces = service.spaces_by_resource(db.session, {b.resource_id for b in bookings})
    return render_template("bookings/index.html", upcoming=list(reversed(upcoming)), past=past,
                           waiting=waiting, spaces=spaces, holder=holder, form=None,
                           status_label=service.status_label, cancel_form=ConfirmForm())


def qr_svg(code: str) -> Markup:
    """The door code as an inline SVG QR code (segno); the code is printed beside it too."""
    svg = segno.make_qr(code, error="m").svg_inline(scale=6, border=2, dark="#000", light="#fff",
                                                    omitsize=False)
    return Markup(svg)


@bp.route("/<reference>")
@login_required
def show(reference: str):
    booking = _own_booking_or_404(reference)
    space = service.space_for_resource(db.session, booking.resource_id)
    cutoff = booking.starts_at - clock.timedelta_minutes(space.venue.cancel_cutoff_minutes)
    return render_template("bookings/show.html", booking=booking, space=space, venue=space.venue,
                           new=request.args.get("new") == "1", qr=qr_svg(booking.door_code),
                           status_label=service.status_label, cutoff=cutoff, now=clock.now(),
                           form=ConfirmForm(), BookingStatus=BookingStatus)


@bp.route("/<reference>/cancel", methods=["GET", "POST"])
@login_required
def cancel(reference: str):
    booking = _own_booking_or_404(reference)
    space = service.space_for_resource(db.session, booking.resource_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            service.cancel(db.session, booking, current_user)
        except DomainError as error:
            db.session.rollback()
            add_error(form, error)
        else:
            flash(_("Booking %(ref)s is cancelled. Thank you for letting someone else go.",
                    ref=reference), "success")
            return redirect(url_for("my_bookings.index"))
    return render_template("bookings/cancel.html", form=form, booking=booking, space=space,
                           venue=space.venue)


@bp.route("/<reference>/accept", methods=["POST"])
@login_required
def accept(reference: str):
    booking = _own_booking_or_404(reference)
    if ConfirmForm().validate_on_submit():
        try:
            service.accept_offer(db.session, booking, current_user)
            flash(_("The places are yours. Booking %(ref)s is confirmed.", ref=reference), "success")
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "error")
    return redirect(url_for("my_bookings.show", reference=reference))


@bp.route("/<reference>/decline", methods=["POST"])
@login_required
def decline(reference: str):
    booking = _own_booking_or_404(reference)
    if ConfirmForm().validate_on_submit():
        service.decline_offer(db.session, booking, current_user)
        flash(_("You turned the offer down; the places go to the next person."), "success")
    return redirect(url_for("my_bookings.index"))


@bp.route("/<reference>.ics")
@login_required
def ics(reference: str):
    booking = _own_booking_or_404(reference)
    body = calendar_for(db.session, [booking], booking.reference)
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="{reference}.ics"'})


@bp.route("/<reference>/qr.svg")
@login_required
def qr(reference: str):
    booking = _own_booking_or_404(reference)
    return Response(str(qr_svg(booking.door_code)), mimetype="image/svg+xml")


@bp.route("/waitlist/<int:entry_id>/leave", methods=["POST"])
@login_required
def leave_waitlist(entry_id: int):
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None or not service.can_act_for(db.session, current_user,
                                                db.session.get(User, entry.user_id)):
        abort(404)
    if ConfirmForm().validate_on_submit():
        service.leave_waitlist(db.session, entry)
        flash(_("You have left the waitlist."), "success")
    return redirect(url_for("my_bookings.index"))


@bp.route("/calendar", methods=["GET", "POST"])
@login_required
def calendar():
    form = ConfirmForm()
    renew = form.validate_on_submit()
    token = feed_token(db.session, current_user.id, renew=renew)
    if renew:
        flash(_("You have a new calendar address. The old one no longer works."), "success")
        return redirect(url_for("my_bookings.calendar"))
    return render_template("bookings/calendar.html", form=form,
                           feed_url=url_for("calendar_feed.feed", token=token, _external=True))


@feed_bp.route("/calendar/<token>.ics")
def feed(token: str):
    """A calendar app's subscription: no sign-in, the secret token is the key."""
    user_id = user_for_token(db.session, token)
    if user_id is None:
        abort(404)
    user = db.session.get(User, user_id)
    return Response(calendar_for(db.session, service.my_bookings(db.session, user), "全闵预约"),
                    mimetype="text/calendar", headers={"Cache-Control": "private, max-age=300"})


# --- 帮办代办: consent and acting for a resident --------------------------------------------

@bp.route("/helpers", methods=["GET", "POST"])
@login_required
def helpers():
    """The resident's consents: who may book and cancel for them."""
    form = ConsentForm()
    if form.validate_on_submit():
        helper = find_by_login(db.session, form.helper.data)
        if helper is None or not helper.has_role(Role.COMMUNITY_HELPER):
            form.helper.errors.append(_("There is no community helper with that username or number"))
        else:
            consent = db.session.scalar(select(HelperConsent).where(
                HelperConsent.resident_id == current_user.id, HelperConsent.helper_id == helper.id))
            if consent is None:
                db.session.add(HelperConsent(resident_id=current_user.id, helper_id=helper.id))
            else:
                consent.revoked_at, consent.granted_at = None, utcnow()
            db.session.commit()
            flash(_("%(name)s can now book and cancel for you.", name=helper.name), "success")
            return redirect(url_for("my_bookings.helpers"))
    consents = db.session.scalars(select(HelperConsent).where(
        HelperConsent.resident_id == current_user.id, HelperConsent.revoked_at.is_(None))).all()
    from app.audit.models import AuditEntry
    actions = db.session.scalars(select(AuditEntry).where(
        AuditEntry.on_behalf_of_id == current_user.id).order_by(AuditEntry.created_at.desc()).limit(50)).all()
    return render_template("bookings/helpers.html", form=form, consents=consents, actions=actions,
                           revoke_form=ConfirmForm())


@bp.route("/helpers/<int:consent_id>/revoke", methods=["POST"])
@login_required
def revoke(consent_id: int):
    consent = db.session.get(HelperConsent, consent_id)
    if consent is None or consent.resident_id != current_user.id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        consent.revoked_at = utcnow()
        db.session.commit()
        flash(_("%(name)s can no longer act for you.", name=consent.helper.name), "success")
    return redirect(url_for("my_bookings.helpers"))


@bp.route("/helping", methods=["GET", "POST"])
@require_role(Role.COMMUNITY_HELPER)
def helping():
    """The helper's residents; choose one to act for, or stop."""
    form = ConfirmForm()
    if form.validate_on_submit():
        resident_id = request.form.get("resident_id", type=int)
        resident = db.session.get(User, resident_id) if resident_id else None
        if resident is None:
            stop_acting()
            flash(_("You are no longer acting for anyone."), "success")
        elif service.can_act_for(db.session, current_user, resident):
            start_acting(resident)
            flash(_("You are now acting for %(name)s.", name=resident.name), "success")
            return redirect(url_for("venues.index"))
        else:
            abort(403)
        return redirect(url_for("my_bookings.helping"))
    consents = db.session.scalars(select(HelperConsent).where(
        HelperConsent.helper_id == current_user.id, HelperConsent.revoked_at.is_(None))).all()
    return render_template("bookings/helping.html", form=form, consents=consents,
                           acting=acting_for())
