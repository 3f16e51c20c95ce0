"""Demo data for the frame: Minhang's towns, some estates, and an account for every role (and,
in app/demo_jinshan.py, a second district: Jinshan).

Idempotent: rows are looked up by their natural key and only added when missing. The accounts
and their password are listed in the README.
"""

from __future__ import annotations

from sqlalchemy import select

from app import clock
from app.accounts import services
from app.accounts.models import DisplayMode, Role, User
from app.db import unit_of_work
from app.demo_jinshan import seed_jinshan_frame
from app.places.models import ClaimStatus, District, Estate, Town
from app.places.services import set_home

# Published in the README for the demo accounts; production creates users with `create-user`.
DEMO_PASSWORD = "minhang2026"  # nosec B105 # the documented demo password, demo data only

# Minhang's 14 towns and subdistricts, with a point near each one's centre (WGS-84).
MINHANG = {
    "code": "310112",
    "name_zh": "闵行区",
    "name_en": "Minhang District",
    "hotline": "12345",
    "booking_name_zh": "全闵预约",
    "booking_name_en": "Minhang Bookings",
    "footer_zh": "闵行区人民政府办公室 主办",
    "footer_en": "Run by the General Office of the Minhang District People's Government",
}

TOWNS = [
    ("jiangchuan", "江川路街道", "Jiangchuan Road Subdistrict", 31.018, 121.398),
    ("gumei", "古美路街道", "Gumei Road Subdistrict", 31.150, 121.403),
    ("xinhong", "新虹街道", "Xinhong Subdistrict", 31.195, 121.320),
    ("pujin", "浦锦街道", "Pujin Subdistrict", 31.088, 121.498),
    ("xinzhuang", "莘庄镇", "Xinzhuang Town", 31.112, 121.378),
    ("qibao", "七宝镇", "Qibao Town", 31.157, 121.350),
    ("zhuanqiao", "颛桥镇", "Zhuanqiao Town", 31.062, 121.407),
    ("huacao", "华漕镇", "Huacao Town", 31.218, 121.296),
    ("hongqiao", "虹桥镇", "Hongqiao Town", 31.180, 121.384),
    ("meilong", "梅陇镇", "Meilong Town", 31.125, 121.430),
    ("wujing", "吴泾镇", "Wujing Town", 31.049, 121.458),
    ("maqiao", "马桥镇", "Maqiao Town", 31.030, 121.356),
    ("pujiang", "浦江镇", "Pujiang Town", 31.070, 121.520),
    ("xinzhuang-iz", "莘庄工业区", "Xinzhuang Industrial Zone", 31.085, 121.346),
]

ESTATE_STEMS = [("锦苑", "Jinyuan Garden"), ("新村", "New Village"), ("华庭", "Huating Court")]
ROADS = [("沪闵路", "Humin Road"), ("莘松路", "Xinsong Road"), ("七莘路", "Qixin Road")]

# (username, name, role, scope) — scope as (kind, natural key)
STAFF = [
    ("admin", "系统管理员", Role.ADMINISTRATOR, None),
    ("district", "区房管局 王督导", Role.DISTRICT_SUPERVISOR, ("district", MINHANG["code"])),
    ("town-xinzhuang", "莘庄镇 李督导", Role.TOWN_SUPERVISOR, ("town", "xinzhuang")),
    ("manager-xinzhuang", "莘庄锦苑物业 张经理", Role.PROPERTY_MANAGER, ("estate", "xinzhuang-0")),
    ("venue-admin", "文旅局 场馆管理员", Role.VENUE_ADMIN, None),
    ("helper", "社区帮办员 陈阿姨", Role.COMMUNITY_HELPER, None),
    ("service-desk", "区行政服务中心 周窗口", Role.SERVICE_DESK, None),
]
# (phone, name, display mode, estate, home verified?). 钱先生 has just moved in: his home waits
# in manager-xinzhuang's household claims.
RESIDENTS = [
    ("13900000001", "刘女士", DisplayMode.STANDARD, "xinzhuang-0", True),
    ("13900000002", "赵老伯", DisplayMode.ELDERLY, "xinzhuang-1", True),
    ("13900000003", "钱先生", DisplayMode.STANDARD, "xinzhuang-0", False),
]


def _estate_key(town_code: str, index: int) -> str:
    return f"{town_code}-{index}"


def seed_all(session, seeders) -> None:
    """The frame's demo data, then each service's (`seeders`, in order), as one unit of work:
    all of it, or nothing if a seeder fails."""
    with unit_of_work(session):
        seed_frame(session)
        for seeder in seeders:
            seeder(session)
        give_staff_phones(session)


