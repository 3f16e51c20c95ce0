"""The rules of a parking reservation (车位预约), decided in as few statements as they can be.

Two kinds:
- what the request itself must be (`arrival`): the car park takes reservations, the arrival is
  on a quarter hour, not past, and at most `reserve_days_ahead` days ahead;
- what depends on the holder and may change under concurrent requests (`check`, run by the
  capacity engine inside the reservation's transaction after the holder's row is locked): the
  plate is one of the holder's live claims, the holder is not suspended, is below the limit of
  upcoming reservations, and the plate holds no other reservation at an overlapping time; and
  every bucket of the stay exists. All of it read by one SELECT (`DECISION`), built once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, exists, func, select

from app import clock
from app.errors import Conflict, DomainError, Forbidden
from app.i18n import short_datetime
from bookings import services as engine
from bookings.models import Booking, BookingStatus, CapacityBucket
from parking.models import CarPark, ParkingReservation
from parking.services import SUSPENSION_KIND, ParkingSettings
from parking.services.vehicles import live_claim, unknown_vehicle

BUCKET_MINUTES = 15  # the pool's buckets: arrivals are on the quarter hour


class SpanNotMade(DomainError):
    """A bucket of the stay does not exist yet (the sweep makes the pool's days ahead; a car
    park opened for reservations since has none). Raised inside the reservation's unit, which
    rolls back; the reservation then makes the day's buckets and runs once more."""

    code = "not_bookable"


def arrival(park: CarPark, arrive_at: datetime, settings: ParkingSettings) -> datetime:
    """`arrive_at` in local time, to the minute, if the car park takes reservations and it is
    a quarter hour from now to `settings.reserve_days_ahead` days ahead; DomainError (on the
    field arrive_at, with a code) otherwise."""
    # An archived car park's id in a URL or the API is refused too.
    if not park.in_service or park.reservable_spaces <= 0:
        raise DomainError(_l("This car park does not take reservations."), code="not_reservable")
    ahead = settings.reserve_days_ahead
    if not clock.plausible(arrive_at.date()):
        # The calendar's edges (the year 9999) overflow on the way to local time or the end of
        # the grace period: answered like any time too far ahead, or past.
        raise _too_late() if arrive_at.date() < clock.FIRST_DAY else _too_early(ahead)
    arrive_at = clock.local(arrive_at).replace(second=0, microsecond=0)
    if arrive_at.minute % BUCKET_MINUTES:
        raise DomainError(
            _l("Arrival times are on the quarter hour, like 08:00 or 08:15."),
            field="arrive_at",
            code="not_quarter_hour",
        )
    if arrive_at < clock.now():
        raise _too_late()
    if arrive_at.date() > clock.today() + timedelta(days=ahead):
        raise _too_early(ahead)
    return arrive_at


def _too_late() -> DomainError:
    return DomainError(
        _l("That time has passed. Choose a later arrival time."), field="arrive_at", code="too_late"
    )


def _too_early(ahead: int) -> DomainError:
    return DomainError(
        _l("You can reserve up to %(n)d days ahead."), field="arrive_at", code="too_early", n=ahead
    )


def _decision_statement():
    """Everything `check` decides on, in one SELECT (one round trip inside the reservation's
    transaction instead of five): is the plate a live claim of the holder, the end of the
    holder's current parking suspension, their upcoming reservations, is the plate reserved at
    an overlapping time, and how many buckets of the stay exist. Bound parameters: holder_id,
    plate, now, starts_at, ends_at, resource_id."""
    holder, plate = bindparam("holder_id"), bindparam("plate")
    starts_at, ends_at = bindparam("starts_at"), bindparam("ends_at")
    return select(
        exists().where(live_claim(plate, holder)).label("claimed"),
        engine.suspended_until(holder, SUSPENSION_KIND, bindparam("now")).label("suspended_until"),
        select(func.count(Booking.id))
        .join(ParkingReservation, ParkingReservation.booking_id == Booking.id)
        .where(Booking.holder_id == holder, Booking.status == BookingStatus.CONFIRMED)
        .scalar_subquery()
        .label("upcoming"),
        exists()
        .where(
            ParkingReservation.plate == plate,
            Booking.id == ParkingReservation.booking_id,
            Booking.status == BookingStatus.CONFIRMED,
            Booking.starts_at < ends_at,
            Booking.ends_at > starts_at,
        )
        .label("clash"),
        select(func.count(CapacityBucket.id))
        .where(
            CapacityBucket.resource_id == bindparam("resource_id"),
            CapacityBucket.starts_at >= starts_at,
            CapacityBucket.starts_at < ends_at,
        )
        .scalar_subquery()
        .label("buckets"),
    )


DECISION = _decision_statement()


def check(session, request: engine.Reservation, plate: str, settings: ParkingSettings) -> None:
    """The engine's `check` for a reservation of `plate`: runs inside the reservation's
    transaction, after the holder's row is locked. UnknownVehicle (422) if the plate is not one
    of the holder's live claims (a reservation never registers a plate, and a claim removed
    meanwhile is seen here); Forbidden `suspended`; Conflict `too_many` at
    `settings.max_upcoming` upcoming reservations; Conflict `plate_busy` if the plate holds a
    reservation overlapping the stay; then SpanNotMade if a bucket of the stay is missing."""
    found = session.execute(
        DECISION,
        {
            "holder_id": request.holder_id,
            "plate": plate,
            "now": clock.now(),
            "starts_at": request.starts_at,
            "ends_at": request.ends_at,
            "resource_id": request.resource_id,
        },
    ).one()
    if not found.claimed:
        raise unknown_vehicle(plate)
    if found.suspended_until is not None:
        raise Forbidden(
            _l("You cannot reserve parking until %(until)s because of repeated no-shows."),
            theirs=_l(
                "This resident cannot reserve parking until %(until)s because of repeated no-shows."
            ),
            code="suspended",
            until=short_datetime(found.suspended_until),
        )
    limit = settings.max_upcoming
    if found.upcoming >= limit:
        raise Conflict(
            _l("You already have %(n)d upcoming reservations, the most allowed."),
            theirs=_l("This resident already has %(n)d upcoming reservations, the most allowed."),
            code="too_many",
            n=limit,
        )
    if found.clash:
        raise Conflict(
            _l("%(plate)s already has a reservation at that time."), code="plate_busy", plate=plate
        )
    if found.buckets < (request.ends_at - request.starts_at) // timedelta(minutes=BUCKET_MINUTES):
        raise SpanNotMade(_l("That time is not open for booking."))
