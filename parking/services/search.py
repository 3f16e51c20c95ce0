"""Car parks: finding them by town, name or a place nearby, and placing them on the map."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from app.places.models import Estate
from parking.models import CarPark


def search(
    session, *, town_id: int | None = None, q: str = "", sort: str = "free"
) -> list[CarPark]:
    """Car parks in a town and/or whose name or address contains `q`, most free spaces first
    (or by id with sort="name"), with what their pages show loaded."""
    query = select(CarPark).options(
        selectinload(CarPark.town), selectinload(CarPark.tariff), selectinload(CarPark.windows)
    )
    if town_id:
        query = query.where(CarPark.town_id == town_id)
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


def map_points(
    parks: list[CarPark], width: int = 640, height: int = 420, margin: int = 30
) -> list[dict]:
    """Positions for the overview map (一张图), scaled to the car parks' bounding box."""
    if not parks:
        return []
    lats, lngs = [p.latitude for p in parks], [p.longitude for p in parks]
    lat_span, lng_span = (max(lats) - min(lats)) or 0.01, (max(lngs) - min(lngs)) or 0.01
    return [
        {
            "park": p,
            "x": round(margin + (p.longitude - min(lngs)) / lng_span * (width - 2 * margin)),
            "y": round(margin + (max(lats) - p.latitude) / lat_span * (height - 2 * margin)),
        }
        for p in parks
    ]
