"""Language choice and locale-aware formatting.

The portal speaks Simplified Chinese unless the person chose English: a signed-in user's profile
setting, else the visitor's `locale` cookie. The JSON API also honours `Accept-Language`, since
apps send it on every request.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from flask import current_app, g, has_request_context, request
from flask_babel import format_date, format_datetime, get_locale, get_timezone
from flask_login import current_user

from app import clock

LOCALE_COOKIE = "locale"


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now (stored, translated on display)."""
    return message


def supported_locales() -> tuple[str, ...]:
    return tuple(current_app.config["PORTAL_LOCALES"])


def select_locale() -> str:
    locales = supported_locales()
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    if not has_request_context():
        return getattr(g, "locale_override", None) or default
    override = getattr(g, "locale_override", None)
    if override in locales:
        return override
    if request.path.startswith("/api/") and request.accept_languages:
        # Map "zh", "zh-CN", "zh-Hans" onto zh_CN and "en-*" onto en.
        best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
        if best:
            return "en" if best.startswith("en") else "zh_CN"
    if _may_be_signed_in():
        user = current_user if current_user else None
        if user is not None and user.is_authenticated and user.locale in locales:
            return user.locale
    cookie = request.cookies.get(LOCALE_COOKIE)
    if cookie in locales:
        return cookie
    return default


# One human way of writing a date and a time per language (issue 14): "12月1日（周二）10:00–11:00"
# and "Tue 1 Dec, 10:00–11:00"; a 24-hour clock, no seconds, no time-zone name; the year only
# when it is not this year; months as "2026年12月" / "December 2026". Every page, message and
# refusal that shows a date to a person goes through these (templates through the `date` and
# `datetime` filters and `when_span`; messages through app/notifications/params.py).
_DAY = {"zh": ("M月d日（EEE）", "y年M月d日（EEE）"), "en": ("EEE d MMM", "EEE d MMM y")}
_FULL_DATE = {"zh": "y年M月d日", "en": "d MMMM y"}
_MONTH = {"zh": "y年M月", "en": "MMMM y"}
_TIME = "HH:mm"
# Babel style names ('short', 'medium', ...) a template or message may still ask for: each means
# the one human format now.
STYLES = ("short", "medium", "long", "full")


def _lang() -> str:
    return "en" if is_english() else "zh"


def human_time(value: datetime) -> str:
    """ "10:00": the local time on a 24-hour clock."""
    return format_datetime(value, _TIME)


def human_day(value: date | datetime) -> str:
    """ "12月1日（周二）" / "Tue 1 Dec" (with the year when it is not this year)."""
    patterns = _DAY[_lang()]
    if isinstance(value, datetime):
        this_year = clock.local(value).year == clock.today().year
        return format_datetime(value, patterns[0 if this_year else 1])
    return format_date(value, patterns[0 if value.year == clock.today().year else 1])


def full_date(value: date | datetime) -> str:
    """ "2026年11月21日" / "21 November 2026": a date on its own, with its year (a birthday, the
    day a statement was reviewed)."""
    pattern = _FULL_DATE[_lang()]
    if isinstance(value, datetime):
        return format_datetime(value, pattern)
    return format_date(value, pattern)


def human_month(value: date | datetime) -> str:
    """ "2026年12月" / "December 2026"."""
    pattern = _MONTH[_lang()]
    if isinstance(value, datetime):
        return format_datetime(value, pattern)
    return format_date(value, pattern)


def human_datetime(value: datetime) -> str:
    """ "12月1日（周二）10:00" / "Tue 1 Dec, 10:00", remembered per (locale, time zone, this
    year, value): Babel's formatting costs more than a booking's SQL, and the same few slot
    times are formatted over and over."""
    return _human_datetime(_lang(), str(get_timezone()), clock.today().year, value)


@lru_cache(maxsize=4096)
def _human_datetime(lang: str, _timezone: str, _year: int, value: datetime) -> str:
    # The key names everything the result depends on that the request context supplies.
    separator = "" if lang == "zh" else ", "
    return f"{human_day(value)}{separator}{human_time(value)}"


def human_span(start: datetime, end: datetime | None = None) -> str:
    """ "12月1日（周二）10:00–11:00" / "Tue 1 Dec, 10:00–11:00"; a span over midnight names both
    days ("12月1日（周二）22:00 – 12月2日（周三）06:00")."""
    if end is None:
        return human_datetime(start)
    if clock.local(start).date() == clock.local(end).date():
        return f"{human_datetime(start)}–{human_time(end)}"
    return f"{human_datetime(start)} – {human_datetime(end)}"


def human(value, style: str | None = "medium") -> str:
    """The `datetime` filter: a Babel style name means the human date-time; a pattern without
    the seconds is Babel's own (e.g. 'yyyy-MM-dd' for a URL); seconds are never shown."""
    if not value:
        return ""
    if style is None or style in STYLES:
        return human_datetime(value)
    if style in ("HH:mm:ss", "H:mm:ss", "HH:mm", "H:mm", "time"):
        return human_time(value)
    return format_datetime(value, style)


def human_date(value, style: str | None = "medium") -> str:
    """The `date` filter: 'long' a date with its year and no weekday, else the human day."""
    if not value:
        return ""
    if style == "long":
        return full_date(value)
    if style == "month":
        return human_month(value)
    if style is None or style in STYLES:
        return human_day(value)
    return format_date(value, style)


# Kept for callers of the old name: it now gives the one human format.
short_datetime = human_datetime


def _may_be_signed_in() -> bool:
    """False when the request cannot be signed in: it carries neither the session cookie nor
    Flask-Login's remember cookie (an API client, a first visit), so that finding its language
    does not load a user who cannot be there (each load opens the session and hashes the
    client's address for Flask-Login's session protection)."""
    if "_login_user" in g:
        return True
    config = current_app.config
    cookies = request.cookies
    return (
        config.get("SESSION_COOKIE_NAME", "session") in cookies
        or config.get("REMEMBER_COOKIE_NAME", "remember_token") in cookies
    )


def is_english() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "en"


def localized(zh: str, en: str | None) -> str:
    """Pick the Chinese or English form of a piece of data (names, addresses) for the reader."""
    if has_request_context() and is_english() and en:
        return en
    return zh


def html_lang() -> str:
    return "en" if is_english() else "zh-CN"


def format_fen(amount_fen: int) -> str:
    """Money is integer fen everywhere; this is the one place it becomes yuan for display:
    "¥1,200.00" in both languages (Babel's English "CN¥" differed from the inbox's "¥"; the
    grouping and decimals of Chinese and English are the same). Stored messages use it too."""
    sign = "-" if amount_fen < 0 else ""
    whole, cents = divmod(abs(int(amount_fen)), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


class Localized:
    """A read-only attribute giving the reader's language of a pair of columns:
    `name = Localized("name_zh", "name_en")`."""

    def __init__(self, zh_attr: str, en_attr: str):
        self.zh_attr, self.en_attr = zh_attr, en_attr

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        return localized(getattr(obj, self.zh_attr), getattr(obj, self.en_attr))
