"""Local time for people (Asia/Shanghai), UTC in the database."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.db import utcnow

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


# The days anyone may ask about. Near the years 1 and 9999 date arithmetic overflows (a server
# error, found by tests/test_fuzz.py), and nothing is booked, parked or reported there.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def plausible(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


def now() -> datetime:
    return utcnow()


def today() -> date:
    return now().astimezone(LOCAL_TZ).date()


def local(dt: datetime) -> datetime:
    return dt.astimezone(LOCAL_TZ)


def at(day: date, minutes: int) -> datetime:
    """The aware instant `minutes` after local midnight of `day`."""
    return datetime.combine(day, time(0), LOCAL_TZ) + timedelta(minutes=minutes)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    return at(day, 0), at(day + timedelta(days=1), 0)


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def timedelta_minutes(minutes: int) -> timedelta:
    return timedelta(minutes=minutes)


def parse_hhmm(text: str | None) -> int | None:
    """ "08:30" -> 510 minutes after midnight, "24:00" -> 1440; None for anything else (the
    caller says which field was wrong)."""
    try:
        hours, minutes = (int(part) for part in (text or "").strip().split(":"))
    except ValueError:
        return None
    if 0 <= hours <= 24 and 0 <= minutes < 60 and hours * 60 + minutes <= 1440:
        return hours * 60 + minutes
    return None


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    """The first day of the month after `month`'s."""
    first = month.replace(day=1)
    return date(first.year + (first.month == 12), first.month % 12 + 1, 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The local month containing `month` as [start, end) instants."""
    return at(month.replace(day=1), 0), at(next_month(month), 0)


def parse_month(value: str | None) -> date | None:
    """ "2026-11" -> 1 Nov 2026; None for anything else or a month outside `plausible`."""
    try:
        year, month = (int(x) for x in (value or "").split("-"))
        first = date(year, month, 1)
    except (ValueError, OverflowError):
        return None
    return first if plausible(first) else None
