"""Three levels watching one clock: the property manager's queue, and the dashboards of the
town (街镇) and district (区) supervisors. (The monthly rating of property companies is
repairs.services.rating.)"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, case, func, literal, select, union_all
from sqlalchemy.orm import selectinload

from app import clock
from app.i18n import Localized
from app.places.models import Estate, Town
from repairs.models import OPEN_STATES, PropertyCompany, Ticket
from repairs.services.clock import at_risk, breached


@dataclass
class Counts:
    open: int = 0
    at_risk: int = 0
    breached: int = 0


def live_counts(
    session, *, town_ids: list[int] | None = None, group_by=Ticket.estate_id
) -> dict[int, Counts]:
    """Open tickets, those at risk (unanswered, deadline within 10 minutes) and those breached
    now (unanswered, deadline passed), grouped by estate or company, derived from timestamps."""
    by_estate, by_company = live_counts_by_estate_and_company(session, town_ids=town_ids)
    return by_company if group_by is Ticket.company_id else by_estate


def live_counts_by_estate_and_company(
    session, *, town_ids: list[int] | None = None
) -> tuple[dict[int, Counts], dict[int, Counts]]:
    """`live_counts` by estate and by company from one pass over the open tickets (an estate has
    one company, so the (estate, company) groups add up to both)."""
    now = clock.now()
    query = (
        select(
            Ticket.estate_id,
            Ticket.company_id,
            # count(*), not count(id): the open tickets' covering index answers the whole query
            # (ix_repair_ticket_open_live, an index-only scan) and holds no id.
            func.count(),
            func.sum(case((at_risk(Ticket, now), 1), else_=0)),
            func.sum(case((breached(Ticket, now), 1), else_=0)),
        )
        .where(Ticket.state.in_(OPEN_STATES))
        .group_by(Ticket.estate_id, Ticket.company_id)
    )
    if town_ids is not None:
        query = query.where(Ticket.town_id.in_(town_ids))
    by_estate: dict[int, Counts] = {}
    by_company: dict[int, Counts] = {}
    for estate_id, company_id, n, risk, late in session.execute(query):
        for totals, key in ((by_estate, estate_id), (by_company, company_id)):
            counts = totals.setdefault(key, Counts())
            counts.open += n
            counts.at_risk += int(risk or 0)
            counts.breached += int(late or 0)
    return by_estate, by_company


SHOWN = 60  # rows of each table on a dashboard, most breached first


@dataclass(frozen=True)
class Named:
    """A company or an estate as a dashboard names it."""

    id: int
    name_zh: str
    name_en: str

    name = Localized("name_zh", "name_en")


@dataclass
class Dashboard:
    """What a supervisor's dashboard shows: live counts by estate and by company (the SHOWN
    most breached of each), the totals over all of them, and the names to show them by."""

    by_estate: list[tuple[int, Counts]]
    by_company: list[tuple[int, Counts]]
    total: Counts
    estates: dict[int, Named]
    companies: dict[int, Named]
    town_names: list[str] | None  # None: the whole district


def dashboard(session, *, town_ids: list[int] | None = None) -> Dashboard:
    """The dashboard of a supervisor of `town_ids` (None: the district). Counts are live (one
    aggregate over the open tickets); names are loaded for the rows shown only, with the
    towns', in one more statement."""
    by_estate, by_company = live_counts_by_estate_and_company(session, town_ids=town_ids)
    total = Counts(
        sum(c.open for c in by_estate.values()),
        sum(c.at_risk for c in by_estate.values()),
        sum(c.breached for c in by_estate.values()),
    )
    shown_estates = sorted(by_estate.items(), key=lambda kv: -kv[1].breached)[:SHOWN]
    shown_companies = sorted(by_company.items(), key=lambda kv: -kv[1].breached)[:SHOWN]
    names = _names(
        session,
        towns=town_ids or [],
        estates=[key for key, _ in shown_estates],
        companies=[key for key, _ in shown_companies],
    )
    return Dashboard(
        by_estate=shown_estates,
        by_company=shown_companies,
        total=total,
        estates=names["estates"],
        companies=names["companies"],
        town_names=[town.name for town in names["towns"].values()]
        if town_ids is not None
        else None,
    )


NAMED = {"towns": Town, "estates": Estate, "companies": PropertyCompany}


def _names_statement():
    """(kind, id, name_zh, name_en) of the towns, estates and companies asked for: one
    statement, built once (expanding IN lists)."""
    return union_all(
        *(
            select(literal(kind).label("kind"), model.id, model.name_zh, model.name_en).where(
                model.id.in_(bindparam(kind, expanding=True))
            )
            for kind, model in NAMED.items()
        )
    )


_NAMES = _names_statement()


def _names(session, **ids: list[int]) -> dict[str, dict[int, Named]]:
    found: dict[str, dict[int, Named]] = {kind: {} for kind in ids}
    if any(ids.values()):
        for kind, key, name_zh, name_en in session.execute(_NAMES, ids):
            found[kind][key] = Named(key, name_zh, name_en)
    return found


def estates(session, estate_ids) -> list[Estate]:
    return list(
        session.scalars(
            select(Estate).where(Estate.id.in_(list(estate_ids))).order_by(Estate.name_zh)
        )
    )


def tickets_for(
    session,
    *,
    town_ids=None,
    estate_id=None,
    company_id=None,
    flag=None,
    state=None,
    category=None,
    limit=200,
) -> list[Ticket]:
    """Drill-down: tickets matching the filters, most urgent first."""
    now = clock.now()
    query = select(Ticket)
    if town_ids is not None:
        query = query.where(Ticket.town_id.in_(town_ids))
    if estate_id:
        query = query.where(Ticket.estate_id == estate_id)
    if company_id:
        query = query.where(Ticket.company_id == company_id)
    if state:
        query = query.where(Ticket.state == state)
    if category:
        query = query.where(Ticket.category == category)
    if flag in ("open", "at_risk", "breached"):
        query = query.where(Ticket.state.in_(OPEN_STATES))
    if flag == "at_risk":
        query = query.where(at_risk(Ticket, now))
    elif flag == "breached":
        query = query.where(breached(Ticket, now))
    return list(session.scalars(query.order_by(Ticket.respond_by).limit(limit)))


def queue(
    session,
    estate_ids: list[int],
    *,
    company_ids=(),
    estate_id=None,
    state=None,
    category=None,
    limit=200,
) -> list[Ticket]:
    """A manager's queue: open tickets of their estates, and those made to their companies
    (which keep a report after the estate changed company), unanswered first by deadline."""
    mine = Ticket.estate_id.in_(estate_ids)
    if company_ids:
        mine = mine | Ticket.company_id.in_(list(company_ids))
    query = select(Ticket).where(mine, Ticket.state.in_(OPEN_STATES))
    if estate_id:
        query = query.where(Ticket.estate_id == estate_id)
    if state:
        query = query.where(Ticket.state == state)
    if category:
        query = query.where(Ticket.category == category)
    return list(
        session.scalars(
            query.order_by(Ticket.responded_at.is_not(None), Ticket.respond_by)
            .options(selectinload(Ticket.home_claim), selectinload(Ticket.household))
            .limit(limit)
        )
    )
