"""Booking a venue: the rules a venue sets, general and personalised bookings, cancellation,
approval, the waitlist and its offers. Built on the capacity engine in `bookings.services`.

Each public operation is one unit of work (`app.db.unit_of_work`): committed when it returns,
rolled back when it refuses, part of the caller's unit when one is open (a closure cancelling
many bookings). The decisions pages, API and templates share are named predicates here
(`can_cancel`, `can_answer_offer`), never re-coded elsewhere."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import clock
from app.accounts.consents import can_act_for
from app.accounts.models import HelpService, User
from app.audit.services import record
from app.db import unit_of_work
from app.errors import Conflict, DomainError, Forbidden, NotFound, addressed
from app.i18n import N_
from app.notifications.params import localized
from app.notifications.services import notify
from bookings import noshows
from bookings import services as engine
from bookings.models import (
    Booking,
    BookingStatus,
    WaitlistEntry,
    WaitlistStatus,
)
from venues.models import BookingMode, Space, Venue
from venues.services import placing
from venues.services.catalogue import space_for_resource
from venues.services.rules import (
    CancellationCost,
    VenueSettings,
    late_to_cancel,
    tell_suspended,
)
from venues.services.waitlist import offer_freed_places


def booking_for(session, reference: str) -> Booking | None:
    booking = session.scalar(select(Booking).where(Booking.reference == reference))
    if booking is None or booking.resource.kind != "venue":
        return None
    return booking


def _consent(actor: User, holder: User):
    """The consent check `placing.place` makes after checking what was asked for (a helper
    with no consent is refused the same way, whatever they asked for)."""

    def check(session) -> None:
        if not can_act_for(session, actor, holder, HelpService.VENUES):
            raise Forbidden(_l("You can only book for residents who have given you consent."))

    return check


def book_general(
    session,
    actor: User,
    holder: User,
    bucket_id: int,
    party_size: int,
    idempotency_key: str | None = None,
    *,
    settings: VenueSettings,
) -> Booking:
    """Book `party_size` places in one slot of a general space for `holder` (by the holder, or a
    helper with consent), in one unit of work (`placing`). Committed; SoldOut or DomainError
    otherwise. The booking returned is loaded: reading it sends no query."""
    ask = placing.Ask(
        slot_id=bucket_id,
        party_size=party_size,
        idempotency_key=idempotency_key,
        mode=BookingMode.GENERAL,
    )
    booked = placing.book(
        session, actor.id, holder.id, ask, settings, consent=_consent(actor, holder)
    )
    return engine.as_booking(session, booked.booking)


def book_personalised(
    session,
    actor: User,
    holder: User,
    space_id: int,
    starts_at: datetime,
    steps: int,
    idempotency_key: str | None = None,
    *,
    settings: VenueSettings,
) -> Booking:
    """Book the whole space for `steps` consecutive steps from `starts_at`, in one unit of work
    (`placing`). Pending approval when the space requires it, else confirmed. Committed; the
    booking returned is loaded."""
    ask = placing.Ask(
        space_id=space_id,
        starts_at=starts_at,
        steps=steps,
        idempotency_key=idempotency_key,
        mode=BookingMode.PERSONALISED,
    )
    booked = placing.book(
        session, actor.id, holder.id, ask, settings, consent=_consent(actor, holder)
    )
    return engine.as_booking(session, booked.booking)


def cancel_refusal(
    session, booking: Booking, actor: User, *, by_staff: bool = False
) -> DomainError | None:
    """Why `actor` may not cancel `booking` now, or None when they may. The rule: the booking is
    in a status the cancel transition starts from (`TRANSITIONS`: waiting for approval, offered
    or confirmed); staff may cancel it at any time; the holder (or their helper) until it
    starts: free until the venue's cut-off, after it at a cost (`cancellation_cost`: it counts
    as a no-show), which the person must have been told (`cancel(accept_cost=True)`). An offer
    is never late: it may be turned down for as long as it is open, since its places only come
    free."""
    if booking.status not in engine.TRANSITIONS["cancel"][1]:
        return Conflict(
            _l("This booking cannot be cancelled now (it is %(status)s)."),
            code="not_cancellable",
            status=status_label(booking.status),
        )
    if by_staff:
        return None
    if not can_act_for(session, actor, booking.holder, HelpService.VENUES):
        return NotFound(_l("No such booking."))
    if booking.status != BookingStatus.OFFERED and booking.starts_at <= clock.now():
        venue = space_for_resource(session, booking.resource_id).venue
        return Conflict(
            _l(
                "This booking has already started, so it can no longer be cancelled online. "
                "Call the venue on %(phone)s."
            ),
            code="started",
            phone=venue.phone,
        )
    return None


def can_cancel(session, booking: Booking, actor: User) -> bool:
    """May `actor` (the holder or their helper) cancel `booking` now, free or at a cost?
    (`cancel_refusal`; `cancellation_cost` says what it costs)"""
    return cancel_refusal(session, booking, actor) is None


def cancel_cutoff(booking: Booking, venue: Venue) -> datetime:
    """Until when the holder may cancel a booking online free of charge."""
    return booking.starts_at - timedelta(minutes=venue.cancel_cutoff_minutes)


def cancellation_cost(
    session, booking: Booking, settings: VenueSettings
) -> CancellationCost | None:
    """What cancelling `booking` now by its holder (or their helper) costs, or None when it is
    free: a confirmed booking cancelled after the venue's cut-off counts as a no-show toward
    the suspension rule (`NoShowPolicy`, late cancellations counted). The same answer the
    pages show before the person confirms and `cancel` applies."""
    if booking.status != BookingStatus.CONFIRMED:
        return None  # an offer or a request waiting for approval holds nothing yet
    venue = space_for_resource(session, booking.resource_id).venue
    if not late_to_cancel(venue, booking.starts_at):
        return None
    policy = settings.no_shows
    return CancellationCost(
        count=noshows.recent_no_shows(session, booking.holder_id, policy) + 1,
        limit=policy.limit,
        window_days=policy.window_days,
        suspension_days=policy.suspension_days,
    )


def cancel(
    session,
    booking: Booking,
    actor: User,
    *,
    by_staff: bool = False,
    reason: str | None = None,
    accept_cost: bool = False,
    settings: VenueSettings | None = None,
) -> None:
    """Cancel and give the places back, offering them to the waitlist in the same unit of work
    (`cancel_refusal` says who may, and when). A cancellation that costs something
    (`cancellation_cost`) is made only with `accept_cost`, meaning the person was shown the
    cost and confirmed (and `settings`, the no-show policy it counts under): otherwise it is
    refused (`past_cutoff`), changing nothing. It is recorded as late (status_reason `LATE`),
    counted as a no-show, and suspends the person when it reaches the limit, in the same unit.
    A booking that moved since it was read (checked in at the door, cancelled elsewhere) is
    refused, changing nothing."""
    with unit_of_work(session):
        refusal = cancel_refusal(session, booking, actor, by_staff=by_staff)
        if refusal is not None:
            raise refusal
        venue = space_for_resource(session, booking.resource_id).venue
        costs = (
            not by_staff
            and booking.status == BookingStatus.CONFIRMED
            and late_to_cancel(venue, booking.starts_at)
        )  # as `cancellation_cost` decides
        if costs and not accept_cost:
            refusal = Conflict(
                _l(
                    "The free cancellation time (%(n)d minutes before the start) has passed: "
                    "cancelling now counts as a no-show. Confirm that you still want to cancel."
                ),
                theirs=_l(
                    "The free cancellation time (%(n)d minutes before the start) has passed: "
                    "cancelling now counts as a no-show for this resident. Confirm that you "
                    "still want to cancel."
                ),
                code="past_cutoff",
                n=venue.cancel_cutoff_minutes,
            )
            raise addressed(refusal, actor, booking.holder_id)
        if costs and settings is None:
            raise ValueError("a late cancellation counts under the venue settings' policy")
        if not _cancel(
            session,
            booking,
            actor,
            by_staff=by_staff,
            reason=reason,
            status_reason=noshows.LATE if costs else None,
        ):
            raise Conflict(
                _l("This booking cannot be cancelled now (it is %(status)s)."),
                code="not_cancellable",
                status=status_label(booking.status),
            )
        if costs:
            suspension = noshows.suspend_if_repeated(session, booking.holder_id, settings.no_shows)
            if suspension is not None:
                tell_suspended(session, booking.holder_id, *suspension, settings.no_shows)


def _cancel(
    session,
    booking: Booking,
    actor: User,
    *,
    by_staff: bool,
    reason: str | None,
    offer_on: bool = True,
    status_reason: str | None = None,
) -> bool:
    """The cancellation inside the caller's unit: the guarded transition, the end of its
    waitlist offer, the holder's message, the audit entry when someone else cancelled, and the
    freed places offered on (unless `offer_on` is false: places of a day the venue closes are
    nobody's to take). False, changing nothing, if the booking has moved meanwhile."""
    if not engine.transition(session, booking, "cancel", reason=status_reason or reason):
        return False
    offered = session.scalar(
        select(WaitlistEntry).where(
            WaitlistEntry.booking_id == booking.id,
            WaitlistEntry.status == WaitlistStatus.OFFERED,
        )
    )
    if offered is not None:  # an offer cancelled (a closure, say) is an offer ended
        offered.status = WaitlistStatus.CANCELLED
    venue = space_for_resource(session, booking.resource_id).venue
    notify(
        session,
        booking.holder_id,
        kind="venue.cancelled",
        subject=N_("Booking %(ref)s at %(venue)s is cancelled"),
        body=N_("Reason: %(reason)s") if reason else "",
        params={
            "ref": booking.reference,
            "venue": localized(venue.name_zh, venue.name_en),
            "reason": reason or "",
        },
        link=f"/bookings/{booking.reference}",
    )
    if actor.id != booking.holder_id or by_staff:
        record(
            session,
            actor,
            "booking.cancel",
            booking,
            on_behalf_of=booking.holder_id,
            reference=booking.reference,
            reason=reason,
        )
    if offer_on:
        offer_freed_places(session, booking)
    return True


def cancel_for_closure(session, booking: Booking, staff: User, reason: str) -> bool:
    """Cancel one booking of a day the venue closes, inside the closure's unit of work. False
    if it moved meanwhile (checked in at the door): it is left as it is. The places it frees
    are not offered to the slot's waitlist: the slot is closed (its waiting people are told
    when `materialise` removes it)."""
    return _cancel(session, booking, staff, by_staff=True, reason=reason, offer_on=False)


def shows_door_code(booking: Booking) -> bool:
    """Is the booking's door code (and its QR) shown to the person, on the page, in the API and
    in messages? Only once it holds the places for sure (confirmed): a request waiting for
    approval or an offer not yet accepted would not be let in, so it shows no code."""
    return booking.status == BookingStatus.CONFIRMED


def status_label(status: BookingStatus):
    return STATUS_LABELS[status]


STATUS_LABELS = {
    BookingStatus.PENDING: _l("waiting for approval"),
    BookingStatus.OFFERED: _l("offered to you from the waitlist"),
    BookingStatus.CONFIRMED: _l("confirmed"),
    BookingStatus.CHECKED_IN: _l("checked in"),
    BookingStatus.CANCELLED: _l("cancelled"),
    BookingStatus.REJECTED: _l("not approved"),
    BookingStatus.NO_SHOW: _l("missed (no-show)"),
    BookingStatus.EXPIRED: _l("offer expired"),
}


def decide(session, booking: Booking, staff: User, approve: bool, reason: str = "") -> None:
    """Approve or reject a pending booking (staff), in one unit of work with the holder's
    message and the audit entry. A rejection needs a reason and releases the places, which go
    to the waitlist. Refused if someone else decided first."""
    if booking.status != BookingStatus.PENDING:
        raise Conflict(_l("Only bookings waiting for approval can be approved or rejected."))
    if not approve and not reason.strip():
        raise DomainError(_l("Give the resident a reason for the rejection."), field="reason")
    venue = space_for_resource(session, booking.resource_id).venue
    with unit_of_work(session):
        if not engine.transition(
            session,
            booking,
            "approve" if approve else "reject",
            reason=None if approve else reason.strip(),
        ):
            raise Conflict(_l("Someone else has already decided on this booking."))
        notify(
            session,
            booking.holder_id,
            kind="venue.decision",
            subject=N_("Booking %(ref)s at %(venue)s is approved")
            if approve
            else N_("Booking %(ref)s at %(venue)s was not approved"),
            # The door code comes with the approval (none is shown while pending).
            body=N_("Show code %(code)s at the door.") if approve else N_("Reason: %(reason)s"),
            params={
                "ref": booking.reference,
                "venue": localized(venue.name_zh, venue.name_en),
                "reason": reason.strip(),
                "code": booking.door_code,
            },
            link=f"/bookings/{booking.reference}",
        )
        record(
            session,
            staff,
            "booking.approve" if approve else "booking.reject",
            booking,
            reason=reason.strip() or None,
        )
        if not approve:
            offer_freed_places(session, booking)


def my_bookings(session, user: User) -> list[Booking]:
    return list(
        session.scalars(
            select(Booking)
            .join(Space, Space.resource_id == Booking.resource_id)
            .where(Booking.holder_id == user.id)
            .order_by(Booking.starts_at.desc())
            .limit(200)
        )
    )
