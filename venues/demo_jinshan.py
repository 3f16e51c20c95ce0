"""Demo venues of Jinshan (金山区, app/demo_jinshan.py): the district library and sports
centre, so the venue search has a second district to show and anyone can book across
districts. Registered before venues.demo.seed_venues, which makes their slots and gives them a
drawing. Idempotent (matched by Chinese name); details are illustrative."""

from __future__ import annotations

from sqlalchemy import select

from app.db import unit_of_work
from app.demo_jinshan import seed_district
from venues.demo import add_venue
from venues.models import Venue, VenueType

# (zh, en, town code, type, address zh, address en)
VENUES = [
    ("金山区图书馆", "Jinshan District Library", "shihua", VenueType.LIBRARY,
     "石化街道卫零路 485 号", "485 Weiling Road, Shihua"),
    ("金山体育中心", "Jinshan Sports Centre", "shihua", VenueType.SPORTS_HALL,
     "石化街道龙航路 1 号", "1 Longhang Road, Shihua"),
]  # fmt: skip


def seed_venues_jinshan(session) -> None:
    """Jinshan's demo venues with their spaces and hours, in one unit of work."""
    with unit_of_work(session):
        towns = {t.code: t for t in seed_district(session).towns}
        existing = set(session.scalars(select(Venue.name_zh)))
        for index, (zh, en, town, kind, addr_zh, addr_en) in enumerate(VENUES):
            if zh in existing or town not in towns:
                continue
            venue = add_venue(
                session,
                name_zh=zh,
                name_en=en,
                town=towns[town],
                type=kind,
                address_zh=f"上海市金山区{addr_zh}",
                address_en=f"{addr_en}, Jinshan, Shanghai",
                index=60 + index,
            )
            venue.description_zh = f"{zh}是金山区区属公共场馆，面向市民免费或低价开放。"
            venue.description_en = f"{en} is a public venue of Jinshan District, open to everyone."
        session.flush()
