"""Administering car parks (issue 15): create one, edit what it is and where, archive it.
Its size and reservable pool go through `operator.set_capacity` (which keeps the pool's buckets
in step and never below what is reserved); its tariff, sharing windows and gate tokens have
the operator's pages, which administrators may use too.

Guarantees: one unit of work per change, audited ("parking.car_park_saved"); names unique
within the town; WGS-84 coordinates required and checked (app.places.admin_services.
check_coordinates, which the estates and the import share); an archived town takes no new car
park; a car park is archived (`archived_at`), never deleted, so stays and payments keep it."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import clock
from app.audit.services import record
from app.db import unit_of_work
from app.errors import DomainError
from app.places.admin_services import check_coordinates
from app.places.models import Town
from parking.models import CarPark, CarParkKind
from parking.services import ParkingSettings, operator


def save_car_park(
    session, actor, park: CarPark | None, data: dict, town: Town, settings: ParkingSettings
) -> CarPark:
    """Create (park None) or edit a car park of `town`: names, kind, address, coordinates; a new
    one also gets its total and reservable spaces (an existing one changes them on the capacity
    page, where the cars inside and the reservations already made are respected)."""
    zh, en = (data.get("name_zh") or "").strip(), (data.get("name_en") or "").strip()
    if not zh:
        raise DomainError(_l("Enter the name in Chinese"), field="name_zh")
    if not en:
        raise DomainError(_l("Enter the name in English"), field="name_en")
    try:
        kind = CarParkKind(data.get("kind") or "")
    except ValueError:
        raise DomainError(_l("Choose the kind of car park"), field="kind") from None
    address_zh = (data.get("address_zh") or "").strip()
    address_en = (data.get("address_en") or "").strip()
    if not address_zh:
        raise DomainError(_l("Enter the address in Chinese"), field="address_zh")
    if not address_en:
        raise DomainError(_l("Enter the address in English"), field="address_en")
    check_coordinates(data.get("latitude"), data.get("longitude"), required=True)
    if town.archived_at is not None:
        raise DomainError(_l("This town is archived."), field="town_id", code="archived")
    with unit_of_work(session):
        clash = select(CarPark.id).where(CarPark.town_id == town.id, CarPark.name_zh == zh)
        if park is not None:
            clash = clash.where(CarPark.id != park.id)
        if session.scalar(clash.limit(1)) is not None:
            raise DomainError(_l("The town already has a car park of this name"), field="name_zh")
        new = park is None
        if new:
            park = CarPark(total_spaces=0, reservable_spaces=0, occupied=0)
            session.add(park)
        park.name_zh, park.name_en, park.kind, park.town_id = zh, en, kind, town.id
        park.address_zh, park.address_en = address_zh, address_en
        park.latitude, park.longitude = data["latitude"], data["longitude"]
        park.updated_at = clock.now()
        session.flush()
        if new:
            operator.set_capacity(
                session,
                park,
                total_spaces=data.get("total_spaces") or 0,
                reservable_spaces=data.get("reservable_spaces") or 0,
                grace_minutes=park.grace_minutes or 30,
                cancel_cutoff_minutes=park.cancel_cutoff_minutes or 30,
                open=True,
                pool_days=settings.pool_days,
            )
        record(session, actor, "parking.car_park_saved", park, town=town.id)
        return park
