"""Booking a venue: the rules a venue sets, general and personalised bookings, cancellation,
approval, the waitlist and its offers. Built on the capacity engine in `bookings.services`.

Each public operation is one unit of work (`app.db.unit_of_work`): committed when it returns,
rolled back when it refuses, part of the caller's unit when one is open (a closure cancelling
many bookings). The decisions pages, API and templates share are named predicates here
(`can_cancel`, `can_answer_offer`), never re-coded elsewhere."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from app import clock
from app.accounts.models import HelpService, User
from app.accounts.services import can_act_for
from app.audit.services import record
from app.db import unit_of_work
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
from bookings.noshows import NoShowPolicy
from venues.models import BookingMode, Space, Venue
from venues.services.catalogue import booking_opens_at

SUSPENSION_KIND = "venue"


@dataclass(frozen=True)
class VenueSettings:
    """What venue booking reads from the app's configuration, built by the view, API or command
    that calls a service (services read no Flask globals): the no-show policy
    (VENUE_NO_SHOW_LIMIT, VENUE_NO_SHOW_WINDOW_DAYS, VENUE_SUSPENSION_DAYS) and the citizen
    hotline a suspended person may call (PORTAL_HOTLINE)."""

    no_shows: NoShowPolicy
    hotline: str

    @classmethod
    def from_config(cls, config: Mapping) -> VenueSettings:
        return cls(
            no_shows=NoShowPolicy.from_config(
                config, "VENUE", kind=SUSPENSION_KIND, resource_kinds=("venue",)
            ),
            hotline=config["PORTAL_HOTLINE"],
        )


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


@dataclass(frozen=True)
class Ineligible:
    """Why a person may not hold places at a venue on a day: `code` is "suspended" (until
    `until`), "daily_limit" or "weekly_limit" (`limit` reached)."""

    code: str
    until: datetime | None = None
    limit: int | None = None

    def error(self, settings: VenueSettings) -> DomainError:
        """The refusal as told to the person."""
        if self.code == "suspended":
            return Forbidden(
                _l(
                    "You cannot book until %(until)s because you did not come to %(count)s "
                    "bookings within %(days)s days. Call %(hotline)s if this is wrong."
                ),
                code="suspended",
                until=format_datetime(self.until, "short"),
                count=settings.no_shows.limit,
                days=settings.no_shows.window_days,
                hotline=settings.hotline,
            )
        if self.code == "daily_limit":
            message = _l(
                "You already have %(n)d bookings at this venue that day, the most it allows."
            )
        else:
            message = _l(
                "You already have %(n)d bookings at this venue that week, the most it allows."
            )
        return Conflict(message, code=self.code, n=self.limit)


def ineligibility(
    session, venue: Venue, holder_id: int, starts_at: datetime, *, excluding: int | None = None
) -> Ineligible | None:
    """The one rule of who may hold places at `venue` on the day of `starts_at`, however they
    come to them (booking, joining the waitlist, being offered places, accepting an offer): not
    suspended from venue booking, and under the venue's per-day and per-week limits. Returns why
    not, or None when eligible. `excluding` leaves one booking out of the counts (the offer
    being accepted)."""
    suspension = active_suspension(session, holder_id)
    if suspension is not None:
        return Ineligible("suspended", until=suspension.until)
    day = clock.local(starts_at).date()
    day_start, day_end = clock.day_bounds(day)
    if (
        _count_bookings(session, holder_id, venue, day_start, day_end, excluding)
        >= venue.max_per_day
    ):
        return Ineligible("daily_limit", limit=venue.max_per_day)
    week_start = day_start - timedelta(days=day.weekday())
    if (
        _count_bookings(
            session, holder_id, venue, week_start, week_start + timedelta(days=7), excluding
        )
        >= venue.max_per_week
    ):
        return Ineligible("weekly_limit", limit=venue.max_per_week)
    return None


def check_rules(
    session, venue: Venue, holder_id: int, starts_at: datetime, settings: VenueSettings
) -> None:
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
        raise problem.error(settings)


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
    *,
    settings: VenueSettings,
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
        check=lambda s, r: check_rules(s, venue, r.holder_id, r.starts_at, settings),
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
    *,
    settings: VenueSettings,
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
            check=lambda s, r: check_rules(s, venue, r.holder_id, r.starts_at, settings),
            on_created=_announce(space, actor, holder),
        )
    except engine.SoldOut:
        raise engine.SoldOut(
            _l("Someone has already booked part of that time. Choose another time.")
        ) from None


def cancel_refusal(
    session, booking: Booking, actor: User, *, by_staff: bool = False
) -> DomainError | None:
    """Why `actor` may not cancel `booking` now, or None when they may. The rule: the booking is
    in a status the cancel transition starts from (`TRANSITIONS`: waiting for approval, offered
    or confirmed); staff may cancel it at any time; the holder (or their helper) until the
    venue's cut-off. An offer is not bound by the cut-off: it may be turned down for as long as
    it is open, cancelled or declined (`decline_offer`), since its places only come free."""
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
    if booking.status == BookingStatus.OFFERED:
        return None
    venue = space_for_resource(session, booking.resource_id).venue
    if clock.now() > cancel_cutoff(booking, venue):
        return Conflict(
            _l(
                "Bookings here can be cancelled up to %(n)d minutes before the start. "
                "Call the venue on %(phone)s."
            ),
            code="past_cutoff",
            n=venue.cancel_cutoff_minutes,
            phone=venue.phone,
        )
    return None


def can_cancel(session, booking: Booking, actor: User) -> bool:
    """May `actor` (the holder or their helper) cancel `booking` now? (`cancel_refusal`)"""
    return cancel_refusal(session, booking, actor) is None


def cancel_cutoff(booking: Booking, venue: Venue) -> datetime:
    """Until when the holder may cancel a booking online."""
    return booking.starts_at - timedelta(minutes=venue.cancel_cutoff_minutes)


def cancel(
    session, booking: Booking, actor: User, *, by_staff: bool = False, reason: str | None = None
) -> None:
    """Cancel and give the places back, offering them to the waitlist in the same unit of work
    (`cancel_refusal` says who may, and when). A booking that moved since it was read (checked
    in at the door, cancelled elsewhere) is refused, changing nothing."""
    with unit_of_work(session):
        refusal = cancel_refusal(session, booking, actor, by_staff=by_staff)
        if refusal is not None:
            raise refusal
        if not _cancel(session, booking, actor, by_staff=by_staff, reason=reason):
            raise Conflict(
                _l("This booking cannot be cancelled now (it is %(status)s)."),
                code="not_cancellable",
                status=status_label(booking.status),
            )


def _cancel(session, booking: Booking, actor: User, *, by_staff: bool, reason: str | None) -> bool:
    """The cancellation inside the caller's unit: the guarded transition, the end of its
    waitlist offer, the holder's message, the audit entry when someone else cancelled, and the
    freed places offered on. False, changing nothing, if the booking has moved meanwhile."""
    if not engine.transition(session, booking, "cancel", reason=reason):
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
    return True


def cancel_for_closure(session, booking: Booking, staff: User, reason: str) -> bool:
    """Cancel one booking of a day the venue closes, inside the closure's unit of work. False
    if it moved meanwhile (checked in at the door): it is left as it is."""
    return _cancel(session, booking, staff, by_staff=True, reason=reason)


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


# --- Waitlist -----------------------------------------------------------------------------


def join_waitlist(
    session, actor: User, holder: User, bucket_id: int, quantity: int, *, settings: VenueSettings
) -> WaitlistEntry:
    """Queue for a full slot, in one unit of work. Refused when the slot has room (book
    instead), when the holder may not hold places there (`ineligibility`, decided with the
    holder's row locked, as a booking is) or is already queued."""
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
            raise problem.error(settings)
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
            raise Conflict(
                _l("You are already on the waitlist for this time."), code="already_waiting"
            )
        entry = WaitlistEntry(
            bucket_id=bucket.id, user_id=holder.id, quantity=quantity, status=WaitlistStatus.WAITING
        )
        session.add(entry)
        if actor.id != holder.id:
            session.flush()
            record(session, actor, "waitlist.join", entry, on_behalf_of=holder)
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
                    "%(when)s, %(places)s place(s). "
                    "Accept by %(until)s or it goes to the next person."
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
        "Venue booking is paused for you until %(until)s, "
        "so the places went to the next person waiting."
    ),
    "daily_limit": N_(
        "You already have %(n)s bookings at this venue that day, the most it allows, "
        "so the places went to the next person waiting."
    ),
    "weekly_limit": N_(
        "You already have %(n)s bookings at this venue that week, the most it allows, "
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
            "venue": space.venue.name_zh,
            "when": format_datetime(bucket.starts_at, "short"),
            "until": format_datetime(problem.until, "short") if problem.until else "",
            "n": problem.limit if problem.limit is not None else "",
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
            raise problem.error(settings)
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
