"""Car parks: finding them by town, name or a place nearby, and placing them on the map."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from app.places.models import Estate, Town
from parking.models import CarPark


def search(
    session,
    *,
    town_id: int | None = None,
    q: str = "",
    sort: str = "free",
    district_id: int | None = None,
) -> list[CarPark]:
    """Car parks in a town (and/or a district) and/or whose name or address contains `q`, most
    free spaces first (or by id with sort="name"), with what their pages show loaded."""
    query = select(CarPark).options(
        selectinload(CarPark.town), selectinload(CarPark.tariff), selectinload(CarPark.windows)
    )
    query = query.where(CarPark.archived_at.is_(None))  # archived: offered nowhere (issue 15)
    if town_id:
        query = query.where(CarPark.town_id == town_id)
    if district_id:
        query = query.where(
            CarPark.town_id.in_(select(Town.id).where(Town.district_id == district_id))
        )
    if q.strip():
        like = f"%{q.strip()}%"
        query = query.where(
            or_(
                CarPark.name_zh.ilike(like),
                CarPark.name_en.ilike(like),
                CarPark.address_zh.ilike(like),
                CarPark.address_en.ilike(like),
            )
        )
    parks = list(session.scalars(query.order_by(CarPark.id)))
    if sort == "free":
        parks.sort(key=lambda p: -p.free_spaces)
    return parks


def find_place(session, text: str, named_places: Sequence[type] = ()):
    """A named place to search near: an estate, a place of another service (`named_places`:
    models with name_zh, name_en, latitude and longitude, which services register with
    `app.registry.register_named_places`; venues do) or a car park whose name contains `text`
    (Chinese or English), looked for in that order. Returns (place, latitude, longitude) or
    None."""
    text = text.strip()
    if not text:
        return None
    like = f"%{text}%"
    for model in (Estate, *named_places, CarPark):
        place = session.scalar(
            select(model)
            .where(
                or_(model.name_zh.ilike(like), model.name_en.ilike(like)),
                model.latitude.is_not(None),
            )
            .order_by(func.length(model.name_zh), model.id)
            .limit(1)
        )
        if place is not None:
            return place, place.latitude, place.longitude
    return None
