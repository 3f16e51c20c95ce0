"""Booking a venue: the rules a venue sets, general and personalised bookings, cancellation,
approval, the waitlist and its offers. Built on the capacity engine in `bookings.services`."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from flask import current_app
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app import clock
from app.accounts.models import HelpService, User
from app.accounts.services import can_act_for
from app.audit.services import record
from app.db import write_transaction
from app.errors import Conflict, DomainError, Forbidden, NotFound
from app.i18n import N_
from app.notifications.services import notify
from bookings import services as engine
from bookings.models import (
    HOLDING,
    Booking,
    BookingStatus,
    CapacityBucket,
    WaitlistEntry,
    WaitlistStatus,
)
from venues.models import BookingMode, Space, Venue
from venues.services.catalogue import booking_opens_at

SUSPENSION_KIND = "venue"


def space_for_resource(session, resource_id: int) -> Space:
    return session.scalar(select(Space).where(Space.resource_id == resource_id))


def spaces_by_resource(session, resource_ids) -> dict[int, Space]:
    """The spaces behind many bookings, in one query."""
    if not resource_ids:
        return {}
    return {
        s.resource_id: s
        for s in session.scalars(select(Space).where(Space.resource_id.in_(list(resource_ids))))
    }


def booking_for(session, reference: str) -> Booking | None:
    booking = session.scalar(select(Booking).where(Booking.reference == reference))
    if booking is None or booking.resource.kind != "venue":
        return None
    return booking


# The person's current venue suspension, if any.
active_suspension = partial(engine.active_suspension, kind=SUSPENSION_KIND)


def _count_bookings(
    session,
    holder_id: int,
    venue: Venue,
    start: datetime,
    end: datetime,
    excluding: int | None = None,
) -> int:
    query = (
        select(func.count(Booking.id))
        .join(Space, Space.resource_id == Booking.resource_id)
        .where(
            Booking.holder_id == holder_id,
            Space.venue_id == venue.id,
            Booking.status.in_(HOLDING),
            Booking.starts_at >= start,
            Booking.starts_at < end,
        )
    )
    if excluding is not None:
        query = query.where(Booking.id != excluding)
    return session.scalar(query) or 0


def ineligibility(
    session, venue: Venue, holder_id: int, starts_at: datetime, *, excluding: int | None = None
) -> DomainError | None:
    """The one rule of who may hold places at `venue` on the day of `starts_at`, however they
    come to them (booking, joining the waitlist, being offered places, accepting an offer): not
    suspended from venue booking, and under the venue's per-day and per-week limits. Returns the
    refusal (its `code` is "suspended", "daily_limit" or "weekly_limit"), or None when eligible.
    `excluding` leaves one booking out of the counts (the offer being accepted)."""
    suspension = active_suspension(session, holder_id)
    if suspension is not None:
        return Forbidden(
            _l(
                "You cannot book until %(until)s because you did not come to 3 bookings within 30 days. Call %(hotline)s if this is wrong."
            ),
            code="suspended",
            until=format_datetime(suspension.until, "short"),
            hotline=current_app.config["PORTAL_HOTLINE"],
        )
    day = clock.local(starts_at).date()
    day_start, day_end = clock.day_bounds(day)
    if (
        _count_bookings(session, holder_id, venue, day_start, day_end, excluding)
        >= venue.max_per_day
    ):
        return Conflict(
            _l("You already have %(n)d bookings at this venue that day, the most it allows."),
            code="daily_limit",
            n=venue.max_per_day,
        )
    week_start = day_start - timedelta(days=day.weekday())
    if (
        _count_bookings(
            session, holder_id, venue, week_start, week_start + timedelta(days=7), excluding
        )
        >= venue.max_per_week
    ):
        return Conflict(
            _l("You already have %(n)d bookings at this venue that week, the most it allows."),
            code="weekly_limit",
            n=venue.max_per_week,
        )
    return None


def check_rules(session, venue: Venue, holder_id: int, starts_at: datetime) -> None:
    """Refuse with a clear message anything the venue's rules do not allow. Runs inside the
    booking transaction (after the holder's row is locked)."""
    now = clock.now()
    if starts_at <= now:
        raise DomainError(
            _l("That time has already started. Choose a later time."), code="too_late"
        )
    day = clock.local(starts_at).date()
    opens = booking_opens_at(venue, day)
    if now < opens:
        raise DomainError(
            _l("Booking for this day opens at %(when)s."),
            code="not_open_yet",
            when=format_datetime(opens, "short"),
        )
    problem = ineligibility(session, venue, holder_id, starts_at)
    if problem is not None:
        raise problem


def _announce(space: Space, actor: User, holder: User):
    """What a new booking adds in its own transaction: the holder's inbox message and, when a
    helper booked, an audit entry."""
    return lambda session, booking: _after_booking(session, booking, space, actor, holder)


def _after_booking(session, booking: Booking, space: Space, actor: User, holder: User) -> None:
    venue = space.venue
    pending = booking.status == BookingStatus.PENDING
    notify(
        session,
        holder.id,
        kind="venue.booking",
        subject=N_("Booking %(ref)s at %(venue)s is waiting for approval")
        if pending
        else N_("Booking %(ref)s at %(venue)s is confirmed"),
        body=N_("%(when)s, %(space)s, %(places)s place(s). Show code %(code)s at the door."),
        params={
            "ref": booking.reference,
            "venue": venue.name_zh,
            "space": space.name_zh,
            "when": format_datetime(booking.starts_at, "short"),
            "places": booking.quantity,
            "code": booking.door_code,
        },
        link=f"/bookings/{booking.reference}",
    )
    if actor.id != holder.id:
        record(
            session,
            actor,
            "booking.create",
            booking,
            on_behalf_of=holder,
            reference=booking.reference,
        )


def book_general(
    session,
    actor: User,
    holder: User,
    bucket_id: int,
    party_size: int,
    idempotency_key: str | None = None,
) -> Booking:
    """Book `party_size` places in one slot of a general space for `holder` (by the holder, or a
    helper with consent). Committed; SoldOut or DomainError otherwise."""
    bucket = session.get(CapacityBucket, bucket_id)
    space = space_for_resource(session, bucket.resource_id) if bucket else None
    if space is None or not space.active or not space.venue.active:
        raise NotFound(_l("That time slot does not exist."), code="not_found")
    if space.mode != BookingMode.GENERAL:
        raise DomainError(_l("This space is booked as a whole; choose a time span instead."))
    if not 1 <= party_size <= space.max_party_size:
        raise DomainError(
            _l("Choose between 1 and %(n)d people."),
            field="party_size",
            code="party_size",
            n=space.max_party_size,
        )
    if not can_act_for(session, actor, holder, HelpService.VENUES):
        raise Forbidden(_l("You can only book for residents who have given you consent."))
    venue = space.venue
    request = engine.Reservation(
        resource_id=space.resource_id,
        starts_at=bucket.starts_at,
        ends_at=bucket.ends_at,
        quantity=party_size,
        holder_id=holder.id,
        idempotency_key=idempotency_key,
        booked_by_id=actor.id,
    )
    return engine.reserve(
        session,
        request,
        check=lambda s, r: check_rules(s, venue, r.holder_id, r.starts_at),
        on_created=_announce(space, actor, holder),
    )


def book_personalised(
    session,
    actor: User,
    holder: User,
    space_id: int,
    starts_at: datetime,
    steps: int,
    idempotency_key: str | None = None,
) -> Booking:
    """Book the whole space for `steps` consecutive steps from `starts_at`. Pending approval
    when the space requires it, else confirmed. Committed."""
    space = session.get(Space, space_id)
    if space is None or not space.active or not space.venue.active:
        raise NotFound(_l("That space does not exist."), code="not_found")
    if space.mode != BookingMode.PERSONALISED:
        raise DomainError(_l("This space is booked by the place; choose a time slot instead."))
    if not 1 <= steps <= space.max_steps:
        raise DomainError(
            _l("Choose a length of up to %(n)d minutes."),
            field="steps",
            code="span_length",
            n=space.max_steps * space.slot_minutes,
        )
    if not can_act_for(session, actor, holder, HelpService.VENUES):
        raise Forbidden(_l("You can only book for residents who have given you consent."))
    venue = space.venue
    request = engine.Reservation(
        resource_id=space.resource_id,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=space.slot_minutes * steps),
        quantity=1,
        holder_id=holder.id,
        idempotency_key=idempotency_key,
        booked_by_id=actor.id,
        status=BookingStatus.PENDING if space.requires_approval else BookingStatus.CONFIRMED,
    )
    try:
        return engine.reserve(
            session,
            request,
            check=lambda s, r: check_rules(s, venue, r.holder_id, r.starts_at),
            on_created=_announce(space, actor, holder),
        )
    except engine.SoldOut:
        raise engine.SoldOut(
            _l("Someone has already booked part of that time. Choose another time.")
        ) from None


