"""车位预约: reserving a space in a car park's reservable pool, through the capacity engine.

The pool is an engine resource with 15-minute buckets of `reservable_spaces` each, made for the
days one can reserve ahead. A reservation for an arrival time holds one unit of every bucket from
arrival until arrival + grace; the engine's guarded updates mean the pool is never oversold. Not
used by the end of grace, it becomes a no-show (its units are released) and repeated no-shows
suspend reserving, as at venues.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from flask import current_app
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import selectinload

from app import clock
from app.accounts.models import HelpService
from app.accounts.services import can_act_for
from app.audit.services import record
from app.db import write_transaction
from app.errors import Conflict, DomainError, Forbidden, NotFound
from app.i18n import N_
from app.notifications.services import notify
from bookings import services as engine
from bookings.models import HOLDING, Booking, BookingStatus, CapacityBucket
from parking.models import CarPark, ParkingReservation

BUCKET_MINUTES = 15
SUSPENSION_KIND = "parking"


def ensure_pool(session, park: CarPark) -> int:
    """The car park's engine resource, created on first use (committed)."""
    if park.resource_id is None:
        park.resource_id = engine.create_resource(session, "carpark", park.name_zh[:160]).id
        session.commit()
    return park.resource_id


def materialise_pool(session, park: CarPark, first_day=None, days: int | None = None) -> None:
    """Make every 15-minute bucket of the reservable pool exist for the reservable days, with
    the pool's current size (never below what is taken). Safe to run concurrently: missing rows
    are inserted with ON CONFLICT DO NOTHING. Commits."""
    resource_id = ensure_pool(session, park)
    first_day = first_day or clock.today()
    days = days if days is not None else current_app.config["PARKING_RESERVE_DAYS_AHEAD"] + 1
    start, _ = clock.day_bounds(first_day)
    rows = [
        {
            "resource_id": resource_id,
            "starts_at": start + timedelta(minutes=m),
            "ends_at": start + timedelta(minutes=m + BUCKET_MINUTES),
            "capacity": park.reservable_spaces,
            "taken": 0,
        }
        for m in range(0, days * 24 * 60, BUCKET_MINUTES)
    ]
    write_transaction(session)
    try:
        engine.insert_missing_buckets(session, rows)
        set_pool_size(session, park, start)
        session.commit()
    except Exception:
        session.rollback()
        raise


def set_pool_size(session, park: CarPark, from_time: datetime) -> None:
    """Buckets from `from_time` on get the pool's size, never below what they hold."""
    session.execute(
        update(CapacityBucket)
        .where(
            CapacityBucket.resource_id == park.resource_id, CapacityBucket.starts_at >= from_time
        )
        .values(
            capacity=case(
                (CapacityBucket.taken > park.reservable_spaces, CapacityBucket.taken),
                else_=park.reservable_spaces,
            )
        )
        .execution_options(synchronize_session=False)
    )


