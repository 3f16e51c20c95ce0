"""Three levels watching one clock: the dashboards of the town (街镇) and district (区)
supervisors, and the monthly rating of property companies (物业企业考核)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from app import clock
from app.places.models import Estate, Town
from repairs.models import OPEN_STATES, PropertyCompany, Ticket
from repairs.services.clock import answered_in_time, at_risk, breached


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
            func.count(Ticket.id),
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


@dataclass
class Dashboard:
    """What a supervisor's dashboard shows: live counts by estate and by company (most
    breached first), their totals, and the names to show them by."""

    by_estate: list[tuple[int, Counts]]
    by_company: list[tuple[int, Counts]]
    total: Counts
    estates: dict[int, Estate]
    companies: dict[int, PropertyCompany]
    town_names: list[str] | None  # None: the whole district


def dashboard(session, *, town_ids: list[int] | None = None) -> Dashboard:
    """The dashboard of a supervisor of `town_ids` (None: the district)."""
    by_estate, by_company = live_counts_by_estate_and_company(session, town_ids=town_ids)
    total = Counts(
        sum(c.open for c in by_estate.values()),
        sum(c.at_risk for c in by_estate.values()),
        sum(c.breached for c in by_estate.values()),
    )
    towns = session.scalars(select(Town).where(Town.id.in_(town_ids))) if town_ids else []
    return Dashboard(
        by_estate=sorted(by_estate.items(), key=lambda kv: -kv[1].breached),
        by_company=sorted(by_company.items(), key=lambda kv: -kv[1].breached),
        total=total,
        estates={e.id: e for e in estates(session, list(by_estate))},
        companies={c.id: c for c in session.scalars(select(PropertyCompany))},
        town_names=[t.name for t in towns] if town_ids is not None else None,
    )


def estates(session, estate_ids) -> list[Estate]:
    return list(session.scalars(select(Estate).where(Estate.id.in_(list(estate_ids)))))


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


def queue(session, estate_ids: list[int], *, state=None, category=None, limit=200) -> list[Ticket]:
    """A manager's queue: open tickets of their estates, unanswered first by deadline."""
    query = select(Ticket).where(Ticket.estate_id.in_(estate_ids), Ticket.state.in_(OPEN_STATES))
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


# --- 物业企业考核 --------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least p% of values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class Rating:
    key: int
    name: str
    tickets: int = 0
    responded: int = 0
    on_time: int = 0
    open_overdue: int = 0
    response_minutes: list = field(default_factory=list)
    resolution_hours: list = field(default_factory=list)
    resolved: int = 0
    reopened: int = 0
    ratings: list = field(default_factory=list)

    @property
    def on_time_rate(self) -> float | None:
        """On time / (responded + still open and overdue): late open tickets count against."""
        denominator = self.responded + self.open_overdue
        return self.on_time / denominator if denominator else None

    @property
    def median_response(self) -> float | None:
        return statistics.median(self.response_minutes) if self.response_minutes else None

    @property
    def p90_response(self) -> float | None:
        return percentile(self.response_minutes, 90)

    @property
    def median_resolution(self) -> float | None:
        return statistics.median(self.resolution_hours) if self.resolution_hours else None

    @property
    def reopen_rate(self) -> float | None:
        return self.reopened / self.resolved if self.resolved else None

    @property
    def average_rating(self) -> float | None:
        return sum(self.ratings) / len(self.ratings) if self.ratings else None


class RatingCache:
    """Computed ratings kept for `seconds` (0: never kept), one cache per app (repairs'
    init_app makes it), so a node reuses its own answers and a new app, such as each test's,
    starts empty."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self._entries: dict = {}

    def get(self, key, compute):
        """The value kept for `key` if still fresh, else `compute()`'s, kept from now."""
        if not self.seconds:
            return compute()
        now = clock.now().timestamp()
        kept = self._entries.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]
        value = compute()
        self._entries[key] = (now + self.seconds, value)
        return value


def company_ratings(
    session,
    month: date,
    *,
    by: str = "company",
    town_ids=None,
    cache: RatingCache | None = None,
) -> list[Rating]:
    """Every company's (or estate's) figures for tickets submitted in `month`, ranked by on-time
    rate, then by median response time.

    The month's tickets are aggregated in Python (percentiles are not portable SQL), which at a
    million tickets costs about a second, so the pages pass their app's `cache` and results are
    kept for a minute per node: a monthly assessment need not be live to the second. Without a
    cache the figures are computed now."""
    key = (month, by, tuple(town_ids) if town_ids is not None else None)
    compute = lambda: _compute_ratings(session, month, by, town_ids)  # noqa: E731
    return cache.get(key, compute) if cache is not None else compute()


def _compute_ratings(session, month: date, by: str, town_ids) -> list[Rating]:
    start, end = clock.month_bounds(month)
    now = clock.now()
    key_column = Ticket.company_id if by == "company" else Ticket.estate_id
    query = select(
        key_column,
        Ticket.state,
        Ticket.submitted_at,
        Ticket.respond_by,
        Ticket.responded_at,
        Ticket.resolved_at,
        Ticket.reopen_count,
        Ticket.rating,
    ).where(Ticket.submitted_at >= start, Ticket.submitted_at < end)
    if town_ids is not None:
        query = query.where(Ticket.town_id.in_(town_ids))
    model = PropertyCompany if by == "company" else Estate
    names = {row.id: row.name for row in session.scalars(select(model))}
    ratings: dict[int, Rating] = {}
    for row in session.execute(query):
        key, state, submitted, _deadline, responded, resolved, reopens, stars = row
        r = ratings.setdefault(key, Rating(key=key, name=names.get(key, str(key))))
        r.tickets += 1
        if responded is not None:
            r.responded += 1
            r.on_time += answered_in_time(row)
            r.response_minutes.append((responded - submitted).total_seconds() / 60)
        elif state in OPEN_STATES and breached(row, now):
            r.open_overdue += 1
        if resolved is not None:
            r.resolved += 1
            r.resolution_hours.append((resolved - submitted).total_seconds() / 3600)
            r.reopened += reopens > 0
        if stars is not None:
            r.ratings.append(stars)
    return sorted(
        ratings.values(), key=lambda r: (-(r.on_time_rate or 0), r.median_response or 1e9, r.name)
    )


def chart(ratings: list[Rating], width: int = 640, bar: int = 28) -> dict:
    """Geometry for a horizontal bar chart of on-time rates, drawn in the template as SVG."""
    label_width = 220
    scale = width - label_width - 60
    rows = [
        {
            "y": i * (bar + 10),
            "name": r.name,
            "value": r.on_time_rate or 0.0,
            "length": round((r.on_time_rate or 0.0) * scale),
            "percent": round(100 * (r.on_time_rate or 0.0)),
        }
        for i, r in enumerate(ratings)
    ]
    return {
        "rows": rows,
        "width": width,
        "height": len(rows) * (bar + 10) + 10,
        "bar": bar,
        "label_width": label_width,
    }


def month_of(value: str | None) -> date:
    """ "2026-11" -> 1 Nov 2026; anything else (or a month next to the year 1 or 9999, which
    overflowed into a server error, tests/test_fuzz.py) -> this month."""
    return clock.parse_month(value) or clock.month_start(clock.today())
