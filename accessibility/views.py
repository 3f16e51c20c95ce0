from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from accessibility import (
    MODE_COOKIE,
    SCHEME_COOKIE,
    TEXT_COOKIE,
    colour_scheme,
    current_display_mode,
    text_size,
)
from accessibility.forms import DisplaySettingsForm
from app.accounts.forms import DISPLAY_CHOICES
from app.accounts.models import DisplayMode
from app.accounts.services import set_display_mode, set_locale
from app.extensions import db
from app.i18n import LOCALE_COOKIE, select_locale
from app.security import remember_on_device
from app.urls import check_next, safe_next

bp = Blueprint("accessibility", __name__)

STATEMENT_REVIEWED = date(2026, 11, 30)
# The figures the statement gives, as they were at its review (counted in tests/browser: the
# assert_accessible calls, the test files, the axe-core version axe-playwright-python bundles).
AUDIT = {"points": 116, "files": 21, "axe": "4.12"}


def _remember(response, name: str, value: str):
    return remember_on_device(response, name, value)


def _apply_mode(mode: DisplayMode, target: str):
    if current_user.is_authenticated:
        set_display_mode(db.session, current_user, mode)
    return _remember(redirect(target), MODE_COOKIE, mode.value)


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
    """显示设置: the display mode (standard, large text, elderly), a text size beyond it, high
    contrast, and the language. The mode and language are the account's too when signed in."""
    form = DisplaySettingsForm(
        display_mode=current_display_mode().value,
        text_size=text_size(),
        colour_scheme=colour_scheme(),
        locale=select_locale(),
    )
    form.display_mode.choices = DISPLAY_CHOICES
    if form.validate_on_submit():
        locale = form.locale.data
        if locale in current_app.config["PORTAL_LOCALES"] and current_user.is_authenticated:
            set_locale(db.session, current_user, locale)
        response = _apply_mode(
            DisplayMode(form.display_mode.data), url_for("accessibility.display_settings")
        )
        _remember(response, TEXT_COOKIE, form.text_size.data)
        _remember(response, SCHEME_COOKIE, form.colour_scheme.data)
        _remember(response, LOCALE_COOKIE, locale)
        flash(_("Display setting saved."), "success")
        return response
    return render_template("accessibility/display.html", form=form)


@bp.route("/accessibility")
def statement():
    return render_template(
        "accessibility/statement.html", statement_date=STATEMENT_REVIEWED, audit=AUDIT
    )
