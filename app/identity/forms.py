from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length


class RealNameForm(FlaskForm):
    """A resident declares their real name. The confirmation is on the form itself: a
    check-answers page would have to carry the whole number through the page or the cookie."""

    name = StringField(
        _l("Full name"),
        description=_l("As it is written on your resident ID card"),
        validators=[
            DataRequired(_l("Enter your name as it is on your ID card")),
            Length(max=64, message=_l("Name must be 64 characters or fewer")),
        ],
        render_kw={"autocomplete": "name"},
    )
    id_number = StringField(
        _l("Resident ID card number"),
        description=_l("18 characters: 17 digits, then a digit or X"),
        validators=[
            DataRequired(_l("Enter your resident ID card number")),
            Length(max=40, message=_l("An ID card number has 18 characters")),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"},
    )
    confirm = BooleanField(
        _l(
            "This is my own name and ID number. I know that giving someone else's is against "
            "the law."
        ),
        validators=[DataRequired(_l("Confirm that the name and number are your own"))],
    )


class UnlinkForm(FlaskForm):
    """Confirms unlinking an identity."""


class NewAccountForm(FlaskForm):
    """Consent to the privacy notice before 一网通办 makes a new account (个人信息保护法)."""

    consent = BooleanField(
        _l("I have read the privacy notice and agree to it"),
        validators=[DataRequired(_l("Agree to the privacy notice to create an account"))],
    )
