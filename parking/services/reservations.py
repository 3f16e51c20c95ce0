"""车位预约: reserving a space in a car park's reservable pool, through the capacity engine.

The pool is an engine resource with 15-minute buckets of `reservable_spaces` each, made for the
days one can reserve ahead. A reservation for an arrival time holds one unit of every bucket from
arrival until arrival + grace; the engine's guarded updates mean the pool is never oversold. Not
used by the end of grace, it becomes a no-show (its units are released) and repeated no-shows
suspend reserving, as at venues.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, exists, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app import clock
from app.accounts.models import HelpService
from app.accounts.services import can_act_for
from app.audit.services import record
from app.db import in_unit_of_work, unit_of_work
from app.errors import Conflict, DomainError, Forbidden, NotFound
from app.i18n import N_
from app.notifications.services import notify
from bookings import noshows
from bookings import services as engine
from bookings.models import HOLDING, Booking, BookingStatus, BookingSuspension, CapacityBucket
from parking.models import CarPark, ParkingReservation
from parking.services import POOL_KIND, SUSPENSION_KIND, ParkingSettings
from parking.services.plates import normalize_plate
from parking.services.vehicles import live_claim, unknown_vehicle

BUCKET_MINUTES = 15


def _pool_resource(session, park: CarPark) -> int:
    """The car park's engine resource, created on first use, inside the caller's unit. The car
    park's row is locked first, so two first uses at once make one resource, not two."""
    if park.resource_id is not None:  # set once, never changed
        return park.resource_id
    resource_id = session.scalar(
        select(CarPark.resource_id).where(CarPark.id == park.id).with_for_update()
    )
    if resource_id is None:
        resource_id = engine.create_resource(session, POOL_KIND, park.name_zh[:160]).id
    park.resource_id = resource_id
    return resource_id


def materialise_pool(session, park: CarPark, days: int, first_day=None) -> None:
    """Make every 15-minute bucket of the reservable pool exist for `days` days from
    `first_day` (today), with the pool's current size (never below what is taken:
    `bookings.services.set_capacity`). One unit of work; safe to run concurrently: missing rows
    are inserted with ON CONFLICT DO NOTHING. The sweep and the operator's settings pass
    `ParkingSettings.pool_days`."""
    first_day = first_day or clock.today()
    start, _ = clock.day_bounds(first_day)
    with unit_of_work(session):
        resource_id = _pool_resource(session, park)
        engine.insert_missing_buckets(
            session,
            [
                {
                    "resource_id": resource_id,
                    "starts_at": start + timedelta(minutes=m),
                    "ends_at": start + timedelta(minutes=m + BUCKET_MINUTES),
                    "capacity": park.reservable_spaces,
                    "taken": 0,
                }
                for m in range(0, days * 24 * 60, BUCKET_MINUTES)
            ],
        )
        engine.set_capacity(
            session,
            park.reservable_spaces,
            CapacityBucket.resource_id == resource_id,
            CapacityBucket.starts_at >= start,
        )


def _materialise_span(session, park: CarPark, start: datetime, end: datetime) -> None:
    """Make the pool's buckets for the day(s) of [start, end) (normally the sweep has made
    them already)."""
    materialise_pool(session, park, 1, first_day=clock.local(start).date())
    if clock.local(end - timedelta(minutes=1)).date() != clock.local(start).date():
        materialise_pool(session, park, 1, first_day=clock.local(end).date())


def reservable_now(session, park: CarPark) -> int:
    """Spaces one could reserve for arrival in the current quarter hour."""
    return reservable_now_many(session, [park])[park.id]


