"""Drivers' vehicles: registering plates, and binding a plate to a payment method (无感支付)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, NotFound
from parking.models import PaymentMethod, Vehicle
from parking.plates import normalize_plate

MAX_VEHICLES = 5


def my_vehicles(session, user_id: int) -> list[Vehicle]:
    return list(session.scalars(select(Vehicle).where(Vehicle.owner_id == user_id).order_by(Vehicle.id)))


def _taken(plate: str) -> Conflict:
    return Conflict(_l("%(plate)s is registered to another account. If it is your car, bring the vehicle licence to a service centre."),
                    field="plate", code="plate_taken", plate=plate)


def register(session, user, raw_plate: str) -> Vehicle:
    """Register a plate to `user` (committed). A plate registered to someone else is refused:
    its history would show where that car has been."""
    plate = normalize_plate(raw_plate)
    existing = session.scalar(select(Vehicle).where(Vehicle.plate == plate))
    if existing is not None:
        if existing.owner_id == user.id:
            return existing
        raise _taken(plate)
    if len(my_vehicles(session, user.id)) >= MAX_VEHICLES:
        raise Conflict(_l("You can register at most %(n)d vehicles."), field="plate", code="too_many", n=MAX_VEHICLES)
    vehicle = Vehicle(owner_id=user.id, plate=plate)
    session.add(vehicle)
    try:
        session.commit()
    except IntegrityError:  # someone registered it in the meantime
        session.rollback()
        raise _taken(plate) from None
    return vehicle


def get_mine(session, user_id: int, vehicle_id: int) -> Vehicle:
    vehicle = session.get(Vehicle, vehicle_id)
    if vehicle is None or vehicle.owner_id != user_id:
        raise NotFound(_l("No such vehicle."))
    return vehicle


def remove(session, vehicle: Vehicle) -> None:
    session.delete(vehicle)
    session.commit()


def mine_or_register(session, user, raw_plate: str) -> str:
    """The normalised plate, registering it to `user` if nobody has it yet (the API's way)."""
    plate = normalize_plate(raw_plate)
    owner = session.scalar(select(Vehicle.owner_id).where(Vehicle.plate == plate))
    if owner == user.id:
        return plate
    return register(session, user, plate).plate


def owned_plate(session, user_id: int, raw_plate: str) -> str:
    plate = normalize_plate(raw_plate)
    if session.scalar(select(Vehicle.id).where(Vehicle.plate == plate, Vehicle.owner_id == user_id)) is None:
        raise Conflict(_l("Register %(plate)s as your vehicle first."), field="plate", code="plate_not_registered",
                       plate=plate)
    return plate


def set_autopay(session, vehicle: Vehicle, method: PaymentMethod | None) -> None:
    vehicle.autopay_method_id = method.id if method is not None else None
    session.commit()


def payer_for_plate(session, plate: str) -> Vehicle | None:
    return session.scalar(select(Vehicle).where(Vehicle.plate == plate))
