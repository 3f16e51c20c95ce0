"""The development outbox's reply form: answer a text message as its recipient would from
their phone (development only; production has no outbox)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, InputRequired, Length


class ReplyForm(FlaskForm):
    delivery = HiddenField(validators=[InputRequired()])
    text = StringField(
        _l("Reply to this message"),
        description=_l("As the recipient would from their phone, for example 1"),
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[
            DataRequired(message=_l("Write the reply, for example 1")),
            Length(max=500, message=_l("Write at most %(max)d characters")),
        ],
    )
