from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
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
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from app import clock
from app.forms import WEEKDAY_LABELS, MultiCheckboxField
from repairs.models import CATEGORY_LABELS, STATE_LABELS
from repairs.services.tickets import CANNED_REPLIES

PHOTO_HINT = _l("Up to 6 photos (JPEG, PNG, WebP or HEIC). Location data in photos is removed.")


class ReportForm(FlaskForm):
    category = RadioField(
        _l("What needs repairing?"),
        choices=[SelectChoice(c.value, label) for c, label in CATEGORY_LABELS.items()],
        validators=[InputRequired(_l("Choose what needs repairing"))],
    )
    description = TextAreaField(
        _l("What is wrong?"),
        description=_l("For example: the kitchen pipe under the sink is leaking"),
        validators=[DataRequired(_l("Say what is wrong")), Length(max=1000)],
    )
    public_area = BooleanField(_l("It is in a public area of the estate, not in my home"))
    area = StringField(
        _l("Where in the estate?"),
        description=_l("Only for public areas, for example: Building 5 entrance"),
        validators=[Optional(), Length(max=120)],
    )
    preferred_time = StringField(
        _l("When can the technician come? (optional)"),
        description=_l("For example: weekday evenings after 6 pm"),
        validators=[Optional(), Length(max=80)],
    )
    photos = MultipleFileField(_l("Photos (optional)"), description=PHOTO_HINT)
    # The form's one-off key: the same form sent twice is one report (repairs/services/resubmit).
    idempotency_key = HiddenField(validators=[Optional(), Length(max=64)])
    # Sent by the "send it as a new report" button offered beside a recent, similar report.
    send_anyway = BooleanField(false_values=("", "0", "false"))


class MessageForm(FlaskForm):
    message = TextAreaField(_l("Message"), validators=[Optional(), Length(max=1000)])
    photos = MultipleFileField(_l("Photos (optional)"), description=PHOTO_HINT)


class ReopenForm(FlaskForm):
    message = TextAreaField(
        _l("What is still wrong?"),
        validators=[DataRequired(_l("Say what is still wrong")), Length(max=1000)],
    )


class RateForm(FlaskForm):
    rating = RadioField(
        _l("How was the repair?"),
        choices=[SelectChoice(str(n), _l("%(n)d stars", n=n)) for n in range(5, 0, -1)],
        validators=[InputRequired(_l("Choose from 1 to 5 stars"))],
    )
    comment = TextAreaField(_l("Comment (optional)"), validators=[Optional(), Length(max=500)])


class ActionForm(FlaskForm):
    action = HiddenField()
    message = TextAreaField(
        _l("Message to the resident"), validators=[Optional(), Length(max=1000)]
    )
    canned = SelectField(
        _l("Or choose a ready reply"),
        validators=[Optional()],
        choices=[SelectChoice("", _l("None"))]
        + [SelectChoice(str(i), text) for i, text in enumerate(CANNED_REPLIES)],
    )
    technician_name = StringField(_l("Technician's name"), validators=[Optional(), Length(max=64)])
    technician_phone = StringField(
        _l("Technician's phone"),
        validators=[Optional(), Length(max=20)],
        render_kw={"type": "tel", "autocomplete": "off"},  # a phone's number pad
    )
    # A native date-time picker (datetime-local sends "2026-12-01T14:30"); where a browser
    # shows a plain box instead, the typed "2026-12-01 14:30" is accepted too.
    visit_at = StringField(
        _l("Visit time"),
        description=_l("For example 2026-12-01 14:30"),
        validators=[Optional(), Length(max=19)],
        render_kw={"type": "datetime-local"},
    )
    duplicate_of = StringField(
        _l("Reference of the original report"), validators=[Optional(), Length(max=16)]
    )

    def message_text(self) -> str:
        """The message: the ready reply chosen, else what was typed."""
        canned = (self.canned.data or "").strip()  # Optional() lets a blank " " through
        return str(CANNED_REPLIES[int(canned)]) if canned else self.message.data or ""

    def visit_time(self) -> datetime | None:
        """The visit time chosen or typed ("2026-12-01T14:30" from the picker, "2026-12-01
        14:30" typed; seconds allowed), local time; None if empty; ValueError if it is not a
        time written that way."""
        text = (self.visit_at.data or "").strip().replace("T", " ")
        if not text:
            return None
        for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"):
            try:
                return datetime.strptime(text, pattern).replace(tzinfo=clock.LOCAL_TZ)
            except ValueError:
                continue
        raise ValueError(text)

    def validate_visit_at(self, field) -> None:
        try:
            when = self.visit_time()
        except ValueError:
            raise ValidationError(_l("Enter the visit time like 2026-12-01 14:30")) from None
        if when is not None:
            # Shown again in the form the picker reads, whatever was typed.
            field.data = when.strftime("%Y-%m-%dT%H:%M")


class NoteForm(FlaskForm):
    message = TextAreaField(
        _l("Supervisory note (staff only)"),
        validators=[DataRequired(_l("Write the note")), Length(max=1000)],
    )


class QueueFilterForm(FlaskForm):
    class Meta:
        csrf = False

    state = SelectField(
        _l("State"),
        validators=[Optional()],
        choices=[SelectChoice("", _l("All open"))]
        + [
            SelectChoice(s.value, label)
            for s, label in STATE_LABELS.items()
            if s.value in ("submitted", "acknowledged", "assigned", "in_progress", "reopened")
        ],
    )
    category = SelectField(
        _l("Category"),
        validators=[Optional()],
        choices=[SelectChoice("", _l("All"))]
        + [SelectChoice(c.value, label) for c, label in CATEGORY_LABELS.items()],
    )
    # Offered when the manager covers several estates (a company's manager): the view fills the
    # choices with them; anything else is read as "all estates".
    estate = SelectField(_l("Estate"), validators=[Optional()], validate_choice=False)


class CompanyForm(FlaskForm):
    response_minutes = IntegerField(
        _l("Response window (minutes)"), validators=[InputRequired(), NumberRange(5, 24 * 60)]
    )
    work_starts = StringField(
        _l("Working hours start (HH:MM)"),
        description=_l("Leave both times empty for 24x7"),
        validators=[Optional(), Length(max=5)],
    )
    work_ends = StringField(_l("Working hours end (HH:MM)"), validators=[Optional(), Length(max=5)])
    work_days = MultiCheckboxField(
        _l("Working days"),
        choices=[SelectChoice(str(i), label) for i, label in enumerate(WEEKDAY_LABELS)],
    )
    reopen_days = IntegerField(
        _l("Residents may reopen for (days)"), validators=[InputRequired(), NumberRange(0, 90)]
    )
    auto_close_days = IntegerField(
        _l("Close fixed reports automatically after (days)"),
        validators=[InputRequired(), NumberRange(1, 90)],
    )

    @classmethod
    def showing(cls, company) -> CompanyForm:
        """The form holding `company`'s settings, times as "HH:MM". (A POST is read from the
        answers sent only: with the company as `obj`, a field left out of the form kept the
        model's value, minutes rather than "HH:MM" text, a server error: tests/test_fuzz.py.)"""
        form = cls(obj=company)
        form.work_starts.data = (
            "" if company.work_starts is None else clock.hhmm(company.work_starts)
        )
        form.work_ends.data = "" if company.work_ends is None else clock.hhmm(company.work_ends)
        form.work_days.data = list(company.work_days)
        return form
