"""The profile's security pages: signed-in devices (server-side sessions) and API tokens.
Routes on the `accounts` blueprint; the rules are in app/accounts/sessions.py and tokens.py.
Every change is a POST with its CSRF token; signing out everywhere and revoking a token ask
for confirmation first. Everything works without JavaScript."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from app.accounts import sessions, tokens
from app.accounts.models import TokenScope
from app.accounts.views import bp
from app.errors import DomainError
from app.extensions import db
from app.forms import add_error


class ConfirmForm(FlaskForm):
    """A one-button POST (sign out a device, revoke a token)."""


class TokenForm(FlaskForm):
    name = StringField(
        _l("Token name"),
        description=_l("What the token is for, so that you recognise it later"),
        validators=[DataRequired(_l("Give the token a name")), Length(max=64)],
    )
    kind = RadioField(
        _l("What the token may do"),
        choices=[
            SelectChoice(
                TokenScope.PERSONAL.value,
                _l("Personal API token: book, reserve and read your messages as you"),
            ),
            SelectChoice(
                TokenScope.OPEN311.value,
                _l("Open311 key: report repairs through Open311, nothing else"),
            ),
        ],
        default=TokenScope.PERSONAL.value,
        validators=[DataRequired(_l("Choose what the token may do"))],
    )


# --- devices ----------------------------------------------------------------------------------


@bp.route("/profile/devices")
@login_required
def devices():
    rows = sessions.live_sessions(db.session, current_user)
    return render_template(
        "accounts/devices.html",
        rows=rows,
        current=next((r.id for r in rows if sessions.is_current(r)), None),
        form=ConfirmForm(),
    )


@bp.route("/profile/devices/<int:session_id>/end", methods=["POST"])
@login_required
def end_device(session_id: int):
    """Sign one device out; this one's own row signs this browser out."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("accounts.devices"))
    row = sessions.end_session(db.session, current_user, session_id)
    if row.digest == sessions.current_digest():
        sessions.end()
        flash(_("You are signed out."), "success")
        return redirect(url_for("main.home"))
    flash(_("That device is signed out."), "success")
    return redirect(url_for("accounts.devices"))


@bp.route("/profile/devices/end-others", methods=["POST"])
@login_required
def end_other_devices():
    if ConfirmForm().validate_on_submit():
        count = sessions.end_others(db.session, current_user)
        flash(_("Signed out on %(n)d other devices.", n=count), "success")
    return redirect(url_for("accounts.devices"))


@bp.route("/profile/devices/end-all", methods=["GET", "POST"])
@login_required
def end_all_devices():
    """Sign out everywhere, this browser too, after a confirmation page."""
    form = ConfirmForm()
    if form.validate_on_submit():
        sessions.end_all(db.session, current_user)
        sessions.end("signed_out_everywhere")
        flash(_("You are signed out on every device."), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/devices_end_all.html", form=form)


# --- API tokens -------------------------------------------------------------------------------


@bp.route("/profile/tokens", methods=["GET", "POST"])
@login_required
def api_tokens():
    """The person's tokens (name, made, last used, expiry) and a form to make one. POST,
    redirect, GET: the new secret is kept on the browser's server-side session for the one GET
    after the form (sessions.keep_shown_once), which shows it; a reload shows the list and
    makes nothing."""
    form = TokenForm()
    if form.validate_on_submit():
        try:
            row, secret = tokens.issue(
                db.session, current_user, form.name.data, scope=TokenScope(form.kind.data)
            )
        except DomainError as error:
            add_error(form, error)
        else:
            sessions.keep_shown_once(f"{row.id}:{secret}")
            return redirect(url_for("accounts.api_tokens"))
    shown = sessions.take_shown_once() if request.method == "GET" else None
    if shown:
        token_id, secret = shown.split(":", 1)
        try:
            row = tokens.own_token(db.session, current_user, int(token_id))
        except DomainError:
            pass  # revoked in between: the list says so
        else:
            response = make_response(
                render_template("accounts/token_new.html", token=row, secret=secret)
            )
            response.headers["Cache-Control"] = "no-store"
            return response
    return render_template(
        "accounts/tokens.html", rows=tokens.tokens_of(db.session, current_user), form=form
    )


@bp.route("/profile/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
@login_required
def revoke_api_token(token_id: int):
    row = tokens.own_token(db.session, current_user, token_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        tokens.revoke(db.session, row, current_user)
        flash(_("The token %(name)s is revoked.", name=row.name), "success")
        return redirect(url_for("accounts.api_tokens"))
    return render_template("accounts/token_revoke.html", token=row, form=form)
