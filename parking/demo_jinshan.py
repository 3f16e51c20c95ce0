"""Demo car parks of Jinshan (金山区, app/demo_jinshan.py), so the car-park list and the
parking feed have a second district. Registered between parking.demo.seed_parking and
seed_parking_activity, which gives them reservable pools and a day of gate events.
Idempotent (matched by Chinese name); capacities and prices are illustrative."""

from __future__ import annotations

from sqlalchemy import select

from app.db import unit_of_work
from app.demo_jinshan import seed_district
from parking.models import CarPark, CarParkKind, Tariff

# (zh, en, kind, town code, lat, lng, total, reservable, occupied,
#  (first hour, period, night, cap) in fen, address zh, address en)
CAR_PARKS = [
    ("朱泾镇人民路公共停车场", "Zhujing Renmin Road Public Car Park", CarParkKind.PUBLIC,
     "zhujing", 30.8995, 121.1690, 160, 20, 95, (500, 300, 100, 2000),
     "朱泾镇人民路 300 号", "300 Renmin Road, Zhujing"),
    ("石化卫零路停车场", "Shihua Weiling Road Car Park", CarParkKind.PUBLIC,
     "shihua", 30.7240, 121.3380, 220, 30, 170, (600, 300, 100, 2500),
     "石化街道卫零路 500 号", "500 Weiling Road, Shihua"),
]  # fmt: skip


def seed_parking_jinshan(session) -> None:
    """Jinshan's demo car parks with their tariffs, in one unit of work."""
    with unit_of_work(session):
        towns = {t.code: t for t in seed_district(session).towns}
        existing = set(session.scalars(select(CarPark.name_zh)))
        for row in CAR_PARKS:
            zh, en, kind, town, lat, lng, total, reservable, occupied, prices, a_zh, a_en = row
            if zh in existing or town not in towns:
                continue
            first, period, night, cap = prices
            park = CarPark(
                name_zh=zh,
                name_en=en,
                kind=kind,
                town=towns[town],
                address_zh=f"上海市金山区{a_zh}",
                address_en=f"{a_en}, Jinshan, Shanghai",
                latitude=lat,
                longitude=lng,
                total_spaces=total,
                occupied=occupied,
                reservable_spaces=reservable,
            )
            park.tariff = Tariff(
                first_hour_fen=first, period_fen=period, night_unit_fen=night, daily_cap_fen=cap
            )
            session.add(park)
        session.flush()
