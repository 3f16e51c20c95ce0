"""Demo venues: 50 district venues across Minhang's towns, with spaces, hours and slots.

Idempotent: venues are matched by Chinese name. Names follow the district's real pattern (each
town's culture and sports centre and library, district museums and sports grounds); details
such as capacities and hours are illustrative.
"""

from __future__ import annotations

from sqlalchemy import select

from app.accounts import services as accounts
from app.accounts.models import Role, User
from app.db import unit_of_work
from app.demo import DEMO_PASSWORD, MINHANG
from app.places.models import District, Town
from bookings.services import create_resource
from venues.demo_photos import attach_drawings
from venues.models import BookingMode, OpeningHours, Space, Venue, VenueType
from venues.services.catalogue import materialise

# Spaces per venue type: (zh, en, mode, capacity, slot minutes, max party, max steps, approval)
SPACES = {
    VenueType.MUSEUM: [
        ("常设展厅", "Permanent exhibition", BookingMode.GENERAL, 120, 60, 5, 1, False)
    ],
    VenueType.LIBRARY: [("阅览自习室", "Reading room", BookingMode.GENERAL, 40, 120, 2, 1, False)],
    VenueType.CULTURE_CENTRE: [
        ("展览厅", "Exhibition hall", BookingMode.GENERAL, 60, 60, 4, 1, False),
        ("多功能厅", "Multi-purpose room", BookingMode.PERSONALISED, 1, 60, 3, 3, True),
    ],
    VenueType.SPORTS_HALL: [
        ("羽毛球场 1 号", "Badminton court 1", BookingMode.PERSONALISED, 1, 60, 4, 2, False),
        ("羽毛球场 2 号", "Badminton court 2", BookingMode.PERSONALISED, 1, 60, 4, 2, False),
        ("乒乓球室", "Table tennis room", BookingMode.GENERAL, 12, 60, 4, 1, False),
    ],
    VenueType.COURT: [
        ("篮球场", "Basketball court", BookingMode.PERSONALISED, 1, 60, 10, 2, False)
    ],
}
# (weekdays open, opens, closes) in minutes
HOURS = {
    VenueType.MUSEUM: (range(1, 7), 9 * 60, 17 * 60),  # closed on Mondays
    VenueType.LIBRARY: (range(0, 7), 8 * 60 + 30, 20 * 60 + 30),
    VenueType.CULTURE_CENTRE: (range(0, 7), 9 * 60, 21 * 60),
    VenueType.SPORTS_HALL: (range(0, 7), 8 * 60, 22 * 60),
    VenueType.COURT: (range(0, 7), 6 * 60, 22 * 60),
}
RULES = {
    VenueType.MUSEUM: (
        "请携带身份证件，凭核销码入馆。馆内请勿饮食。",
        "Bring your ID and show your code at the entrance. No food or drink inside.",
    ),
    VenueType.LIBRARY: (
        "每次预约 2 小时，请保持安静。",
        "Each booking is for 2 hours. Please keep quiet.",
    ),
    VenueType.CULTURE_CENTRE: (
        "多功能厅预约需工作人员审核。",
        "Multi-purpose room bookings are approved by staff.",
    ),
    VenueType.SPORTS_HALL: ("请穿运动鞋入场。", "Wear sports shoes."),
    VenueType.COURT: (
        "雨天场地关闭，预约自动取消并通知。",
        "Closed in rain; bookings are cancelled with a notice.",
    ),
}

