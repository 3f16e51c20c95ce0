"""Demo data for a second district, Jinshan (金山区), so `make run` and the tests exercise
several districts in one portal (issue 15): the district, its towns, a few estates, its
district supervisor and a resident living there. Jinshan's property company, venues and car
parks are seeded by repairs, venues and parking (each package's demo_jinshan.py), which read
the towns and estates made here.

Idempotent: rows are looked up by their natural key and only added when missing. The towns are
Jinshan's real towns and subdistricts (with a point near each one's centre, WGS-84); estate
names, addresses and people are illustrative.
"""

from __future__ import annotations

from sqlalchemy import select

from app import clock
from app.accounts import services
from app.accounts.models import DisplayMode, Role, User
from app.places.models import ClaimStatus, District, Estate, Town
from app.places.services import set_home

JINSHAN = {
    "code": "310116",
    "name_zh": "金山区",
    "name_en": "Jinshan District",
    "hotline": "12345",
    # No local name for venue booking: Jinshan's pages say the generic 场馆预约.
    "booking_name_zh": "",
    "booking_name_en": "",
    "footer_zh": "金山区人民政府办公室 主办",
    "footer_en": "Run by the General Office of the Jinshan District People's Government",
}

# (code, zh, en, latitude, longitude)
TOWNS = [
    ("shihua", "石化街道", "Shihua Subdistrict", 30.722, 121.335),
    ("zhujing", "朱泾镇", "Zhujing Town", 30.899, 121.166),
    ("fengjing", "枫泾镇", "Fengjing Town", 30.890, 121.015),
    ("zhangyan", "张堰镇", "Zhangyan Town", 30.797, 121.292),
    ("tinglin", "亭林镇", "Tinglin Town", 30.880, 121.310),
    ("lvxiang", "吕巷镇", "Lvxiang Town", 30.838, 121.204),
    ("langxia", "廊下镇", "Langxia Town", 30.803, 121.170),
    ("jinshanwei", "金山卫镇", "Jinshanwei Town", 30.742, 121.300),
    ("caojing", "漕泾镇", "Caojing Town", 30.790, 121.405),
    ("shanyang", "山阳镇", "Shanyang Town", 30.770, 121.360),
]

# (key, town code, zh, en, address zh, address en); the key names an estate for the accounts.
ESTATES = [
    (
        "shihua-0",
        "shihua",
        "卫清新村",
        "Weiqing New Village",
        "卫清西路 100 弄",
        "Lane 100, West Weiqing Road",
    ),
    ("shihua-1", "shihua", "海棠苑", "Haitang Garden", "蒙山路 200 弄", "Lane 200, Mengshan Road"),
    ("zhujing-0", "zhujing", "东林苑", "Donglin Garden", "人民路 300 弄", "Lane 300, Renmin Road"),
    (
        "fengjing-0",
        "fengjing",
        "枫泾新苑",
        "Fengjing New Garden",
        "枫阳路 88 弄",
        "Lane 88, Fengyang Road",
    ),
    (
        "shanyang-0",
        "shanyang",
        "海韵苑",
        "Haiyun Garden",
        "龙皓路 150 弄",
        "Lane 150, Longhao Road",
    ),
]

# (username, name, role, scope: (kind, key))
STAFF = [
    ("district-jinshan", "金山区房管局 陆督导", Role.DISTRICT_SUPERVISOR, ("district", "310116")),
]
# (phone, name, display mode, estate key): 孙阿姨 lives in Jinshan, so her lists open on it.
RESIDENTS = [("13900000004", "孙阿姨", DisplayMode.ELDERLY, "shihua-0")]


def seed_district(session) -> District:
    """Jinshan's district row."""
    district = session.scalar(select(District).where(District.code == JINSHAN["code"]))
    if district is None:
        district = District(**JINSHAN)
        session.add(district)
        session.flush()
    return district


def jinshan_estates(session) -> dict[str, Estate]:
    """The demo's Jinshan estates by key (those seeded so far)."""
    towns = {t.code: t for t in seed_district(session).towns}
    found = {}
    for key, town_code, zh, *_rest in ESTATES:
        town = towns.get(town_code)
        estate = next((e for e in town.estates if e.name_zh == zh), None) if town else None
        if estate is not None:
            found[key] = estate
    return found


def seed_jinshan_frame(session) -> None:
    """Jinshan's towns, estates, district supervisor and resident (in the caller's unit)."""
    district = seed_district(session)
    towns = {t.code: t for t in district.towns}
    for code, zh, en, _lat, _lng in TOWNS:
        if code not in towns:
            towns[code] = Town(district=district, code=code, name_zh=zh, name_en=en)
            session.add(towns[code])
    session.flush()
    points = {code: (lat, lng) for code, _zh, _en, lat, lng in TOWNS}
    for index, (_key, code, zh, en, addr_zh, addr_en) in enumerate(ESTATES):
        town = towns[code]
        if any(e.name_zh == zh for e in town.estates):
            continue
        lat, lng = points[code]
        session.add(
            Estate(
                town=town,
                name_zh=zh,
                name_en=en,
                address_zh=f"上海市金山区{town.name_zh}{addr_zh}",
                address_en=f"{addr_en}, {town.name_en}, Jinshan, Shanghai",
                latitude=round(lat + 0.003 * index, 5),
                longitude=round(lng + 0.002 * index, 5),
            )
        )
    session.flush()
    estates = jinshan_estates(session)

    from app.demo import DEMO_PASSWORD  # (app.demo imports this module)

    places = {"district": {district.code: district}, "estate": estates}
    for username, name, role, (kind, key) in STAFF:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            services.create_user(
                session,
                username=username,
                password=DEMO_PASSWORD,
                name=name,
                roles=[(role, f"{kind}:{places[kind][key].id}")],
            )
    for phone, name, mode, estate_key in RESIDENTS:
        if session.scalar(select(User.id).where(User.phone == phone)) is not None:
            continue
        user = services.register_resident(
            session, phone=phone, name=name, password=DEMO_PASSWORD, display_mode=mode
        )
        user.phone_verified_at = clock.now()  # as if proven by a sign-in code
        session.flush()
        claim = set_home(session, user, estates[estate_key].id, "3", "1", "202")
        claim.status, claim.decided_at, claim.decision_note = (
            ClaimStatus.VERIFIED,
            clock.now(),
            "manager",
        )
    session.flush()
