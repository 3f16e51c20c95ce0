"""The service desk's forms, and the resident's own (sign in with a card, close the account)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from accessibility.forms import DatePartsField, service_date
from app.accounts.forms import DISPLAY_CHOICES, mobile_number
from app.accounts.models import ConsentRelation, DisplayMode, HelpService
from app.forms import MultiCheckboxField


class FindResidentForm(FlaskForm):
    class Meta:
        csrf = False  # a search (GET): it changes nothing

    q = StringField(
        _l("Mobile number, account number or name"),
        description=_l("A name finds every resident whose name starts with it."),
        validators=[
            DataRequired(_l("Enter a mobile number, an account number or a name")),
            Length(max=64),
        ],
    )


class RegisterInPersonForm(FlaskForm):
    name = StringField(
        _l("Resident's name"),
        validators=[
            DataRequired(_l("Enter the resident's name")),
            Length(max=64, message=_l("Name must be 64 characters or fewer")),
        ],
    )
    phone = StringField(
        _l("Mobile number (optional)"),
        description=_l(
            "Leave this empty if the resident has no mobile phone: they get a printed sign-in "
            "card with an account number and a one-time code."
        ),
        validators=[Optional(), mobile_number],
        render_kw={"inputmode": "tel"},
    )
    display_mode = RadioField(
        _l("Display"), choices=DISPLAY_CHOICES, default=DisplayMode.ELDERLY.value
    )
    privacy = BooleanField(
        _l("I gave the resident the privacy notice, and they agree to it"),
        validators=[DataRequired(_l("Give the resident the privacy notice first"))],
    )


class WrittenConsentForm(FlaskForm):
    helper = StringField(
        _l("Helper's or family member's username or mobile number"),
        description=_l("As written on the signed slip."),
        validators=[
            DataRequired(_l("Enter the helper's username or mobile number")),
            Length(max=64),
        ],
    )
    relation = RadioField(
        _l("Who is this person to the resident?"),
        choices=[
            SelectChoice(ConsentRelation.HELPER.value, _l("A community helper (社区帮办员)")),
            SelectChoice(ConsentRelation.FAMILY.value, _l("A family member with an account")),
        ],
        default=ConsentRelation.HELPER.value,
        validators=[InputRequired(_l("Choose who the person is"))],
    )
    services = MultiCheckboxField(
        _l("What they may do for the resident"),
        choices=[SelectChoice(s.value, s.label) for s in HelpService],
        validators=[DataRequired(_l("Choose at least one service the helper may act in."))],
    )
    starts_on = DatePartsField(
        _l("First day (optional)"),
        description=_l("Leave empty to start today."),
        validators=[Optional(), service_date],
    )
    ends_on = DatePartsField(
        _l("Last day"),
        description=_l("At most a year from the first day. The consent ends after this day."),
        validators=[InputRequired(_l("Enter the last day the consent is valid.")), service_date],
    )
    slip = FileField(
        _l("Scanned signed slip (optional)"),
        description=_l("A photo or a PDF of the slip the resident signed, up to 10 MB."),
    )
    # The slip chosen before the form came back with errors, kept by the desk
    # (app.desk.pending_slips): a browser cannot keep a chosen file.
    slip_kept = HiddenField(validators=[Optional(), Length(max=64)])


class RealNameForm(FlaskForm):
    name = StringField(
        _l("Name as on the ID card"),
        validators=[DataRequired(_l("Enter the name as on the ID card")), Length(max=64)],
    )
    id_number = StringField(
        _l("Resident ID number (18 characters)"),
        validators=[DataRequired(_l("Enter the ID number")), Length(max=32)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    seen = BooleanField(
        _l("I have seen the resident's ID card and it shows this name and number"),
        validators=[DataRequired(_l("Confirm that you have seen the ID card"))],
    )


class CardSigninForm(FlaskForm):
    account = StringField(
        _l("Account number"),
        description=_l("The 8-digit number printed on your sign-in card."),
        validators=[DataRequired(_l("Enter the account number")), Length(max=32)],
        render_kw={"inputmode": "numeric", "autocomplete": "username"},
    )
    code = StringField(
        _l("Sign-in code"),
        description=_l("The code printed on the card. It works once."),
        validators=[DataRequired(_l("Enter the sign-in code")), Length(max=32)],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"},
    )


class CloseAccountForm(FlaskForm):
    password = PasswordField(
        _l("Your current password"),
        description=_l("Or leave it empty and use a code sent to your mobile number."),
        validators=[Optional(), Length(max=128)],
        render_kw={"autocomplete": "current-password"},
    )
    code = StringField(
        _l("Code from the text message (if you have no password)"),
        validators=[Optional(), Length(max=12)],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"},
    )
    confirm = BooleanField(
        _l("I understand that my account is closed for good and cannot be restored"),
        validators=[DataRequired(_l("Confirm that you want to close your account"))],
    )


class DeskCloseForm(FlaskForm):
    confirm = BooleanField(
        _l(
            "The resident asked me in person to close their account, I saw their ID card, and "
            "I told them what closing does"
        ),
        validators=[DataRequired(_l("Confirm that the resident asked for it in person"))],
    )


class ActionForm(FlaskForm):
    """A button that changes something (print a new card): its CSRF token only."""
