"""物业企业考核: the monthly rating of property companies (or of estates), from the tickets
submitted in the month, computed by the database and kept a short while per node.

Every figure is an aggregate of one SQL pass per kind (counts and sums; the medians and the 90th
percentile by ranking each group's values with a window function), so the cost no longer grows
with Python work per ticket: at a million tickets a month of about 85,000 is two statements over
the submitted_at index. The same SQL runs on SQLite and PostgreSQL (window functions, integer
arithmetic for the ranks; only the difference of two timestamps in seconds is spelled per
dialect, `seconds_between`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Float, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app import clock
from app.i18n import Localized
from app.places.models import Estate
from repairs.models import OPEN_STATES, PropertyCompany, Ticket
from repairs.services.clock import answered_in_time, breached


@dataclass(frozen=True)
class Rating:
    """One company's (or estate's) figures for a month, computed once: reading them is free."""

    key: int
    name_zh: str
    name_en: str
    tickets: int = 0
    responded: int = 0
    on_time: int = 0
    open_overdue: int = 0
    resolved: int = 0
    reopened: int = 0
    rated: int = 0
    rating_sum: int = 0
    median_response: float | None = None  # minutes from submission to the first response
    p90_response: float | None = None  # nearest rank
    median_resolution: float | None = None  # hours from submission to resolution

    # In the reader's language when read: a rating kept by the cache serves every language.
    name = Localized("name_zh", "name_en")

    @property
    def on_time_rate(self) -> float | None:
        """On time / (responded + still open and overdue): late open tickets count against."""
        denominator = self.responded + self.open_overdue
        return self.on_time / denominator if denominator else None

    @property
    def reopen_rate(self) -> float | None:
        return self.reopened / self.resolved if self.resolved else None

    @property
    def average_rating(self) -> float | None:
        return self.rating_sum / self.rated if self.rated else None


class RatingCache:
    """Computed ratings kept for `seconds` (0: never kept), one cache per app (repairs'
    init_app makes it), so a node reuses its own answers and a new app, such as each test's,
    starts empty.

    One computation per key at a time: the request threads of a worker that find the same
    rating missing wait for the first one's answer instead of all computing it (under gunicorn's
    16 threads an expired entry otherwise cost 16 computations). At most `size` keys are kept
    (the least recently computed go first), whatever months people ask for."""

    def __init__(self, seconds: int, size: int = 256) -> None:
        self.seconds = seconds
        self.size = size
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict = {}  # key -> the lock its computation holds

    def _fresh(self, key):
        kept = self._entries.get(key)
        if kept is not None and kept[0] > clock.now().timestamp():
            return kept
        return None

    def get(self, key, compute):
        """The value kept for `key` if still fresh, else `compute()`'s, kept from now."""
        if not self.seconds:
            return compute()
        kept = self._fresh(key)
        if kept is not None:
            return kept[1]
        with self._lock:
            computing = self._computing.setdefault(key, threading.Lock())
        with computing:
            kept = self._fresh(key)  # computed by another thread while this one waited
            if kept is not None:
                return kept[1]
            value = compute()
            with self._lock:
                self._entries[key] = (clock.now().timestamp() + self.seconds, value)
                self._entries.move_to_end(key)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
                self._computing.pop(key, None)
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

    The pages pass their app's `cache`: results are kept for REPAIRS_RATING_CACHE_SECONDS per
    node (a monthly assessment need not be live to the second). Without a cache the figures
    are computed now. Past months are kept no longer than the current one: their figures still
    move (a late answer, a resolution, a reopening or a resident's stars on an old ticket)."""
    key = (month, by, tuple(town_ids) if town_ids is not None else None)
    compute = lambda: _compute(session, month, by, town_ids)  # noqa: E731
    return cache.get(key, compute) if cache is not None else compute()


class seconds_between(FunctionElement):
    """SQL: `later - earlier` in seconds, a float (NULL if either is NULL)."""

    type = Float()
    inherit_cache = True


@compiles(seconds_between)
def _seconds_between(element, compiler, **kw):
    # date_part gives a double precision; EXTRACT a numeric, several times slower to sort.
    later, earlier = list(element.clauses)
    return (
        f"date_part('epoch', {compiler.process(later, **kw)} - {compiler.process(earlier, **kw)})"
    )


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element, compiler, **kw):
    # UTCDateTime keeps naive UTC text on SQLite, which julianday() reads.
    later, earlier = list(element.clauses)
    return (
        f"((julianday({compiler.process(later, **kw)}) - "
        f"julianday({compiler.process(earlier, **kw)})) * 86400.0)"
    )


