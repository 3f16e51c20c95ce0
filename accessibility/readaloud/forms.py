"""The one form of read-aloud: the words a page's script asks the server to say (when the
browser has no Chinese voice of its own). Sent by JavaScript, never shown as a form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from accessibility.readaloud.services import LANGUAGES, SPEEDS


class SpeakForm(FlaskForm):
    # No length limit here: a long text is cut to READALOUD_MAX_CHARS by the service, and the
    # request body is bounded by MAX_CONTENT_LENGTH like every other.
    text = TextAreaField(
        _l("Words to read aloud"), validators=[DataRequired(_l("Nothing to read"))]
    )
    lang = SelectField(
        _l("Language"), choices=[SelectChoice(code, code) for code in LANGUAGES], default="zh"
    )
    speed = SelectField(
        _l("Speed"), choices=[SelectChoice(code, code) for code in SPEEDS], default="normal"
    )
