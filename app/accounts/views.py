"""Signing in (by SMS code, the default; by password; staff: password then a code), signing out,
registering with a code, and the profile. Reset and change of password, change of number and
the privacy notice are in app/accounts/security_views.py, on the same blueprint.

Between the steps of a flow, the number a code was sent to (and, for a staff second factor,
who passed the password) is kept in Flask's signed session cookie, never in a form field."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask import session as cookie
from flask_babel import format_time
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from accessibility import MODE_COOKIE, visitor_display_mode
from app.accounts import services, sessions, signin
from app.accounts.forms import CodeForm, LoginForm, PhoneForm, ProfileForm, RegisterForm
from app.accounts.models import DisplayMode, User
from app.errors import DomainError
from app.extensions import db
from app.forms import add_error
from app.i18n import LOCALE_COOKIE
from app.places.models import Estate, Town
from app.security import remember_on_device
from app.urls import check_next, safe_next

bp = Blueprint("accounts", __name__)

# Keys in Flask's session cookie between the steps of a flow.
SIGNIN_PHONE, REGISTER_PHONE, PENDING_STAFF = "signin_phone", "register_phone", "signin_pending"
PENDING_SECONDS = 600  # a password accepted waits this long for its second factor


def settings() -> signin.SigninSettings:
    return signin.settings_of(current_app)


def client_address() -> str:
    return request.remote_addr or "unknown"


def next_target() -> str | None:
    target = request.args.get("next")
    check_next(target)
    return target


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
    client address, so guessing one password or many accounts are both slowed down; wrong
    current passwords when changing it, per account. Installed on each app's own view table,
    since the limiter is per app."""
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
    # The current password on /profile/password: a borrowed session must not be a way to guess
    # it, so its failures count as sign-in failures of the account do.
    change = app.view_functions["accounts.change_password"]
    app.view_functions["accounts.change_password"] = limiter.limit(
        lambda: current_app.config["LOGIN_FAILURES_PER_ACCOUNT"],
        key_func=lambda: f"password:{current_user.get_id()}",
        methods=["POST"],
        scope="password-change",
        deduct_when=lambda response: g.get("login_failed", False),
    )(change)


def _signed_in(user, target):
    """Sign `user` in on this browser and go on to `target`."""
    services.adopt_visitor_choices(
        db.session, user, locale=_visitor_locale(), display_mode=visitor_display_mode()
    )
    for key in (SIGNIN_PHONE, REGISTER_PHONE, PENDING_STAFF):
        cookie.pop(key, None)
    sessions.begin(user)
    flash(_("You are signed in."), "success")
    return redirect(safe_next(target))


def _login_page(*, password_form=None, phone_form=None, status=200, **context):
    """The sign-in page: the code tab (default) or the password tab (?with=password)."""
    tab = "password" if password_form is not None else "code"
    return render_template(
        "accounts/login.html",
        tab=tab,
        form=password_form or phone_form,
        next=request.args.get("next"),
        **context,
    ), status


@bp.route("/login", methods=["GET", "POST"])
def login():
    """GET: the sign-in page (code tab; ?with=password for the password tab). POST: password
    sign-in, the form the failed-attempt limits count (init_limits)."""
    target = next_target()
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    if request.method == "GET" and request.args.get("with") != "password":
        return _login_page(phone_form=PhoneForm())
    form = LoginForm()
    if form.validate_on_submit():
        user = signin.authenticate(db.session, form.login.data, form.password.data, settings())
        if user is None:
            g.login_failed = True
            form.form_errors.append(_("The mobile number, username or password is not right"))
        elif signin.needs_second_factor(user, settings()):
            return _ask_second_factor(user, target, form)
        else:
            return _signed_in(user, target)
    return _login_page(password_form=form)


def _ask_second_factor(user, target, form):
    try:
        signin.send_second_factor(db.session, user, address=client_address(), settings=settings())
    except DomainError as error:
        form.form_errors.append(str(error))
        return _login_page(password_form=form)
    cookie[PENDING_STAFF] = {"user": user.id, "at": int(time.time()), "next": target}
    return redirect(url_for("accounts.second_factor"))


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
    return _login_page(password_form=form, locked=True)[0]


