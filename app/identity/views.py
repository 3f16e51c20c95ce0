"""Pages: the resident's real name (实名认证), and signing in or linking with 一网通办."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as cookie
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.errors import DomainError
from app.extensions import db
from app.forms import add_error
from app.identity import linking, oidc, services
from app.identity.forms import NewAccountForm, RealNameForm, UnlinkForm
from app.identity.models import RealNameLevel
from app.urls import check_next, safe_next

log = logging.getLogger(__name__)
bp = Blueprint("identity", __name__, url_prefix="/identity")

# The states this browser started, newest last: an answer must carry one of them (so nobody
# can make a victim's browser finish a sign-in the attacker started). A few, for several tabs.
STATE_KEY = "identity_sso_states"
STATES_KEPT = 5
# The token of verified claims waiting for the person's consent to a new account.
NEW_ACCOUNT_KEY = "identity_sso_new_account"

# What each level lets a person do, shown on the real-name page. Features that read the level
# (app.identity.services.real_name_level) add a line here when they land.
UNLOCKS = {
    RealNameLevel.SELF_DECLARED: [
        _l("Bookings and visits that ask for a real name carry yours, masked."),
    ],
    RealNameLevel.VERIFIED_IN_PERSON: [
        _l("Everything a declared name allows."),
        _l("Services and concessions that need a checked identity."),
    ],
}
UNLOCKS[RealNameLevel.VERIFIED_BY_PROVIDER] = UNLOCKS[RealNameLevel.VERIFIED_IN_PERSON]


def _name(record, identity_settings) -> str | None:
    """The record's name, or None when no configured key opens it (a key rotated away)."""
    from app.identity.crypto import SealError

    if record is None:
        return None
    try:
        return services.name_of(record, identity_settings)
    except SealError:
        log.error("real name %s does not open with the configured keys", record.id)
        return None


def settings() -> services.IdentitySettings:
    return services.settings_from_config(current_app.config)


def sso() -> oidc.SsoSettings | None:
    return oidc.sso_settings(current_app.config)


def _configured_sso() -> oidc.SsoSettings:
    configured = sso()
    if configured is None:
        abort(404)
    return configured


@bp.route("/real-name", methods=["GET", "POST"])
@login_required
def real_name():
    user = current_user
    identity_settings = settings()
    form = RealNameForm()
    if form.validate_on_submit():
        try:
            record, result = services.declare_real_name(
                db.session, user, form.name.data, form.id_number.data, settings=identity_settings
            )
        except DomainError as error:
            add_error(form, error)
        else:
            flash(
                _("Your real name is recorded: %(number)s.", number=record.id_number_masked)
                + " "
                + str(result.message),
                "success",
            )
            return redirect(url_for("identity.real_name"))
    record = services.real_name_of(db.session, user)
    configured = sso()
    identities = linking.linked_identities(db.session, user)
    return render_template(
        "identity/real_name.html",
        form=form,
        record=record,
        name=_name(record, identity_settings),
        levels=list(RealNameLevel),
        unlocks=UNLOCKS,
        sso=configured,
        identities=identities,
    )


@bp.route("/sso/start")
def sso_start():
    """Send the browser to the provider: signing in, or linking the signed-in account.

    A link, not a form: the page's Content-Security-Policy (`form-action 'self'`) stops a form
    submission that redirects to another origin, and the provider may pass the browser through
    several. Nothing here needs protecting from a forged request: the request it makes is bound
    to this browser, and only the person can finish it at the provider."""
    configured = _configured_sso()
    check_next(request.args.get("next"))
    client = oidc.client_for(current_app._get_current_object(), configured)
    redirect_uri = url_for("identity.sso_callback", _external=True)
    try:
        started = oidc.authorization_request(client, redirect_uri)
    except oidc.UNAVAILABLE as error:  # its discovery document could not be read
        log.warning("single sign-on unavailable: %s", type(error).__name__)
        message = _(
            "%(provider)s is not answering. Try again later, or sign in with your mobile number.",
            provider=configured.display_name,
        )
        return _refused(message, 503)
    linking.begin_sign_in(
        db.session,
        state=started["state"],
        nonce=started["nonce"],
        code_verifier=started["code_verifier"],
        redirect_uri=redirect_uri,
        link_user=current_user if current_user.is_authenticated else None,
        next_url=safe_next(request.args.get("next")) if request.args.get("next") else None,
    )
    cookie[STATE_KEY] = [*cookie.get(STATE_KEY, [])[-(STATES_KEPT - 1) :], started["state"]]
    return redirect(started["url"])


