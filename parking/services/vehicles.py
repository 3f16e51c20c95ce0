"""Drivers' vehicles: claiming plates, the vehicle licence photo, and 无感支付.

A plate on an account is a *claim* until a verifier has seen the vehicle licence (行驶证; see
parking.verification). Guarantees:
- anyone may claim any plate, and several accounts may claim one: claiming never locks the real
  owner out, and never shows the claimant anything about the car;
- a live claim (claimed, pending or verified) may reserve spaces and sign off-peak contracts for
  the plate: the gate matches the plate, nothing about the car is shown back;
- only the VERIFIED holder gets what follows the car (gate history, fees, 无感支付), from the
  moment of verification (`verified_holder`, `can_bind_payment`);
- the licence photo is stored privately (content-checked, re-encoded, metadata dropped) and
  removed with the claim or once the claim is decided.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select, update

from app.accounts.models import User
from app.db import unit_of_work
from app.errors import Conflict, DomainError, NotFound
from app.uploads import remove_image, store_image
from parking.models import LIVE_VEHICLE_STATES, PaymentMethod, Vehicle, VehicleStatus
from parking.services.plates import normalize_plate

MAX_VEHICLES = 5
LICENCE_FOLDER = "licences"  # under UPLOAD_DIR; never served as a static file


class UnknownVehicle(DomainError):
    """The plate is not one of the person's vehicles (nothing is registered as a side effect)."""

    status = 422
    code = "unknown_vehicle"


def my_vehicles(session, user_id: int) -> list[Vehicle]:
    """All the person's claims, whatever their state (the vehicles page shows each one)."""
    return list(
        session.scalars(select(Vehicle).where(Vehicle.owner_id == user_id).order_by(Vehicle.id))
    )


def usable_vehicles(session, user_id: int) -> list[Vehicle]:
    """The person's live claims: the plates they may reserve and sign contracts for."""
    return [v for v in my_vehicles(session, user_id) if v.is_live]


def can_bind_payment(vehicle: Vehicle) -> bool:
    """无感支付 only for a verified plate: fees follow the verified holder only."""
    return vehicle.status == VehicleStatus.VERIFIED


def can_send_licence(vehicle: Vehicle) -> bool:
    """A licence photo is asked for until the plate is verified (a refused or dropped claim
    may try again with a new photo)."""
    return vehicle.status != VehicleStatus.VERIFIED


def register(session, user, raw_plate: str) -> Vehicle:
    """Claim a plate for `user` in one unit of work. Claiming it again returns the same claim;
    a refused or dropped claim is opened again. Never refused because someone else claims or
    holds it; refused past MAX_VEHICLES live claims. The person's row is locked first, so a
    double submit makes one claim and parallel claims cannot pass the limit together."""
    plate = normalize_plate(raw_plate)
    with unit_of_work(session):
        session.execute(select(User.id).where(User.id == user.id).with_for_update())
        mine = session.scalar(
            select(Vehicle).where(Vehicle.owner_id == user.id, Vehicle.plate == plate)
        )
        if mine is not None and mine.is_live:
            return mine
        live = (
            session.scalar(
                select(func.count(Vehicle.id)).where(
                    Vehicle.owner_id == user.id, Vehicle.status.in_(LIVE_VEHICLE_STATES)
                )
            )
            or 0
        )
        if live >= MAX_VEHICLES:
            raise Conflict(
                _l("You can register at most %(n)d vehicles."),
                field="plate",
                code="too_many",
                n=MAX_VEHICLES,
            )
        if mine is not None:
            mine.status, mine.decided_at, mine.decided_by_id, mine.decision_note = (
                VehicleStatus.CLAIMED,
                None,
                None,
                "",
            )
            return mine
        vehicle = Vehicle(owner_id=user.id, plate=plate, status=VehicleStatus.CLAIMED)
        session.add(vehicle)
        session.flush()  # its id, also when this unit joins a caller's
    return vehicle


