from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from accessibility.forms import DatePartsField, service_date
from app import text
from app.accounts.models import HelpService
from app.forms import MultiCheckboxField
from venues.models import FACILITIES, VENUE_TYPE_LABELS
from venues.services.catalogue import TIMES_OF_DAY

TIME_OF_DAY_LABELS = {
    "morning": _l("Morning"),
    "afternoon": _l("Afternoon"),
    "evening": _l("Evening"),
}


class SearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    q = StringField(_l("Name or address"), validators=[Optional(), Length(max=text.SEARCH)])
    type = SelectField(
        _l("Type of venue"),
        validators=[Optional()],
        choices=[SelectChoice("", _l("Any type"))]
        + [SelectChoice(t.value, label) for t, label in VENUE_TYPE_LABELS.items()],
    )
    # Checked against the towns offered: an id past what the column holds was a server error
    # on PostgreSQL (tests/test_fuzz.py).
    town = SelectField(_l("Town"), validators=[Optional()], coerce=lambda v: int(v) if v else None)
    day = DatePartsField(
        _l("Date"),
        description=_l("For example 2026 12 5. Leave empty for any day."),
        validators=[service_date],
    )
    time_of_day = RadioField(
        _l("Time of day"),
        validators=[Optional()],
        choices=[SelectChoice("", _l("Any time"))]
        + [SelectChoice(k, TIME_OF_DAY_LABELS[k]) for k in TIMES_OF_DAY],
        default="",
    )
    places = IntegerField(
        _l("Places needed"),
        validators=[
            Optional(),
            NumberRange(min=1, max=50, message=_l("Enter a number from 1 to 50")),
        ],
    )
    facilities = MultiCheckboxField(
        _l("Accessibility"), choices=[SelectChoice(key, label) for key, label in FACILITIES.items()]
    )


def party_choices(maximum: int):
    return [
        SelectChoice(str(n), lazy_ngettext("%(num)d person", "%(num)d people", n))
        for n in range(1, maximum + 1)
    ]


class PartySizeForm(FlaskForm):
    party_size = RadioField(
        _l("How many people are coming, including you?"),
        validators=[InputRequired(_l("Choose how many people are coming"))],
    )


class ConfirmForm(FlaskForm):
    """The check-answers page's button. The key makes a double click one booking."""

    idempotency_key = HiddenField()


class CancelForm(FlaskForm):
    """The cancel page's button. `accept_cost` is "1" when the page said what cancelling costs
    (a no-show): the person confirmed knowing it."""

    accept_cost = HiddenField()


class SpanForm(FlaskForm):
    start = RadioField(_l("Start time"), validators=[InputRequired(_l("Choose a start time"))])
    steps = RadioField(
        _l("How long?"), validators=[InputRequired(_l("Choose how long you need the space"))]
    )


class ReasonForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (shown to the resident)"), validators=[Optional(), Length(max=200)]
    )


class DoorForm(FlaskForm):
    code = StringField(
        _l("Booking code"),
        description=_l("The 8 digits under the QR code"),
        validators=[DataRequired(_l("Enter the 8-digit code"))],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )


class ConsentForm(FlaskForm):
    helper = StringField(
        _l("Helper's username or mobile number"),
        description=_l(
            "Ask the helper for it. They can then act for you in the services you choose, "
            "and only those; you can withdraw this at any time."
        ),
        validators=[DataRequired(_l("Enter the helper's username or mobile number"))],
    )
    services = MultiCheckboxField(
        _l("What the helper may do for you"),
        choices=[SelectChoice(s.value, s.label) for s in HelpService],
        validators=[DataRequired(_l("Choose at least one service the helper may act in."))],
    )
    # Every consent ends (app/accounts/consents.py): a year from today unless the resident
    # chooses an earlier last day.
    ends_on = DatePartsField(
        _l("Last day (optional)"),
        description=_l(
            "Leave empty for a year from today, the longest a consent can run. You can withdraw "
            "it at any time."
        ),
        validators=[Optional(), service_date],
    )


