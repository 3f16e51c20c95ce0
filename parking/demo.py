"""Demo car parks across the district with their tariffs. Names follow real kinds of places in
Minhang; capacities, prices and occupancy are illustrative. Idempotent."""

from __future__ import annotations

import random

from sqlalchemy import select

from app.db import unit_of_work
from app.places.models import Town
from parking.models import CarPark, CarParkKind, DayPattern, Tariff

# (zh, en, kind, town, total, reservable, occupied, (first hour, period, night, cap) in fen)
CAR_PARKS = [
    (
        "莘庄地铁站P+R停车场",
        "Xinzhuang Metro P+R Car Park",
        CarParkKind.PUBLIC,
        "xinzhuang",
        420,
        40,
        388,
        (500, 300, 100, 1500),
    ),
    (
        "七宝古镇公共停车场",
        "Qibao Old Town Public Car Park",
        CarParkKind.PUBLIC,
        "qibao",
        260,
        30,
        201,
        (1000, 500, 200, 6000),
    ),
    (
        "闵行区中心医院停车场",
        "Minhang Central Hospital Car Park",
        CarParkKind.HOSPITAL,
        "xinzhuang",
        380,
        20,
        371,
        (800, 400, 200, 4000),
    ),
    (
        "复旦大学附属第五人民医院停车场",
        "Fifth People's Hospital Car Park",
        CarParkKind.HOSPITAL,
        "jiangchuan",
        300,
        20,
        242,
        (800, 400, 200, 4000),
    ),
    (
        "仲盛世界商城停车场",
        "Zhongsheng World Mall Car Park",
        CarParkKind.MALL,
        "xinzhuang",
        1800,
        100,
        1120,
        (1000, 500, 300, 8000),
    ),
    (
        "七宝万科广场停车场",
        "Qibao Vanke Plaza Car Park",
        CarParkKind.MALL,
        "qibao",
        1500,
        80,
        904,
        (1000, 500, 300, 8000),
    ),
    (
        "虹桥天街停车场",
        "Hongqiao Paradise Walk Car Park",
        CarParkKind.MALL,
        "xinhong",
        2200,
        120,
        1530,
        (1200, 600, 300, 10000),
    ),
    (
        "颛桥镇政府公共停车场",
        "Zhuanqiao Town Hall Public Car Park",
        CarParkKind.PUBLIC,
        "zhuanqiao",
        150,
        15,
        63,
        (500, 300, 100, 2000),
    ),
    (
        "莘城苑小区共享车位",
        "Xincheng Garden Shared Spaces",
        CarParkKind.RESIDENTIAL,
        "xinzhuang",
        60,
        30,
        12,
        (400, 200, 100, 1500),
    ),
    (
        "古美路街道共享停车场",
        "Gumei Shared Car Park",
        CarParkKind.RESIDENTIAL,
        "gumei",
        80,
        40,
        35,
        (400, 200, 100, 1500),
    ),
    (
        "浦江镇公共停车场",
        "Pujiang Town Public Car Park",
        CarParkKind.PUBLIC,
        "pujiang",
        200,
        20,
        88,
        (500, 300, 100, 2000),
    ),
    (
        "吴泾镇公共停车场",
        "Wujing Town Public Car Park",
        CarParkKind.PUBLIC,
        "wujing",
        120,
        10,
        47,
        (500, 300, 100, 2000),
    ),
]
# A street address (road and number, as 高德 and 百度 find it) and its point (WGS-84) per car
# park: the entrance residents drive to, not the town's centre (issue 14: "full street address").
ADDRESSES = {
    "莘庄地铁站P+R停车场": ("闵行区莘建路 60号", "60 Xinjian Road, Minhang", 31.1115, 121.3853),
    "七宝古镇公共停车场": ("闵行区青年路 200号", "200 Qingnian Road, Minhang", 31.1561, 121.3507),
    "闵行区中心医院停车场": ("闵行区新松路 170号", "170 Xinsong Road, Minhang", 31.1180, 121.3790),
    "复旦大学附属第五人民医院停车场": (
        "闵行区鹤庆路 801号",
        "801 Heqing Road, Minhang",
        31.0160,
        121.4110,
    ),
    "仲盛世界商城停车场": ("闵行区都市路 5001号", "5001 Dushi Road, Minhang", 31.1030, 121.3930),
    "七宝万科广场停车场": ("闵行区漕宝路 3366号", "3366 Caobao Road, Minhang", 31.1600, 121.3380),
    "虹桥天街停车场": ("闵行区申长路 688号", "688 Shenchang Road, Minhang", 31.1930, 121.3160),
    "颛桥镇政府公共停车场": (
        "闵行区颛兴路 888号",
        "888 Zhuanxing Road, Minhang",
        31.0580,
        121.4100,
    ),
    "莘城苑小区共享车位": ("闵行区莘东路 505号", "505 Xindong Road, Minhang", 31.1200, 121.3720),
    "古美路街道共享停车场": ("闵行区古美路 1515号", "1515 Gumei Road, Minhang", 31.1490, 121.3960),
    "浦江镇公共停车场": (
        "闵行区浦星公路 2088号",
        "2088 Puxing Highway, Minhang",
        31.0850,
        121.5150,
    ),
    "吴泾镇公共停车场": ("闵行区龙吴路 4800号", "4800 Longwu Road, Minhang", 31.0500, 121.4630),
}
TOWN_POINTS = {
    "xinzhuang": (31.112, 121.378),
    "qibao": (31.157, 121.350),
    "jiangchuan": (31.018, 121.398),
    "xinhong": (31.195, 121.320),
    "zhuanqiao": (31.062, 121.407),
    "gumei": (31.150, 121.403),
    "pujiang": (31.070, 121.520),
    "wujing": (31.049, 121.458),
}