@bp.route("/sso/callback")
def sso_callback():
    """The provider's answer. Every refusal says what happened and signs nobody in."""
    configured = _configured_sso()
    state = request.args.get("state")
    started_here = cookie.get(STATE_KEY, [])
    if state and state in started_here:
        cookie[STATE_KEY] = [s for s in started_here if s != state]
    pending = linking.take_sign_in_request(db.session, state)
    if pending is None or state not in started_here:
        return _refused(_expired(configured))
    if request.args.get("error"):
        return _refused(
            _(
                "You did not sign in at %(provider)s, so nothing changed.",
                provider=configured.display_name,
            )
        )
    client = oidc.client_for(current_app._get_current_object(), configured)
    try:
        claims = oidc.verified_claims(client, configured, pending, request.args.get("code"))
    except oidc.SsoRefused as error:
        log.warning("single sign-on answer refused: %s", error)
        return _refused(
            _(
                "The answer from %(provider)s could not be verified, so nobody was signed in. "
                "Start again; if this keeps happening, sign in with your mobile number.",
                provider=configured.display_name,
            )
        )
    if linking.makes_new_account(db.session, pending, claims):
        cookie[NEW_ACCOUNT_KEY] = linking.hold_new_account(db.session, claims, settings=settings())
        return _new_account_page(NewAccountForm(), configured)
    return _finish(configured, pending, claims)


def _new_account_page(form, configured, status: int = 200):
    return render_template(
        "identity/new_account.html", form=form, display_name=configured.display_name
    ), status


@bp.route("/sso/new-account", methods=["POST"])
def sso_new_account():
    """The person consents to the privacy notice: the account is made and signed in."""
    configured = _configured_sso()
    form = NewAccountForm()
    if not form.validate_on_submit():
        if cookie.get(NEW_ACCOUNT_KEY):
            return _new_account_page(form, configured)
        return _refused(_expired(configured))
    claims = linking.take_new_account(
        db.session, cookie.pop(NEW_ACCOUNT_KEY, None), settings=settings()
    )
    if claims is None:
        return _refused(_expired(configured))
    pending = linking.PendingSignIn("", "", "", None, None)
    return _finish(configured, pending, claims, consent=True)


def _expired(configured) -> str:
    return _(
        "This answer from %(provider)s does not belong to a sign-in started in this "
        "browser, or it was used already. Nobody was signed in. Start again.",
        provider=configured.display_name,
    )


def _finish(configured, pending, claims, *, consent: bool = False):
    """Sign in (or link) with verified claims; a refusal signs nobody in."""
    try:
        outcome = linking.complete_sign_in(
            db.session,
            pending,
            claims,
            claim_map=configured.claims,
            settings=settings(),
            consent_version=str(current_app.config.get("PRIVACY_NOTICE_VERSION") or "1")
            if consent
            else None,
        )
    except DomainError as error:
        return _refused(str(error), error.status)
    if outcome.note is not None:
        flash(str(outcome.note), "info")
    if pending.link_user_id is not None:
        flash(
            _("Your %(provider)s identity is linked.", provider=configured.display_name),
            "success",
        )
        return redirect(url_for("identity.real_name"))
    from app.accounts import signin
    from app.accounts.views import _signed_in

    if signin.needs_second_factor(outcome.user, signin.settings_of(current_app)):
        # Staff sign in with their password and a code (SIGNIN_SECOND_FACTOR_ROLES); a linked
        # identity must not be a way around it.
        return _refused(
            _(
                "Staff accounts sign in with their password and a code sent to their mobile, "
                "not with %(provider)s.",
                provider=configured.display_name,
            ),
            403,
        )
    return _signed_in(
        outcome.user, url_for("identity.real_name") if outcome.created else pending.next_url
    )


def _refused(message: str, status: int = 400):
    return render_template("identity/sso_refused.html", message=message), status


@bp.route("/linked/<int:identity_id>/unlink", methods=["GET", "POST"])
@login_required
def unlink(identity_id: int):
    configured = sso()
    display_name = configured.display_name if configured else "一网通办"
    identity = next(
        (i for i in linking.linked_identities(db.session, current_user) if i.id == identity_id),
        None,
    )
    if identity is None:
        abort(404)
    form = UnlinkForm()
    if form.validate_on_submit():
        try:
            linking.unlink(db.session, current_user, identity_id, display_name=display_name)
        except DomainError as error:
            add_error(form, error)
        else:
            flash(_("The identity is unlinked."), "success")
            return redirect(url_for("identity.real_name"))
    return render_template(
        "identity/unlink.html",
        form=form,
        identity=identity,
        display_name=display_name,
        allowed=linking.can_unlink(db.session, current_user, identity),
    )


def init_app(app) -> None:
    from app.identity.cli import identity_cli

    app.cli.add_command(identity_cli)
    from app.accounts.models import Role
    from app.registry import Link, register_workspace_links

    app.register_blueprint(bp)

    @app.context_processor
    def sso_link():
        configured = oidc.sso_settings(app.config)
        return {"identity_sso_name": configured.display_name if configured else None}

    register_workspace_links(
        app,
        Role.RESIDENT,
        lambda user, assignment: [Link(_l("Real name"), url_for("identity.real_name"))],
    )
