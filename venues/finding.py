"""What the venue search page adds to the search itself (issue 14, section 2): 今天 / 明天 /
后天 as one-tap choices, a day the search cannot answer explained on the date field, and a
screenful of results at a time in elderly mode (app/paging.py)."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

from babel.dates import format_date
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import clock
from bookings.models import CapacityBucket
from venues.services.catalogue import HORIZON_DAYS

DAY_WORDS = (_l("Today"), _l("Tomorrow"), _l("The day after tomorrow"))
DAY_PARTS = ("day-year", "day-month", "day-day")


def day_choices(args, path: str, today: date, chosen: date | None) -> list[dict]:
    """今天, 明天 and 后天 as links to this search on that day (the person's other choices and
    no page number kept): each with its words, its date and whether it is the day chosen."""
    kept = [(k, v) for k, v in args.items(multi=True) if k not in (*DAY_PARTS, "page")]
    choices = []
    for offset, words in enumerate(DAY_WORDS):
        day = today + timedelta(days=offset)
        query = kept + list(
            zip(DAY_PARTS, (str(day.year), str(day.month), str(day.day)), strict=True)
        )
        choices.append(
            {
                "words": words,
                "date": _md(day),
                "url": f"{path}?{urlencode(query)}",
                "current": day == chosen,
            }
        )
    return choices


def explain_day(field, today: date) -> bool:
    """A valid date the search cannot answer (a past day, or past the booking horizon) gets an
    error on its field saying which days can be searched, instead of an empty list. True when
    the day can be searched (or none was given)."""
    day = field.data
    if day is None or field.errors:
        return not field.errors
    last = today + timedelta(days=HORIZON_DAYS - 1)
    if day < today:
        message = _l("That day has passed. Choose today or a day up to %(last)s.", last=_md(last))
    elif day > last:
        message = _l(
            "Venues can be booked up to %(days)d days ahead. Choose a day up to %(last)s.",
            days=HORIZON_DAYS,
            last=_md(last),
        )
    else:
        return True
    field.errors = [*field.errors, message]
    return False


# The day of app.i18n.human_day ("12月1日（周二）" / "Tue 1 Dec") without its weekday, which the
# button's word (今天, 明天, 周四) already gives: "12月1日" / "1 Dec" (not "Dec 1").
_MONTH_DAY = {"zh": "M月d日", "en": "d MMM"}


def _md(day: date) -> str:
    """The month and day in the reader's language ("12月1日", "1 Dec")."""
    locale = get_locale()
    return format_date(day, _MONTH_DAY.get(locale.language, "d MMM"), locale=locale)


NEXT_TIMES = 4  # the free times a venue page starts with


def next_free_times(session, venue, now) -> list[tuple]:
    """The venue's next free times open for booking now, soonest first, at most NEXT_TIMES:
    (slot, space) pairs of its active spaces' slots that start later than `now`, have a place
    free and whose day booking has opened for (one statement). The venue page starts with them
    ("when can I go"), each a tap from booking it."""
    spaces = {s.resource_id: s for s in venue.spaces if s.active}
    if not spaces:
        return []
    # Booking for a day opens `opens_days_ahead` days before it at `opens_at_minutes`: the last
    # day open now is today + that many days once the time has come, the day before otherwise.
    ahead = venue.opens_days_ahead - (
        0 if clock.local(now).hour * 60 + clock.local(now).minute >= venue.opens_at_minutes else 1
    )
    until = clock.day_bounds(clock.today() + timedelta(days=ahead))[1]
    slots = session.scalars(
        select(CapacityBucket)
        .where(
            CapacityBucket.resource_id.in_(spaces),
            CapacityBucket.starts_at > now,
            CapacityBucket.starts_at < until,
            CapacityBucket.taken < CapacityBucket.capacity,
        )
        .order_by(CapacityBucket.starts_at, CapacityBucket.resource_id)
        .limit(NEXT_TIMES)
    )
    return [(slot, spaces[slot.resource_id]) for slot in slots]


def not_yet_open(days, now) -> dict:
    """{day: when booking for it opens} for the days of a venue page's table whose booking has
    not opened by `now` (the table says "12月6日 08:00 开放" for them)."""
    return {d.day: d.opens_for_booking for d in days if d.opens_for_booking > now}
