"""Forms of the places administration (issue 15): districts, towns, estates, property
companies and car parks. The rules live in the services (app/places/admin_services.py,
repairs/services/management.py, parking/services/admin.py); these forms only parse."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, FloatField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app import text
from app.forms import WEEKDAY_LABELS, MultiCheckboxField


def _int_or_none(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


COORDINATE_HINT = _l(
    "WGS-84 degrees, as a GPS or the national map service gives them (not the GCJ-02 "
    "numbers of Amap or Baidu maps), for example 31.1127 and 121.3817 in Minhang."
)


class SearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    q = StringField(_l("Name or code"), validators=[Optional(), Length(max=text.SEARCH)])


class ConfirmForm(FlaskForm):
    """A confirmation step: only the CSRF token."""


# Fields several forms share, made where each form lists them, so that each form shows them in
# its own order (WTForms orders fields by when they were made).
def _names():
    return (
        StringField(_l("Name in Chinese"), validators=[Length(max=96)]),
        StringField(_l("Name in English"), validators=[Length(max=160)]),
    )


def _addresses():
    return (
        StringField(_l("Address in Chinese"), validators=[Length(max=200)]),
        StringField(_l("Address in English"), validators=[Length(max=240)]),
    )


def _coordinates():
    return (
        FloatField(
            _l("Latitude (degrees north)"), description=COORDINATE_HINT, validators=[Optional()]
        ),
        FloatField(_l("Longitude (degrees east)"), validators=[Optional()]),
    )


class DistrictForm(FlaskForm):
    code = StringField(
        _l("District code"),
        description=_l("The administrative division code, for example 310112 for Minhang."),
        validators=[Length(max=12)],
    )
    name_zh, name_en = _names()
    hotline = StringField(
        _l("Hotline"), description=_l("For example 12345."), validators=[Length(max=32)]
    )
    booking_name_zh = StringField(
        _l("Name of the booking service in Chinese"),
        description=_l("For example 全闵预约. Leave empty for the portal’s own name."),
        validators=[Length(max=32)],
    )
    booking_name_en = StringField(
        _l("Name of the booking service in English"), validators=[Length(max=64)]
    )
    footer_zh = StringField(
        _l("Who runs the portal, in Chinese"),
        description=_l("Shown at the foot of every page, for example 闵行区人民政府办公室."),
        validators=[Length(max=200)],
    )
    footer_en = StringField(_l("Who runs the portal, in English"), validators=[Length(max=240)])


class TownForm(FlaskForm):
    district_id = SelectField(_l("District"), coerce=_int_or_none, validators=[InputRequired()])
    name_zh, name_en = _names()
    code = StringField(
        _l("Town code"),
        description=_l("A short code unique in the portal, for example xinzhuang."),
        validators=[Length(max=32)],
    )


class EstateForm(FlaskForm):
    town_id = SelectField(_l("Town"), coerce=_int_or_none, validators=[InputRequired()])
    name_zh, name_en = _names()
    address_zh, address_en = _addresses()
    latitude, longitude = _coordinates()


class CompanyForm(FlaskForm):
    name_zh, name_en = _names()
    response_minutes = IntegerField(
        _l("Response window in minutes"),
        description=_l("How soon the company must answer a new repair report, for example 30."),
        validators=[InputRequired(), NumberRange(min=5, max=7 * 24 * 60)],
        default=30,
    )
    work_starts = StringField(
        _l("Working hours start"),
        description=_l("For example 08:30. Leave both times empty for 24 hours a day."),
        validators=[Length(max=5)],
    )
    work_ends = StringField(_l("Working hours end"), validators=[Length(max=5)])
    work_days = MultiCheckboxField(
        _l("Working days"),
        choices=[(str(i), label) for i, label in enumerate(WEEKDAY_LABELS)],
        default=[str(i) for i in range(7)],
    )


class ChangeCompanyForm(FlaskForm):
    company_id = SelectField(
        _l("New property company"), coerce=_int_or_none, validators=[InputRequired()]
    )
    from_date = DateField(
        _l("From"),
        description=_l("The first day the new company manages the estate, for example 2027-01-01."),
        validators=[InputRequired()],
    )
    # Set by the confirmation page: the change is made only once the person saw what it does.
    confirmed = HiddenField()


class CarParkForm(FlaskForm):
    town_id = SelectField(_l("Town"), coerce=_int_or_none, validators=[InputRequired()])
    kind = SelectField(_l("Kind of car park"), validators=[InputRequired()])
    name_zh, name_en = _names()
    address_zh, address_en = _addresses()
    latitude, longitude = _coordinates()
    total_spaces = IntegerField(
        _l("Total spaces"), validators=[InputRequired(), NumberRange(min=1, max=100_000)]
    )
    reservable_spaces = IntegerField(
        _l("Spaces that can be reserved"),
        description=_l("0 if drivers cannot reserve here."),
        validators=[InputRequired(), NumberRange(min=0, max=100_000)],
        default=0,
    )
