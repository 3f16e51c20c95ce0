from __future__ import annotations

import unicodedata

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from app.accounts.models import DisplayMode
from app.accounts.passwords import MAX_LENGTH, MIN_LENGTH
from app.accounts.services import normalize_phone
from app.errors import DomainError

LANGUAGE_CHOICES = [
    SelectChoice("zh_CN", "中文(简体)", render_kw={"lang": "zh-CN"}),
    SelectChoice("en", "English", render_kw={"lang": "en"}),
]
DISPLAY_CHOICES = [
    SelectChoice(DisplayMode.STANDARD.value, _l("Standard")),
    SelectChoice(DisplayMode.LARGE_TEXT.value, _l("Large text")),
    SelectChoice(
        DisplayMode.ELDERLY.value, _l("Elderly mode: large text, large buttons, plain layout")
    ),
]


def mobile_number(form, field):
    """Check the format with the same rule the service applies, so every error shows at once."""
    if field.data:
        try:
            normalize_phone(field.data)
        except DomainError as error:
            raise ValidationError(str(error)) from None


def six_digits(form, field):
    """A code as people type it: full-width digits from a Chinese IME and spaces are fine."""
    code = "".join(unicodedata.normalize("NFKC", field.data or "").split())
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        raise ValidationError(_l("Enter the 6-digit code from the text message"))
    field.data = code


def _code_field(label=None):
    return StringField(
        label or _l("Code from the text message"),
        description=_l("6 digits, for example 123456"),
        validators=[DataRequired(_l("Enter the 6-digit code from the text message")), six_digits],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"},
    )


def _new_password(label, required: bool):
    first = [DataRequired(_l("Enter a password"))] if required else [Optional()]
    return PasswordField(
        label,
        description=_l(
            "At least %(n)d characters. Not a common password, nor your mobile number. A few "
            "words you will remember work well.",
            n=MIN_LENGTH,
        ),
        validators=[
            *first,
            Length(
                max=MAX_LENGTH,
                message=_l("Password must be %(n)d characters or fewer", n=MAX_LENGTH),
            ),
        ],
        render_kw={"autocomplete": "new-password"},
    )


def _confirm(required: bool):
    # Not Optional() when the password is optional: a password given without its repeat must
    # still be refused (EqualTo compares "" with it).
    first = [DataRequired(_l("Enter the password again"))] if required else []
    return PasswordField(
        _l("Password again"),
        validators=[*first, EqualTo("password", _l("The two passwords are not the same"))],
        render_kw={"autocomplete": "new-password"},
    )


class LoginForm(FlaskForm):
    """Sign in with a password (the number or username and the password)."""

    login = StringField(
        _l("Mobile number or username"),
        validators=[DataRequired(_l("Enter your mobile number or username"))],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password"))],
        render_kw={"autocomplete": "current-password"},
    )


class PhoneForm(FlaskForm):
    """A mobile number to send a code to: sign-in, registration, a forgotten password."""

    phone = StringField(
        _l("Mobile number"),
        description=_l("We send a 6-digit code to this number by text message."),
        validators=[DataRequired(_l("Enter your mobile number")), mobile_number],
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )


class NewPhoneForm(FlaskForm):
    phone = StringField(
        _l("New mobile number"),
        description=_l("We send a code to the new number. Your number changes once you enter it."),
        validators=[DataRequired(_l("Enter your new mobile number")), mobile_number],
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )


class CodeForm(FlaskForm):
    """The code from a text message: code sign-in, a staff second factor, a new number."""

    code = _code_field()


class RegisterForm(FlaskForm):
    """The second step of registration: the code sent to the number, a name, consent."""

    code = _code_field()
    name = StringField(
        _l("Name"),
        validators=[
            DataRequired(_l("Enter your name")),
            Length(max=64, message=_l("Name must be 64 characters or fewer")),
        ],
        render_kw={"autocomplete": "name"},
    )
    password = _new_password(_l("Password (optional)"), required=False)
    confirm = _confirm(required=False)
    consent = BooleanField(
        _l("I have read the privacy notice and agree that my details are used as it says"),
        validators=[DataRequired(_l("To register, agree to the privacy notice"))],
    )


class ResetForm(FlaskForm):
    code = _code_field()
    password = _new_password(_l("New password"), required=True)
    confirm = _confirm(required=True)


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        description=_l("Forgot it? Ask for a code instead, above."),
        render_kw={"autocomplete": "current-password"},
    )
    code = StringField(
        _l("Code from the text message"),
        description=_l("Only if you asked for a code instead of your current password"),
        validators=[Optional(), six_digits],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"},
    )
    password = _new_password(_l("New password"), required=True)
    confirm = _confirm(required=True)


class ProfileForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[
            DataRequired(_l("Enter your name")),
            Length(max=64, message=_l("Name must be 64 characters or fewer")),
        ],
        render_kw={"autocomplete": "name"},
    )
    locale = RadioField(_l("Language"), choices=LANGUAGE_CHOICES, default="zh_CN")
    display_mode = RadioField(
        _l("Display"), choices=DISPLAY_CHOICES, default=DisplayMode.STANDARD.value
    )
    home_estate_id = SelectField(
        _l("Estate (小区)"),
        coerce=lambda v: int(v) if v else None,
        validate_choice=False,
        description=_l("Used to fill in the address when you report a repair"),
    )
    home_building = StringField(_l("Building"), validators=[Length(max=32)])
    home_unit = StringField(_l("Unit"), validators=[Length(max=32)])
    home_room = StringField(_l("Room"), validators=[Length(max=32)])


class DisplayForm(FlaskForm):
    display_mode = RadioField(
        _l("How should pages look?"),
        choices=DISPLAY_CHOICES,
        validators=[DataRequired(_l("Choose how pages should look"))],
    )
