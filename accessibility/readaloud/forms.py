"""The one form of read-aloud: the words a page's script asks the server to say (when the
browser has no Chinese voice of its own). Sent by JavaScript, never shown as a form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from accessibility.readaloud.services import LANGUAGES, SPEEDS


class SpeakForm(FlaskForm):
    # A generous limit of its own, so that the text policy's 2,000 (app/text.py LONG) does not
    # refuse a long page's words: the service cuts them to READALOUD_MAX_CHARS and says so, as
    # the no-JavaScript page does. The bound only keeps the request from being unbounded.
    text = TextAreaField(
        _l("Words to read aloud"),
        validators=[DataRequired(_l("Nothing to read")), Length(max=100_000)],
    )
    lang = SelectField(
        _l("Language"), choices=[SelectChoice(code, code) for code in LANGUAGES], default="zh"
    )
    speed = SelectField(
        _l("Speed"), choices=[SelectChoice(code, code) for code in SPEEDS], default="normal"
    )