MUSEUMS = [
    ("闵行区博物馆", "Minhang Museum", "xinzhuang", "莘庄镇莘浜路 349 号", "349 Xinbang Road"),
    (
        "七宝古镇历史陈列馆",
        "Qibao Old Town History Exhibition",
        "qibao",
        "七宝镇南大街 18 号",
        "18 South Street, Qibao",
    ),
    (
        "马桥文化展示馆",
        "Maqiao Culture Exhibition Hall",
        "maqiao",
        "马桥镇同心路 58 号",
        "58 Tongxin Road",
    ),
    (
        "颛桥剪纸艺术馆",
        "Zhuanqiao Paper-cut Art Museum",
        "zhuanqiao",
        "颛桥镇北松公路 1200 号",
        "1200 Beisong Highway",
    ),
    (
        "浦江郊野自然馆",
        "Pujiang Country Park Nature Hall",
        "pujiang",
        "浦江镇浦星公路 2800 号",
        "2800 Puxing Highway",
    ),
    ("吴泾科普馆", "Wujing Science Centre", "wujing", "吴泾镇龙吴路 4800 号", "4800 Longwu Road"),
    (
        "华漕民俗馆",
        "Huacao Folk Customs Museum",
        "huacao",
        "华漕镇华翔路 200 号",
        "200 Huaxiang Road",
    ),
    (
        "虹桥非遗展示馆",
        "Hongqiao Intangible Heritage Hall",
        "hongqiao",
        "虹桥镇红松东路 1100 号",
        "1100 East Hongsong Road",
    ),
]
SPORTS = [
    ("闵行体育馆", "Minhang Gymnasium", "xinzhuang", "莘庄镇沁春路 800 号", "800 Qinchun Road"),
    (
        "旗忠体育中心",
        "Qizhong Sports Centre",
        "maqiao",
        "马桥镇元江路 5500 号",
        "5500 Yuanjiang Road",
    ),
    (
        "古美体育活动中心",
        "Gumei Sports Centre",
        "gumei",
        "古美路街道平阳路 258 号",
        "258 Pingyang Road",
    ),
    (
        "梅陇体育馆",
        "Meilong Gymnasium",
        "meilong",
        "梅陇镇莲花南路 1500 号",
        "1500 South Lianhua Road",
    ),
    (
        "江川体育中心",
        "Jiangchuan Sports Centre",
        "jiangchuan",
        "江川路街道永德路 300 号",
        "300 Yongde Road",
    ),
    (
        "浦锦全民健身中心",
        "Pujin Fitness Centre",
        "pujin",
        "浦锦街道浦锦路 2000 号",
        "2000 Pujin Road",
    ),
    ("新虹体育馆", "Xinhong Gymnasium", "xinhong", "新虹街道申长路 600 号", "600 Shenchang Road"),
]
COURTS = [
    (
        "莘庄公园篮球场",
        "Xinzhuang Park Basketball Court",
        "xinzhuang",
        "莘庄镇莘朱路 88 号",
        "88 Xinzhu Road",
    ),
    (
        "七宝社区篮球场",
        "Qibao Community Basketball Court",
        "qibao",
        "七宝镇七莘路 3000 号",
        "3000 Qixin Road",
    ),
    (
        "颛桥社区篮球场",
        "Zhuanqiao Community Basketball Court",
        "zhuanqiao",
        "颛桥镇都市路 4600 号",
        "4600 Dushi Road",
    ),
    (
        "华漕社区篮球场",
        "Huacao Community Basketball Court",
        "huacao",
        "华漕镇纪翟路 1100 号",
        "1100 Jizhai Road",
    ),
    (
        "吴泾滨江球场",
        "Wujing Riverside Court",
        "wujing",
        "吴泾镇永德路 1500 号",
        "1500 Yongde Road",
    ),
    (
        "浦江社区篮球场",
        "Pujiang Community Basketball Court",
        "pujiang",
        "浦江镇三鲁公路 3000 号",
        "3000 Sanlu Highway",
    ),
    (
        "莘庄工业区球场",
        "Xinzhuang Industrial Zone Court",
        "xinzhuang-iz",
        "莘庄工业区春东路 500 号",
        "500 Chundong Road",
    ),
]


def _town_venues(towns: dict[str, Town]):
    for code, town in towns.items():
        short_zh = town.name_zh.removesuffix("街道").removesuffix("镇")
        short_en = town.name_en.rsplit(" ", 1)[0]
        yield (
            f"{short_zh}文化体育活动中心",
            f"{short_en} Culture and Sports Centre",
            code,
            VenueType.CULTURE_CENTRE,
            f"{town.name_zh}文体路 1 号",
            f"1 Wenti Road, {town.name_en}",
        )
        yield (
            f"{short_zh}图书馆",
            f"{short_en} Library",
            code,
            VenueType.LIBRARY,
            f"{town.name_zh}文体路 3 号",
            f"3 Wenti Road, {town.name_en}",
        )


