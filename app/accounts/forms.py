from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from app.accounts.models import DisplayMode
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


class LoginForm(FlaskForm):
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


class RegisterForm(FlaskForm):
    phone = StringField(
        _l("Mobile number"),
        description=_l(
            "You sign in with this number. We never show it in full to staff who do not need it."
        ),
        validators=[DataRequired(_l("Enter your mobile number")), mobile_number],
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )
    name = StringField(
        _l("Name"),
        validators=[
            DataRequired(_l("Enter your name")),
            Length(max=64, message=_l("Name must be 64 characters or fewer")),
        ],
        render_kw={"autocomplete": "name"},
    )
    password = PasswordField(
        _l("Password"),
        description=_l("At least 8 characters"),
        validators=[DataRequired(_l("Enter a password"))],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Password again"),
        validators=[
            DataRequired(_l("Enter the password again")),
            EqualTo("password", _l("The two passwords are not the same")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class ProfileForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[
            DataRequired(_l("Enter your name")),
            Length(max=64, message=_l("Name must be 64 characters or fewer")),
        ],
        render_kw={"autocomplete": "name"},
    )
    phone = StringField(
        _l("Mobile number"),
        validators=[Optional(), mobile_number],
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
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
