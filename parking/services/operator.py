"""What a car-park operator sees: the day's occupancy, reservations, no-shows, revenue and
irregular gate events; and the settings they change (capacity, pool, tariff, windows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app import clock
from app.clock import month_start
from app.db import unit_of_work
from app.errors import DomainError
from bookings.models import HOLDING, Booking, BookingStatus
from parking.models import (
    CarPark,
    Charge,
    ChargeStatus,
    GateEvent,
    GateOutcome,
    ParkingReservation,
    ParkingSession,
    SessionStatus,
    SharingContract,
    SharingWindow,
)
from parking.services import reservations


@dataclass
class DayFigures:
    day: date
    hours: list[tuple[int, int | None]] = field(
        default_factory=list
    )  # (hour, occupancy at its end)
    reservations: list[ParkingReservation] = field(default_factory=list)
    tomorrow: list[ParkingReservation] = field(default_factory=list)  # still to come
    by_status: dict = field(default_factory=dict)
    no_shows: int = 0
    fees_fen: int = 0  # fees of every stay that ended today, wherever it was paid
    revenue_paid_fen: int = 0
    revenue_unpaid_fen: int = 0
    inside: int = 0
    repeated_entries: int = 0
    unmatched_exits: int = 0
    events: list[GateEvent] = field(default_factory=list)
    contracts: dict = field(default_factory=dict)  # window id -> contracts this month


def reservations_on(
    session, park: CarPark, day: date, *, holding: bool = False
) -> list[ParkingReservation]:
    """The car park's reservations arriving on `day` (local), earliest first, their bookings
    loaded; `holding`: only those still to come (confirmed or waiting), as for tomorrow."""
    start, end = clock.day_bounds(day)
    query = (
        select(ParkingReservation)
        .join(Booking, Booking.id == ParkingReservation.booking_id)
        .where(
            ParkingReservation.car_park_id == park.id,
            ParkingReservation.arrive_at >= start,
            ParkingReservation.arrive_at < end,
        )
        .order_by(ParkingReservation.arrive_at, ParkingReservation.id)
        .options(selectinload(ParkingReservation.booking))
    )
    if holding:
        query = query.where(Booking.status.in_(HOLDING))
    return list(session.scalars(query))


def day_figures(session, park: CarPark, day: date | None = None) -> DayFigures:
    """The car park's day (today by default) as its operator sees it, with the next day's
    reservations still to come; reads only."""
    day = day or clock.today()
    start, end = clock.day_bounds(day)
    figures = DayFigures(day=day)
    events = list(
        session.scalars(
            select(GateEvent)
            .where(
                GateEvent.car_park_id == park.id,
                GateEvent.occurred_at >= start,
                GateEvent.occurred_at < end,
            )
            .order_by(GateEvent.occurred_at, GateEvent.id)
        )
    )
    before = session.scalar(
        select(GateEvent.occupied_after)
        .where(GateEvent.car_park_id == park.id, GateEvent.occurred_at < start)
        .order_by(GateEvent.occurred_at.desc(), GateEvent.id.desc())
        .limit(1)
    )
    last_hour = 23 if day < clock.today() else clock.local(clock.now()).hour
    level, index = before, 0
    for hour in range(last_hour + 1):
        hour_end = start + timedelta(hours=hour + 1)
        while index < len(events) and events[index].occurred_at < hour_end:
            level = events[index].occupied_after
            index += 1
        figures.hours.append((hour, level))
    figures.events = list(reversed(events[-20:]))
    figures.repeated_entries = sum(1 for e in events if e.outcome == GateOutcome.REPEATED_ENTRY)
    figures.unmatched_exits = sum(1 for e in events if e.outcome == GateOutcome.UNMATCHED_EXIT)
    figures.reservations = reservations_on(session, park, day)
    figures.tomorrow = reservations_on(session, park, day + timedelta(days=1), holding=True)
    for r in figures.reservations:
        figures.by_status[r.booking.status] = figures.by_status.get(r.booking.status, 0) + 1
    figures.no_shows = figures.by_status.get(BookingStatus.NO_SHOW, 0)
    figures.fees_fen = (
        session.scalar(
            select(func.coalesce(func.sum(ParkingSession.fee_fen), 0)).where(
                ParkingSession.car_park_id == park.id,
                ParkingSession.exited_at >= start,
                ParkingSession.exited_at < end,
            )
        )
        or 0
    )
    figures.revenue_paid_fen = (
        session.scalar(
            select(func.coalesce(func.sum(Charge.amount_fen), 0)).where(
                Charge.car_park_id == park.id,
                Charge.status == ChargeStatus.PAID,
                Charge.paid_at >= start,
                Charge.paid_at < end,
            )
        )
        or 0
    )
    figures.revenue_unpaid_fen = (
        session.scalar(
            select(func.coalesce(func.sum(Charge.amount_fen), 0)).where(
                Charge.car_park_id == park.id,
                Charge.status.in_((ChargeStatus.DUE, ChargeStatus.FAILED)),
                Charge.created_at >= start,
                Charge.created_at < end,
            )
        )
        or 0
    )
    figures.inside = (
        session.scalar(
            select(func.count(ParkingSession.id)).where(
                ParkingSession.car_park_id == park.id, ParkingSession.status == SessionStatus.OPEN
            )
        )
        or 0
    )
    month = month_start(day)
    figures.contracts = dict(
        session.execute(
            select(SharingContract.window_id, func.count(SharingContract.id))
            .join(Booking, Booking.id == SharingContract.booking_id)
            .join(SharingWindow, SharingWindow.id == SharingContract.window_id)
            .where(
                SharingWindow.car_park_id == park.id,
                SharingContract.month == month,
                Booking.status.in_((BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)),
            )
            .group_by(SharingContract.window_id)
        ).all()
    )
    return figures


def set_capacity(
    session,
    park: CarPark,
    *,
    total_spaces: int,
    reservable_spaces: int,
    grace_minutes: int,
    cancel_cutoff_minutes: int,
    open: bool,
    pool_days: int,
) -> None:
    """Change the car park's size and reservable pool, in one unit of work with the pool's
    buckets for `pool_days` (ParkingSettings.pool_days), which follow the new size but never
    drop below what is already reserved in them. The total cannot go below the cars inside,
    nor the pool above the total."""
    if total_spaces < park.occupied:
        raise DomainError(
            _l("There are %(n)d cars inside now; the total cannot be smaller."),
            field="total_spaces",
            n=park.occupied,
        )
    if reservable_spaces > total_spaces:
        raise DomainError(
            _l("The reservable pool cannot be larger than the car park."), field="reservable_spaces"
        )
    with unit_of_work(session):
        park.total_spaces, park.reservable_spaces = total_spaces, reservable_spaces
        park.grace_minutes, park.cancel_cutoff_minutes, park.open = (
            grace_minutes,
            cancel_cutoff_minutes,
            open,
        )
        park.updated_at = clock.now()
        if park.reservable_spaces > 0 or park.resource_id is not None:
            reservations.materialise_pool(session, park, pool_days)
