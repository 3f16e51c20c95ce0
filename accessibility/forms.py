"""Form fields that follow the accessible patterns our macros render."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import Field, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, ValidationError

from app import clock


def service_date(form, field):
    """A validator for dates the services compute with (not, say, a date of birth): days next to
    the years 1 and 9999 overflowed there into server errors (tests/test_fuzz.py)."""
    if field.data is not None and not clock.plausible(field.data):
        raise ValidationError(
            _l(
                "Enter dates from %(first)d to %(last)d.",
                first=clock.FIRST_DAY.year,
                last=clock.LAST_DAY.year,
            )
        )


class DatePartsField(Field):
    """A date typed as three numbers (year, month, day), the GOV.UK date input pattern.

    Three plain text boxes work with every keyboard, screen reader and input method, where a
    calendar widget often does not. What was typed is kept when it is wrong.
    """

    parts = ("year", "month", "day")

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.raw = {part: "" for part in self.parts}

    def _value(self):
        return self.raw

    def process_formdata(self, valuelist):
        # Called with the field's own name only; the parts come from the full form data.
        pass

    def process(self, formdata, data=None, extra_filters=None):
        super().process(formdata, data, extra_filters)
        if isinstance(self.data, date):
            self.raw = {
                "year": str(self.data.year),
                "month": str(self.data.month),
                "day": str(self.data.day),
            }
        if formdata is None:
            return
        self.raw = {
            part: (formdata.get(f"{self.name}-{part}") or "").strip() for part in self.parts
        }
        # What InputRequired looks at: empty when no part was typed.
        self.raw_data = ["-".join(self.raw.values())] if any(self.raw.values()) else []
        if not any(self.raw.values()):
            self.data = None
            return
        missing = [part for part in self.parts if not self.raw[part]]
        if missing:
            self.data = None
            self.process_errors.append(_l("Enter the year, month and day"))
            return
        try:
            self.data = date(int(self.raw["year"]), int(self.raw["month"]), int(self.raw["day"]))
        except (
            ValueError,
            OverflowError,
        ):  # a number too large for a date overflows (tests/test_fuzz.py)
            self.data = None
            self.process_errors.append(_l("Enter a real date, for example 2026 3 27"))

    def pre_validate(self, form):
        if self.flags.required and self.data is None and not self.process_errors:
            raise ValidationError(_l("Enter a date"))


# How text and colours look on this device (cookies: the screen and the eyes reading it decide,
# and a visitor has them too); the display mode itself is also the account's setting.
TEXT_SIZES = ("standard", "larger")
COLOUR_SCHEMES = ("standard", "contrast")


class DisplaySettingsForm(FlaskForm):
    """显示设置: the display mode, a text size beyond it, a high-contrast colour scheme and the
    language (the elderly-mode header has no language button: it is chosen here)."""

    display_mode = RadioField(
        _l("How should pages look?"),
        validators=[DataRequired(_l("Choose how pages should look"))],
    )
    text_size = RadioField(
        _l("Text size"),
        choices=[
            SelectChoice("standard", _l("As the display mode sets it")),
            SelectChoice("larger", _l("Larger still (larger than elderly mode)")),
        ],
        default="standard",
        validators=[DataRequired(_l("Choose a text size"))],
    )
    colour_scheme = RadioField(
        _l("Colours"),
        choices=[
            SelectChoice("standard", _l("Standard colours")),
            SelectChoice("contrast", _l("High contrast: black on white, every edge outlined")),
        ],
        default="standard",
        validators=[DataRequired(_l("Choose the colours"))],
    )
    locale = RadioField(
        _l("Language"),
        choices=[
            # Each language named in itself, and marked so (lang) for screen readers.
            SelectChoice("zh_CN", Markup('<span lang="zh-CN">中文</span>')),
            SelectChoice("en", Markup('<span lang="en">English</span>')),
        ],
        validators=[DataRequired(_l("Choose a language"))],
    )
