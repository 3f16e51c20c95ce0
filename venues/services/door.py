"""At the door: check-in by code (现场核销) and live crowd levels (客流监测)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app import clock
from app.accounts.models import User
from app.audit.services import record
from app.db import unit_of_work
from bookings import services as engine
from bookings.models import Booking, BookingStatus, CapacityBucket
from venues.models import BookingMode, Space, Venue


class DoorResult(enum.StrEnum):
    CHECKED_IN = "checked_in"
    ALREADY_USED = "already_used"
    WRONG_DAY = "wrong_day"
    TOO_EARLY = "too_early"
    CANCELLED = "cancelled"
    NOT_APPROVED = "not_approved"
    NOT_FOUND = "not_found"


DOOR_MESSAGES = {
    DoorResult.CHECKED_IN: _l("Valid: checked in. Welcome!"),
    DoorResult.ALREADY_USED: _l("Already used: this code was checked in at %(time)s."),
    DoorResult.WRONG_DAY: _l("Wrong day: this booking is for %(when)s."),
    DoorResult.TOO_EARLY: _l(
        "Too early: this booking starts at %(when)s. Check-in opens 1 hour before."
    ),
    DoorResult.CANCELLED: _l("Not valid: this booking is %(status)s."),
    DoorResult.NOT_APPROVED: _l("Not valid yet: this booking is waiting for approval."),
    DoorResult.NOT_FOUND: _l("No booking at this venue has this code. Check the digits."),
}
EARLY_CHECKIN = timedelta(hours=1)


@dataclass
class DoorOutcome:
    result: DoorResult
    booking: Booking | None = None

    @property
    def ok(self) -> bool:
        return self.result == DoorResult.CHECKED_IN


def find_by_code(session, venue: Venue, code: str) -> Booking | None:
    """The booking at this venue with this door code; the most recent one if codes repeat."""
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    if len(code) != 8:
        return None
    return session.scalar(
        select(Booking)
        .join(Space, Space.resource_id == Booking.resource_id)
        .where(Space.venue_id == venue.id, Booking.door_code == code)
        .order_by(Booking.starts_at.desc())
        .limit(1)
    )


def check_in(session, venue: Venue, code: str, staff: User) -> DoorOutcome:
    """Check a code at the door and, if it is valid now, check the booking in (once: the
    transition is guarded, so two doors, or a door and a cancellation, cannot both win), with
    its audit entry in the same unit of work."""
    booking = find_by_code(session, venue, code)
    if booking is None:
        return DoorOutcome(DoorResult.NOT_FOUND)
    now = clock.now()
    if booking.status == BookingStatus.CHECKED_IN:
        return DoorOutcome(DoorResult.ALREADY_USED, booking)
    if booking.status == BookingStatus.PENDING:
        return DoorOutcome(DoorResult.NOT_APPROVED, booking)
    if booking.status != BookingStatus.CONFIRMED:
        return DoorOutcome(DoorResult.CANCELLED, booking)
    if booking.ends_at <= now:
        return DoorOutcome(DoorResult.WRONG_DAY, booking)
    if booking.starts_at - EARLY_CHECKIN > now:
        # A booking for just after midnight is let in a few minutes before it, like any other.
        if clock.local(booking.starts_at).date() != clock.today():
            return DoorOutcome(DoorResult.WRONG_DAY, booking)
        return DoorOutcome(DoorResult.TOO_EARLY, booking)
    with unit_of_work(session):
        done = engine.transition(session, booking, "check_in", checked_in_at=now)
        if done:
            record(session, staff, "booking.check_in", booking, reference=booking.reference)
    if done:
        return DoorOutcome(DoorResult.CHECKED_IN, booking)
    # Changed since it was read: checked in at another door, or cancelled at that moment.
    return DoorOutcome(
        DoorResult.ALREADY_USED
        if booking.status == BookingStatus.CHECKED_IN
        else DoorResult.CANCELLED,
        booking,
    )


@dataclass
class CrowdLevel:
    venue: Venue
    inside_now: int
    capacity_now: int
    checked_in_today: int
    booked_today: int
    capacity_today: int

    @property
    def percent_now(self) -> int:
        return round(100 * self.inside_now / self.capacity_now) if self.capacity_now else 0

    @property
    def percent_today(self) -> int:
        return (
            round(100 * self.checked_in_today / self.capacity_today) if self.capacity_today else 0
        )

    @property
    def warning(self) -> bool:
        threshold = self.venue.crowd_warning_percent
        return self.percent_now >= threshold or self.percent_today >= threshold


def crowd_levels(session, venues: list[Venue]) -> list[CrowdLevel]:
    """Checked-in people against capacity, now and for all of today. In the venue now: the
    people checked in whose booked time has not ended, those let in early (up to
    EARLY_CHECKIN) for the next slot included, since they are inside; nobody checks out, so a
    visitor counts until their slot ends. Places now: the capacity of the slots running now.
    Counts the general spaces, where visitors come in numbers; a booked court or room says
    nothing about how many people are inside."""
    now = clock.now()
    start, end = clock.day_bounds(clock.today())
    ids = [v.id for v in venues]
    capacity = {vid: [0, 0] for vid in ids}  # [now, today]
    for venue_id, starts_at, ends_at, cap in session.execute(
        select(
            Space.venue_id,
            CapacityBucket.starts_at,
            CapacityBucket.ends_at,
            CapacityBucket.capacity,
        )
        .join(CapacityBucket, CapacityBucket.resource_id == Space.resource_id)
        .where(
            Space.venue_id.in_(ids),
            Space.mode == BookingMode.GENERAL,
            CapacityBucket.starts_at >= start,
            CapacityBucket.starts_at < end,
        )
    ):
        capacity[venue_id][1] += cap
        if starts_at <= now < ends_at:
            capacity[venue_id][0] += cap
    people = {vid: [0, 0, 0] for vid in ids}  # [inside now, checked in today, booked today]
    for venue_id, status, checked_in_at, ends_at, quantity in session.execute(
        select(
            Space.venue_id, Booking.status, Booking.checked_in_at, Booking.ends_at, Booking.quantity
        )
        .join(Space, Space.resource_id == Booking.resource_id)
        .where(
            Space.venue_id.in_(ids),
            Space.mode == BookingMode.GENERAL,
            Booking.starts_at >= start,
            Booking.starts_at < end,
            Booking.status.in_((BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)),
        )
    ):
        people[venue_id][2] += quantity
        if status == BookingStatus.CHECKED_IN:
            people[venue_id][1] += quantity
            if (checked_in_at is None or checked_in_at <= now) and now < ends_at:
                people[venue_id][0] += quantity
    return [
        CrowdLevel(
            venue=v,
            inside_now=people[v.id][0],
            capacity_now=capacity[v.id][0],
            checked_in_today=people[v.id][1],
            booked_today=people[v.id][2],
            capacity_today=capacity[v.id][1],
        )
        for v in venues
    ]


def day_bookings(session, venue: Venue, day) -> list[Booking]:
    start, end = clock.day_bounds(day)
    return list(
        session.scalars(
            select(Booking)
            .join(Space, Space.resource_id == Booking.resource_id)
            .where(Space.venue_id == venue.id, Booking.starts_at >= start, Booking.starts_at < end)
            .order_by(Booking.starts_at, Booking.id)
        )
    )


def pending_count(session, venue: Venue) -> int:
    return (
        session.scalar(
            select(func.count(Booking.id))
            .join(Space, Space.resource_id == Booking.resource_id)
            .where(Space.venue_id == venue.id, Booking.status == BookingStatus.PENDING)
        )
        or 0
    )
