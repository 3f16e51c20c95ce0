"""Demo data for Jinshan (金山区, app/demo_jinshan.py): the property company managing its demo
estates and the company's manager there, so a Jinshan resident's repair report reaches a
manager of its own district. Idempotent; the company is illustrative."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts import services as accounts
from app.accounts.models import Role, User
from app.db import unit_of_work
from app.demo import DEMO_PASSWORD
from app.demo_jinshan import jinshan_estates
from repairs.models import EstateManagement, PropertyCompany

COMPANY = ("上海金山城市物业管理有限公司", "Shanghai Jinshan City Property Management")
MANAGER = ("manager-jinshan", "金山城市物业 顾经理")


def seed_repairs_jinshan(session) -> None:
    """The company, its estates and its manager (of every Jinshan demo estate), in one unit."""
    with unit_of_work(session):
        zh, en = COMPANY
        company = session.scalar(select(PropertyCompany).where(PropertyCompany.name_zh == zh))
        if company is None:
            company = PropertyCompany(name_zh=zh, name_en=en, response_minutes=30)
            session.add(company)
            session.flush()
        estates = jinshan_estates(session)
        managed = set(
            session.scalars(
                select(EstateManagement.estate_id).where(
                    EstateManagement.estate_id.in_([e.id for e in estates.values()])
                )
            )
        )
        for estate in estates.values():
            if estate.id not in managed:
                session.add(EstateManagement(estate_id=estate.id, company_id=company.id))
        username, name = MANAGER
        if session.scalar(select(User.id).where(User.username == username)) is None:
            accounts.create_user(
                session,
                username=username,
                password=DEMO_PASSWORD,
                name=name,
                roles=[(Role.PROPERTY_MANAGER, f"estate:{e.id}") for e in estates.values()],
            )
        session.flush()
