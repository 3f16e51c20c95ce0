"""Chinese licence plates: normalise what people type, check it has a real format."""

from __future__ import annotations

import re
import unicodedata

from flask_babel import lazy_gettext as _l

from app.errors import DomainError
from app.text import mask_plate  # noqa: F401  (one masking rule for plates, here and in free text)

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
LETTER = "A-HJ-NP-Z"  # plates never use I or O
ORDINARY = re.compile(rf"^[{PROVINCES}][{LETTER}][{LETTER}0-9]{{4}}[{LETTER}0-9挂学警港澳]$")
NEW_ENERGY_SMALL = re.compile(rf"^[{PROVINCES}][{LETTER}][DF][{LETTER}0-9][0-9]{{4}}$")
NEW_ENERGY_LARGE = re.compile(rf"^[{PROVINCES}][{LETTER}][0-9]{{5}}[DF]$")


def normalize_plate(raw: str) -> str:
    """ "沪 a·12345", "沪Ａ１２３４５" -> "沪A12345". Full-width letters and digits become ordinary
    ones, spaces, dots and dashes go, letters are upper case. DomainError if it is not a plate."""
    text = unicodedata.normalize("NFKC", raw or "").upper()
    text = re.sub(r"[\s·.\-_•]", "", text)
    if len(text) == 7 and ORDINARY.match(text):
        return text
    if len(text) == 8 and (NEW_ENERGY_SMALL.match(text) or NEW_ENERGY_LARGE.match(text)):
        return text
    if text and text[0] not in PROVINCES:
        raise DomainError(
            _l("A plate starts with the province character, for example 沪A12345"),
            field="plate",
            code="invalid_plate",
        )
    raise DomainError(
        _l("Enter a plate of 7 characters (沪A12345) or, for a new-energy car, 8 (沪AD12345)"),
        field="plate",
        code="invalid_plate",
    )
