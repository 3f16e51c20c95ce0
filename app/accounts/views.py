from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import format_time
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from accessibility import MODE_COOKIE, visitor_display_mode
from app.accounts import services, sessions
from app.accounts.forms import LoginForm, ProfileForm, RegisterForm
from app.accounts.models import DisplayMode
from app.errors import DomainError
from app.extensions import db
from app.forms import add_error
from app.i18n import LOCALE_COOKIE
from app.places.models import Estate, Town
from app.urls import check_next, safe_next

bp = Blueprint("accounts", __name__)


def _login_key() -> str:
    login = (request.form.get("login") or "").strip().lower()
    try:
        login = services.normalize_phone(login)
    except DomainError:
        pass
    return f"login:{login}"


def _visitor_locale() -> str | None:
    """The language a visitor chose with the language switch, if it is one of the portal's."""
    locale = request.cookies.get(LOCALE_COOKIE)
    return locale if locale in current_app.config["PORTAL_LOCALES"] else None


def init_limits(app, limiter) -> None:
    """Sign-in limits: failed attempts per account (only failures count), and all attempts per
    client address, so guessing one password or many accounts are both slowed down. Installed
    on each app's own view table, since the limiter is per app."""
    view = app.view_functions["accounts.login"]
    view = limiter.limit(
        lambda: current_app.config["LOGIN_FAILURES_PER_ACCOUNT"],
        key_func=_login_key,
        methods=["POST"],
        scope="login-account",
        deduct_when=lambda response: g.get("login_failed", False),
    )(view)
    view = limiter.limit(
        lambda: current_app.config["LOGIN_ATTEMPTS_PER_ADDRESS"],
        methods=["POST"],
        scope="login-address",
    )(view)
    app.view_functions["accounts.login"] = view


@bp.route("/login", methods=["GET", "POST"])
def login():
    check_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(db.session, form.login.data, form.password.data)
        if user is None:
            g.login_failed = True
            form.form_errors.append(_("The mobile number, username or password is not right"))
        else:
            services.adopt_visitor_choices(
                db.session, user, locale=_visitor_locale(), display_mode=visitor_display_mode()
            )
            sessions.begin(user)
            flash(_("You are signed in."), "success")
            return redirect(safe_next(request.args.get("next")))
    return render_template("accounts/login.html", form=form)


def login_locked_out(limit) -> str:
    """The sign-in page, saying plainly that sign-in is paused and until when."""
    form = LoginForm()
    reset = datetime.fromtimestamp(limit.reset_at, UTC)
    minutes = max(1, round((limit.reset_at - datetime.now(UTC).timestamp()) / 60))
    form.form_errors.append(
        _(
            "Too many failed attempts. To protect your account, sign-in is paused until %(time)s "
            "(in about %(minutes)d minutes). If you forgot your password, call %(hotline)s.",
            time=format_time(reset, "HH:mm"),
            minutes=minutes,
            hotline=current_app.config["PORTAL_HOTLINE"],
        )
    )
    return render_template("accounts/login.html", form=form, locked=True)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    sessions.end()
    flash(_("You are signed out."), "success")
    return redirect(url_for("main.home"))


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = services.register_resident(
                db.session,
                phone=form.phone.data,
                name=form.name.data,
                password=form.password.data,
                locale=_visitor_locale() or "zh_CN",
                display_mode=visitor_display_mode(),
            )
        except DomainError as error:
            add_error(form, error)
        else:
            sessions.begin(user)
            flash(_("Your account is ready. You are signed in."), "success")
            return redirect(url_for("accounts.profile"))
    return render_template("accounts/register.html", form=form)


def _estate_choices():
    towns = db.session.scalars(select(Town)).all()
    estates = db.session.scalars(select(Estate).order_by(Estate.town_id, Estate.name_zh)).all()
    town_names = {town.id: town.name for town in towns}
    return [SelectChoice("", _("Not set"))] + [
        SelectChoice(str(estate.id), estate.name, optgroup=town_names[estate.town_id])
        for estate in estates
    ]


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    user = current_user
    form = ProfileForm(obj=user if request.method == "GET" else None)
    form.home_estate_id.choices = _estate_choices()
    if request.method == "GET":
        form.display_mode.data = user.display_mode.value
    if form.validate_on_submit():
        try:
            services.update_profile(
                db.session,
                user,
                name=form.name.data,
                phone=form.phone.data,
                locale=form.locale.data,
                display_mode=DisplayMode(form.display_mode.data),
                home_estate_id=form.home_estate_id.data,
                # A field left out of the form is None, not "" (a server error, tests/test_fuzz.py).
                home_building=form.home_building.data or "",
                home_unit=form.home_unit.data or "",
                home_room=form.home_room.data or "",
                register_phone_match=current_app.config["HOUSEHOLD_REGISTER_TRUSTS_PHONE"],
            )
        except DomainError as error:
            add_error(form, error)
        else:
            flash(_("Your details are saved."), "success")
            response = redirect(url_for("accounts.profile"))
            response.set_cookie(LOCALE_COOKIE, user.locale, max_age=365 * 86400, samesite="Lax")
            response.set_cookie(
                MODE_COOKIE, user.display_mode.value, max_age=365 * 86400, samesite="Lax"
            )
            return response
    from app.places.services import last_decision

    return render_template(
        "accounts/profile.html", form=form, user=user, home_decision=last_decision(db.session, user)
    )
