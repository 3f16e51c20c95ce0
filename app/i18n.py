"""Language choice and locale-aware formatting.

The portal speaks Simplified Chinese unless the person chose English: a signed-in user's profile
setting, else the visitor's `locale` cookie. The JSON API also honours `Accept-Language`, since
apps send it on every request.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from flask import current_app, g, has_request_context, request
from flask_babel import format_currency, format_datetime, get_locale, get_timezone
from flask_login import current_user

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


def short_datetime(value: datetime) -> str:
    """`flask_babel.format_datetime(value, "short")` in the request's locale and time zone,
    remembered per (locale, time zone, value): Babel's formatting costs more than a booking's
    SQL, and the same few slot times are formatted over and over."""
    return _short_datetime(str(get_locale()), str(get_timezone()), value)


@lru_cache(maxsize=4096)
def _short_datetime(_locale: str, _timezone: str, value: datetime) -> str:
    # The key names the locale and zone format_datetime reads from the request context.
    return format_datetime(value, "short")


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
    """Money is integer fen everywhere; this is the one place it becomes yuan for display."""
    return format_currency(Decimal(amount_fen) / 100, "CNY")


class Localized:
    """A read-only attribute giving the reader's language of a pair of columns:
    `name = Localized("name_zh", "name_en")`."""

    def __init__(self, zh_attr: str, en_attr: str):
        self.zh_attr, self.en_attr = zh_attr, en_attr

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        return localized(getattr(obj, self.zh_attr), getattr(obj, self.en_attr))