def send_licence(session, vehicle: Vehicle, data: bytes) -> Vehicle:
    """Store the photo of the vehicle licence and put the claim in the verifiers' queue (one
    unit of work). A photo sent before is replaced (its file deleted once the change commits;
    the new file is deleted if it does not). A claim verified meanwhile stays verified: the
    change is a guarded UPDATE."""
    if not can_send_licence(vehicle):
        raise Conflict(
            _l("%(plate)s is already verified."), code="already_verified", plate=vehicle.plate
        )
    if not data:
        raise DomainError(
            _l("Choose a photo of the vehicle licence"), field="photo", code="no_photo"
        )
    stored = store_image(data, LICENCE_FOLDER, max_side=2000, field="photo")
    with unit_of_work(session) as unit:
        unit.after_rollback(lambda: remove_image(LICENCE_FOLDER, stored.filename))
        previous = session.scalar(
            select(Vehicle.licence_filename).where(Vehicle.id == vehicle.id).with_for_update()
        )
        moved = session.execute(
            update(Vehicle)
            .where(Vehicle.id == vehicle.id, Vehicle.status != VehicleStatus.VERIFIED)
            .values(
                licence_filename=stored.filename,
                status=VehicleStatus.PENDING,
                decided_at=None,
                decided_by_id=None,
                decision_note="",
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if not moved:
            raise Conflict(
                _l("%(plate)s is already verified."), code="already_verified", plate=vehicle.plate
            )
        if previous:
            unit.after_commit(lambda: remove_image(LICENCE_FOLDER, previous))
    session.refresh(vehicle)
    return vehicle


def get_mine(session, user_id: int, vehicle_id: int) -> Vehicle:
    """The person's own claim; anyone else's answers as missing."""
    vehicle = session.get(Vehicle, vehicle_id)
    if vehicle is None or vehicle.owner_id != user_id:
        raise NotFound(_l("No such vehicle."))
    return vehicle


def remove(session, vehicle: Vehicle) -> None:
    """Delete the claim (one unit of work) and, once that commits, its licence photo."""
    with unit_of_work(session) as unit:
        filename = vehicle.licence_filename
        session.delete(vehicle)
        if filename:
            unit.after_commit(lambda: remove_image(LICENCE_FOLDER, filename))


def live_claim(plate, owner_id):
    """The SQL condition "`plate` is one of `owner_id`'s live claims" on Vehicle (values or bound
    parameters): what `claimed_plate` checks, and what a reservation's one-query check asks
    (parking.services.reservations)."""
    return and_(
        Vehicle.plate == plate,
        Vehicle.owner_id == owner_id,
        Vehicle.status.in_(LIVE_VEHICLE_STATES),
    )


def unknown_vehicle(plate: str) -> UnknownVehicle:
    """The refusal of a plate that is not one of the person's live claims."""
    return UnknownVehicle(
        _l("%(plate)s is not one of your vehicles. Add it under My vehicles first."),
        theirs=_l(
            "%(plate)s is not one of this resident's vehicles. They can add it under My vehicles."
        ),
        field="plate",
        plate=plate,
    )


def claimed_plate(session, user_id: int, raw_plate: str) -> str:
    """The normalised plate if it is one of the person's live claims; UnknownVehicle (422)
    otherwise. Reservations and contracts take a plate this way: never registering one."""
    plate = normalize_plate(raw_plate)
    if session.scalar(select(Vehicle.id).where(live_claim(plate, user_id))) is None:
        raise unknown_vehicle(plate)
    return plate


def set_autopay(session, vehicle: Vehicle, method: PaymentMethod | None) -> None:
    """Bind (or unbind, with None) 无感支付, in one unit of work. Binding needs a verified
    plate (`can_bind_payment`), checked in the write itself so a claim dropped meanwhile is not
    bound."""
    with unit_of_work(session):
        change = update(Vehicle).where(Vehicle.id == vehicle.id)
        if method is not None:
            change = change.where(Vehicle.status == VehicleStatus.VERIFIED)
        moved = session.execute(
            change.values(
                autopay_method_id=method.id if method is not None else None
            ).execution_options(synchronize_session=False)
        ).rowcount
    session.refresh(vehicle)
    if not moved:
        raise Conflict(
            _l("Automatic payment starts once %(plate)s is verified."),
            code="plate_not_verified",
            plate=vehicle.plate,
        )


def verified_holder(session, plate: str, at: datetime | None = None) -> Vehicle | None:
    """The verified claim of `plate`, if any; with `at`, only if it was verified by then (a stay
    belongs to whoever verifiably held the plate when it began)."""
    vehicle = session.scalar(
        select(Vehicle).where(Vehicle.plate == plate, Vehicle.status == VehicleStatus.VERIFIED)
    )
    if vehicle is None or (
        at is not None and (vehicle.decided_at is None or vehicle.decided_at > at)
    ):
        return None
    return vehicle