def seed_parking(session) -> None:
    with unit_of_work(session):
        towns = {t.code: t for t in session.scalars(select(Town))}
        existing = {p.name_zh for p in session.scalars(select(CarPark))}
        for index, row in enumerate(CAR_PARKS):
            if row[0] not in existing and row[3] in towns:
                session.add(_car_park(index, row, towns[row[3]]))
        for park in session.scalars(select(CarPark).where(CarPark.name_zh.in_(ADDRESSES))):
            # A demo seeded before the street addresses had the town's name only: give it its
            # street address (an address an operator has changed is left alone).
            if park.address_zh == f"上海市闵行区{park.town.name_zh}":
                _place(park)


def _place(park: CarPark) -> None:
    zh, en, lat, lng = ADDRESSES[park.name_zh]
    park.address_zh, park.address_en = f"上海市{zh}", f"{en}, Shanghai"
    park.latitude, park.longitude = lat, lng


def _car_park(index: int, row: tuple, town: Town) -> CarPark:
    zh, en, kind, _town, total, reservable, occupied, prices = row
    lat, lng = TOWN_POINTS[town.code]
    first, period, night, cap = prices
    park = CarPark(
        name_zh=zh,
        name_en=en,
        kind=kind,
        town=town,
        address_zh=f"上海市闵行区{town.name_zh}",
        address_en=f"{town.name_en}, Minhang, Shanghai",
        latitude=round(lat + 0.003 * (index % 3), 5),
        longitude=round(lng + 0.004 * (index % 4), 5),
        total_spaces=total,
        occupied=occupied,
        reservable_spaces=reservable,
    )
    if zh in ADDRESSES:
        _place(park)
    park.tariff = Tariff(
        first_hour_fen=first, period_fen=period, night_unit_fen=night, daily_cap_fen=cap
    )
    return park


