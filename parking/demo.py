"""Demo car parks across the district with their tariffs. Names follow real kinds of places in
Minhang; capacities, prices and occupancy are illustrative. Idempotent."""
from __future__ import annotations

from sqlalchemy import select

from app.places.models import Town
from parking.models import CarPark, CarParkKind, Tariff

# (zh, en, kind, town, total, reservable, occupied, (first hour, period, night, cap) in fen)
CAR_PARKS = [
    ("莘庄地铁站P+R停车场", "Xinzhuang Metro P+R Car Park", CarParkKind.PUBLIC, "xinzhuang", 420, 40, 388, (500, 300, 100, 1500)),
    ("七宝古镇公共停车场", "Qibao Old Town Public Car Park", CarParkKind.PUBLIC, "qibao", 260, 30, 201, (1000, 500, 200, 6000)),
    ("闵行区中心医院停车场", "Minhang Central Hospital Car Park", CarParkKind.HOSPITAL, "xinzhuang", 380, 20, 371, (800, 400, 200, 4000)),
    ("复旦大学附属第五人民医院停车场", "Fifth People's Hospital Car Park", CarParkKind.HOSPITAL, "jiangchuan", 300, 20, 242, (800, 400, 200, 4000)),
    ("仲盛世界商城停车场", "Zhongsheng World Mall Car Park", CarParkKind.MALL, "xinzhuang", 1800, 100, 1120, (1000, 500, 300, 8000)),
    ("七宝万科广场停车场", "Qibao Vanke Plaza Car Park", CarParkKind.MALL, "qibao", 1500, 80, 904, (1000, 500, 300, 8000)),
    ("虹桥天街停车场", "Hongqiao Paradise Walk Car Park", CarParkKind.MALL, "xinhong", 2200, 120, 1530, (1200, 600, 300, 10000)),
    ("颛桥镇政府公共停车场", "Zhuanqiao Town Hall Public Car Park", CarParkKind.PUBLIC, "zhuanqiao", 150, 15, 63, (500, 300, 100, 2000)),
    ("莘城苑小区共享车位", "Xincheng Garden Shared Spaces", CarParkKind.RESIDENTIAL, "xinzhuang", 60, 30, 12, (400, 200, 100, 1500)),
    ("古美路街道共享停车场", "Gumei Shared Car Park", CarParkKind.RESIDENTIAL, "gumei", 80, 40, 35, (400, 200, 100, 1500)),
    ("浦江镇公共停车场", "Pujiang Town Public Car Park", CarParkKind.PUBLIC, "pujiang", 200, 20, 88, (500, 300, 100, 2000)),
    ("吴泾镇公共停车场", "Wujing Town Public Car Park", CarParkKind.PUBLIC, "wujing", 120, 10, 47, (500, 300, 100, 2000)),
]
TOWN_POINTS = {"xinzhuang": (31.112, 121.378), "qibao": (31.157, 121.350), "jiangchuan": (31.018, 121.398),
               "xinhong": (31.195, 121.320), "zhuanqiao": (31.062, 121.407), "gumei": (31.150, 121.403),
               "pujiang": (31.070, 121.520), "wujing": (31.049, 121.458)}


def seed_parking(session) -> None:
    towns = {t.code: t for t in session.scalars(select(Town))}
    existing = {p.name_zh for p in session.scalars(select(CarPark))}
    for index, (zh, en, kind, town, total, reservable, occupied, prices) in enumerate(CAR_PARKS):
        if zh in existing or town not in towns:
            continue
        lat, lng = TOWN_POINTS[town]
        first, period, night, cap = prices
        park = CarPark(name_zh=zh, name_en=en, kind=kind, town=towns[town],
                       address_zh=f"上海市闵行区{towns[town].name_zh}", address_en=f"{towns[town].name_en}, Minhang, Shanghai",
                       latitude=round(lat + 0.003 * (index % 3), 5), longitude=round(lng + 0.004 * (index % 4), 5),
                       total_spaces=total, occupied=occupied, reservable_spaces=reservable)
        park.tariff = Tariff(first_hour_fen=first, period_fen=period, night_unit_fen=night, daily_cap_fen=cap)
        session.add(park)
    session.commit()