def _ensure_span(session, park: CarPark, start: datetime, end: datetime) -> None:
    """Materialise the pool only when a bucket of the span is missing (normally the sweep has
    made them), so a rush of reservations reads a count rather than writing 288 rows each."""
    wanted = int((end - start).total_seconds() // 60) // BUCKET_MINUTES
    have = 0
    if park.resource_id is not None:
        have = (
            session.scalar(
                select(func.count(CapacityBucket.id)).where(
                    CapacityBucket.resource_id == park.resource_id,
                    CapacityBucket.starts_at >= start,
                    CapacityBucket.starts_at < end,
                )
            )
            or 0
        )
    if have < wanted:
        materialise_pool(session, park, first_day=clock.local(start).date(), days=1)
        if clock.local(end - timedelta(minutes=1)).date() != clock.local(start).date():
            materialise_pool(session, park, first_day=clock.local(end).date(), days=1)
    else:
        session.commit()  # end the read so the engine's write transaction starts fresh


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


def _check(session, park: CarPark, plate: str, holder_id: int, arrive_at: datetime) -> None:
    """Runs inside the reservation's transaction, after the holder's row is locked."""
    suspension = active_suspension(session, holder_id)
    if suspension is not None:
        raise Forbidden(
            _l("You cannot reserve parking until %(until)s because of repeated no-shows."),
            code="suspended",
            until=format_datetime(suspension.until, "short"),
        )
    upcoming = (
        session.scalar(
            select(func.count(Booking.id))
            .join(ParkingReservation, ParkingReservation.booking_id == Booking.id)
            .where(Booking.holder_id == holder_id, Booking.status == BookingStatus.CONFIRMED)
        )
        or 0
    )
    limit = current_app.config["PARKING_MAX_UPCOMING"]
    if upcoming >= limit:
        raise Conflict(
            _l("You already have %(n)d upcoming reservations, the most allowed."),
            code="too_many",
            n=limit,
        )
    clash = session.scalar(
        select(ParkingReservation.id)
        .join(Booking, Booking.id == ParkingReservation.booking_id)
        .where(
            ParkingReservation.plate == plate,
            Booking.status == BookingStatus.CONFIRMED,
            Booking.starts_at < arrive_at + timedelta(minutes=park.grace_minutes),
            Booking.ends_at > arrive_at,
        )
    )
    if clash is not None:
        raise Conflict(
            _l("%(plate)s already has a reservation at that time."), code="plate_busy", plate=plate
        )


def reserve(
    session,
    actor,
    holder,
    park: CarPark,
    plate: str,
    arrive_at: datetime,
    idempotency_key: str | None = None,
) -> ParkingReservation:
    """Reserve one space of the pool for `plate` arriving at `arrive_at`. Committed; SoldOut
    (409 sold_out) when the pool is full for any quarter hour of the stay."""
    if not can_act_for(session, actor, holder, HelpService.PARKING):
        raise Forbidden(
            _l("You can only reserve for residents who have given you consent for parking.")
        )
    if not park.open or park.reservable_spaces <= 0:
        raise DomainError(_l("This car park does not take reservations."), code="not_reservable")
    ahead = current_app.config["PARKING_RESERVE_DAYS_AHEAD"]
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
    _ensure_span(session, park, arrive_at, arrive_at + timedelta(minutes=park.grace_minutes))
    request = engine.Reservation(
        resource_id=park.resource_id,
        starts_at=arrive_at,
        ends_at=arrive_at + timedelta(minutes=park.grace_minutes),
        quantity=1,
        holder_id=holder.id,
        idempotency_key=idempotency_key,
        booked_by_id=actor.id,
    )

    def created(s, booking):
        s.add(
            ParkingReservation(
                booking_id=booking.id, car_park_id=park.id, plate=plate, arrive_at=arrive_at
            )
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
                "when": format_datetime(arrive_at, "short"),
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

    booking = engine.reserve(
        session,
        request,
        check=lambda s, r: _check(s, park, plate, r.holder_id, arrive_at),
        on_created=created,
    )
    return session.scalar(
        select(ParkingReservation).where(ParkingReservation.booking_id == booking.id)
    )


def for_reference(session, reference: str) -> ParkingReservation | None:
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


def cancel_is_free(reservation: ParkingReservation) -> bool:
    cutoff = reservation.arrive_at - timedelta(minutes=reservation.car_park.cancel_cutoff_minutes)
    return clock.now() <= cutoff


def cancel(session, reservation: ParkingReservation, actor) -> bool:
    """Cancel and free the space. Before the cut-off it is free; later it still frees the space
    but counts like a no-show towards suspension. Returns whether it was free."""
    booking = reservation.booking
    if not can_act_for(session, actor, booking.holder, HelpService.PARKING):
        raise NotFound(_l("No such reservation."))
    if booking.status != BookingStatus.CONFIRMED:
        raise Conflict(_l("This reservation cannot be cancelled now."), code="not_cancellable")
    free = cancel_is_free(reservation)
    write_transaction(session)
    try:
        if not engine.transition(session, booking, "cancel", reason=None if free else "late"):
            raise Conflict(_l("This reservation cannot be cancelled now."), code="not_cancellable")
        if not free:
            _suspend_if_repeated(session, booking.holder_id)
        if actor.id != booking.holder_id:
            record(
                session,
                actor,
                "parking.cancel",
                booking,
                on_behalf_of=booking.holder_id,
                reference=booking.reference,
            )
        session.commit()
    except Exception:
        session.rollback()
        raise
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


def mark_no_shows(session) -> int:
    """Reservations not used by the end of grace become no-shows (their space is released)."""
    now = clock.now()
    due = list(
        session.scalars(
            select(ParkingReservation)
            .join(Booking, Booking.id == ParkingReservation.booking_id)
            .where(Booking.status == BookingStatus.CONFIRMED, Booking.ends_at <= now)
        )
    )
    marked = 0
    for reservation in due:
        write_transaction(session)
        try:
            booking = reservation.booking
            if engine.transition(session, booking, "no_show"):
                marked += 1
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
                _suspend_if_repeated(session, booking.holder_id)
            session.commit()
        except Exception:
            session.rollback()
            raise
    return marked


def _suspend_if_repeated(session, user_id: int) -> None:
    config = current_app.config
    since = clock.now() - timedelta(days=config["PARKING_NO_SHOW_WINDOW_DAYS"])
    count = (
        session.scalar(
            select(func.count(Booking.id))
            .join(ParkingReservation, ParkingReservation.booking_id == Booking.id)
            .where(
                Booking.holder_id == user_id,
                Booking.starts_at >= since,
                (Booking.status == BookingStatus.NO_SHOW)
                | ((Booking.status == BookingStatus.CANCELLED) & (Booking.status_reason == "late")),
            )
        )
        or 0
    )
    until = engine.suspend_if_due(
        session,
        user_id,
        SUSPENSION_KIND,
        count=count,
        limit=config["PARKING_NO_SHOW_LIMIT"],
        days=config["PARKING_SUSPENSION_DAYS"],
        reason=f"{count} parking no-shows in {config['PARKING_NO_SHOW_WINDOW_DAYS']} days",
    )
    if until is None:
        return
    notify(
        session,
        user_id,
        kind="parking.suspended",
        subject=N_("Parking reservations are paused for you until %(until)s"),
        body=N_(
            "%(count)s reserved spaces were not used or were cancelled late within %(days)s days. You can reserve again from %(until)s; parking without a reservation is not affected."
        ),
        params={
            "until": format_datetime(until, "short"),
            "count": count,
            "days": config["PARKING_NO_SHOW_WINDOW_DAYS"],
        },
        link="/parking/mine",
    )


def my_reservations(session, user_id: int) -> list[ParkingReservation]:
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
    return reservation.booking.status in HOLDING and reservation.booking.ends_at > clock.now()