# Share of the spaces taken at each hour of a day, by kind of car park.
PROFILES = {
    CarParkKind.PUBLIC: [0.2] * 6
    + [
        0.3,
        0.55,
        0.8,
        0.85,
        0.85,
        0.8,
        0.75,
        0.8,
        0.85,
        0.8,
        0.75,
        0.6,
        0.45,
        0.35,
        0.3,
        0.25,
        0.2,
        0.2,
    ],
    CarParkKind.HOSPITAL: [0.15] * 6
    + [
        0.3,
        0.7,
        0.95,
        0.98,
        0.97,
        0.9,
        0.85,
        0.95,
        0.97,
        0.9,
        0.7,
        0.45,
        0.3,
        0.25,
        0.2,
        0.15,
        0.15,
        0.15,
    ],
    CarParkKind.MALL: [0.05] * 8
    + [0.1, 0.2, 0.35, 0.55, 0.65, 0.6, 0.6, 0.65, 0.7, 0.75, 0.8, 0.7, 0.5, 0.25, 0.1, 0.05],
    CarParkKind.RESIDENTIAL: [0.85] * 6
    + [
        0.8,
        0.6,
        0.4,
        0.35,
        0.35,
        0.35,
        0.35,
        0.35,
        0.35,
        0.35,
        0.4,
        0.55,
        0.7,
        0.8,
        0.85,
        0.85,
        0.85,
        0.85,
    ],
}
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
# (car park zh name, window zh, window en, days, start, end, spaces, monthly fee in fen)
WINDOWS = [
    (
        "莘城苑小区共享车位",
        "工作日白天（上班族）",
        "Working days, daytime (office workers)",
        DayPattern.WORKDAYS,
        8 * 60,
        18 * 60,
        20,
        30000,
    ),
    (
        "莘城苑小区共享车位",
        "夜间（邻近小区居民）",
        "Nights (neighbouring estate residents)",
        DayPattern.EVERY_DAY,
        19 * 60,
        7 * 60 + 30,
        10,
        20000,
    ),
    (
        "古美路街道共享停车场",
        "工作日白天（上班族）",
        "Working days, daytime (office workers)",
        DayPattern.WORKDAYS,
        8 * 60 + 30,
        17 * 60 + 30,
        25,
        28000,
    ),
    (
        "古美路街道共享停车场",
        "周末全天",
        "Weekends, all day",
        DayPattern.WEEKENDS,
        0,
        23 * 60 + 59,
        10,
        12000,
    ),
]
OPERATORS = [
    ("tingche-xinzhuang-pr", "莘庄P+R停车场 值班员 陈", "莘庄地铁站P+R停车场"),
    ("tingche-xinchengyuan", "莘城苑物业 停车管理员 吴", "莘城苑小区共享车位"),
]
DEMO_DRIVER_PLATES = {"13900000001": "沪A12345", "13900000002": "沪AD23456"}


def _random_plate(rng) -> str:
    return (
        "沪"
        + rng.choice("ABCDEFGHJKLMN")
        + "".join(rng.choice(PLATE_LETTERS + "0123456789") for _ in range(5))
    )


def seed_gate_day(session, park: CarPark, day, until) -> None:
    """A day of gate events up to `until`, following the car park's kind of day, so occupancy,
    the dashboard's chart and the day's fees are real figures. Deterministic per car park
    and day. Inside the caller's unit of work."""
    from datetime import timedelta

    from app import clock
    from parking.models import GateDirection, GateEvent, GateOutcome, ParkingSession, SessionStatus
    from parking.services.tariffs import fee

    rng = random.Random(park.id * 100003 + day.toordinal())  # nosec B311 # seeded demo data
    profile = PROFILES[park.kind]
    start, _end = clock.day_bounds(day)
    inside: list[ParkingSession] = []
    events, level = [], 0
    # Cars already inside at midnight came in the evening before.
    for _ in range(int(profile[0] * park.total_spaces)):
        entered = start - timedelta(minutes=rng.randint(30, 600))
        stay = ParkingSession(
            car_park_id=park.id,
            plate=_random_plate(rng),
            entered_at=entered,
            status=SessionStatus.OPEN,
        )
        inside.append(stay)
        level += 1
        events.append(
            GateEvent(
                car_park_id=park.id,
                plate=stay.plate,
                direction=GateDirection.ENTRY,
                occurred_at=entered,
                outcome=GateOutcome.ENTERED,
                occupied_after=level,
            )
        )
    for hour in range(24):
        hour_start = start + timedelta(hours=hour)
        if hour_start >= until:
            break
        target = int(profile[hour] * park.total_spaces)
        churn = int(len(inside) * 0.08)
        arrivals = max(0, target - len(inside)) + churn
        departures = max(0, len(inside) - target) + churn
        moments = sorted(
            [(rng.randint(0, 3599), "in") for _ in range(arrivals)]
            + [(rng.randint(0, 3599), "out") for _ in range(departures)]
        )
        for second, what in moments:
            at = hour_start + timedelta(seconds=second)
            if at >= until:
                break
            if what == "in" and level < park.total_spaces:
                stay = ParkingSession(
                    car_park_id=park.id,
                    plate=_random_plate(rng),
                    entered_at=at,
                    status=SessionStatus.OPEN,
                )
                inside.append(stay)
                level += 1
                events.append(
                    GateEvent(
                        car_park_id=park.id,
                        plate=stay.plate,
                        direction=GateDirection.ENTRY,
                        occurred_at=at,
                        outcome=GateOutcome.ENTERED,
                        occupied_after=level,
                    )
                )
            elif what == "out" and inside:
                stay = inside.pop(rng.randrange(len(inside)))
                stay.exited_at, stay.status = at, SessionStatus.CLOSED
                stay.fee_fen = fee(park, stay.entered_at, at).fen
                level -= 1
                events.append(
                    GateEvent(
                        car_park_id=park.id,
                        plate=stay.plate,
                        direction=GateDirection.EXIT,
                        occurred_at=at,
                        outcome=GateOutcome.EXITED,
                        occupied_after=level,
                    )
                )
                session.add(stay)
    session.add_all(inside)
    session.flush()
    sessions = {}
    for stay in session.scalars(
        select(ParkingSession).where(ParkingSession.car_park_id == park.id)
    ):
        sessions[stay.plate] = stay.id
    for event in events:
        event.session_id = sessions.get(event.plate)
    session.add_all(events)
    park.occupied = level
    park.updated_at = max((e.occurred_at for e in events), default=until)


