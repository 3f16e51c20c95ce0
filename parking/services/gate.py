"""Gate events: what the barriers report, kept as occupancy and parking sessions.

Each event is applied in one transaction with the car park's row locked, so occupancy moves
exactly once per real entry or exit whatever arrives at the same time. A resent event (same car
park, plate, direction and time) changes nothing; an entry for a plate already inside is recorded
but not counted again; an exit with no entry on record is recorded for the operator but does not
lower occupancy. An exit closes the session, prices the stay, and (无感支付) charges the plate's
bound payment method once the event is committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.db import utcnow, write_transaction
from parking.models import (
    CarPark,
    Charge,
    GateDirection,
    GateEvent,
    GateOutcome,
    ParkingSession,
    SessionStatus,
    Vehicle,
    VehicleStatus,
)
from parking.services import payments, reservations, sharing, vehicles
from parking.services.plates import normalize_plate
from parking.services.search import fee as tariff_fee


@dataclass
class EventResult:
    event: GateEvent
    duplicate: bool
    session: ParkingSession | None = None
    charge: Charge | None = None


def _existing(
    session, park_id: int, plate: str, direction: GateDirection, at: datetime
) -> GateEvent | None:
    return session.scalar(
        select(GateEvent).where(
            GateEvent.car_park_id == park_id,
            GateEvent.plate == plate,
            GateEvent.direction == direction,
            GateEvent.occurred_at == at,
        )
    )


def record_event(
    session,
    park: CarPark,
    raw_plate: str,
    direction: GateDirection,
    occurred_at: datetime,
    *,
    collect: bool = True,
) -> EventResult:
    plate = normalize_plate(raw_plate)
    occurred_at = occurred_at.replace(microsecond=0)
    write_transaction(session)
    try:
        existing = _existing(session, park.id, plate, direction, occurred_at)
        if existing is not None:
            session.commit()
            return EventResult(existing, duplicate=True)
        # One event at a time per car park: occupancy and sessions move together.
        session.execute(select(CarPark.id).where(CarPark.id == park.id).with_for_update())
        open_session = session.scalar(
            select(ParkingSession)
            .where(
                ParkingSession.car_park_id == park.id,
                ParkingSession.plate == plate,
                ParkingSession.status == SessionStatus.OPEN,
            )
            .order_by(ParkingSession.entered_at.desc())
        )
        charge = None
        if direction == GateDirection.ENTRY:
            if open_session is not None:
                outcome, stay = GateOutcome.REPEATED_ENTRY, open_session
            else:
                session.execute(
                    update(CarPark)
                    .where(CarPark.id == park.id, CarPark.occupied < CarPark.total_spaces)
                    .values(occupied=CarPark.occupied + 1, updated_at=utcnow())
                    .execution_options(synchronize_session=False)
                )
                reservation = reservations.check_in(session, park, plate, occurred_at)
                stay = ParkingSession(
                    car_park_id=park.id,
                    plate=plate,
                    entered_at=occurred_at,
                    status=SessionStatus.OPEN,
                    reservation_id=reservation.id if reservation else None,
                )
                session.add(stay)
                outcome = GateOutcome.ENTERED
        elif open_session is not None and open_session.entered_at <= occurred_at:
            stay = open_session
            stay.exited_at, stay.status = occurred_at, SessionStatus.CLOSED
            contract = sharing.covering_contract(
                session, park.id, plate, stay.entered_at, occurred_at
            )
            stay.contract_id = contract.id if contract else None
            stay.fee_fen = 0 if contract else tariff_fee(park, stay.entered_at, occurred_at).fen
            session.execute(
                update(CarPark)
                .where(CarPark.id == park.id, CarPark.occupied > 0)
                .values(occupied=CarPark.occupied - 1, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            session.flush()
            payer = _payer(session, plate, stay.entered_at)
            # A plate nobody verifiably holds pays at the gate's own till; the portal only records the fee.
            if stay.fee_fen > 0 and payer is not None:
                charge = payments.new_charge(
                    session,
                    user_id=payer,
                    car_park_id=park.id,
                    plate=plate,
                    amount_fen=stay.fee_fen,
                    session_id=stay.id,
                )
            outcome = GateOutcome.EXITED
        else:
            stay = ParkingSession(
                car_park_id=park.id,
                plate=plate,
                exited_at=occurred_at,
                status=SessionStatus.EXIT_UNMATCHED,
            )
            session.add(stay)
            outcome = GateOutcome.UNMATCHED_EXIT
        session.flush()
        occupied = session.scalar(select(CarPark.occupied).where(CarPark.id == park.id))
        event = GateEvent(
            car_park_id=park.id,
            plate=plate,
            direction=direction,
            occurred_at=occurred_at,
            outcome=outcome,
            occupied_after=occupied,
            session_id=stay.id,
        )
        session.add(event)
        session.commit()
    except IntegrityError:
        # The same event arrived twice at once and the other copy was recorded first.
        session.rollback()
        existing = _existing(session, park.id, plate, direction, occurred_at)
        if existing is None:
            raise
        return EventResult(existing, duplicate=True)
    except Exception:
        session.rollback()
        raise
    session.refresh(park)
    if charge is not None and collect:
        payments.collect_automatically(session, charge)
        session.refresh(charge)
    return EventResult(event, duplicate=False, session=stay, charge=charge)


def _payer(session, plate: str, entered_at: datetime) -> int | None:
    """Whoever verifiably held the plate when this stay began; else nobody (the gate's till).
    A mere claim never gets a charge: it would show where and when the car parked."""
    holder = vehicles.verified_holder(session, plate, at=entered_at)
    return holder.owner_id if holder is not None else None


def history(session, user_id: int, limit: int = 50) -> list[ParkingSession]:
    """The person's stays: their verified plates' sessions since each was verified."""
    return list(
        session.scalars(
            select(ParkingSession)
            .join(Vehicle, Vehicle.plate == ParkingSession.plate)
            .where(
                Vehicle.owner_id == user_id,
                Vehicle.status == VehicleStatus.VERIFIED,
                ParkingSession.status != SessionStatus.EXIT_UNMATCHED,
                ParkingSession.entered_at >= Vehicle.decided_at,
            )
            .order_by(ParkingSession.entered_at.desc())
            .limit(limit)
            .options(selectinload(ParkingSession.car_park), selectinload(ParkingSession.charge))
        )
    )
