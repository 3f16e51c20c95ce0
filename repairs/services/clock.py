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


def at_risk(ticket, now: datetime | None = None) -> bool:
    now = now or clock.now()
    return (
        ticket.responded_at is None and ticket.respond_by - WARN_BEFORE <= now < ticket.respond_by
    )


def breached(ticket, now: datetime | None = None) -> bool:
    now = now or clock.now()
    return (ticket.responded_at or now) > ticket.respond_by


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
        if ticket.responded_at <= ticket.respond_by:
            return _l("answered in %(n)d minutes", n=took)
        return _l(
            "answered %(n)d minutes late",
            n=int((ticket.responded_at - ticket.respond_by).total_seconds() // 60),
        )
    left = minutes_left(ticket, now)
    if left >= 0:
        return _l("%(n)d minutes left", n=left)
    return _l("%(n)d minutes overdue", n=-left)
