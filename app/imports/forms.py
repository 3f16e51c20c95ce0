"""Forms of the import pages (app/imports/views.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired, FileSize
from wtforms import RadioField
from wtforms.validators import InputRequired

from app.uploads import MAX_BYTES


class UploadForm(FlaskForm):
    kind = RadioField(
        _l("What does the file hold?"),
        validators=[InputRequired(_l("Choose what the file holds"))],
        choices=[],
    )
    file = FileField(
        _l("The file"),
        description=_l("A CSV file (UTF-8 or GBK, as Excel saves it) or an Excel workbook (.xlsx)"),
        validators=[
            FileRequired(_l("Choose the file to check")),
            FileAllowed(["csv", "xlsx", "txt"], _l("Upload a .csv or .xlsx file")),
            # The limit the page states (the same as a photo's); 100,000 rows fit well inside.
            FileSize(
                MAX_BYTES,
                message=_l(
                    "The file is larger than %(mb)d MB: split it into smaller files.",
                    mb=MAX_BYTES // (1024 * 1024),
                ),
            ),
        ],
    )


class ApplyForm(FlaskForm):
    """The confirmation page's button."""
