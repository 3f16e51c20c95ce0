"""Verifying plates: a car-park operator (any car park) or a service-desk clerk compares the photo
of the vehicle licence (行驶证) with the claim and approves or refuses it.

Guarantees:
- only verifiers (`can_verify`) see the queue, the claimants' names and the licence photos;
- a driver without a photo may show the licence at a desk: the verifier finds the claims of the
  plate (`claims_of`) and decides one without a photo (UNDECIDED: claimed or pending);
- a claim is decided once: the change is a guarded UPDATE from an undecided state, so two verifiers
  deciding at the same moment make one decision, and the other is told it was already decided;
- approving a claim drops every other claim of the plate (a previous verified holder's too: the
  car changed hands), clears their 无感支付, and tells their owners; the partial unique index
  `uq_vehicle_verified_plate` is the backstop for one verified holder per plate;
- the decision is audited and the driver told, in the same transaction; the licence photos of
  the decided and dropped claims are deleted after it commits.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.accounts.models import Role
from app.audit.services import record
from app.db import unit_of_work, utcnow
from app.errors import Conflict, DomainError, NotFound
from app.i18n import N_
from app.notifications.services import notify
from app.uploads import remove_image
from parking.models import LIVE_VEHICLE_STATES, Vehicle, VehicleStatus
from parking.services.plates import normalize_plate
from parking.services.vehicles import LICENCE_FOLDER

VERIFIER_ROLES = (Role.CARPARK_OPERATOR, Role.SERVICE_DESK)
UNDECIDED = (VehicleStatus.CLAIMED, VehicleStatus.PENDING)


def can_verify(user) -> bool:
    """Operators of any car park and service-desk clerks verify plates, district-wide."""
    return user.is_authenticated and any(user.has_role(role) for role in VERIFIER_ROLES)


def queue(session) -> list[Vehicle]:
    """Claims waiting with a licence photo, oldest first."""
    return list(
        session.scalars(
            select(Vehicle)
            .where(Vehicle.status == VehicleStatus.PENDING)
            .order_by(Vehicle.claimed_at, Vehicle.id)
            .options(selectinload(Vehicle.owner))
        )
    )


def waiting(session) -> int:
    """How many claims wait for a verifier."""
    return (
        session.scalar(
            select(func.count(Vehicle.id)).where(Vehicle.status == VehicleStatus.PENDING)
        )
        or 0
    )


def claims_of(session, raw_plate: str) -> list[Vehicle]:
    """The undecided claims of a plate, for a driver showing the licence at a desk."""
    plate = normalize_plate(raw_plate)
    return list(
        session.scalars(
            select(Vehicle)
            .where(Vehicle.plate == plate, Vehicle.status.in_(UNDECIDED))
            .order_by(Vehicle.claimed_at, Vehicle.id)
            .options(selectinload(Vehicle.owner))
        )
    )


def get_undecided(session, vehicle_id: int) -> Vehicle:
    """A claim still waiting for a decision; NotFound otherwise."""
    vehicle = session.get(Vehicle, vehicle_id)
    if vehicle is None or vehicle.status not in UNDECIDED:
        raise NotFound(_l("No such claim waiting for a check."))
    return vehicle


def other_claims(session, vehicle: Vehicle) -> int:
    """How many other accounts claim the same plate (the verifier is told before approving)."""
    return (
        session.scalar(
            select(func.count(Vehicle.id)).where(
                Vehicle.plate == vehicle.plate,
                Vehicle.id != vehicle.id,
                Vehicle.status.in_(LIVE_VEHICLE_STATES),
            )
        )
        or 0
    )


def _decide(session, vehicle: Vehicle, verifier, status: VehicleStatus, note: str) -> bool:
    """Move the claim from an undecided state to `status`; False when it was decided meanwhile."""
    return bool(
        session.execute(
            update(Vehicle)
            .where(Vehicle.id == vehicle.id, Vehicle.status.in_(UNDECIDED))
            .values(
                status=status,
                decided_at=utcnow(),
                decided_by_id=verifier.id,
                decision_note=note,
                licence_filename=None,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def _already_decided() -> Conflict:
    return Conflict(_l("This claim has already been decided."), code="already_decided")


def approve(session, verifier, vehicle: Vehicle) -> Vehicle:
    """Verify the claim and drop the plate's other claims, in one unit of work (see the module
    docstring); their licence photos are deleted once it commits. Conflict when the claim, or
    another claim of the plate, was decided meanwhile."""
    try:
        with unit_of_work(session) as unit:
            photos = [vehicle.licence_filename]
            # Every claim of the plate, this one included, locked in id order: two verifiers
            # deciding claims of one plate queue up instead of deadlocking.
            claims = list(
                session.scalars(
                    select(Vehicle)
                    .where(Vehicle.plate == vehicle.plate)
                    .order_by(Vehicle.id)
                    .with_for_update()
                    .execution_options(populate_existing=True)
                )
            )
            others = [c for c in claims if c.id != vehicle.id and c.status in LIVE_VEHICLE_STATES]
            for other in others:
                photos.append(other.licence_filename)
                _drop(session, verifier, other)
            # After the drops: the previous holder's row no longer counts against the partial
            # unique index. Decided meanwhile: nothing above is kept.
            if not _decide(session, vehicle, verifier, VehicleStatus.VERIFIED, ""):
                raise _already_decided()
            notify(
                session,
                vehicle.owner_id,
                kind="parking.plate_verified",
                subject=N_("%(plate)s is verified"),
                body=N_(
                    "Its parking history, fees and automatic payment are now on your account, "
                    "from today."
                ),
                params={"plate": vehicle.plate},
                link="/parking/vehicles",
            )
            record(
                session,
                verifier,
                "parking.plate_verified",
                vehicle,
                plate=vehicle.plate,
                dropped=[other.id for other in others],
            )
            unit.after_commit(lambda: _remove_photos(photos))
    except IntegrityError:  # another claim of the plate was verified at the same moment
        raise _already_decided() from None
    session.refresh(vehicle)
    return vehicle


def _drop(session, verifier, other: Vehicle) -> None:
    """Inside approve's unit: another account's claim of the plate is dropped, its 无感支付
    cleared, its owner told."""
    session.execute(
        update(Vehicle)
        .where(Vehicle.id == other.id)
        .values(
            status=VehicleStatus.DROPPED,
            decided_at=utcnow(),
            decided_by_id=verifier.id,
            decision_note="verified_elsewhere",
            licence_filename=None,
            autopay_method_id=None,
        )
        .execution_options(synchronize_session=False)
    )
    notify(
        session,
        other.owner_id,
        kind="parking.plate_dropped",
        subject=N_("%(plate)s was verified for another account"),
        body=N_(
            "A verifier saw the vehicle licence of %(plate)s for another account, so it is no "
            "longer on yours: no history, fees or automatic payment for it. If the car is yours, "
            "send a photo of its vehicle licence again from My vehicles."
        ),
        params={"plate": other.plate},
        link="/parking/vehicles",
    )


def refuse(session, verifier, vehicle: Vehicle, reason: str) -> Vehicle:
    """Refuse the claim with a reason the driver is told, in one unit of work; its licence photo
    is deleted once it commits. Conflict when it was decided meanwhile."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(
            _l("Say why the claim is refused: the driver is told."),
            field="reason",
            code="no_reason",
        )
    with unit_of_work(session) as unit:
        photo = vehicle.licence_filename
        if not _decide(session, vehicle, verifier, VehicleStatus.REFUSED, reason[:200]):
            raise _already_decided()
        notify(
            session,
            vehicle.owner_id,
            kind="parking.plate_refused",
            subject=N_("%(plate)s could not be verified"),
            body=N_(
                "The verifier's reason: %(reason)s. "
                "You can send a new photo of the vehicle licence from My vehicles."
            ),
            params={"plate": vehicle.plate, "reason": reason[:200]},
            link="/parking/vehicles",
        )
        record(
            session,
            verifier,
            "parking.plate_refused",
            vehicle,
            plate=vehicle.plate,
            reason=reason[:200],
        )
        unit.after_commit(lambda: _remove_photos([photo]))
    session.refresh(vehicle)
    return vehicle


def _remove_photos(filenames) -> None:
    for filename in filenames:
        if filename:
            remove_image(LICENCE_FOLDER, filename)
