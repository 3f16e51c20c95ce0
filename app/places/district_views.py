"""The residents' district chooser (issue 15): which district's venues and car parks the lists
show, kept on this device like the display preferences. Anyone may browse and book any
district's; the choice only narrows what is listed (and names the district in the frame)."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from app.extensions import db
from app.places import districts
from app.security import remember_on_device
from app.urls import check_next, safe_next

bp = Blueprint("districts", __name__)


class DistrictChoiceForm(FlaskForm):
    district = RadioField(
        _l("Which district do you want to see?"),
        description=_l(
            "The lists of venues and car parks show this district. You can book in any district."
        ),
        validators=[DataRequired(_l("Choose a district"))],
    )


@bp.route("/district", methods=["GET", "POST"])
def choose():
    """A question page: the districts as radio buttons, the current one chosen. The answer is
    kept on this device (a cookie, a year) and the visitor goes back to where they came from."""
    back = request.args.get("next")
    check_next(back)
    offered = districts.snapshot(db.session, current_app._get_current_object())
    form = DistrictChoiceForm(district=districts.current().code)
    form.district.choices = [SelectChoice(d.code, d.name) for d in offered]
    if form.validate_on_submit():
        return remember_on_device(
            redirect(safe_next(back)), districts.DISTRICT_COOKIE, form.district.data
        )
    return render_template("districts/choose.html", form=form)