class VenueForm(FlaskForm):
    name_zh = StringField(
        _l("Name (Chinese)"), validators=[DataRequired(_l("Enter the name")), Length(max=96)]
    )
    name_en = StringField(
        _l("Name (English)"),
        validators=[DataRequired(_l("Enter the English name")), Length(max=160)],
    )
    type = SelectField(
        _l("Type of venue"),
        choices=[SelectChoice(t.value, label) for t, label in VENUE_TYPE_LABELS.items()],
    )
    # Checked against the towns the page offers: a missing or unknown town was a server error
    # (NOT NULL or foreign key, found by tests/test_fuzz.py).
    town_id = SelectField(_l("Town"), coerce=int)
    address_zh = StringField(
        _l("Address (Chinese)"), validators=[DataRequired(_l("Enter the address")), Length(max=200)]
    )
    address_en = StringField(
        _l("Address (English)"),
        validators=[DataRequired(_l("Enter the English address")), Length(max=240)],
    )
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32)])
    description_zh = TextAreaField(
        _l("Description (Chinese)"), validators=[Optional(), Length(max=2000)]
    )
    description_en = TextAreaField(
        _l("Description (English)"), validators=[Optional(), Length(max=2000)]
    )
    rules_zh = TextAreaField(_l("Rules (Chinese)"), validators=[Optional(), Length(max=2000)])
    rules_en = TextAreaField(_l("Rules (English)"), validators=[Optional(), Length(max=2000)])
    step_free = BooleanField(FACILITIES["step_free"])
    accessible_toilet = BooleanField(FACILITIES["accessible_toilet"])
    lift = BooleanField(FACILITIES["lift"])
    hearing_loop = BooleanField(FACILITIES["hearing_loop"])
    opens_days_ahead = IntegerField(
        _l("Booking opens how many days ahead"), validators=[InputRequired(), NumberRange(0, 60)]
    )
    opens_at = StringField(
        _l("Booking opens at (HH:MM)"), validators=[DataRequired(_l("Enter a time like 08:00"))]
    )
    max_per_day = IntegerField(
        _l("Most bookings per person per day"), validators=[InputRequired(), NumberRange(1, 20)]
    )
    max_per_week = IntegerField(
        _l("Most bookings per person per week"), validators=[InputRequired(), NumberRange(1, 50)]
    )
    cancel_cutoff_minutes = IntegerField(
        _l("Free cancellation until how many minutes before"),
        validators=[InputRequired(), NumberRange(0, 10080)],
    )
    checkin_grace_minutes = IntegerField(
        _l("Minutes after the start before a no-show"),
        validators=[InputRequired(), NumberRange(0, 240)],
    )
    crowd_warning_percent = IntegerField(
        _l("Crowd warning at what percentage"), validators=[InputRequired(), NumberRange(10, 100)]
    )
    waitlist_offer_minutes = IntegerField(
        _l("Minutes to accept a waitlist offer"), validators=[InputRequired(), NumberRange(5, 1440)]
    )
    active = BooleanField(_l("Open for booking"), default=True)


class SpaceForm(FlaskForm):
    name_zh = StringField(
        _l("Name (Chinese)"), validators=[DataRequired(_l("Enter the name")), Length(max=96)]
    )
    name_en = StringField(
        _l("Name (English)"),
        validators=[DataRequired(_l("Enter the English name")), Length(max=160)],
    )
    mode = RadioField(
        _l("Kind of booking"),
        choices=[
            SelectChoice("general", _l("General: time slots with a number of places")),
            SelectChoice("personalised", _l("Personalised: the whole space for a chosen time")),
        ],
        validators=[InputRequired(_l("Choose the kind of booking"))],
    )
    capacity = IntegerField(
        _l("Places per slot"),
        description=_l("For a whole-space booking this is 1"),
        validators=[InputRequired(), NumberRange(1, 5000)],
    )
    slot_minutes = SelectField(
        _l("Slot length"),
        coerce=int,
        choices=[
            SelectChoice(str(m), _l("%(n)d minutes", n=m)) for m in (15, 30, 60, 90, 120, 180, 240)
        ],
    )
    max_party_size = IntegerField(
        _l("Most people per booking"), validators=[InputRequired(), NumberRange(1, 100)]
    )
    max_steps = IntegerField(
        _l("Longest booking, in slots"), validators=[InputRequired(), NumberRange(1, 16)]
    )
    requires_approval = BooleanField(_l("Staff approve each booking"))
    active = BooleanField(_l("Open for booking"), default=True)


class HoursForm(FlaskForm):
    """Opening and closing times per weekday; both empty means closed that day."""

    pass


for _day in range(7):
    setattr(
        HoursForm, f"opens_{_day}", StringField(_l("Opens"), validators=[Optional(), Length(max=5)])
    )
    setattr(
        HoursForm,
        f"closes_{_day}",
        StringField(_l("Closes"), validators=[Optional(), Length(max=5)]),
    )


class ClosureForm(FlaskForm):
    starts_on = DatePartsField(_l("First day closed"), validators=[InputRequired(), service_date])
    ends_on = DatePartsField(_l("Last day closed"), validators=[InputRequired(), service_date])
    reason = StringField(
        _l("Reason (shown to residents)"),
        validators=[DataRequired(_l("Enter the reason")), Length(max=200)],
    )
