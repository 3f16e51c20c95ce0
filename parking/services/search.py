"""Car parks: finding them, their figures, their fees."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from app import clock
from app.i18n import format_fen
from parking.models import CarPark
from parking.services.tariffs import quote as compute_quote


def search(
    session, *, town_id: int | None = None, q: str = "", sort: str = "free"
) -> list[CarPark]:
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


def find_place(session, text: str):
    """A named place to search near: an estate, a venue or a car park whose name contains
    `text` (Chinese or English). Returns (place, latitude, longitude) or None."""
    from app.places.models import Estate
    from venues.models import Venue

    text = text.strip()
    if not text:
        return None
    like = f"%{text}%"
    for model in (Estate, Venue, CarPark):
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


def distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (haversine), good to a few metres at a district's scale."""
    lat1, lng1, lat2, lng2 = map(math.radians, (lat1, lng1, lat2, lng2))
    a = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    )
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def tariff_in_words(tariff) -> str:
    """The tariff as a person would say it, in the reader's language."""
    if tariff is None:
        return _("Free of charge")
    parts = [_("First %(n)d minutes free", n=tariff.free_minutes)] if tariff.free_minutes else []
    parts.append(
        _(
            "daytime %(start)s-%(end)s: first hour %(first)s, then %(price)s per %(n)d minutes",
            start=f"{tariff.day_starts // 60:02d}:{tariff.day_starts % 60:02d}",
            end=f"{tariff.day_ends // 60:02d}:{tariff.day_ends % 60:02d}",
            first=format_fen(tariff.first_hour_fen),
            price=format_fen(tariff.period_fen),
            n=tariff.period_minutes,
        )
    )
    parts.append(_("night: %(price)s per hour or period", price=format_fen(tariff.night_unit_fen)))
    if tariff.daily_cap_fen is not None:
        parts.append(_("at most %(cap)s per 24 hours", cap=format_fen(tariff.daily_cap_fen)))
    return _("; ").join(parts)


# A quote is for a stay someone might plan. Without bounds a stay of thousands of years kept a
# request busy for minutes (every unit of the stay is priced) and times next to the year 9999
# overflowed into a server error (found by tests/test_fuzz.py).
QUOTE_YEARS = (clock.FIRST_DAY.year, clock.LAST_DAY.year)
QUOTE_MAX_DAYS = 366


def quote_refusal(entry: datetime, exit: datetime) -> str | None:
    """Why the stay from `entry` to `exit` cannot be quoted, or None when it can."""
    if not all(QUOTE_YEARS[0] <= moment.year <= QUOTE_YEARS[1] for moment in (entry, exit)):
        return _(
            "Enter dates from %(first)d to %(last)d.", first=QUOTE_YEARS[0], last=QUOTE_YEARS[1]
        )
    if exit - entry > timedelta(days=QUOTE_MAX_DAYS):
        return _("A quote covers a stay of at most %(days)d days.", days=QUOTE_MAX_DAYS)
    return None


def fee(car_park: CarPark, entry: datetime, exit: datetime):
    """The quote for a stay at this car park (free when it has no tariff)."""
    from parking.services.tariffs import Quote

    if car_park.tariff is None:
        return Quote(fen=0, minutes=int((exit - entry).total_seconds() // 60))
    return compute_quote(car_park.tariff.rules, entry, exit)


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
