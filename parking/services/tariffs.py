"""Parking fees: a pure calculation, in integer fen, from a tariff and an entry and exit time;
the tariff in words; and the operator's change of tariff.

The rules, in the order they apply (each is tested with worked examples):
1. A stay no longer than the free minutes costs nothing. Past them, the whole stay is charged.
2. The stay is cut into units: the first hour, then periods of `period_minutes`; a started unit
   counts in full.
3. A unit that starts in the day window (local time) costs the first-hour price (first unit) or the
   period price (later units); a unit that starts at night costs the night price per unit.
4. Each 24 hours counted from entry costs at most the daily cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app import clock
from app.audit.services import record
from app.db import unit_of_work
from app.errors import DomainError
from app.i18n import format_fen
from parking.models import CarPark, Tariff


@dataclass(frozen=True)
class TariffRules:
    free_minutes: int = 15
    first_hour_fen: int = 1000
    period_minutes: int = 30
    period_fen: int = 500
    night_unit_fen: int = 200
    day_starts: int = 7 * 60  # minutes after local midnight
    day_ends: int = 19 * 60
    daily_cap_fen: int | None = 6000


@dataclass
class Quote:
    fen: int
    minutes: int
    units: list = field(default_factory=list)  # (start, kind, fen)
    capped_days: int = 0


def _is_day(rules: TariffRules, moment: datetime) -> bool:
    local = clock.local(moment)
    minute = local.hour * 60 + local.minute
    return rules.day_starts <= minute < rules.day_ends


def quote(rules: TariffRules, entry: datetime, exit: datetime) -> Quote:
    """The fee for a stay from `entry` to `exit` (aware datetimes)."""
    if exit < entry:
        raise ValueError("exit before entry")
    minutes = int((exit - entry).total_seconds() // 60) + ((exit - entry).total_seconds() % 60 > 0)
    if minutes <= rules.free_minutes:
        return Quote(fen=0, minutes=minutes)
    units, cursor, first = [], entry, True
    while cursor < exit:
        day = _is_day(rules, cursor)
        if day:
            price, kind = (
                (rules.first_hour_fen, "first_hour") if first else (rules.period_fen, "day")
            )
        else:
            price, kind = rules.night_unit_fen, "night"
        units.append((cursor, kind, price))
        cursor += timedelta(minutes=60 if first else rules.period_minutes)
        first = False
    # Sum the units per 24-hour window from entry in one pass (it was a pass over all the units
    # per window: a long stay took seconds to price, found by tests/test_fuzz.py).
    windows: dict[int, int] = {}
    for start, _kind, price in units:
        index = (start - entry) // timedelta(hours=24)
        windows[index] = windows.get(index, 0) + price
    total, capped = 0, 0
    for window_sum in windows.values():
        if rules.daily_cap_fen is not None and window_sum > rules.daily_cap_fen:
            window_sum, capped = rules.daily_cap_fen, capped + 1
        total += window_sum
    return Quote(fen=total, minutes=minutes, units=units, capped_days=capped)


def fee(car_park: CarPark, entry: datetime, exit: datetime) -> Quote:
    """The quote for a stay at this car park (free when it has no tariff)."""
    if car_park.tariff is None:
        return Quote(fen=0, minutes=int((exit - entry).total_seconds() // 60))
    return quote(car_park.tariff.rules, entry, exit)


# A quote is for a stay someone might plan. Without bounds a stay of thousands of years kept a
# request busy for minutes (every unit of the stay is priced) and times next to the year 9999
# overflowed into a server error (found by tests/test_fuzz.py).
QUOTE_YEARS = (clock.FIRST_DAY.year, clock.LAST_DAY.year)
QUOTE_MAX_DAYS = 366


def quote_refusal(entry: datetime, exit: datetime) -> str | None:
    """Why the stay from `entry` to `exit` cannot be quoted, or None when it can."""
    if not all(QUOTE_YEARS[0] <= moment.year <= QUOTE_YEARS[1] for moment in (entry, exit)):
        return _(
            "Enter dates from %(first)d to %(last)d.", first=QUOTE_YEARS[0], last=QUOTE_YEARS[1]
        )
    if exit - entry > timedelta(days=QUOTE_MAX_DAYS):
        return _("A quote covers a stay of at most %(days)d days.", days=QUOTE_MAX_DAYS)
    return None


def tariff_in_words(tariff) -> str:
    """The tariff as a person would say it, in the reader's language."""
    if tariff is None:
        return _("Free of charge")
    parts = [_("First %(n)d minutes free", n=tariff.free_minutes)] if tariff.free_minutes else []
    parts.append(
        _(
            "daytime %(start)s-%(end)s: first hour %(first)s, then %(price)s per %(n)d minutes",
            start=clock.hhmm(tariff.day_starts),
            end=clock.hhmm(tariff.day_ends),
            first=format_fen(tariff.first_hour_fen),
            price=format_fen(tariff.period_fen),
            n=tariff.period_minutes,
        )
    )
    parts.append(_("night: %(price)s per hour or period", price=format_fen(tariff.night_unit_fen)))
    if tariff.daily_cap_fen is not None:
        parts.append(_("at most %(cap)s per 24 hours", cap=format_fen(tariff.daily_cap_fen)))
    return _("; ").join(parts)


def save_tariff(session, actor, park: CarPark, rules: TariffRules) -> Tariff:
    """Give the car park `rules` as its tariff (new stays are charged by it), audited with the
    tariff in words, in one unit of work. The day rate must end after it starts."""
    if rules.day_starts >= rules.day_ends:
        raise DomainError(_l("The day rate must end after it starts."), field="day_ends")
    with unit_of_work(session):
        tariff = park.tariff or Tariff()
        tariff.free_minutes, tariff.period_minutes = rules.free_minutes, rules.period_minutes
        tariff.first_hour_fen, tariff.period_fen = rules.first_hour_fen, rules.period_fen
        tariff.night_unit_fen, tariff.daily_cap_fen = rules.night_unit_fen, rules.daily_cap_fen
        tariff.day_starts, tariff.day_ends = rules.day_starts, rules.day_ends
        park.tariff = tariff
        record(session, actor, "parking.tariff", park, tariff=tariff_in_words(tariff))
    return tariff