def cancel(
    session, booking: Booking, actor: User, *, by_staff: bool = False, reason: str | None = None
) -> None:
    """Cancel and give the places back, offering them to the waitlist in the same transaction.
    Residents (and their helpers) may cancel until the venue's cut-off; staff at any time."""
    space = space_for_resource(session, booking.resource_id)
    venue = space.venue
    if booking.status not in engine.TRANSITIONS["cancel"][1]:
        raise Conflict(
            _l("This booking cannot be cancelled now (it is %(status)s)."),
            code="not_cancellable",
            status=status_label(booking.status),
        )
    if not by_staff:
        if not can_act_for(session, actor, booking.holder, HelpService.VENUES):
            raise NotFound(_l("No such booking."))
        cutoff = booking.starts_at - timedelta(minutes=venue.cancel_cutoff_minutes)
        if clock.now() > cutoff:
            raise Conflict(
                _l(
                    "Bookings here can be cancelled up to %(n)d minutes before the start. Call the venue on %(phone)s."
                ),
                code="past_cutoff",
                n=venue.cancel_cutoff_minutes,
                phone=venue.phone,
            )
    write_transaction(session)
    try:
        if not engine.transition(session, booking, "cancel", reason=reason):
            # Moved since it was read: checked in at the door, or cancelled elsewhere.
            raise Conflict(
                _l("This booking cannot be cancelled now (it is %(status)s)."),
                code="not_cancellable",
                status=status_label(booking.status),
            )
        offered = session.scalar(
            select(WaitlistEntry).where(
                WaitlistEntry.booking_id == booking.id,
                WaitlistEntry.status == WaitlistStatus.OFFERED,
            )
        )
        if offered is not None:  # an offer cancelled (a closure, say) is an offer ended
            offered.status = WaitlistStatus.CANCELLED
        notify(
            session,
            booking.holder_id,
            kind="venue.cancelled",
            subject=N_("Booking %(ref)s at %(venue)s is cancelled"),
            body=N_("Reason: %(reason)s") if reason else "",
            params={"ref": booking.reference, "venue": venue.name_zh, "reason": reason or ""},
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
        offer_freed_places(session, booking)
        session.commit()
    except Exception:
        session.rollback()
        raise


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
    """Approve or reject a pending booking (staff). A rejection needs a reason and releases."""
    if booking.status != BookingStatus.PENDING:
        raise Conflict(_l("Only bookings waiting for approval can be approved or rejected."))
    if not approve and not reason.strip():
        raise DomainError(_l("Give the resident a reason for the rejection."), field="reason")
    venue = space_for_resource(session, booking.resource_id).venue
    write_transaction(session)
    try:
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
            body="" if approve else N_("Reason: %(reason)s"),
            params={"ref": booking.reference, "venue": venue.name_zh, "reason": reason.strip()},
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
        session.commit()
    except Exception:
        session.rollback()
        raise


# --- Waitlist -----------------------------------------------------------------------------


def join_waitlist(
    session, actor: User, holder: User, bucket_id: int, quantity: int
) -> WaitlistEntry:
    """Queue for a full slot. Refused when the slot has room (book instead) or already queued."""
    bucket = session.get(CapacityBucket, bucket_id)
    space = space_for_resource(session, bucket.resource_id) if bucket else None
    if space is None or space.mode != BookingMode.GENERAL:
        raise NotFound(_l("That time slot does not exist."))
    if not can_act_for(session, actor, holder, HelpService.VENUES):
        raise Forbidden(_l("You can only book for residents who have given you consent."))
    if not 1 <= quantity <= space.max_party_size:
        raise DomainError(
            _l("Choose between 1 and %(n)d people."), field="party_size", n=space.max_party_size
        )
    if bucket.starts_at <= clock.now():
        raise DomainError(_l("That time has already started. Choose a later time."))
    problem = ineligibility(session, space.venue, holder.id, bucket.starts_at)
    if problem is not None:
        raise problem
    if bucket.remaining >= quantity:
        raise Conflict(_l("There are places free: book them now instead."), code="not_full")
    existing = session.scalar(
        select(WaitlistEntry).where(
            WaitlistEntry.bucket_id == bucket.id,
            WaitlistEntry.user_id == holder.id,
            WaitlistEntry.status.in_((WaitlistStatus.WAITING, WaitlistStatus.OFFERED)),
        )
    )
    if existing is not None:
        raise Conflict(_l("You are already on the waitlist for this time."), code="already_waiting")
    entry = WaitlistEntry(
        bucket_id=bucket.id, user_id=holder.id, quantity=quantity, status=WaitlistStatus.WAITING
    )
    session.add(entry)
    if actor.id != holder.id:
        session.flush()
        record(session, actor, "waitlist.join", entry, on_behalf_of=holder)
    session.commit()
    return entry


def waitlist_position(session, entry: WaitlistEntry) -> int:
    return (
        session.scalar(
            select(func.count(WaitlistEntry.id)).where(
                WaitlistEntry.bucket_id == entry.bucket_id,
                WaitlistEntry.status == WaitlistStatus.WAITING,
                WaitlistEntry.id <= entry.id,
            )
        )
        or 0
    )


def leave_waitlist(session, entry: WaitlistEntry) -> None:
    if entry.status == WaitlistStatus.WAITING:
        entry.status = WaitlistStatus.CANCELLED
    session.commit()


def offer_freed_places(session, freed: Booking) -> list[Booking]:
    """Inside the caller's transaction: for each bucket the booking freed, offer places to the
    first people waiting whose party fits, holding them as OFFERED bookings. Nobody can take the
    freed places in between, because this runs before the cancellation commits."""
    space = space_for_resource(session, freed.resource_id)
    if space is None or space.mode != BookingMode.GENERAL:
        return []
    offers = []
    expires = clock.now() + timedelta(minutes=space.venue.waitlist_offer_minutes)
    buckets = engine.buckets_for_span(session, freed.resource_id, freed.starts_at, freed.ends_at)
    for bucket in buckets:
        session.refresh(bucket)
        if bucket.starts_at <= clock.now():
            continue
        for entry in session.scalars(
            select(WaitlistEntry)
            .where(
                WaitlistEntry.bucket_id == bucket.id, WaitlistEntry.status == WaitlistStatus.WAITING
            )
            .order_by(WaitlistEntry.id)
        ):
            if entry.quantity > bucket.capacity - bucket.taken:
                continue
            problem = ineligibility(session, space.venue, entry.user_id, bucket.starts_at)
            if problem is not None:
                _pass_over(session, entry, space, bucket, problem)
                continue
            offer = engine.hold(
                session,
                engine.Reservation(
                    resource_id=freed.resource_id,
                    starts_at=bucket.starts_at,
                    ends_at=bucket.ends_at,
                    quantity=entry.quantity,
                    holder_id=entry.user_id,
                    status=BookingStatus.OFFERED,
                    offer_expires_at=min(expires, bucket.starts_at),
                ),
            )
            entry.status, entry.booking_id = WaitlistStatus.OFFERED, offer.id
            notify(
                session,
                entry.user_id,
                kind="venue.offer",
                subject=N_("A place is free for you at %(venue)s"),
                body=N_(
                    "%(when)s, %(places)s place(s). Accept by %(until)s or it goes to the next person."
                ),
                params={
                    "venue": space.venue.name_zh,
                    "places": entry.quantity,
                    "when": format_datetime(bucket.starts_at, "short"),
                    "until": format_datetime(offer.offer_expires_at, "short"),
                },
                link=f"/bookings/{offer.reference}",
            )
            offers.append(offer)
            session.refresh(bucket)
    return offers


# Why a person waiting was passed over, by the code of the rule that refused them (stored texts).
PASSED_OVER = {
    "suspended": N_(
        "Venue booking is paused for you until %(until)s, so the places went to the next person waiting."
    ),
    "daily_limit": N_(
        "You already have %(n)s bookings at this venue that day, the most it allows, so the places went to the next person waiting."
    ),
    "weekly_limit": N_(
        "You already have %(n)s bookings at this venue that week, the most it allows, so the places went to the next person waiting."
    ),
}


def _pass_over(
    session, entry: WaitlistEntry, space: Space, bucket: CapacityBucket, problem: DomainError
) -> None:
    """Take an ineligible person off the waitlist (status SKIPPED) and tell them why, once."""
    entry.status = WaitlistStatus.SKIPPED
    notify(
        session,
        entry.user_id,
        kind="venue.waitlist_skipped",
        subject=N_("Places came free at %(venue)s, %(when)s, but could not be offered to you"),
        body=PASSED_OVER[problem.code],
        params={
            "venue": space.venue.name_zh,
            "when": format_datetime(bucket.starts_at, "short"),
            "until": problem.params.get("until", ""),
            "n": problem.params.get("n", ""),
        },
        link="/bookings",
    )


def accept_offer(session, booking: Booking, actor: User) -> None:
    """Take up a waitlist offer. The same eligibility as booking applies, checked again here
    with the holder's row locked (the check when the offer was made could not lock it): someone
    suspended, or at a limit since, cannot accept; the offer stays open until it expires, so
    cancelling another booking in time still lets them accept."""
    if not can_act_for(session, actor, booking.holder, HelpService.VENUES):
        raise NotFound(_l("No such booking."))
    if booking.status != BookingStatus.OFFERED or booking.offer_expires_at <= clock.now():
        raise Conflict(_l("This offer is no longer open."), code="offer_closed")
    venue = space_for_resource(session, booking.resource_id).venue
    write_transaction(session)
    try:
        session.execute(select(User.id).where(User.id == booking.holder_id).with_for_update())
        problem = ineligibility(
            session, venue, booking.holder_id, booking.starts_at, excluding=booking.id
        )
        if problem is not None:
            raise problem
        if not engine.transition(session, booking, "accept", offer_expires_at=None):
            raise Conflict(_l("This offer is no longer open."), code="offer_closed")
        entry = session.scalar(select(WaitlistEntry).where(WaitlistEntry.booking_id == booking.id))
        if entry is not None:
            entry.status = WaitlistStatus.ACCEPTED
        session.commit()
    except Exception:
        session.rollback()
        raise


def decline_offer(session, booking: Booking, actor: User) -> None:
    """Turn an offer down: the places go to the next person waiting."""
    if not can_act_for(session, actor, booking.holder, HelpService.VENUES):
        raise NotFound(_l("No such booking."))
    _end_offer(session, booking, WaitlistStatus.CANCELLED)


def _end_offer(session, booking: Booking, entry_status: WaitlistStatus) -> bool:
    write_transaction(session)
    try:
        if not engine.transition(session, booking, "expire"):
            session.rollback()
            return False
        entry = session.scalar(select(WaitlistEntry).where(WaitlistEntry.booking_id == booking.id))
        if entry is not None:
            entry.status = entry_status
        offer_freed_places(session, booking)
        session.commit()
        return True
    except Exception:
        session.rollback()
        raise


def expire_offers(session) -> int:
    """Offers past their time go to the next in line. Safe to run on several nodes at once."""
    expired = list(
        session.scalars(
            select(Booking).where(
                Booking.status == BookingStatus.OFFERED, Booking.offer_expires_at <= clock.now()
            )
        )
    )
    return sum(_end_offer(session, booking, WaitlistStatus.EXPIRED) for booking in expired)


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


def my_waitlist(session, user: User) -> list[WaitlistEntry]:
    return list(
        session.scalars(
            select(WaitlistEntry)
            .where(WaitlistEntry.user_id == user.id, WaitlistEntry.status == WaitlistStatus.WAITING)
            .order_by(WaitlistEntry.id)
        )
    )
