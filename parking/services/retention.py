"""How long parking keeps plates (PARKING_RETENTION_DAYS, default 180).

A plate tells where a car, and so a person, was. Past the retention period the sweep replaces
it with an anonymous marker in gate events, finished stays, reservations and contracts that
have ended, and charges that are settled (paid or cancelled; an unpaid charge keeps its plate
while it is owed). Everything else stays, so occupancy, revenue and no-show figures still add
up. The marker is `#` and the row's id in base 36: never a valid plate, unique within its
table (so the gate's unique (car park, plate, direction, time) still holds), and saying
nothing about the car.

Each table is done in batches of BATCH rows, one short transaction each, so a first run on a
large database does not hold locks for long; rows already anonymised are never touched again
(partial indexes on the two big tables find the ones left), so a sweep with nothing to do costs
two index lookups. Running it on several nodes at once is safe: both write the same markers.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text, update

from app import clock
from app.db import unit_of_work
from bookings.models import Booking
from parking.models import (
    Charge,
    ChargeStatus,
    GateEvent,
    ParkingReservation,
    ParkingSession,
    SessionStatus,
    SharingContract,
)
from parking.services import ParkingSettings

ANONYMOUS_PREFIX = "#"
BATCH = 500
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def anonymous_plate(row_id: int) -> str:
    """The marker that replaces the plate of row `row_id`: `#` and the id in base 36."""
    digits = ""
    while True:
        row_id, rest = divmod(row_id, 36)
        digits = _DIGITS[rest] + digits
        if not row_id:
            return ANONYMOUS_PREFIX + digits


def is_anonymous(plate: str | None) -> bool:
    """The plate is a retention marker, not a real plate."""
    return bool(plate) and plate.startswith(ANONYMOUS_PREFIX)


def identifying(model):
    """SQL: the row still holds a real plate. Written out as in the partial indexes
    (parking.models), so that both databases see that the condition is the index's."""
    return text(f"substr({model.__tablename__}.plate, 1, 1) <> '#'")


def cutoff(settings: ParkingSettings):
    """Plates older than this are anonymised (PARKING_RETENTION_DAYS)."""
    return clock.now() - timedelta(days=settings.retention_days)


def anonymise_old_plates(session, settings: ParkingSettings) -> dict[str, int]:
    """Anonymise every plate past the retention period; how many rows of each kind changed.
    Idempotent: a second run finds nothing to do."""
    before = cutoff(settings)
    ended = select(Booking.id).where(Booking.ends_at < before)
    return {
        "gate events anonymised": _anonymise(session, GateEvent, GateEvent.occurred_at < before),
        "parking stays anonymised": _anonymise(
            session,
            ParkingSession,
            ParkingSession.exited_at < before,
            ParkingSession.status != SessionStatus.OPEN,
        ),
        "reservations anonymised": _anonymise(
            session, ParkingReservation, ParkingReservation.booking_id.in_(ended)
        ),
        "contracts anonymised": _anonymise(
            session,
            SharingContract,
            SharingContract.booking_id.in_(ended),
            then=_forget_contract_keys,
        ),
        "charges anonymised": _anonymise(
            session,
            Charge,
            Charge.created_at < before,
            Charge.status.in_((ChargeStatus.PAID, ChargeStatus.CANCELLED)),
        ),
    }


def _anonymise(session, model, *conditions, then=None) -> int:
    done = 0
    while True:
        with unit_of_work(session):  # one short unit per batch: no lock held for long
            ids = list(
                session.scalars(
                    select(model.id)
                    .where(*conditions, identifying(model))
                    .order_by(model.id)
                    .limit(BATCH)
                )
            )
            if ids:
                session.execute(
                    update(model), [{"id": i, "plate": anonymous_plate(i)} for i in ids]
                )
                if then is not None:
                    then(session, ids)
        done += len(ids)
        if len(ids) < BATCH:
            return done


def _forget_contract_keys(session, contract_ids: list[int]) -> None:
    """A contract's engine booking carries the plate in its idempotency key
    (`share:<window>:<month>:<plate>`, parking.services.sharing); the month is over, so the key has
    nothing left to protect."""
    session.execute(
        update(Booking)
        .where(
            Booking.id.in_(
                select(SharingContract.booking_id).where(SharingContract.id.in_(contract_ids))
            ),
            Booking.idempotency_key.startswith("share:"),
        )
        .values(idempotency_key=None)
        .execution_options(synchronize_session=False)
    )
