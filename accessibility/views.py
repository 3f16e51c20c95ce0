from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from accessibility import MODE_COOKIE, current_display_mode
from app.accounts.forms import DisplayForm
from app.accounts.models import DisplayMode
from app.accounts.services import set_display_mode
from app.extensions import db
from app.urls import check_next, safe_next

bp = Blueprint("accessibility", __name__)

YEAR = 365 * 86400
STATEMENT_REVIEWED = date(2026, 11, 21)


def _apply_mode(mode: DisplayMode, target: str):
    if current_user.is_authenticated:
        set_display_mode(db.session, current_user, mode)
    response = redirect(target)
    response.set_cookie(MODE_COOKIE, mode.value, max_age=YEAR, samesite="Lax")
    return response


@bp.route("/display/elderly", methods=["POST"])
def toggle_elderly():
    """The one-click 长辈模式 switch in every page's header: on if off, off if on."""
    check_next(request.form.get("next"))
    mode = (
        DisplayMode.STANDARD
        if current_display_mode() == DisplayMode.ELDERLY
        else DisplayMode.ELDERLY
    )
    return _apply_mode(mode, safe_next(request.form.get("next")))


@bp.route("/display", methods=["GET", "POST"])
def display_settings():
    """Choose standard, large text alone, or the full elderly mode."""
    form = DisplayForm(display_mode=current_display_mode().value)
    if form.validate_on_submit():
        flash(_("Display setting saved."), "success")
        return _apply_mode(
            DisplayMode(form.display_mode.data), url_for("accessibility.display_settings")
        )
    return render_template("accessibility/display.html", form=form)


@bp.route("/accessibility")
def statement():
    return render_template("accessibility/statement.html", statement_date=STATEMENT_REVIEWED)
