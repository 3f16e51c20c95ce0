"""The response clock. `respond_by` is computed once, at submission; every reading of "at risk"
or "breached" is derived from timestamps at the moment it is read."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l

from app import clock

WARN_BEFORE = timedelta(minutes=10)
DISTRICT_AFTER = timedelta(minutes=30)


def respond_by(company, submitted_at: datetime) -> datetime:
    """submitted_at + the company's window (30 minutes by default), counted 24x7 unless the
    company set working hours, in which case only minutes inside them count."""
    window = timedelta(minutes=company.response_minutes)
    if company.work_starts is None or company.work_ends is None:
        return submitted_at + window
    remaining = window
    cursor = clock.local(submitted_at)
    for _ in range(
        366
    ):  # at most a year of days; a calendar with no working day is refused earlier
        day_start = cursor.replace(hour=0, minute=0, second=0, microsecond=0)
        opens = day_start + timedelta(minutes=company.work_starts)
        closes = day_start + timedelta(minutes=company.work_ends)
        if str(cursor.weekday()) in company.work_days and cursor < closes:
            start = max(cursor, opens)
            if start + remaining <= closes:
                return start + remaining
            remaining -= closes - start
        cursor = day_start + timedelta(days=1)
    raise ValueError("the company's working calendar has no working time")


# The deadline rule, written once. Each function below reads only `responded_at` and
# `respond_by`, with operators that mean the same in Python and in SQL, so one body serves
# three callers: a Ticket (or a result row) gives True or False; the Ticket class gives the SQL
# condition, the same `responded_at IS NULL AND respond_by ...` that ix_repair_ticket_unanswered
# serves, for the queue, the dashboards and the sweep. `== None` is deliberate: on a column it
# is IS NULL, on a value it is `is None`.


def breached(ticket, now: datetime | None = None):
    """Unanswered and the deadline has come: overdue now. (A response, even a late one, ends
    it; the rating counts late answers from `responded_at`.)"""
    now = now or clock.now()
    return (ticket.responded_at == None) & (ticket.respond_by <= now)  # noqa: E711


def at_risk(ticket, now: datetime | None = None):
    """Unanswered, not yet overdue, and the deadline within WARN_BEFORE: the sweep warns the
    estate's staff, the dashboards count it."""
    now = now or clock.now()
    return (
        (ticket.responded_at == None)  # noqa: E711
        & (ticket.respond_by > now)
        & (ticket.respond_by <= now + WARN_BEFORE)
    )


def answered_in_time(ticket) -> bool:
    """A ticket that has a response got it by its deadline (the rating's "on time")."""
    return ticket.responded_at <= ticket.respond_by


def minutes_left(ticket, now: datetime | None = None) -> int:
    """Whole minutes until the deadline (negative: overdue), for an unanswered ticket."""
    now = now or clock.now()
    return int((ticket.respond_by - now).total_seconds() // 60)


def deadline_words(ticket, now: datetime | None = None) -> str:
    """The deadline in words, for the queue: "12 minutes left", "8 minutes overdue", "answered
    in 5 minutes", "answered 3 minutes late"."""
    now = now or clock.now()
    if ticket.responded_at is not None:
        took = int((ticket.responded_at - ticket.submitted_at).total_seconds() // 60)
        if answered_in_time(ticket):
            return _l("answered in %(n)d minutes", n=took)
        return _l(
            "answered %(n)d minutes late",
            n=int((ticket.responded_at - ticket.respond_by).total_seconds() // 60),
        )
    left = minutes_left(ticket, now)
    if left >= 0:
        return _l("%(n)d minutes left", n=left)
    return _l("%(n)d minutes overdue", n=-left)