def _compute(session, month: date, by: str, town_ids) -> list[Rating]:
    start, end = clock.month_bounds(month)
    key = Ticket.company_id if by == "company" else Ticket.estate_id
    where = [Ticket.submitted_at >= start, Ticket.submitted_at < end]
    if town_ids is not None:
        where.append(Ticket.town_id.in_(town_ids))
    rows = session.execute(_figures(key, where, clock.now())).all()
    if not rows:
        return []
    model = PropertyCompany if by == "company" else Estate
    names = {
        row.id: (row.name_zh, row.name_en)
        for row in session.execute(select(model.id, model.name_zh, model.name_en))
    }
    ratings = [
        Rating(
            key=row.key,
            name_zh=names.get(row.key, (str(row.key),))[0],
            name_en=names.get(row.key, (str(row.key), str(row.key)))[1],
            tickets=row.tickets,
            responded=row.responded,
            on_time=int(row.on_time or 0),
            open_overdue=int(row.open_overdue or 0),
            resolved=row.resolved,
            reopened=int(row.reopened or 0),
            rated=row.rated,
            rating_sum=int(row.rating_sum or 0),
            median_response=_float(row.median_response),
            p90_response=_float(row.p90_response),
            median_resolution=_float(row.median_resolution),
        )
        for row in rows
    ]
    return sorted(
        ratings, key=lambda r: (-(r.on_time_rate or 0), r.median_response or 1e9, r.name_zh)
    )


def _ranked(value, key):
    """(value's rank among the group's values in ascending order, how many values the group
    has): window functions over one pass. NULLs (no response yet, not resolved) rank after
    every value on both databases (SQLite sorts NULL first, PostgreSQL last)."""
    return (
        func.row_number().over(partition_by=key, order_by=(value.is_(None), value)),
        func.count(value).over(partition_by=key),
    )


def _median(value, rank, n):
    """The middle value, or the mean of the two middle ones (statistics.median)."""
    return func.avg(case((rank.in_([(n + 1) // 2, (n + 2) // 2]), value)))


def _nearest_rank(value, rank, n):
    """The 90th percentile by nearest rank: the smallest value with at least 90% of the values
    at or below it, rank ceil(0.9 n), in integers (9n + 9) // 10."""
    return func.max(case((rank == (9 * n + 9) // 10, value)))


def _figures(key, where, now):
    """Every figure per key in one statement over one pass of the month's tickets: tickets,
    responded, answered in time, still open and overdue now, resolved, resolved and reopened,
    rated and the sum of the stars; the median and 90th percentile of response minutes and
    the median of resolution hours. The deadline rules are repairs.services.clock's, in their
    SQL form."""
    response = seconds_between(Ticket.responded_at, Ticket.submitted_at) / 60.0
    resolution = seconds_between(Ticket.resolved_at, Ticket.submitted_at) / 3600.0
    response_rank, responses = _ranked(response, key)
    resolution_rank, resolutions = _ranked(resolution, key)
    t = (
        select(
            key.label("key"),
            Ticket.responded_at.is_not(None).label("responded"),
            answered_in_time(Ticket).label("on_time"),
            (Ticket.state.in_(OPEN_STATES) & breached(Ticket, now)).label("open_overdue"),
            Ticket.resolved_at.is_not(None).label("resolved"),
            (Ticket.resolved_at.is_not(None) & (Ticket.reopen_count > 0)).label("reopened"),
            Ticket.rating.label("rating"),
            response.label("response"),
            response_rank.label("response_rank"),
            responses.label("responses"),
            resolution.label("resolution"),
            resolution_rank.label("resolution_rank"),
            resolutions.label("resolutions"),
        )
        .where(*where)
        .subquery()
    )
    one = lambda condition: func.sum(case((condition, 1), else_=0))  # noqa: E731
    return select(
        t.c.key,
        func.count().label("tickets"),
        one(t.c.responded).label("responded"),
        one(t.c.on_time).label("on_time"),
        one(t.c.open_overdue).label("open_overdue"),
        one(t.c.resolved).label("resolved"),
        one(t.c.reopened).label("reopened"),
        func.count(t.c.rating).label("rated"),
        func.sum(t.c.rating).label("rating_sum"),
        _median(t.c.response, t.c.response_rank, t.c.responses).label("median_response"),
        _nearest_rank(t.c.response, t.c.response_rank, t.c.responses).label("p90_response"),
        _median(t.c.resolution, t.c.resolution_rank, t.c.resolutions).label("median_resolution"),
    ).group_by(t.c.key)


def _float(value) -> float | None:
    return None if value is None else float(value)


def chart(ratings: list[Rating]) -> dict:
    """The rows of the on-time bar chart (name and whole percent; None when no response was
    due yet, shown as "–" like the table, not as 0%), in ranking order; the template draws each
    bar as a share of its row's width."""
    return {
        "rows": [
            {
                "name": r.name,
                "percent": None if r.on_time_rate is None else round(100 * r.on_time_rate),
            }
            for r in ratings
        ]
    }


def month_of(value: str | None) -> date:
    """ "2026-11" -> 1 Nov 2026; anything else (or a month next to the year 1 or 9999, which
    overflowed into a server error, tests/test_fuzz.py) -> this month."""
    return clock.parse_month(value) or clock.month_start(clock.today())
