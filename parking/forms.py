from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DecimalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from accessibility.forms import DatePartsField, service_date
from parking.models import DAY_PATTERN_LABELS

NOT_A_DECIMAL = "Not a valid decimal value."  # WTForms' own message, in its own catalogue


class MoneyField(DecimalField):
    """An amount of money: a DecimalField that refuses NaN and infinities ("sNaN" made WTForms'
    NumberRange raise instead of refusing it, found by tests/test_fuzz.py)."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not self.data.is_finite():
            self.data = None
            raise ValueError(self.gettext(NOT_A_DECIMAL))


TIME = Regexp(r"^\s*([01]?\d|2[0-3]):[0-5]\d\s*$", message=_l("Enter a time like 08:30"))


class QuoteForm(FlaskForm):
    class Meta:
        csrf = False  # a GET calculation changes nothing

    car_park = SelectField(
        _l("Car park"),
        coerce=int,
        validate_choice=True,
        validators=[InputRequired(_l("Choose a car park"))],
    )
    entry_day = DatePartsField(_l("Arrival date"), validators=[InputRequired(), service_date])
    entry_time = StringField(
        _l("Arrival time"),
        description=_l("24-hour clock, like 08:30"),
        validators=[DataRequired(_l("Enter the arrival time")), TIME, Length(max=5)],
    )
    exit_day = DatePartsField(_l("Leaving date"), validators=[InputRequired(), service_date])
    exit_time = StringField(
        _l("Leaving time"),
        description=_l("24-hour clock, like 17:45"),
        validators=[DataRequired(_l("Enter the leaving time")), TIME, Length(max=5)],
    )


class VehicleForm(FlaskForm):
    plate = StringField(
        _l("Licence plate"),
        description=_l("For example 沪A12345, or 沪AD12345 for a new-energy car"),
        validators=[DataRequired(_l("Enter the licence plate")), Length(max=20)],
    )


class LicenceForm(FlaskForm):
    photo = FileField(
        _l("Photo of the vehicle licence (行驶证)"),
        description=_l(
            "The main page, showing the plate number and the owner's name "
            "(JPEG, PNG, WebP or HEIC). "
            "Only the people who check it see it, and it is deleted once they have decided."
        ),
        validators=[FileRequired(_l("Choose a photo of the vehicle licence"))],
    )


class PlateSearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    plate = StringField(
        _l("A driver at the desk? Find their claim by plate"),
        description=_l("For example 沪A12345"),
        validators=[Optional(), Length(max=20)],
    )


class PlateDecisionForm(FlaskForm):
    decision = RadioField(
        _l("Does the vehicle licence match the claim?"),
        choices=[
            SelectChoice("approve", _l("Yes: the plate and the name match, verify it")),
            SelectChoice("refuse", _l("No: refuse the claim")),
        ],
        validators=[InputRequired(_l("Choose whether to verify or refuse"))],
    )
    reason = TextAreaField(
        _l("Reason for refusing"),
        description=_l("The driver is told, for example: the photo is unreadable"),
        validators=[Optional(), Length(max=200)],
    )


class AutopayForm(FlaskForm):
    vehicle = HiddenField()
    on = HiddenField()


class ReserveForm(FlaskForm):
    plate = RadioField(_l("Which vehicle?"), validators=[InputRequired(_l("Choose a vehicle"))])
    day = RadioField(_l("Arrival day"), validators=[InputRequired(_l("Choose the arrival day"))])
    time = SelectField(
        _l("Arrival time"),
        description=_l("The space is held for you from this time"),
        validators=[InputRequired(_l("Choose the arrival time"))],
        validate_choice=False,
    )
    idempotency_key = HiddenField()


class ArrivalStepsForm(FlaskForm):
    """Elderly mode's way to the arrival time (issue 14): one short question a page, each of at
    most 6 large radios (vehicle, day, part of the day, hour, quarter hour), answered by plain
    GETs that carry the earlier answers (`parking.arrival_steps.walk` decides what to ask and
    sets the choices); the last page POSTs the ReserveForm. Nothing is changed by a step."""

    class Meta:
        csrf = False  # the steps only ask; the reservation is the ReserveForm's CSRF-checked POST

    plate = RadioField(_l("Which vehicle?"), validate_choice=False)
    day = RadioField(_l("Which day will you arrive?"), validate_choice=False)
    part = RadioField(_l("At what time of day will you arrive?"), validate_choice=False)
    hour = RadioField(_l("In which hour will you arrive?"), validate_choice=False)
    time = RadioField(
        _l("At what time will you arrive?"),
        description=_l("The space is held for you from this time"),
        validate_choice=False,
    )


class ContractForm(FlaskForm):
    window = RadioField(
        _l("Which window?"), coerce=int, validators=[InputRequired(_l("Choose a window"))]
    )
    plate = RadioField(_l("Which vehicle?"), validators=[InputRequired(_l("Choose a vehicle"))])
    month = RadioField(
        _l("Starting"), validators=[InputRequired(_l("Choose when the contract starts"))]
    )
    # Off unless chosen (issue 14): a renewal charges every month.
    renew = BooleanField(
        _l("Renew every month until I stop it"),
        description=_l(
            "Off unless you tick it. When on, next month is signed and charged from the 25th."
        ),
        default=False,
    )
    idempotency_key = HiddenField()
    # "1" from the summary page's button: the summary (amount, period, renewal) was seen.
    confirm = HiddenField()


class ConfirmForm(FlaskForm):
    """A one-button POST (cancel, pay, stop renewing)."""


class CapacityForm(FlaskForm):
    total_spaces = IntegerField(
        _l("Total spaces"),
        validators=[
            InputRequired(_l("Enter the number of spaces")),
            NumberRange(min=1, max=10000, message=_l("Enter a number from 1 to 10000")),
        ],
    )
    reservable_spaces = IntegerField(
        _l("Spaces kept for reservations"),
        validators=[
            InputRequired(_l("Enter the number of reservable spaces")),
            NumberRange(min=0, max=10000, message=_l("Enter a number from 0 to 10000")),
        ],
    )
    grace_minutes = SelectField(
        _l("A reserved space is held for"),
        coerce=int,
        choices=[SelectChoice(m, _l("%(n)d minutes", n=m)) for m in (15, 30, 45, 60, 90, 120)],
    )
    cancel_cutoff_minutes = SelectField(
        _l("Free cancellation until"),
        coerce=int,
        choices=[
            SelectChoice(m, _l("%(n)d minutes before arrival", n=m)) for m in (0, 15, 30, 60, 120)
        ],
    )
    open = BooleanField(_l("Open (taking cars and reservations)"))


class TariffForm(FlaskForm):
    free_minutes = IntegerField(
        _l("Free minutes"), validators=[InputRequired(), NumberRange(min=0, max=240)]
    )
    first_hour_yuan = MoneyField(
        _l("First hour by day (yuan)"),
        places=2,
        validators=[InputRequired(), NumberRange(min=0, max=1000)],
    )
    period_minutes = SelectField(
        _l("Later periods of"),
        coerce=int,
        choices=[SelectChoice(m, _l("%(n)d minutes", n=m)) for m in (15, 30, 60)],
    )
    period_yuan = MoneyField(
        _l("Price per later period by day (yuan)"),
        places=2,
        validators=[InputRequired(), NumberRange(min=0, max=1000)],
    )
    night_unit_yuan = MoneyField(
        _l("Price per hour or period at night (yuan)"),
        places=2,
        validators=[InputRequired(), NumberRange(min=0, max=1000)],
    )
    day_starts = StringField(_l("Day rate from"), validators=[DataRequired(), TIME, Length(max=5)])
    day_ends = StringField(_l("Day rate until"), validators=[DataRequired(), TIME, Length(max=5)])
    daily_cap_yuan = MoneyField(
        _l("Most per 24 hours (yuan)"),
        description=_l("Leave empty for no cap"),
        places=2,
        validators=[Optional(), NumberRange(min=0, max=10000)],
    )


class WindowForm(FlaskForm):
    name_zh = StringField(
        _l("Name in Chinese"), validators=[DataRequired(_l("Enter a name")), Length(max=64)]
    )
    name_en = StringField(
        _l("Name in English"), validators=[DataRequired(_l("Enter a name")), Length(max=120)]
    )
    days = RadioField(
        _l("Days"),
        choices=[SelectChoice(d.value, label) for d, label in DAY_PATTERN_LABELS.items()],
        validators=[InputRequired(_l("Choose the days"))],
    )
    start_time = StringField(
        _l("From"),
        description=_l("24-hour clock, like 08:00"),
        validators=[DataRequired(), TIME, Length(max=5)],
    )
    end_time = StringField(
        _l("Until"),
        description=_l("Earlier than the start means the next morning"),
        validators=[DataRequired(), TIME, Length(max=5)],
    )
    spaces = IntegerField(
        _l("Spaces offered"), validators=[InputRequired(), NumberRange(min=0, max=10000)]
    )
    monthly_fee_yuan = MoneyField(
        _l("Monthly fee (yuan)"),
        places=2,
        validators=[InputRequired(), NumberRange(min=0, max=100000)],
    )
    active = BooleanField(_l("Taking new contracts and renewals"), default=True)


def fen_of(amount) -> int:
    """A MoneyField's yuan as integer fen."""
    return int((amount * 100).to_integral_value())
