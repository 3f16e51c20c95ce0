"""Which property company manages which estate, over time (issue 15).

`EstateManagement` is a history of periods [valid_from, valid_to) in local dates; the open row
(valid_to NULL) is the last one, and an estate has at most one (a partial unique index on both
databases is the backstop). Guarantees:

- `assign_company` is the one way a company takes over an estate: it locks the estate's row
  (SELECT … FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE serialises writers), closes the
  open period at the change date and opens the new one, in one unit of work; two administrators
  changing the same estate at once leave one consistent history.
- Who manages an estate on a day is the period holding that day (`current_management`); a change
  dated in the future leaves the old company in charge until that day, with no sweep needed.
- Tickets keep the company they were submitted with (Ticket.company_id): a change never moves an
  old report, its deadline or its rating to the new company.

The bulk import's `companies` kind calls `assign_company` too, so both paths share the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import object_session

from app import clock
from app.audit.services import record
from app.db import unit_of_work
from app.errors import DomainError
from app.places.models import Estate, Town
from repairs.models import EstateManagement, PropertyCompany


def in_force(day: date):
    """SQL: the management rows whose period holds `day`."""
    return and_(
        EstateManagement.valid_from <= day,
        or_(EstateManagement.valid_to.is_(None), EstateManagement.valid_to > day),
    )


def current_management(session, estate_id: int, day: date | None = None):
    """The EstateManagement row in force for the estate on `day` (today, local, by default), or
    None if no company manages it that day."""
    return session.scalar(
        select(EstateManagement).where(
            EstateManagement.estate_id == estate_id, in_force(day or clock.today())
        )
    )


def managed_estate_ids(company_id: int, day: date | None = None):
    """SQL (a select of estate ids): the estates `company_id` manages on `day` (today)."""
    return select(EstateManagement.estate_id).where(
        EstateManagement.company_id == company_id, in_force(day or clock.today())
    )


def managing_company_id(session, estate_id: int, day: date | None = None) -> int | None:
    """The id of the company managing the estate on `day` (today), or None."""
    return session.scalar(
        select(EstateManagement.company_id).where(
            EstateManagement.estate_id == estate_id, in_force(day or clock.today())
        )
    )


def company_scope(obj) -> list[tuple[str, int]]:
    """The company scope covering an estate, a household or a home claim today: registered with
    app.scopes, so a manager held for a company covers the estates it manages (and their homes
    and claims) only while it manages them."""
    estate_id = obj.id if isinstance(obj, Estate) else obj.estate_id
    company_id = managing_company_id(object_session(obj), estate_id)
    return [] if company_id is None else [("company", company_id)]


def estates_of_companies(session, company_ids) -> list[int]:
    """The estates the companies `company_ids` manage today (registered with app.scopes: what a
    manager held for a company covers)."""
    return list(
        session.scalars(
            select(EstateManagement.estate_id).where(
                EstateManagement.company_id.in_(list(company_ids)), in_force(clock.today())
            )
        )
    )


def company_districts(session, company_id: int) -> list[int]:
    """The districts of the estates `company_id` manages today."""
    return list(
        session.scalars(
            select(Town.district_id)
            .join(Estate, Estate.town_id == Town.id)
            .where(Estate.id.in_(managed_estate_ids(company_id)))
            .distinct()
            .order_by(Town.district_id)
        )
    )


def history(session, *, estate_id: int | None = None, company_id: int | None = None) -> list:
    """The management periods of an estate or of a company, newest first."""
    query = select(EstateManagement).order_by(
        EstateManagement.valid_from.desc(), EstateManagement.id.desc()
    )
    if estate_id is not None:
        query = query.where(EstateManagement.estate_id == estate_id)
    if company_id is not None:
        query = query.where(EstateManagement.company_id == company_id)
    return list(session.scalars(query))


@dataclass(frozen=True)
class Change:
    """What `assign_company` would do (the confirmation page shows it): the company in charge
    until the change, if any, and whether nothing would change at all."""

    previous: PropertyCompany | None
    unchanged: bool


def check_assignment(session, estate: Estate, company: PropertyCompany, from_date: date) -> Change:
    """Refuse (DomainError on `from_date` or `company`) an assignment that `assign_company`
    would refuse, without writing; answer what it would change. Rules: neither the estate nor
    the company is archived; the first company of an estate may start on any date (records
    from before the portal); a later change starts today or later, and after the open period
    began, because reports already made went to the company of their day and keep it."""
    if estate.archived_at is not None:
        raise DomainError(_l("This estate is archived."), code="archived", field="estate")
    if company.archived_at is not None:
        raise DomainError(
            _l("This property company is archived: choose another."),
            code="archived",
            field="company",
        )
    open_row = _open_row(session, estate.id)
    if open_row is None:
        return Change(previous=None, unchanged=False)
    if open_row.company_id == company.id:
        return Change(previous=open_row.company, unchanged=True)
    if from_date < clock.today():
        raise DomainError(
            _l(
                "The date must be today or later: reports already made stay with the company "
                "that managed the estate that day."
            ),
            code="date_in_past",
            field="from_date",
        )
    if from_date <= open_row.valid_from:
        raise DomainError(
            _l("The date must be after %(day)s, when the current period began."),
            code="date_before_period",
            field="from_date",
            day=open_row.valid_from.isoformat(),
        )
    return Change(previous=open_row.company, unchanged=False)


def assign_company(session, estate: Estate, company: PropertyCompany, from_date: date, actor):
    """Make `company` manage `estate` from `from_date` (a local date) on: the open period ends
    on that date and a new open period begins (see `check_assignment` for what is refused). The
    same company again changes nothing (a re-import is idempotent). Returns the open
    EstateManagement row. Audited as "repair.company_assigned". One unit of work; the estate's
    row is locked first, so concurrent changes of one estate run one after the other."""
    with unit_of_work(session):
        session.scalars(
            select(Estate)
            .where(Estate.id == estate.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        change = check_assignment(session, estate, company, from_date)
        open_row = _open_row(session, estate.id)
        if change.unchanged:
            return open_row
        if open_row is not None:
            open_row.valid_to = from_date
            # The closed row must be written before the new open row: the unique index on the
            # open row is checked per statement.
            session.flush()
        row = EstateManagement(
            estate_id=estate.id,
            company_id=company.id,
            valid_from=from_date,
            created_by_id=getattr(actor, "id", None),
        )
        session.add(row)
        session.flush()
        record(
            session,
            actor,
            "repair.company_assigned",
            estate,
            company=company.id,
            previous=change.previous.id if change.previous is not None else None,
            from_date=from_date.isoformat(),
        )
        return row


def _open_row(session, estate_id: int):
    return session.scalar(
        select(EstateManagement).where(
            EstateManagement.estate_id == estate_id, EstateManagement.valid_to.is_(None)
        )
    )


def administers_company(session, user, company: PropertyCompany | None) -> bool:
    """May `user` administer `company`? An installation-wide administrator always; a district
    administrator a company that manages no estate today or one of their district's. (Companies
    are not in a district themselves: one company may manage estates in several.)"""
    from app.accounts.models import Role

    if user.holds_everywhere(Role.ADMINISTRATOR):
        return True
    districts = user.district_ids(Role.ADMINISTRATOR)
    if not districts:
        return False
    if company is None:
        return True
    managed = managed_estate_ids(company.id)
    if session.scalar(managed.limit(1)) is None:
        return True
    return (
        session.scalar(
            select(Estate.id)
            .join(Town, Town.id == Estate.town_id)
            .where(Estate.id.in_(managed), Town.district_id.in_(districts))
            .limit(1)
        )
        is not None
    )


def save_company(session, actor, company: PropertyCompany | None, data: dict) -> PropertyCompany:
    """Create (company None) or edit a property company: names (the Chinese one unique) and its
    response window and working hours (repairs.services.companies.save_company_settings: new
    tickets use them, old ones keep their deadline). One unit of work, audited."""
    from repairs.services.companies import save_company_settings

    zh, en = (data.get("name_zh") or "").strip(), (data.get("name_en") or "").strip()
    if not zh:
        raise DomainError(_l("Enter the name in Chinese"), field="name_zh")
    if not en:
        raise DomainError(_l("Enter the name in English"), field="name_en")
    with unit_of_work(session):
        clash = select(PropertyCompany.id).where(PropertyCompany.name_zh == zh)
        if company is not None:
            clash = clash.where(PropertyCompany.id != company.id)
        if session.scalar(clash.limit(1)) is not None:
            raise DomainError(_l("Another company has this name"), field="name_zh")
        if company is None:
            company = PropertyCompany(name_zh=zh, name_en=en)
            session.add(company)
        company.name_zh, company.name_en = zh, en
        session.flush()
        save_company_settings(
            session,
            actor,
            company,
            response_minutes=data.get("response_minutes") or 30,
            work_starts=data.get("work_starts") or "",
            work_ends=data.get("work_ends") or "",
            work_days=list(data.get("work_days") or []),
            reopen_days=company.reopen_days or 7,
            auto_close_days=company.auto_close_days or 7,
        )
        return company
