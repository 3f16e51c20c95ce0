from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Regexp

from accessibility.forms import DatePartsField

TIME = Regexp(r"^\s*([01]?\d|2[0-3]):[0-5]\d\s*$", message=_l("Enter a time like 08:30"))


class QuoteForm(FlaskForm):
    class Meta:
        csrf = False  # a GET calculation changes nothing

    car_park = SelectField(_l("Car park"), coerce=int, validate_choice=True,
                           validators=[InputRequired(_l("Choose a car park"))])
    entry_day = DatePartsField(_l("Arrival date"), validators=[InputRequired()])
    entry_time = StringField(_l("Arrival time"), description=_l("24-hour clock, like 08:30"),
                             validators=[DataRequired(_l("Enter the arrival time")), TIME, Length(max=5)])
    exit_day = DatePartsField(_l("Leaving date"), validators=[InputRequired()])
    exit_time = StringField(_l("Leaving time"), description=_l("24-hour clock, like 17:45"),
                            validators=[DataRequired(_l("Enter the leaving time")), TIME, Length(max=5)])
