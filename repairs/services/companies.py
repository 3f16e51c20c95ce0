"""Property companies: which one manages an estate, and the response settings the district
gives each (the window, an optional working-hours calendar, reopening and auto-closing)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.accounts.models import User
from app.audit.services import record
from app.clock import parse_hhmm
from app.db import atomic
from app.errors import DomainError
from app.places.models import Estate
from repairs.models import PropertyCompany


def company_of(session, estate: Estate, hotline: str):
    """The company managing `estate` today; if none is on record, a refusal naming the estate's
    own district's hotline (the resident's district, whichever district is being browsed), or
    `hotline` where the district has none."""
    from repairs.services.management import current_management

    management = current_management(session, estate.id)
    # An archived estate takes no new reports (issue 15); the hotline still answers.
    if management is None or estate.archived_at is not None:
        raise DomainError(
            _l("This estate has no property company on record. Call %(hotline)s."),
            code="no_company",
            hotline=estate.town.district.hotline or hotline,
        )
    return management.company


def all_companies(session) -> list[PropertyCompany]:
    return list(session.scalars(select(PropertyCompany).order_by(PropertyCompany.name_zh)))


@atomic
def save_company_settings(
    session,
    staff: User,
    company: PropertyCompany,
    *,
    response_minutes: int,
    work_starts: str,
    work_ends: str,
    work_days: list[str],
    reopen_days: int,
    auto_close_days: int,
) -> None:
    """The company's response window and optional working-hours calendar. New tickets use
    them; a ticket keeps the deadline it was given."""
    starts = _hhmm(work_starts, "work_starts")
    ends = _hhmm(work_ends, "work_ends")
    if (starts is None) != (ends is None):
        raise DomainError(
            _l("Give both the start and the end of working hours, or neither for 24x7"),
            field="work_ends",
        )
    if starts is not None and ends <= starts:
        raise DomainError(_l("Closing time must be after opening time"), field="work_ends")
    if starts is not None and not work_days:
        raise DomainError(_l("Choose at least one working day"), field="work_days")
    company.response_minutes, company.work_starts, company.work_ends = (
        response_minutes,
        starts,
        ends,
    )
    company.work_days = "".join(sorted(work_days)) or "0123456"
    company.reopen_days, company.auto_close_days = reopen_days, auto_close_days
    record(
        session,
        staff,
        "repair.company_settings",
        company,
        response_minutes=response_minutes,
        work_starts=work_starts,
        work_ends=work_ends,
    )


def _hhmm(text: str, field: str) -> int | None:
    """Minutes after midnight of an "HH:MM" answer, None for an empty one."""
    if not (text or "").strip():
        return None
    minutes = parse_hhmm(text)
    if minutes is None:
        raise DomainError(_l("Enter a time like 08:30"), field=field)
    return minutes