@bp.route("/login/send-code", methods=["POST"])
def send_signin_code():
    """Send a sign-in code to the number (whatever it is: the answer is the same)."""
    target = next_target()
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = PhoneForm()
    if form.validate_on_submit():
        try:
            phone = signin.start_code_signin(
                db.session, form.phone.data, address=client_address(), settings=settings()
            )
        except DomainError as error:
            add_error(form, error)
        else:
            cookie[SIGNIN_PHONE] = phone
            return redirect(url_for("accounts.signin_code", next=target))
    return _login_page(phone_form=form)


@bp.route("/login/code", methods=["GET", "POST"])
def signin_code():
    """Enter the code sent to the number; signed in when it is right."""
    target = next_target()
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    phone = cookie.get(SIGNIN_PHONE)
    if not phone:
        return redirect(url_for("accounts.login", next=target))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            user = signin.signin_with_code(db.session, phone, form.code.data, settings())
        except DomainError as error:
            add_error(form, error)
        else:
            return _signed_in(user, target)
    return render_template("accounts/signin_code.html", form=form, phone=phone, next=target)


@bp.route("/login/verify", methods=["GET", "POST"])
def second_factor():
    """Staff: the code sent to the account's number after the password was accepted."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    pending = cookie.get(PENDING_STAFF)
    user = None
    if isinstance(pending, dict) and time.time() - pending.get("at", 0) < PENDING_SECONDS:
        user = db.session.get(User, pending.get("user"))
    if user is None or not user.active:
        cookie.pop(PENDING_STAFF, None)
        return redirect(url_for("accounts.login", **{"with": "password"}))
    form = CodeForm()
    if request.method == "POST" and request.form.get("action") == "send_code":
        # "Send a new code" (the wrong-code message asks for one): the SMS limits apply.
        # (CSRFProtect has checked the token before the view: the code field may be empty.)
        try:
            signin.send_second_factor(
                db.session, user, address=client_address(), settings=settings()
            )
        except DomainError as error:
            add_error(form, error)
        else:
            flash(_("We sent a new code to %(phone)s.", phone=services.mask_phone(user.phone)))
            return redirect(url_for("accounts.second_factor"))
    elif form.validate_on_submit():
        try:
            signin.check_second_factor(db.session, user, form.code.data, settings())
        except DomainError as error:
            add_error(form, error)
        else:
            return _signed_in(user, pending.get("next"))
    return render_template("accounts/second_factor.html", form=form, phone=user.phone)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    sessions.end()
    flash(_("You are signed out."), "success")
    return redirect(url_for("main.home"))


@bp.route("/register", methods=["GET", "POST"])
def register():
    """Registration, step one: the number. The answer is the same whether or not it has an
    account (its holder gets a text telling them to sign in instead)."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = PhoneForm()
    if form.validate_on_submit():
        try:
            phone = signin.start_registration(
                db.session, form.phone.data, address=client_address(), settings=settings()
            )
        except DomainError as error:
            add_error(form, error)
        else:
            cookie[REGISTER_PHONE] = phone
            return redirect(url_for("accounts.register_details"))
    return render_template("accounts/register.html", form=form)


@bp.route("/register/details", methods=["GET", "POST"])
def register_details():
    """Registration, step two: the code, a name, consent to the privacy notice, and a password
    if the person wants one."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    phone = cookie.get(REGISTER_PHONE)
    if not phone:
        return redirect(url_for("accounts.register"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = signin.register_with_code(
                db.session,
                phone=phone,
                code=form.code.data,
                name=form.name.data,
                consent=form.consent.data,
                password=form.password.data or None,
                locale=_visitor_locale() or "zh_CN",
                display_mode=visitor_display_mode(),
                settings=settings(),
            )
        except DomainError as error:
            add_error(form, error)
        else:
            cookie.pop(REGISTER_PHONE, None)
            sessions.begin(user)
            flash(_("Your account is ready. You are signed in."), "success")
            return redirect(url_for("accounts.profile"))
    return render_template("accounts/register_details.html", form=form, phone=phone)


def _estate_choices():
    towns = db.session.scalars(select(Town)).all()
    # Archived estates are offered nowhere (issue 15: app/places/admin_views.py).
    estates = db.session.scalars(
        select(Estate).where(Estate.archived_at.is_(None)).order_by(Estate.town_id, Estate.name_zh)
    ).all()
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
            remember_on_device(response, LOCALE_COOKIE, user.locale)
            return remember_on_device(response, MODE_COOKIE, user.display_mode.value)
    from app.places.services import last_decision

    return render_template(
        "accounts/profile.html", form=form, user=user, home_decision=last_decision(db.session, user)
    )


from app.accounts import security_views  # noqa: E402,F401  (its routes are on bp)
