"""Forms of the staff accounts pages (/admin/staff: app/accounts/admin_views.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app.accounts.forms import mobile_number
from app.accounts.staff_services import STAFF_ROLES

# The kinds of place a role can be held for, as the pages name them.
SCOPE_KIND_LABELS = {
    "district": _l("District"),
    "town": _l("Town"),
    "estate": _l("Estate"),
    "company": _l("Property company"),
    "venue": _l("Venue"),
    "carpark": _l("Car park"),
}


def role_choices(blank=None) -> list[tuple[str, str]]:
    first = [("", blank)] if blank is not None else []
    return first + [(role.value, role.label) for role in STAFF_ROLES]


class StaffSearchForm(FlaskForm):
    class Meta:
        csrf = False  # a search (GET): it changes nothing

    q = StringField(
        _l("Name or mobile number"),
        description=_l("Part of a name, or some digits of the number."),
        validators=[Optional(), Length(max=64)],
    )
    role = SelectField(_l("Role"), validators=[Optional()], validate_choice=False)
    kind = SelectField(_l("Held for"), validators=[Optional()], validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices(_l("Any role"))
        self.kind.choices = [("", _l("Any place"))] + [
            (kind, label) for kind, label in SCOPE_KIND_LABELS.items()
        ]


class RoleForm(FlaskForm):
    """A role and the place it is held for, in two steps without JavaScript: the role first,
    then (for a role held for a place) the place, from a list of that kind's places that a
    name filter (`q`) can shorten."""

    role = SelectField(
        _l("Role"),
        validators=[DataRequired(_l("Choose a role"))],
        validate_choice=False,  # checked against Role by the view (a clear message, no 500)
    )
    scope = SelectField(_l("Place"), validators=[Optional()], validate_choice=False)
    q = StringField(
        _l("Find a place by name"),
        description=_l("Type part of the name, then press “Show matching places”."),
        validators=[Optional(), Length(max=64)],
    )
    step = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices(_l("Choose a role"))
        self.scope.choices = []


class InviteForm(RoleForm):
    phone = StringField(
        _l("Mobile number"),
        description=_l("They sign in with this number: the text message tells them how."),
        validators=[DataRequired(_l("Enter the staff member’s mobile number")), mobile_number],
        render_kw={"inputmode": "tel", "autocomplete": "off"},
    )
    name = StringField(
        _l("Name"),
        description=_l("Used only for a new account: an existing account keeps its name."),
        validators=[
            DataRequired(_l("Enter the staff member’s name")),
            Length(max=64, message=_l("Name must be 64 characters or fewer")),
        ],
    )
    # Declared again after the number and the name, so an error summary lists the fields in the
    # order the page shows them (WTForms orders by declaration: RoleForm's role came first).
    role = SelectField(
        _l("Role"),
        validators=[DataRequired(_l("Choose a role"))],
        validate_choice=False,  # checked against Role by the view (a clear message, no 500)
    )


class ConfirmForm(FlaskForm):
    """The confirmation pages' form: only the CSRF token."""
