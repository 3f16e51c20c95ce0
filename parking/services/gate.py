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

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.accounts import tokens
from app.accounts.models import ApiToken, Role, TokenScope
from app.audit.services import record
from app.db import unit_of_work, utcnow
from app.errors import Forbidden, NotFound
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
from parking.services import (
    ParkingSettings,
    citypush,
    payments,
    reservations,
    sharing,
    vehicles,
)
from parking.services.plates import normalize_plate
from parking.services.tariffs import fee as tariff_fee


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


def can_report_events(user, park: CarPark) -> bool:
    """May `user` report entries and exits at `park`, and make and revoke its gate tokens: the
    car park's operators and administrators."""
    return user.has_role(Role.CARPARK_OPERATOR, park) or user.has_role(Role.ADMINISTRATOR, park)


# The tokens the gate-events endpoint takes: a gate token (for its one car park) or the
# personal token of someone who may report events there.
GATE_EVENT_SCOPES = (TokenScope.GATE, TokenScope.PERSONAL)


def token_may_report(token: ApiToken, owner, park: CarPark) -> bool:
    """May this token report events at `park`: a gate token only at its own car park, and any
    token only while its owner still may (`can_report_events`: an operator who lost the role
    takes their gate tokens' rights with them)."""
    if token.scope == TokenScope.GATE and token.scope_id != park.id:
        return False
    return token.scope in GATE_EVENT_SCOPES and can_report_events(owner, park)


def issue_gate_token(session, actor, park: CarPark) -> str:
    """A new gate token for `park`, owned by `actor` (`can_report_events`), good for that car
    park's gate events and nothing else, audited, in one unit of work. Returns the secret,
    shown once."""
    if not can_report_events(actor, park):
        raise Forbidden(_l("This token may not report events for this car park."))
    with unit_of_work(session):
        row, secret = tokens.issue(
            session, actor, f"gate {park.id}", scope=TokenScope.GATE, scope_id=park.id
        )
        record(session, actor, "parking.gate_token", park, token=row.id)
    return secret


def gate_tokens(session, park: CarPark) -> list[ApiToken]:
    """The car park's unrevoked gate tokens (expired ones too: the page says so), whoever of
    its operators made them, newest first."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(
                ApiToken.scope == TokenScope.GATE,
                ApiToken.scope_id == park.id,
                ApiToken.revoked_at.is_(None),
            )
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
            .options(selectinload(ApiToken.user))
        )
    )


def gate_token(session, actor, park: CarPark, token_id: int) -> ApiToken:
    """One of `park`'s unrevoked gate tokens, for someone who may manage them; else NotFound
    (another car park's token answers as missing)."""
    if not can_report_events(actor, park):
        raise Forbidden(_l("This token may not report events for this car park."))
    row = session.get(ApiToken, token_id)
    if (
        row is None
        or row.scope != TokenScope.GATE
        or row.scope_id != park.id
        or row.revoked_at is not None
    ):
        raise NotFound(_l("No such token."))
    return row


def revoke_gate_token(session, actor, park: CarPark, token_id: int) -> ApiToken:
    """Revoke one of `park`'s gate tokens (`gate_token`), audited, in one unit of work: the
    gate using it is refused from then on."""
    with unit_of_work(session):
        row = gate_token(session, actor, park, token_id)
        tokens.revoke(session, row, actor)
        record(session, actor, "parking.gate_token_revoked", park, token=row.id)
    return row


def record_event(
    session,
    park: CarPark,
    raw_plate: str,
    direction: GateDirection,
    occurred_at: datetime,
    *,
    settings: ParkingSettings,
    collect: bool = True,
) -> EventResult:
    """Apply one gate event in one unit of work with the car park's row locked (see the module
    docstring); a resent event changes nothing and is answered as a duplicate. After the
    commit, an exit's charge is collected from the plate's 无感支付 (with `collect`). Not inside
    another unit: a twin that arrived at the same moment is told apart by the failed insert."""
    plate = normalize_plate(raw_plate)
    occurred_at = occurred_at.replace(microsecond=0)
    try:
        with unit_of_work(session):
            existing = _existing(session, park.id, plate, direction, occurred_at)
            if existing is not None:
                return EventResult(existing, duplicate=True)
            event, stay, charge = _apply(session, park, plate, direction, occurred_at)
            if event.outcome in (GateOutcome.ENTERED, GateOutcome.EXITED):
                # The city platform's push, queued in this unit (opendata, issue 15).
                citypush.after_occupancy_change(session, park.id, settings.city_push)
    except IntegrityError:
        # The same event arrived twice at once and the other copy was recorded first.
        existing = _existing(session, park.id, plate, direction, occurred_at)
        if existing is None:
            raise
        return EventResult(existing, duplicate=True)
    session.refresh(park)
    if charge is not None and collect:
        payments.collect_automatically(session, charge, settings)
        session.refresh(charge)
    return EventResult(event, duplicate=False, session=stay, charge=charge)


def _apply(session, park: CarPark, plate: str, direction: GateDirection, occurred_at: datetime):
    """Inside the event's unit: move occupancy and the plate's stay; (event, stay, charge)."""
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
        stay, charge = open_session, _exit(session, park, open_session, occurred_at)
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
    return event, stay, charge


def _exit(session, park: CarPark, stay: ParkingSession, occurred_at: datetime) -> Charge | None:
    """Close the stay: free unless a contract covers it, else the tariff; the charge of the
    plate's verified holder, if any."""
    plate = stay.plate
    stay.exited_at, stay.status = occurred_at, SessionStatus.CLOSED
    contract = sharing.covering_contract(session, park.id, plate, stay.entered_at, occurred_at)
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
    # A plate nobody verifiably holds pays at the gate's own till; the portal only records it.
    if stay.fee_fen > 0 and payer is not None:
        return payments.new_charge(
            session,
            user_id=payer,
            car_park_id=park.id,
            plate=plate,
            amount_fen=stay.fee_fen,
            session_id=stay.id,
        )
    return None


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