def reservable_now_many(session, parks: list[CarPark]) -> dict[int, int]:
    """`reservable_now` of many car parks in one query."""
    now = clock.now()
    resource_ids = [p.resource_id for p in parks if p.resource_id is not None]
    remaining = (
        dict(
            session.execute(
                select(
                    CapacityBucket.resource_id, CapacityBucket.capacity - CapacityBucket.taken
                ).where(
                    CapacityBucket.resource_id.in_(resource_ids),
                    CapacityBucket.starts_at <= now,
                    CapacityBucket.ends_at > now,
                )
            ).all()
        )
        if resource_ids
        else {}
    )
    return {
        p.id: max(
            0,
            min(remaining.get(p.resource_id, p.reservable_spaces) if p.open else 0, p.free_spaces),
        )
        for p in parks
    }


def arrival_choices(park: CarPark, day) -> list[datetime]:
    """Quarter hours one can still choose on `day` (from 15 minutes from now)."""
    earliest = clock.now() + timedelta(minutes=15)
    start, end = clock.day_bounds(day)
    times, t = [], start
    while t < end:
        if t >= earliest:
            times.append(t)
        t += timedelta(minutes=BUCKET_MINUTES)
    return times


# The person's current parking suspension, if any.
active_suspension = partial(engine.active_suspension, kind=SUSPENSION_KIND)


class SpanNotMade(DomainError):
    """A bucket of the stay does not exist yet (the sweep makes the pool's days ahead; a car
    park opened for reservations since has none). Raised inside the reservation's unit, which
    rolls back; `reserve` then makes the day's buckets and tries once more."""

    code = "not_bookable"


