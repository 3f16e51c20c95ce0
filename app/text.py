"""What text may come in, and how text goes out to the public, in one place.

In: every text field, whichever way it arrives (an HTML form, the JSON API, Open311), follows
one policy (`check_text`):
- control characters are refused with a message saying so, except the tab and the line feed
  (a browser sends a textarea's line breaks as CR LF: that pair becomes LF first; a lone CR is
  refused). They are invisible, break terminals and XML, and no keyboard types them. NUL is
  dropped from query and form values before anything sees them (app/urls.py) and remembered,
  so a form field that had one is refused here like the others;
- lengths: a field's own limit (its column), else `LINE` for a one-line field and `LONG` for a
  text area, so that nothing arrives unbounded and bloats every page that shows it.
HTML forms get it from `PortalForm` (app/forms.py: every form of the portal is one, a test
checks), the JSON API from its argument parser (app/api), Open311 by validating its fields with
the repair report's own form (repairs/api.py): the same limits in all three.

Out: `xml_text` keeps only what XML 1.0 can carry (old rows may hold anything), and
`mask_contacts` hides what is shaped like a phone number or a licence plate in text that is
published (Open311's public-area descriptions).
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

from app.errors import DomainError

# A short line (a name, an address, a reason) and a long text, when a field has no limit of its own.
LINE = 200
LONG = 2000
# A search box, on the pages and in the API alike.
SEARCH = 60

# C0 controls but tab (\x09) and line feed (\x0a), DEL, and the C1 controls.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
CONTROL_MESSAGE = _l(
    "Remove the control characters (invisible characters such as escape codes) from this text."
)
TOO_LONG_MESSAGE = _l("Use at most %(n)d characters.")

# Characters XML 1.0 cannot carry at all (not even as references), and the non-characters.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def normalise_newlines(value: str) -> str:
    return value.replace("\r\n", "\n")


def control_error(value: str) -> bool:
    """True when `value` holds a character the policy refuses (after CR LF became LF)."""
    return bool(CONTROL.search(normalise_newlines(value)))


def check_text(value: str, *, max_length: int = LINE, field: str | None = None) -> str:
    """`value` with CR LF made LF, or DomainError (code `control_characters` or `too_long`,
    on `field`) when it breaks the policy."""
    value = normalise_newlines(value)
    if CONTROL.search(value):
        raise DomainError(CONTROL_MESSAGE, field=field, code="control_characters")
    if len(value) > max_length:
        raise DomainError(TOO_LONG_MESSAGE, field=field, code="too_long", n=max_length)
    return value


def problems(data, limit: int = LONG) -> dict:
    """Every string in a decoded JSON document or a mapping of query values that breaks the
    policy, as {key: [message]} (nested like the data): for the API's 422 answer."""
    found: dict = {}
    items = (
        data.items()
        if isinstance(data, dict)
        else enumerate(data)
        if isinstance(data, list)
        else ()
    )
    for key, value in items:
        if isinstance(value, str):
            try:
                check_text(value, max_length=limit)
            except DomainError as error:
                found[key] = [str(error)]
        elif isinstance(value, (dict, list)):
            inner = problems(value, limit)
            if inner:
                found[key] = inner
    return found


def xml_text(value: str) -> str:
    """`value` without the characters XML 1.0 cannot hold: one stored vertical tab must not
    make a whole feed unreadable."""
    return _XML_ILLEGAL.sub("", value)


# --- Masking what identifies someone in published text ----------------------------------------

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# A licence plate as people write it: province, letter, 5 or 6 letters/digits, perhaps with a
# space, dot or dash after the letter, in full-width or lower case.
_PLATE = re.compile(
    rf"[{PROVINCES}]\s?[A-Za-zＡ-Ｚａ-ｚ]\s?[·.\-•]?\s?(?:[A-Za-z0-9Ａ-Ｚａ-ｚ０-９]\s?){{4,5}}"
    rf"[A-Za-z0-9Ａ-Ｚａ-ｚ０-９挂学警港澳]"
)
# Groups of 3 or more digits joined by a space or dash, perhaps after +86 or with the area code
# in brackets, 7 digits or more in all: mobile numbers, landlines, hotlines. (Dates such as
# 2026-12-01 have groups of two and stay.)
_PHONE = re.compile(r"(?:\+\s?86[\s\-]?)?[(（]?[0-9０-９]{3,}[)）]?(?:[\s\-]?[0-9０-９]{3,})*")


def _mask_run(text: str, keep_start: int, keep_end: int) -> str:
    """Stars for the letters and digits of `text` but the first `keep_start` and last `keep_end`."""
    positions = [i for i, c in enumerate(text) if c.isalnum()]
    hidden = set(positions[keep_start : len(positions) - keep_end])
    return "".join("*" if i in hidden else c for i, c in enumerate(text))


def mask_plate(plate: str | None) -> str:
    """沪A1**45: enough for staff to tell cars apart, not to follow one."""
    return _mask_run(plate, 3, 2) if plate else ""


def mask_contacts(text: str | None) -> str:
    """`text` with anything shaped like a phone number (138******78: the first 3 and last 2
    digits stay) or a licence plate (沪A1**45) masked: enough to tell two apart, not to call
    or follow anyone."""
    if not text:
        return ""
    text = _PLATE.sub(lambda m: mask_plate(m.group()), text)
    return _PHONE.sub(
        lambda m: (
            _mask_run(m.group(), 3, 2) if sum(c.isdigit() for c in m.group()) >= 7 else m.group()
        ),
        text,
    )