# Staff sign in with their password and a code sent to their number (SIGNIN_SECOND_FACTOR_ROLES:
# every staff role outside tests), so every demo staff account, whichever seeder made it, gets a
# number: 138 0000 0001, 0002, ... in the order the accounts were made. `make run` shows the
# codes on the development outbox page.
STAFF_PHONE_PREFIX = "1380000"


def give_staff_phones(session) -> None:
    """Give each staff account without a mobile number the next free demo number."""
    taken = set(
        session.scalars(select(User.phone).where(User.phone.like(STAFF_PHONE_PREFIX + "%")))
    )
    numbers = (f"{STAFF_PHONE_PREFIX}{n:04d}" for n in range(1, 10_000))
    for user in session.scalars(
        select(User).where(User.phone.is_(None), User.username.is_not(None)).order_by(User.id)
    ):
        if user.is_staff:
            user.phone = next(number for number in numbers if number not in taken)
            # As if proven by the first sign-in code, so repair alerts reach the demo managers
            # by SMS at once (the notifications outbox sends only to proven numbers).
            user.phone_verified_at = clock.now()
    session.flush()


def seed_frame(session) -> None:
    """Towns, estates, an account for every role and the demo residents with their homes, as
    one unit of work (the caller's, when seeding everything)."""
    with unit_of_work(session):
        _seed_frame(session)
        # A second district (issue 15): its towns, estates, supervisor and a resident.
        seed_jinshan_frame(session)


def seed_district(session) -> District:
    """The demo's district, Minhang (闵行区): the one the towns below belong to."""
    district = session.scalar(select(District).where(District.code == MINHANG["code"]))
    if district is None:
        district = District(**MINHANG)
        session.add(district)
        session.flush()
    return district


def _seed_frame(session) -> None:
    district = seed_district(session)
    towns = {t.code: t for t in session.scalars(select(Town))}
    for code, zh, en, _lat, _lng in TOWNS:
        if code not in towns:
            towns[code] = Town(district=district, code=code, name_zh=zh, name_en=en)
            session.add(towns[code])
    session.flush()

    estates = {}
    for code, _zh, _en, lat, lng in TOWNS:
        town = towns[code]
        existing = {e.name_zh: e for e in town.estates}
        for index, (stem_zh, stem_en) in enumerate(ESTATE_STEMS):
            name_zh = f"{town.name_zh.removesuffix('街道').removesuffix('镇')}{stem_zh}"
            estate = existing.get(name_zh)
            if estate is None:
                road_zh, road_en = ROADS[index]
                number = 100 + 37 * index + len(code) * 11
                estate = Estate(
                    town=town,
                    name_zh=name_zh,
                    name_en=f"{town.name_en.split(' ')[0]} {stem_en}",
                    address_zh=f"上海市闵行区{town.name_zh}{road_zh}{number}弄",
                    address_en=f"Lane {number}, {road_en}, {town.name_en}, Minhang, Shanghai",
                    latitude=round(lat + 0.004 * index, 5),
                    longitude=round(lng + 0.003 * index, 5),
                )
                session.add(estate)
            estates[_estate_key(code, index)] = estate
    session.flush()

    places = {"district": {district.code: district}, "town": towns, "estate": estates}
    for username, name, role, scope in STAFF:
        if session.scalar(select(User.id).where(User.username == username)):
            continue
        scope_ref = None
        if scope:
            kind, key = scope
            obj = places[kind][key]
            scope_ref = f"{kind}:{obj.id}"
        services.create_user(
            session, username=username, password=DEMO_PASSWORD, name=name, roles=[(role, scope_ref)]
        )

    for phone, name, mode, estate_key, verified in RESIDENTS:
        existing = session.scalar(select(User).where(User.phone == phone))
        if existing is not None:
            # A database seeded before the numbers were proven gets them proven now.
            if existing.phone_verified_at is None:
                existing.phone_verified_at = clock.now()
            continue
        user = services.register_resident(
            session, phone=phone, name=name, password=DEMO_PASSWORD, display_mode=mode
        )
        # As if proven by a sign-in code, so their messages (赵老伯's waitlist offers, the
        # booking reminders) reach them by SMS: the outbox sends only to proven numbers.
        user.phone_verified_at = clock.now()
        session.flush()
        claim = set_home(
            session, user, estates[estate_key].id, "12", "2", "301" if verified else "502"
        )
        if verified:  # as the estate's manager confirmed it when they moved in
            claim.status, claim.decided_at, claim.decision_note = (
                ClaimStatus.VERIFIED,
                clock.now(),
                "manager",
            )
    session.flush()
