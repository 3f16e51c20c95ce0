"""Parking fees: a pure calculation, in integer fen, from a tariff and an entry and exit time.

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

from app import clock


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
