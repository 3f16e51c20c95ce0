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
