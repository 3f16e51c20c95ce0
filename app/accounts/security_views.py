"""A forgotten password reset by SMS code, a password changed in the profile (with the current
one or a code), a new mobile number confirmed by a code sent to it, and the privacy notice.
Routes on the accounts blueprint (app/accounts/views.py)."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask import session as cookie
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.accounts import sessions, signin
from app.accounts.forms import ChangePasswordForm, CodeForm, NewPhoneForm, PhoneForm, ResetForm
from app.accounts.services import mask_phone
from app.accounts.views import bp, client_address, settings
from app.errors import DomainError
from app.extensions import db
from app.forms import add_error

RESET_PHONE, NEW_PHONE = "reset_phone", "new_phone"


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    """Step one of a reset: the number. A code is sent whether or not it has an account."""
    form = PhoneForm()
    if form.validate_on_submit():
        try:
            phone = signin.start_reset(
                db.session, form.phone.data, address=client_address(), settings=settings()
            )
        except DomainError as error:
            add_error(form, error)
        else:
            cookie[RESET_PHONE] = phone
            return redirect(url_for("accounts.reset_password"))
    return render_template("accounts/forgot_password.html", form=form)


@bp.route("/password/reset", methods=["GET", "POST"])
def reset_password():
    """Step two: the code and the new password. Every session of the account ends; the person
    signs in again with the new password."""
    phone = cookie.get(RESET_PHONE)
    if not phone:
        return redirect(url_for("accounts.forgot_password"))
    form = ResetForm()
    if form.validate_on_submit():
        try:
            user = signin.reset_password(
                db.session, phone, form.code.data, form.password.data, settings()
            )
        except DomainError as error:
            add_error(form, error)
        else:
            cookie.pop(RESET_PHONE, None)
            sessions.end_all(db.session, user, reason="password_reset")
            if current_user.is_authenticated:
                sessions.end("password_reset")
            flash(_("Your password is changed. Sign in with it now."), "success")
            return redirect(url_for("accounts.login", **{"with": "password"}))
    return render_template("accounts/reset_password.html", form=form, phone=phone)


@bp.route("/profile/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change the password: the current one, or a code sent to the account's number (the
    "send me a code" button). Every other session of the account ends."""
    user = current_user
    form = ChangePasswordForm()
    if request.method == "POST" and request.form.get("action") == "send_code":
        # (CSRFProtect has checked the token before the view: the other fields may be empty.)
        try:
            signin.send_change_code(db.session, user, address=client_address(), settings=settings())
        except DomainError as error:
            add_error(form, error)
        else:
            flash(_("We sent a code to %(phone)s.", phone=mask_phone(user.phone)), "success")
            return redirect(url_for("accounts.change_password"))
    elif form.validate_on_submit():
        try:
            signin.change_password(
                db.session,
                user,
                current_password=form.current_password.data,
                code=form.code.data,
                new_password=form.password.data,
                settings=settings(),
            )
        except DomainError as error:
            g.login_failed = error.code == "wrong_password"  # counted (views.init_limits)
            add_error(form, error)
        else:
            sessions.end_others(db.session, user, reason="password_changed")
            flash(
                _("Your password is changed. You are signed out on your other devices."), "success"
            )
            return redirect(url_for("accounts.profile"))
    return render_template("accounts/change_password.html", form=form, user=user)


@bp.route("/profile/phone", methods=["GET", "POST"])
@login_required
def change_phone():
    """Step one of a new number: the number; a code is sent to it."""
    form = NewPhoneForm()
    if form.validate_on_submit():
        try:
            phone = signin.start_phone_change(
                db.session,
                current_user,
                form.phone.data,
                address=client_address(),
                settings=settings(),
            )
        except DomainError as error:
            add_error(form, error)
        else:
            cookie[NEW_PHONE] = phone
            return redirect(url_for("accounts.confirm_phone"))
    return render_template("accounts/change_phone.html", form=form, user=current_user)


@bp.route("/profile/phone/confirm", methods=["GET", "POST"])
@login_required
def confirm_phone():
    """Step two: the code sent to the new number; the number is the account's from then on."""
    phone = cookie.get(NEW_PHONE)
    if not phone:
        return redirect(url_for("accounts.change_phone"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            signin.change_phone(db.session, current_user, phone, form.code.data, settings())
        except DomainError as error:
            add_error(form, error)
        else:
            cookie.pop(NEW_PHONE, None)
            flash(_("Your mobile number is changed."), "success")
            return redirect(url_for("accounts.profile"))
    return render_template("accounts/confirm_phone.html", form=form, phone=phone)


@bp.route("/privacy")
def privacy():
    """The privacy notice (个人信息保护法): what is collected, why, how long, who sees it."""
    from app.accounts.mydata import KEPT  # what closing an account keeps, anonymised

    config = current_app.config
    return render_template(
        "accounts/privacy.html",
        kept=KEPT,
        version=config["PRIVACY_NOTICE_VERSION"],
        parking_retention_days=config["PARKING_RETENTION_DAYS"],
        code_minutes=int(config.get("SMS_CODE_MINUTES", 5)),
        session_days=max(1, round(config.get("SESSION_ABSOLUTE_HOURS", 720) / 24)),
        token_days=config.get("API_TOKEN_DAYS", 365),
    )
