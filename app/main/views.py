from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request
from flask_login import current_user

from app.accounts.services import set_locale
from app.extensions import db
from app.i18n import LOCALE_COOKIE
from app.registry import role_workspaces, services
from app.urls import check_next, safe_next

bp = Blueprint("main", __name__)


@bp.route("/")
def home():
    workspaces = role_workspaces(current_user) if current_user.is_authenticated else []
    return render_template("main/home.html", services=services(), workspaces=workspaces)


@bp.route("/language", methods=["POST"])
def set_language():
    locale = request.form.get("locale")
    check_next(request.form.get("next"))
    target = safe_next(request.form.get("next"))
    if locale not in current_app.config["PORTAL_LOCALES"]:
        return redirect(target)
    if current_user.is_authenticated:
        set_locale(db.session, current_user, locale)
    response = redirect(target)
    response.set_cookie(LOCALE_COOKIE, locale, max_age=365 * 86400, samesite="Lax")
    return response


@bp.route("/help")
def help_page():
    return render_template("main/help.html")