def _decision_statement():
    """Everything `_check` decides on, in one SELECT (one round trip inside the reservation's
    transaction instead of five): is the plate a live claim of the holder, the end of the
    holder's current parking suspension, their upcoming reservations, is the plate reserved
    at an overlapping time, and how many buckets of the stay exist. Built once, with bound
    parameters."""
    holder, plate = bindparam("holder_id"), bindparam("plate")
    starts_at, ends_at = bindparam("starts_at"), bindparam("ends_at")
    return select(
        exists().where(live_claim(plate, holder)).label("claimed"),
        select(func.max(BookingSuspension.until))
        .where(
            BookingSuspension.user_id == holder,
            BookingSuspension.kind == SUSPENSION_KIND,
            BookingSuspension.until > bindparam("now"),
        )
        .scalar_subquery()
        .label("suspended_until"),
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


_DECISION = _decision_statement()


def _check(session, request: engine.Reservation, plate: str, settings: ParkingSettings) -> None:
    """Runs inside the reservation's transaction, after the holder's row is locked: the plate
    is one of the holder's live claims (UnknownVehicle otherwise: a reservation never registers
    a plate, and a claim removed meanwhile is seen here), the holder is not suspended, below the
    limit of upcoming reservations, and the plate has no other reservation at that time; then
    every bucket of the stay exists (SpanNotMade otherwise). One query."""
    found = session.execute(
        _DECISION,
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
            code="suspended",
            until=format_datetime(found.suspended_until, "short"),
        )
    limit = settings.max_upcoming
    if found.upcoming >= limit:
        raise Conflict(
            _l("You already have %(n)d upcoming reservations, the most allowed."),
            code="too_many",
            n=limit,
        )
    if found.clash:
        raise Conflict(
            _l("%(plate)s already has a reservation at that time."), code="plate_busy", plate=plate
        )
    if found.buckets < (request.ends_at - request.starts_at) // timedelta(minutes=BUCKET_MINUTES):
        raise SpanNotMade(_l("That time is not open for booking."))


def reserve(
    session,
    actor,
    holder,
    park: CarPark,
    raw_plate: str,
    arrive_at: datetime,
    *,
    settings: ParkingSettings,
    idempotency_key: str | None = None,
) -> ParkingReservation:
    """Reserve one space of the pool for the holder's vehicle `raw_plate` arriving at
    `arrive_at`, by the holder or `actor` (a helper with parking consent). One unit of work:
    the plate's claim, the holder's limits and the space are decided in the transaction that
    takes the space (see `_check`). SoldOut (409 sold_out) when the pool is full for any quarter
    hour of the stay; a repeated idempotency key returns the first reservation."""
    plate = normalize_plate(raw_plate)
    if not can_act_for(session, actor, holder, HelpService.PARKING):
        raise Forbidden(
            _l("You can only reserve for residents who have given you consent for parking.")
        )
    if not park.open or park.reservable_spaces <= 0:
        raise DomainError(_l("This car park does not take reservations."), code="not_reservable")
    ahead = settings.reserve_days_ahead
    if not clock.plausible(arrive_at.date()):
        # The calendar's edges (the year 9999) overflow on the way to local time or the end of
        # the grace period: answered like any time too far ahead, or past.
        if arrive_at.date() < clock.FIRST_DAY:
            raise DomainError(
                _l("That time has passed. Choose a later arrival time."),
                field="arrive_at",
                code="too_late",
            )
        raise DomainError(
            _l("You can reserve up to %(n)d days ahead."),
            field="arrive_at",
            code="too_early",
            n=ahead,
        )
    arrive_at = clock.local(arrive_at).replace(second=0, microsecond=0)
    if arrive_at.minute % BUCKET_MINUTES:
        raise DomainError(
            _l("Arrival times are on the quarter hour, like 08:00 or 08:15."),
            field="arrive_at",
            code="not_quarter_hour",
        )
    if arrive_at < clock.now():
        raise DomainError(
            _l("That time has passed. Choose a later arrival time."),
            field="arrive_at",
            code="too_late",
        )
    if clock.local(arrive_at).date() > clock.today() + timedelta(days=ahead):
        raise DomainError(
            _l("You can reserve up to %(n)d days ahead."),
            field="arrive_at",
            code="too_early",
            n=ahead,
        )
    ends_at = arrive_at + timedelta(minutes=park.grace_minutes)
    if park.resource_id is None:  # a pool never made: its resource and the stay's days
        _materialise_span(session, park, arrive_at, ends_at)
    request = engine.Reservation(
        resource_id=park.resource_id,
        # In UTC, as the database gives them back: the answer is built from these values.
        starts_at=arrive_at.astimezone(UTC),
        ends_at=ends_at.astimezone(UTC),
        quantity=1,
        holder_id=holder.id,
        idempotency_key=idempotency_key,
        booked_by_id=actor.id,
    )
    try:
        return _reserve(session, actor, holder, park, plate, request, settings)
    except SpanNotMade:
        if in_unit_of_work(session):
            raise
        _materialise_span(session, park, request.starts_at, request.ends_at)
    except IntegrityError:
        # A concurrent twin with the same idempotency key committed first (the unique key
        # refused ours and the unit rolled back): asked again, the engine answers with the
        # twin's booking. Inside an enclosing unit the whole unit has failed: let it roll back.
        if idempotency_key is None or in_unit_of_work(session):
            raise
    return _reserve(session, actor, holder, park, plate, request, settings)


# One INSERT, built once: the reservation's row needs no ORM object to flush (the answer is
# built from the values written, `_reserve`).
_INSERT_RESERVATION = insert(ParkingReservation.__table__).returning(
    ParkingReservation.__table__.c.id
)


def _reserve(
    session,
    actor,
    holder,
    park: CarPark,
    plate: str,
    request: engine.Reservation,
    settings: ParkingSettings,
) -> ParkingReservation:
    """`reserve`'s unit of work: the engine's reservation with `_check` and the writes that
    commit with it, then the answer from what was written, without loading anything again.

    The unit keeps what the session holds (`keep_loaded`) rather than expiring it at commit:
    the reservation, its booking and the car park are answered from the values this unit wrote
    or read (a reload would only read them back)."""
    made: dict[str, int] = {}

    def created(s, booking):
        made["id"] = (
            s.connection()
            .execute(
                _INSERT_RESERVATION,
                {
                    "booking_id": booking.id,
                    "car_park_id": park.id,
                    "plate": plate,
                    "arrive_at": request.starts_at,
                },
            )
            .scalar_one()
        )
        notify(
            s,
            holder.id,
            kind="parking.reserved",
            subject=N_("Space reserved at %(park)s"),
            body=N_("%(plate)s, arriving %(when)s. The space is held until %(until)s."),
            params={
                "park": park.name_zh,
                "plate": plate,
                "when": format_datetime(request.starts_at, "short"),
                "until": format_datetime(request.ends_at, "short"),
            },
            link=f"/parking/reservations/{booking.reference}",
        )
        if actor.id != holder.id:
            record(
                s,
                actor,
                "parking.reserve",
                booking,
                on_behalf_of=holder,
                reference=booking.reference,
            )

    with unit_of_work(session, keep_loaded=True):
        booking = engine.reserve(
            session,
            request,
            check=lambda s, r: _check(s, r, plate, settings),
            on_created=created,
        )
    if "id" not in made:  # a repeated idempotency key: the first reservation
        return session.scalar(
            select(ParkingReservation).where(ParkingReservation.booking_id == booking.id)
        )
    reservation = ParkingReservation(
        id=made["id"],
        booking_id=booking.id,
        car_park_id=park.id,
        plate=plate,
        arrive_at=request.starts_at,
    )
    # The row as committed, in the session as if loaded, with its booking and car park.
    make_transient_to_detached(reservation)
    session.add(reservation)
    set_committed_value(reservation, "booking", booking)
    set_committed_value(reservation, "car_park", park)
    return reservation


def for_reference(session, reference: str) -> ParkingReservation | None:
    """The reservation with this booking reference, whoever holds it."""
    return session.scalar(
        select(ParkingReservation)
        .join(Booking, Booking.id == ParkingReservation.booking_id)
        .where(Booking.reference == reference)
    )


def get_for_holder(
    session, user_id: int, *, reference: str | None = None, reservation_id: int | None = None
) -> ParkingReservation:
    """The holder's reservation; anyone else's answers as missing."""
    reservation = (
        for_reference(session, reference)
        if reference is not None
        else session.get(ParkingReservation, reservation_id)
    )
    if reservation is None or reservation.booking.holder_id != user_id:
        raise NotFound(_l("No such reservation."))
    return reservation


def free_cancellation_until(reservation: ParkingReservation):
    """The last moment a cancellation is free: the car park's cut-off before arrival."""
    return reservation.arrive_at - timedelta(minutes=reservation.car_park.cancel_cutoff_minutes)


def cancel_is_free(reservation: ParkingReservation) -> bool:
    """Cancelling now is free (after the cut-off it counts like a no-show)."""
    return clock.now() <= free_cancellation_until(reservation)


def is_cancellable(reservation: ParkingReservation) -> bool:
    """The reservation still holds its space: only then can it be cancelled."""
    return reservation.booking.status == BookingStatus.CONFIRMED


def can_cancel(session, reservation: ParkingReservation, user) -> bool:
    """May `user` cancel this reservation now: it still holds its space and they are its holder
    or a helper with the holder's parking consent. The page shows the button by it; `cancel`
    refuses by the same rule."""
    return is_cancellable(reservation) and can_act_for(
        session, user, reservation.booking.holder, HelpService.PARKING
    )


def cancel(session, reservation: ParkingReservation, actor, *, settings: ParkingSettings) -> bool:
    """Cancel and free the space (one unit of work). Before the cut-off it is free; later it
    still frees the space but counts like a no-show towards suspension (`settings.no_shows`).
    Returns whether it was free. Someone who may not act for the holder is told it does not
    exist; a reservation no longer holding its space (used, cancelled or a no-show, perhaps a
    moment ago) is refused with 409 not_cancellable."""
    booking = reservation.booking
    if not can_act_for(session, actor, booking.holder, HelpService.PARKING):
        raise NotFound(_l("No such reservation."))
    if not is_cancellable(reservation):
        raise Conflict(_l("This reservation cannot be cancelled now."), code="not_cancellable")
    free = cancel_is_free(reservation)
    with unit_of_work(session):
        if not engine.transition(session, booking, "cancel", reason=None if free else noshows.LATE):
            raise Conflict(_l("This reservation cannot be cancelled now."), code="not_cancellable")
        if not free:
            suspension = noshows.suspend_if_repeated(session, booking.holder_id, settings.no_shows)
            if suspension is not None:
                _tell_suspended(session, booking.holder_id, *suspension, settings=settings)
        if actor.id != booking.holder_id:
            record(
                session,
                actor,
                "parking.cancel",
                booking,
                on_behalf_of=booking.holder_id,
                reference=booking.reference,
            )
    return free


def check_in(session, park: CarPark, plate: str, at: datetime) -> ParkingReservation | None:
    """At entry: the plate's reservation here that this arrival uses (from an hour early to the
    end of grace), moved to checked in. Inside the caller's transaction."""
    reservation = session.scalar(
        select(ParkingReservation)
        .join(Booking, Booking.id == ParkingReservation.booking_id)
        .where(
            ParkingReservation.car_park_id == park.id,
            ParkingReservation.plate == plate,
            Booking.status == BookingStatus.CONFIRMED,
            Booking.starts_at <= at + timedelta(hours=1),
            Booking.ends_at >= at,
        )
        .order_by(Booking.starts_at)
    )
    if reservation is not None and engine.transition(
        session, reservation.booking, "check_in", checked_in_at=at
    ):
        return reservation
    return None


def mark_no_shows(session, settings: ParkingSettings) -> int:
    """Reservations not used by the end of grace become no-shows, their space released, the
    driver told and suspended when they repeat (`bookings.noshows`, one unit of work each).
    Returns how many."""
    due = session.scalars(
        select(ParkingReservation)
        .join(Booking, Booking.id == ParkingReservation.booking_id)
        .where(Booking.status == BookingStatus.CONFIRMED, Booking.ends_at <= clock.now())
    ).all()
    return noshows.mark_no_shows(
        session,
        [(reservation.booking, reservation) for reservation in due],
        settings.no_shows,
        missed=_tell_missed,
        suspended=lambda s, user_id, until, count: _tell_suspended(
            s, user_id, until, count, settings=settings
        ),
    )


def _tell_missed(session, booking: Booking, reservation: ParkingReservation) -> None:
    notify(
        session,
        booking.holder_id,
        kind="parking.no_show",
        subject=N_("Your reserved space at %(park)s was released"),
        body=N_("%(plate)s had not arrived by %(until)s."),
        params={
            "park": reservation.car_park.name_zh,
            "plate": reservation.plate,
            "until": format_datetime(booking.ends_at, "short"),
        },
        link=f"/parking/reservations/{booking.reference}",
    )


def _tell_suspended(
    session, user_id: int, until: datetime, count: int, *, settings: ParkingSettings
) -> None:
    notify(
        session,
        user_id,
        kind="parking.suspended",
        subject=N_("Parking reservations are paused for you until %(until)s"),
        body=N_(
            "%(count)s reserved spaces were not used or were cancelled late within %(days)s days. "
            "You can reserve again from %(until)s; parking without a reservation is not affected."
        ),
        params={
            "until": format_datetime(until, "short"),
            "count": count,
            "days": settings.no_shows.window_days,
        },
        link="/parking/mine",
    )


def my_reservations(session, user_id: int) -> list[ParkingReservation]:
    """The person's latest 50 reservations, newest arrival first."""
    return list(
        session.scalars(
            select(ParkingReservation)
            .join(Booking, Booking.id == ParkingReservation.booking_id)
            .where(Booking.holder_id == user_id)
            .order_by(ParkingReservation.arrive_at.desc())
            .limit(50)
            .options(
                selectinload(ParkingReservation.booking), selectinload(ParkingReservation.car_park)
            )
        )
    )


def is_upcoming(reservation: ParkingReservation) -> bool:
    """Still holding its space and not over yet."""
    return reservation.booking.status in HOLDING and reservation.booking.ends_at > clock.now()