def seed_parking_activity(session) -> None:
    """Operators, sharing windows, the demo residents' vehicles (无感支付 for one), reservable
    pools, and today's gate events. Idempotent: a car park with gate events is left alone."""
    from app.clock import now, today
    from parking import current_settings
    from parking.models import GateEvent
    from parking.services import reservations, sharing

    settings = current_settings()
    parks = {p.name_zh: p for p in session.scalars(select(CarPark))}
    _seed_operators(session, parks)
    for park_zh, zh, en, days, begin, end, spaces, fee in WINDOWS:
        park = parks.get(park_zh)
        if park is not None and not any(w.name_zh == zh for w in park.windows):
            sharing.create_window(
                session,
                park,
                name_zh=zh,
                name_en=en,
                days=days,
                start_minute=begin,
                end_minute=end,
                spaces=spaces,
                monthly_fee_fen=fee,
            )
    _seed_driver_vehicles(session)
    for park in parks.values():
        if park.reservable_spaces > 0:
            reservations.materialise_pool(session, park, settings.pool_days)
        with unit_of_work(session):
            if (
                session.scalar(
                    select(GateEvent.id).where(GateEvent.car_park_id == park.id).limit(1)
                )
                is None
            ):
                seed_gate_day(session, park, today(), now())


def _seed_operators(session, parks: dict) -> None:
    from app.accounts import services as account_services
    from app.accounts.models import Role, User
    from app.demo import DEMO_PASSWORD

    with unit_of_work(session):
        for username, name, park_zh in OPERATORS:
            if (
                park_zh in parks
                and session.scalar(select(User.id).where(User.username == username)) is None
            ):
                account_services.create_user(
                    session,
                    username=username,
                    password=DEMO_PASSWORD,
                    name=name,
                    roles=[(Role.CARPARK_OPERATOR, f"carpark:{parks[park_zh].id}")],
                )


def _seed_driver_vehicles(session) -> None:
    """The demo residents' plates are verified (as if a clerk had seen their licences), so their
    parking history, fees and 无感支付 work from the start; 刘女士 pays automatically with the
    demo wallet."""
    from datetime import timedelta

    from app.accounts.models import User
    from app.clock import now
    from parking.models import Vehicle, VehicleStatus
    from parking.services import payments

    for phone, plate in DEMO_DRIVER_PLATES.items():
        user = session.scalar(select(User).where(User.phone == phone))
        if user is None or session.scalar(select(Vehicle.id).where(Vehicle.plate == plate)):
            continue
        method = (
            payments.PROVIDERS["demo_wallet"].open_method(session, user)
            if phone.endswith("1")
            else None
        )
        with unit_of_work(session):
            session.add(
                Vehicle(
                    owner_id=user.id,
                    plate=plate,
                    status=VehicleStatus.VERIFIED,
                    decided_at=now() - timedelta(days=30),
                    decision_note="demo",
                    autopay_method_id=method.id if method is not None else None,
                )
            )
