from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from app.accounts.models import Role
from app.accounts.services import set_locale
from app.extensions import db
from app.i18n import LOCALE_COOKIE
from app.registry import MineItem, mine_items, register_mine, role_workspaces, services
from app.security import remember_on_device
from app.templating import unread_messages
from app.urls import check_next, safe_next

bp = Blueprint("main", __name__)


def _unread_item(session, user) -> MineItem:
    """The inbox line of "我的": the count the header's badge shows (read with the account, so
    no further statement)."""
    count = unread_messages(user)
    return MineItem(
        "inbox",
        _l("Unread messages"),
        url_for("notifications.inbox"),
        count=count,
        text=ngettext("%(num)s unread", "%(num)s unread", count) if count else _("None unread"),
        order=50,
    )


bp.record_once(lambda state: register_mine(state.app, _unread_item))


@bp.route("/")
def home():
    """The services as tiles and, for a resident, "我的": what each service holds for them now,
    each one tap away (the services' own lines, app/registry.py `register_mine`)."""
    signed_in = current_user.is_authenticated
    workspaces = role_workspaces(current_user) if signed_in else []
    mine = mine_items(db.session, current_user) if signed_in and _resident(current_user) else []
    return render_template("main/home.html", services=services(), workspaces=workspaces, mine=mine)


def _resident(user) -> bool:
    return Role.RESIDENT in user.role_set


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
    return remember_on_device(response, LOCALE_COOKIE, locale)


@bp.route("/help")
def help_page():
    return render_template("main/help.html")
