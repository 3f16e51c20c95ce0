"""Message parameters that are rendered in the reader's language, not the writer's.

A notification is written by whoever caused it (a resident cancelling frees a place for
another resident), but read by its recipient, in their language, on the inbox page and in
the SMS, e-mail and push the dispatcher sends. So a parameter that depends on the language is
stored as data and rendered at read time:

- `localized(zh, en)` -> `{"zh": ..., "en": ...}`: the Chinese or English text (a venue's
  name_zh / name_en), picked by the reader's locale (zh for any zh_*);
- `when(dt, format)` -> `{"datetime": ISO-8601, "format": ...}`: formatted with Flask-Babel in
  the reader's locale and the portal's time zone (Asia/Shanghai);
- `counted(n, singular, plural)` -> `{"count": n, "one": ..., "other": ...}`: the number with
  its noun in the reader's plural form ("1 place", "3 places"; Chinese has one form), with
  ngettext when read, never "place(s)".

Plain values (older rows, references, numbers) are used as they are.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import force_locale, get_locale, ngettext

from app.i18n import human, human_day, human_time

FORMATS = ("short", "medium", "time", "date")


def localized(zh: str | None, en: str | None) -> dict:
    """A parameter shown as `zh` to Chinese readers and `en` to the others (falling back to
    the other language when one is empty)."""
    return {"zh": zh or "", "en": en or ""}


def when(value: datetime | None, format: str = "short") -> dict | str:
    """A date-time parameter formatted when the message is read; "" for no date-time."""
    if value is None:
        return ""
    if format not in FORMATS:
        raise ValueError(f"unknown date-time format {format!r}")
    return {"datetime": value.isoformat(), "format": format}


def counted(count: int, singular: str, plural: str) -> dict:
    """A number shown with its noun in the reader's plural form; `singular` and `plural` are
    untranslated message ids with `%(num)d`, given as literals: extraction knows `counted:2,3`
    as a plural pair (Makefile, setup.cfg, tests/test_i18n_and_forms.py), and the catalogue
    needs its msgid_plural entry."""
    return {"count": int(count), "one": singular, "other": plural}


def _is_chinese(locale: str) -> bool:
    return locale == "zh" or locale.startswith("zh_") or locale.startswith("zh-")


def render_value(value, locale: str):
    """One parameter as text for a reader in `locale` (call under force_locale(locale) or
    through `render_params`, which sets it, for dates)."""
    if not isinstance(value, dict):
        return value
    if "datetime" in value:
        moment = datetime.fromisoformat(value["datetime"])
        format = value.get("format") or "short"
        # The one human format per language (app/i18n.py), whatever style the writer named.
        if format == "time":
            return human_time(moment)
        if format == "date":
            return human_day(moment)
        return human(moment, format)
    if "count" in value:
        return ngettext(value["one"], value["other"], value["count"])
    if "zh" in value or "en" in value:
        zh, en = value.get("zh") or "", value.get("en") or ""
        return (zh or en) if _is_chinese(locale) else (en or zh)
    return str(value)


def render_params(params: dict | None, locale: str | None = None) -> dict:
    """The stored parameters of a message as the text a reader in `locale` (default: the
    current locale) sees; plain values pass unchanged, so older rows keep working."""
    if not params:
        return {}
    locale = str(locale or get_locale() or "zh_CN")
    with force_locale(locale):
        return {name: render_value(value, locale) for name, value in params.items()}
