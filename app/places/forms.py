from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional


class ClaimDecisionForm(FlaskForm):
    """A manager's answer to a resident's home claim (the button pressed names the decision)."""

    decision = StringField(
        validators=[
            DataRequired(_l("Choose to confirm or refuse")),
            AnyOf(["approve", "refuse", "end"], message=_l("Choose to confirm or refuse")),
        ]
    )
    reason = StringField(
        _l("Reason (sent to the resident)"),
        validators=[Optional(), Length(max=200, message=_l("Keep the reason to 200 characters"))],
    )


class ClaimsFilterForm(FlaskForm):
    """The household claims of one estate, for a manager of several (a company's): the view
    fills the choices; anything else is read as every estate."""

    class Meta:
        csrf = False  # a filter (GET): it changes nothing

    estate = SelectField(_l("Estate"), validators=[Optional()], validate_choice=False)