def all_venues(towns):
    for rows, kind in (
        (MUSEUMS, VenueType.MUSEUM),
        (SPORTS, VenueType.SPORTS_HALL),
        (COURTS, VenueType.COURT),
    ):
        for zh, en, town, addr_zh, addr_en in rows:
            yield zh, en, town, kind, f"上海市闵行区{addr_zh}", f"{addr_en}, Minhang, Shanghai"
    for zh, en, town, kind, addr_zh, addr_en in _town_venues(towns):
        yield zh, en, town, kind, f"上海市闵行区{addr_zh}", f"{addr_en}, Minhang, Shanghai"


def add_venue(
    session,
    *,
    name_zh,
    name_en,
    town: Town,
    type: VenueType,
    address_zh,
    address_en,
    index: int = 0,
) -> Venue:
    rules_zh, rules_en = RULES[type]
    venue = Venue(
        name_zh=name_zh,
        name_en=name_en,
        town=town,
        type=type,
        address_zh=address_zh,
        address_en=address_en,
        rules_zh=rules_zh,
        rules_en=rules_en,
        description_zh=f"{name_zh}是闵行区区属公共场馆，面向市民免费或低价开放。",
        description_en=f"{name_en} is a public venue of Minhang District, open to residents.",
        phone=f"021-6{index:03d}{index * 7 % 10000:04d}",
        step_free=index % 4 != 3,
        accessible_toilet=index % 3 != 2,
        lift=index % 2 == 0,
        hearing_loop=type in (VenueType.MUSEUM, VenueType.LIBRARY, VenueType.CULTURE_CENTRE),
    )
    session.add(venue)
    days, opens, closes = HOURS[type]
    venue.hours = [OpeningHours(weekday=d, opens=opens, closes=closes) for d in days]
    for zh, en, mode, capacity, minutes, party, steps, approval in SPACES[type]:
        resource = create_resource(session, "venue", f"{name_zh} {zh}")
        venue.spaces.append(
            Space(
                resource_id=resource.id,
                name_zh=zh,
                name_en=en,
                mode=mode,
                capacity=capacity,
                slot_minutes=minutes,
                max_party_size=party,
                max_steps=steps,
                requires_approval=approval,
            )
        )
    session.flush()
    return venue


def seed_venues(session) -> None:
    """The demo venues, their staff and their slots, in one unit of work."""
    with unit_of_work(session):
        _seed_venues(session)


def _seed_venues(session) -> None:
    # Minhang's towns only: Jinshan's venues are venues/demo_jinshan.py's (issue 15).
    towns = {
        t.code: t
        for t in session.scalars(
            select(Town).join(Town.district).where(District.code == MINHANG["code"])
        )
    }
    existing = {v.name_zh: v for v in session.scalars(select(Venue))}
    for index, (zh, en, town, kind, addr_zh, addr_en) in enumerate(all_venues(towns)):
        if zh not in existing:
            existing[zh] = add_venue(
                session,
                name_zh=zh,
                name_en=en,
                town=towns[town],
                type=kind,
                address_zh=addr_zh,
                address_en=addr_en,
                index=index,
            )
    session.flush()
    staff = [
        ("venue-staff", "闵行区博物馆 检票员 孙", "闵行区博物馆"),
        ("venue-staff-xinzhuang", "莘庄文体中心 前台 周", "莘庄文化体育活动中心"),
    ]
    for username, name, venue_name in staff:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            accounts.create_user(
                session,
                username=username,
                password=DEMO_PASSWORD,
                name=name,
                roles=[(Role.VENUE_STAFF, f"venue:{existing[venue_name].id}")],
            )
    for venue in existing.values():
        materialise(session, venue)
    attach_drawings(session)  # venues/demo_photos.py: a drawing of its kind for each venue
