"""Forms of the venue photo pages (venues/photo_views.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import AnyOf, DataRequired, Length


class VenuePhotoForm(FlaskForm):
    photo = FileField(
        _l("Photo"),
        description=_l("A JPEG, PNG, WebP or HEIC picture of at most 10 MB"),
        validators=[FileRequired(_l("Choose a photo to upload"))],
    )
    alt_zh = StringField(
        _l("What the photo shows (Chinese)"),
        description=_l("Read aloud to people who cannot see the photo"),
        validators=[DataRequired(_l("Describe the photo in Chinese")), Length(max=200)],
    )
    alt_en = StringField(
        _l("What the photo shows (English)"),
        description=_l("For example: the museum's main entrance and its steps"),
        validators=[DataRequired(_l("Describe the photo in English")), Length(max=200)],
    )


class MovePhotoForm(FlaskForm):
    """Earlier or later in the venue's order: the button pressed says which."""

    step = StringField(validators=[AnyOf(["earlier", "later"])])


class RemovePhotoForm(FlaskForm):
    """The confirmation page's button."""
