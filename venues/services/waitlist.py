"""The waitlist of a full slot: joining and leaving it, offers of freed places made in the
transaction that freed them, and their answers (accept, decline, expiry). Each public operation
is one unit of work; `offer_freed_places` runs inside its caller's."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from app import clock
from app.accounts.consents import can_act_for
from app.accounts.models import HelpService, User
from app.audit.services import record
from app.db import unit_of_work
from app.errors import Conflict, DomainError, Forbidden, NotFound, addressed
from app.i18n import N_
from app.notifications.params import counted, localized, when
from app.notifications.services import notify
from bookings import services as engine
from bookings.models import (
    Booking,
    BookingStatus,
    CapacityBucket,
    WaitlistEntry,
    WaitlistStatus,
)
from venues.models import BookingMode, Space
from venues.services.catalogue import space_for_resource
from venues.services.rules import (
    AlreadyBooked,
    Ineligible,
    VenueSettings,
    already_booked,
    ineligibility,
)


def join_waitlist(
    session, actor: User, holder: User, bucket_id: int, quantity: int, *, settings: VenueSettings
) -> WaitlistEntry:
    """Queue for a full slot, in one unit of work. Refused when the slot has room (book
    instead), when the holder may not hold places there (`ineligibility`, decided with the
    holder's row locked, as a booking is), already holds the slot (`already_booked`) or is
    already queued."""
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
    with unit_of_work(session):
        session.execute(select(User.id).where(User.id == holder.id).with_for_update())
        problem = ineligibility(session, space.venue, holder.id, bucket.starts_at)
        if problem is not None:
            raise addressed(problem.error(settings), actor, holder)
        held = already_booked(
            session, holder.id, bucket.resource_id, bucket.starts_at, bucket.ends_at
        )
        if held is not None:  # one booking per person per slot: change its party size instead
            raise addressed(AlreadyBooked(held.reference), actor, holder)
        session.refresh(bucket)
        if bucket.remaining >= quantity:
            raise Conflict(_l("There are places free: book them now instead."), code="not_full")
        existing = session.scalar(
            select(WaitlistEntry.id).where(
                WaitlistEntry.bucket_id == bucket.id,
                WaitlistEntry.user_id == holder.id,
                WaitlistEntry.status.in_((WaitlistStatus.WAITING, WaitlistStatus.OFFERED)),
            )
        )
        if existing is not None:
            waiting = Conflict(
                _l("You are already on the waitlist for this time."),
                theirs=_l("This resident is already on the waitlist for this time."),
                code="already_waiting",
            )
            raise addressed(waiting, actor, holder)
        entry = WaitlistEntry(
            bucket_id=bucket.id, user_id=holder.id, quantity=quantity, status=WaitlistStatus.WAITING
        )
        session.add(entry)
        if actor.id != holder.id:
            session.flush()
            record(session, actor, "waitlist.join", entry, on_behalf_of=holder)
            # The resident hears of it by their own channels: the offer may come by SMS later.
            notify(
                session,
                holder.id,
                kind="venue.waitlist_joined",
                subject=N_("%(name)s put you on the waitlist at %(venue)s, %(when)s"),
                body=N_("If places come free, they are offered to you for a limited time."),
                params={
                    "name": actor.name,
                    "venue": localized(space.venue.name_zh, space.venue.name_en),
                    "when": when(bucket.starts_at),
                },
                link="/bookings",
            )
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


def leave_waitlist(session, entry: WaitlistEntry) -> bool:
    """Leave the waitlist while still waiting (a guarded update: an entry offered places
    meanwhile is left to its offer, which is declined on its own). False if it was no longer
    waiting."""
    with unit_of_work(session):
        return (
            session.execute(
                update(WaitlistEntry)
                .where(WaitlistEntry.id == entry.id, WaitlistEntry.status == WaitlistStatus.WAITING)
                .values(status=WaitlistStatus.CANCELLED)
                .execution_options(synchronize_session=False)
            ).rowcount
            == 1
        )


def offer_freed_places(session, freed: Booking) -> list[Booking]:
    """Inside the caller's unit of work: for each bucket the booking freed, offer places to the
    first people waiting whose party fits, holding them as OFFERED bookings. Nobody can take the
    freed places in between, because this runs before the cancellation commits."""
    space = space_for_resource(session, freed.resource_id)
    if space is None or space.mode != BookingMode.GENERAL:
        return []
    offers = []
    now = clock.now()
    expires = now + timedelta(minutes=space.venue.waitlist_offer_minutes)
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
            if already_booked(
                session, entry.user_id, bucket.resource_id, bucket.starts_at, bucket.ends_at
            ):  # they booked the slot meanwhile: no second booking (accept_offer checks too)
                entry.status = WaitlistStatus.CANCELLED
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
                body=N_("%(when)s, %(party)s. Accept by %(until)s or it goes to the next person."),
                params={
                    "venue": localized(space.venue.name_zh, space.venue.name_en),
                    "places": entry.quantity,  # the SMS template's number
                    "party": counted(entry.quantity, "%(num)d person", "%(num)d people"),
                    "when": when(bucket.starts_at),
                    "until": when(offer.offer_expires_at),
                    # For the SMS template (app/config.py "venue.offer"): the hold in minutes
                    # and its end as the phone shows it, whatever the inbox's language.
                    "minutes": max(round((offer.offer_expires_at - now).total_seconds() / 60), 1),
                    "until_hm": clock.local(offer.offer_expires_at).strftime("%H:%M"),
                    # The slot's day and time for the SMS, in Chinese (SMS are Chinese).
                    "slot_zh": _slot_zh(bucket.starts_at),
                },
                link=f"/bookings/{offer.reference}",
            )
            offers.append(offer)
            session.refresh(bucket)
    return offers


def _slot_zh(starts_at) -> str:
    """A slot's start as the waitlist offer's SMS says it: "12月2日 09:00" (Shanghai time)."""
    local = clock.local(starts_at)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


# Why a person waiting was passed over, by the code of the rule that refused them (stored texts).
PASSED_OVER = {
    "suspended": N_(
        "Venue booking is paused for you until %(until)s, "
        "so the places went to the next person waiting."
    ),
    "daily_limit": N_(
        "You already have %(bookings)s at this venue that day, the most it allows, "
        "so the places went to the next person waiting."
    ),
    "weekly_limit": N_(
        "You already have %(bookings)s at this venue that week, the most it allows, "
        "so the places went to the next person waiting."
    ),
}


def _pass_over(
    session, entry: WaitlistEntry, space: Space, bucket: CapacityBucket, problem: Ineligible
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
            "venue": localized(space.venue.name_zh, space.venue.name_en),
            "when": when(bucket.starts_at),
            "until": when(problem.until),
            "n": problem.limit if problem.limit is not None else "",
            "bookings": counted(problem.limit, "%(num)d booking", "%(num)d bookings")
            if problem.limit is not None
            else "",
        },
        link="/bookings",
    )


def offer_refusal(session, booking: Booking, actor: User) -> DomainError | None:
    """Why `actor` may not answer the waitlist offer `booking` (accept or decline it) now, or
    None: it must be theirs (or a resident's they help) and still open."""
    if not can_act_for(session, actor, booking.holder, HelpService.VENUES):
        return NotFound(_l("No such booking."))
    if booking.status != BookingStatus.OFFERED or booking.offer_expires_at <= clock.now():
        return Conflict(_l("This offer is no longer open."), code="offer_closed")
    return None


def can_answer_offer(session, booking: Booking, actor: User) -> bool:
    """Is `booking` an open offer that `actor` may accept or decline? (`offer_refusal`)"""
    return offer_refusal(session, booking, actor) is None


def accept_offer(session, booking: Booking, actor: User, *, settings: VenueSettings) -> None:
    """Take up a waitlist offer, in one unit of work. The same eligibility as booking applies,
    checked again here with the holder's row locked (the check when the offer was made could not
    lock it): someone suspended, or at a limit since, cannot accept; the offer stays open until
    it expires, so cancelling another booking in time still lets them accept."""
    refusal = offer_refusal(session, booking, actor)
    if refusal is not None:
        raise refusal
    venue = space_for_resource(session, booking.resource_id).venue
    with unit_of_work(session):
        session.execute(select(User.id).where(User.id == booking.holder_id).with_for_update())
        problem = ineligibility(
            session, venue, booking.holder_id, booking.starts_at, excluding=booking.id
        )
        if problem is not None:
            raise addressed(problem.error(settings), actor, booking.holder_id)
        held = already_booked(
            session,
            booking.holder_id,
            booking.resource_id,
            booking.starts_at,
            booking.ends_at,
            excluding=booking.id,
        )
        if held is not None:
            raise addressed(AlreadyBooked(held.reference), actor, booking.holder_id)
        if not engine.transition(session, booking, "accept", offer_expires_at=None):
            raise Conflict(_l("This offer is no longer open."), code="offer_closed")
        entry = session.scalar(select(WaitlistEntry).where(WaitlistEntry.booking_id == booking.id))
        if entry is not None:
            entry.status = WaitlistStatus.ACCEPTED


def decline_offer(session, booking: Booking, actor: User) -> bool:
    """Turn an offer down: the places go to the next person waiting. False if it had already
    ended (taken up, declined or expired)."""
    if not can_act_for(session, actor, booking.holder, HelpService.VENUES):
        raise NotFound(_l("No such booking."))
    return _end_offer(session, booking, WaitlistStatus.CANCELLED)


def _end_offer(session, booking: Booking, entry_status: WaitlistStatus) -> bool:
    """End an offer (declined or expired) in one unit of work and offer its places on. False,
    changing nothing, if it was no longer an offer."""
    with unit_of_work(session):
        if not engine.transition(session, booking, "expire"):
            return False
        entry = session.scalar(select(WaitlistEntry).where(WaitlistEntry.booking_id == booking.id))
        if entry is not None:
            entry.status = entry_status
        offer_freed_places(session, booking)
        return True


def expire_offers(session) -> int:
    """Offers past their time go to the next in line, one unit of work each. Safe to run on
    several nodes at once (the transition is guarded)."""
    expired = list(
        session.scalars(
            select(Booking).where(
                Booking.status == BookingStatus.OFFERED, Booking.offer_expires_at <= clock.now()
            )
        )
    )
    return sum(_end_offer(session, booking, WaitlistStatus.EXPIRED) for booking in expired)


def my_waitlist(session, user: User) -> list[WaitlistEntry]:
    return list(
        session.scalars(
            select(WaitlistEntry)
            .where(WaitlistEntry.user_id == user.id, WaitlistEntry.status == WaitlistStatus.WAITING)
            .order_by(WaitlistEntry.id)
        )
    )
