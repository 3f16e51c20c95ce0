"""The 18-character resident identity card number (公民身份号码, GB 11643-1999).

Six digits of the place of first registration, eight of the birth date (YYYYMMDD), three of a
sequence (odd for men, even for women) and a check character computed with ISO 7064 MOD 11-2
over the other seventeen: 0-9, or X for ten. Nothing here reads Flask or the database.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from flask_babel import lazy_gettext as _l

from app.errors import DomainError

# ISO 7064 MOD 11-2: the weight of position i (1-based, left to right) is 2^(18-i) mod 11.
WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
CHECK_CHARACTERS = "10X98765432"  # indexed by the weighted sum mod 11
SHAPE = re.compile(r"[0-9]{17}[0-9X]")
# Nobody alive was born before this: an earlier date is a mistyped number.
EARLIEST_BIRTH = date(1900, 1, 1)


class InvalidIdNumber(DomainError):
    code = "invalid_id_number"

    def __init__(self, message, **params):
        super().__init__(message, field="id_number", **params)


def normalise(raw: str | None) -> str:
    """The number as 18 characters: full-width digits and letters made plain, spaces and
    dashes dropped, a lower-case x made X. Not checked: see `check`."""
    text = unicodedata.normalize("NFKC", raw or "")
    return re.sub(r"[\s\-]", "", text).upper()


def check_character(first17: str) -> str:
    return CHECK_CHARACTERS[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def birth_date(number: str) -> date | None:
    """The birth date written in positions 7-14, or None if they are not a real date."""
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def check(raw: str | None, today: date) -> str:
    """The normalised number if it is a well-formed resident ID number born by `today`; else
    InvalidIdNumber saying what is wrong (shape, birth date, check character), in that order.
    A valid number may still not be the person's: that is what the levels are for."""
    number = normalise(raw)
    if not number:
        raise InvalidIdNumber(_l("Enter your resident ID card number"))
    if not SHAPE.fullmatch(number):
        raise InvalidIdNumber(
            _l(
                "Enter the 18 characters of your resident ID card number: 17 digits, then a "
                "digit or X"
            )
        )
    born = birth_date(number)
    if born is None or born < EARLIEST_BIRTH:
        raise InvalidIdNumber(
            _l(
                "Characters 7 to 14 of an ID number are the birth date (YYYYMMDD), and these "
                "are not a real date: check the number against your card"
            )
        )
    if born > today:
        raise InvalidIdNumber(
            _l(
                "Characters 7 to 14 of an ID number are the birth date, and this one is in the "
                "future: check the number against your card"
            )
        )
    if check_character(number[:17]) != number[17]:
        raise InvalidIdNumber(
            _l(
                "This ID number is not right: its last character does not match the others. "
                "Check it against your card"
            )
        )
    return number


def mask(number: str | None) -> str:
    """3101**********123X: the region's first four and the last four characters, enough for a
    person to recognise their number and for nobody to use it."""
    if not number:
        return ""
    if len(number) < 12:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]
