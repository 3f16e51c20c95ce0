"""Statistical disclosure control for the published tables: no count from 1 to 4 is published,
and none can be worked out from what is.

- A count from 1 to 4 is replaced by the marker (CSV `<5`, JSON `null`). Zero is published: it
  says nothing about any person.
- A row's counts that add up to another of its counts (bookings = attended + no-shows + not yet
  checked; tickets = on time + late + not responded) are suppressed together: when one part is
  hidden, the smallest other non-zero part is hidden too (complementary suppression), so the
  hidden one cannot be found by subtraction; a hidden whole hides its parts.
- No totals are published (no "all venues" row, no month total), so nothing can be recovered
  from sums across rows either.
- A statistic of a group (a median, a percentage) is published only where the counts it is
  made of are: a median of 3 response times would describe three people.
"""

from __future__ import annotations

MINIMUM = 5
MARKER = "<5"  # in CSV files; JSON has null


def small(count: int | None) -> bool:
    """A count that may not be published: 1 to 4."""
    return count is not None and 0 < count < MINIMUM


def suppress_parts(whole: int, parts: dict[str, int]) -> tuple[int | None, dict[str, int | None]]:
    """The whole and its parts (which add up to it exactly) as published: None where suppressed.
    A hidden whole hides every part; one hidden part hides the smallest other non-zero part."""
    if small(whole):
        return None, dict.fromkeys(parts)
    hidden = {name for name, value in parts.items() if small(value)}
    if len(hidden) == 1:  # one hidden part is the whole minus the others: hide one more
        others = sorted((v, name) for name, v in parts.items() if name not in hidden and v > 0)
        if others:
            hidden.add(others[0][1])
    return whole, {name: (None if name in hidden else value) for name, value in parts.items()}


def count(value: int) -> int | None:
    """A count on its own (no sum relation with other published cells)."""
    return None if small(value) else value
