"""Demo data for repairs: property companies, about 250 estates across the towns with a manager
account each, a manager held for a whole company (COMPANY_MANAGER), and a realistic history of
tickets (most answered in time, some late, some open now), so every dashboard shows something
true. Idempotent."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select

from app import clock
from app.accounts.models import Role, RoleAssignment, User
from app.db import unit_of_work
from app.demo import DEMO_PASSWORD, MINHANG
from app.places.models import District, Estate, Town
from repairs.models import (
    Category,
    EstateManagement,
    EventKind,
    PropertyCompany,
    State,
    Ticket,
    TicketEvent,
)
from repairs.services.clock import respond_by

COMPANIES = [
    ("上海莘城物业管理有限公司", "Shanghai Xincheng Property Management", 0.92),
    ("闵行房地产物业有限公司", "Minhang Real Estate Property", 0.85),
    ("上海万科物业服务有限公司闵行分公司", "Vanke Property Services, Minhang", 0.95),
    ("上海古美物业有限公司", "Shanghai Gumei Property", 0.70),
    ("绿城物业服务集团上海公司", "Greentown Property Services Shanghai", 0.88),
    ("上海春申物业管理有限公司", "Shanghai Chunshen Property Management", 0.60),
]
STEMS = [
    "新村",
    "花园",
    "公寓",
    "苑",
    "名邸",
    "家园",
    "小区",
    "华庭",
    "雅苑",
    "景苑",
    "一村",
    "二村",
    "三村",
    "城",
    "佳苑",
    "丽都",
    "锦园",
    "秀苑",
]
STEMS_EN = [
    "New Village",
    "Garden",
    "Apartments",
    "Court",
    "Residence",
    "Homes",
    "Estate",
    "Huating",
    "Yayuan",
    "Jingyuan",
    "Village No. 1",
    "Village No. 2",
    "Village No. 3",
    "City",
    "Jiayuan",
    "Lidu",
    "Jinyuan",
    "Xiuyuan",
]
ESTATES_PER_TOWN = 18
# A property manager held for the whole first company (scope "company"): every estate it manages
# (莘庄锦苑 among them, so 钱先生's claim waits for them too), its reports and their alerts.
COMPANY_MANAGER = ("company-xincheng", "莘城物业 客服中心 何经理", COMPANIES[0][0])
DESCRIPTIONS = {
    Category.WATER: "厨房水管漏水，地上有积水",
    Category.ELECTRICITY: "楼道灯不亮",
    Category.LIFT: "电梯按钮失灵，门关不上",
    Category.DOORS: "单元门禁刷卡打不开",
    Category.PUBLIC_AREA: "小区路面有坑，晚上容易绊倒",
    Category.GREENING: "树枝挡住窗户，需要修剪",
    Category.OTHER: "垃圾房有异味",
}


def _estates(session) -> list[Estate]:
    # Minhang's towns and estates only: Jinshan's are app/demo_jinshan.py's (issue 15).
    towns = list(
        session.scalars(
            select(Town)
            .join(Town.district)
            .where(District.code == MINHANG["code"])
            .order_by(Town.id)
        )
    )
    existing = {e.name_zh for e in session.scalars(select(Estate))}
    for town in towns:
        short = town.name_zh.removesuffix("街道").removesuffix("镇")
        short_en = town.name_en.rsplit(" ", 1)[0]
        for i, (stem, stem_en) in enumerate(zip(STEMS, STEMS_EN, strict=True)):
            name = f"{short}{stem}"
            if name in existing or i >= ESTATES_PER_TOWN:
                continue
            session.add(
                Estate(
                    town=town,
                    name_zh=name,
                    name_en=f"{short_en} {stem_en}",
                    address_zh=f"上海市闵行区{town.name_zh}{short}路{100 + 13 * i}弄",
                    address_en=f"Lane {100 + 13 * i}, {short_en} Road, Minhang, Shanghai",
                    latitude=31.0 + (town.id * 17 + i) % 25 / 100,
                    longitude=121.3 + (town.id * 7 + i * 3) % 25 / 100,
                )
            )
    session.flush()
    return list(
        session.scalars(
            select(Estate).where(Estate.town_id.in_([t.id for t in towns])).order_by(Estate.id)
        )
    )


def seed_repairs(session) -> None:
    """Companies, estates and their managers, then (on an empty table) the ticket history, as
    one unit of work."""
    # One scrypt hash of the shared demo password serves every demo manager: hashing ~300 times
    # would make `make run` wait half a minute for identical results. Made before the unit: it
    # needs no database.
    shared = User()  # a transient holder for the hash, never added to the session
    shared.set_password(DEMO_PASSWORD)
    with unit_of_work(session):
        _companies_estates_managers(session, shared.password_hash)
        if not session.scalar(select(func.count(Ticket.id))):
            _history(session)


def _companies_estates_managers(session, password_hash: str) -> None:
    companies = {c.name_zh: c for c in session.scalars(select(PropertyCompany))}
    for zh, en, _quality in COMPANIES:
        if zh not in companies:
            companies[zh] = PropertyCompany(name_zh=zh, name_en=en, response_minutes=30)
            session.add(companies[zh])
    session.flush()
    company_list = [companies[zh] for zh, _en, _q in COMPANIES]
    estates = _estates(session)
    managed = {m.estate_id for m in session.scalars(select(EstateManagement))}
    for index, estate in enumerate(estates):
        if estate.id not in managed:
            session.add(
                EstateManagement(
                    estate_id=estate.id, company_id=company_list[index % len(company_list)].id
                )
            )
    session.flush()
    usernames = set(session.scalars(select(User.username)))
    for estate in estates:
        username = f"wuye-{estate.id}"
        if username not in usernames:
            session.add(
                User(
                    username=username,
                    name=f"{estate.name_zh} 物业",
                    password_hash=password_hash,
                    roles=[
                        RoleAssignment(
                            role=Role.PROPERTY_MANAGER, scope_kind="estate", scope_id=estate.id
                        )
                    ],
                )
            )
    username, name, company_zh = COMPANY_MANAGER
    if username not in usernames:
        session.add(
            User(
                username=username,
                name=name,
                password_hash=password_hash,
                roles=[
                    RoleAssignment(
                        role=Role.PROPERTY_MANAGER,
                        scope_kind="company",
                        scope_id=companies[company_zh].id,
                    )
                ],
            )
        )
    session.flush()


def _history(session) -> None:
    """About 2,400 tickets over the last ~75 days, and some open now at each stage of the clock."""
    estates = _estates(session)  # Minhang's (their companies are COMPANIES)
    by_name = {c.name_zh: c for c in session.scalars(select(PropertyCompany))}
    quality = {by_name[zh].id: q for zh, _en, q in COMPANIES}
    rng = random.Random(2026)  # nosec B311 # seeded for reproducible demo data, not security
    residents = list(session.scalars(select(User).where(User.phone.is_not(None))))
    management = {m.estate_id: m.company for m in session.scalars(select(EstateManagement))}
    now = clock.now()
    count = 0
    for day in range(75, 0, -1):
        for _ in range(32):
            estate = rng.choice(estates)
            company = management[estate.id]
            submitted = now - timedelta(days=day, minutes=rng.randint(0, 1439))
            on_time = rng.random() < quality[company.id]
            responded = submitted + timedelta(
                minutes=rng.randint(2, 29) if on_time else rng.randint(31, 180)
            )
            resolved = responded + timedelta(hours=rng.randint(1, 72))
            category = rng.choice(list(Category))
            count += 1
            ticket = _ticket(session, count, estate, company, category, submitted, rng, residents)
            ticket.responded_at, ticket.resolved_at = responded, resolved
            ticket.state = State.CLOSED if rng.random() < 0.85 else State.RESOLVED
            ticket.closed_at = (
                resolved + timedelta(days=1) if ticket.state == State.CLOSED else None
            )
            if rng.random() < 0.06:
                ticket.reopen_count = 1
            if rng.random() < 0.5:
                ticket.rating = max(
                    1, min(5, round(rng.gauss(3.2 + 2 * quality[company.id] - 1, 1)))
                )
    # Open now: fresh, nearly due, overdue, long overdue.
    for minutes_ago in (2, 8, 15, 22, 25, 28, 35, 45, 70, 120):
        estate = rng.choice(estates)
        count += 1
        _ticket(
            session,
            count,
            estate,
            management[estate.id],
            rng.choice(list(Category)),
            now - timedelta(minutes=minutes_ago),
            rng,
            residents,
        )


def _ticket(session, number, estate, company, category, submitted, rng, residents) -> Ticket:
    ticket = Ticket(
        reference=f"BX{number:07d}",
        estate_id=estate.id,
        company_id=company.id,
        town_id=estate.town_id,
        reporter_id=rng.choice(residents).id if residents else None,
        category=category,
        description=DESCRIPTIONS[category],
        public_area=category in (Category.PUBLIC_AREA, Category.GREENING),
        location=f"{rng.randint(1, 30)}号楼",
        state=State.SUBMITTED,
        submitted_at=submitted,
        respond_by=respond_by(company, submitted),
    )
    ticket.events.append(TicketEvent(kind=EventKind.SUBMITTED, at=submitted))
    session.add(ticket)
    return ticket
