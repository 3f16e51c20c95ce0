from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app.accounts.models import Role
from app.accounts.services import mask_phone
from app.acting import own_only
from app.clock import hhmm
from app.errors import DomainError
from app.extensions import db
from app.forms import add_error
from app.notifications import preferences, services
from app.notifications.channels import DeliveryError, Outgoing, provider_of
from app.notifications.email import CONFIRM_KIND
from app.notifications.forms import EmailForm, NotificationSettingsForm, field_name
from app.notifications.kinds import CATEGORIES
from app.notifications.models import Channel, PushSubscription, new_key
from app.notifications.settings import settings_for
from app.notifications.status import describe, states_of

bp = Blueprint("notifications", __name__, url_prefix="/inbox")


@bp.app_template_global()
def delivery_status(note) -> list[str]:
    """How far `note` got by each channel, one sentence each ("已短信发送 10:02")."""
    # Several browsers with push on read alike ("推送已送达 10:02"): each sentence once.
    # The provider's raw error is for administrators; residents read a plain reason.
    detail = current_user.is_authenticated and current_user.has_role(Role.ADMINISTRATOR)
    return list(dict.fromkeys(describe(state, detail=detail) for state in states_of(note)))


@bp.route("")
@login_required
def inbox():
    notes = services.inbox(db.session, current_user.id, limit=100)
    return render_template("notifications/inbox.html", notes=notes)


@bp.route("/<int:notification_id>")
@login_required
def show(notification_id: int):
    note = services.read(db.session, current_user.id, notification_id)
    if note is None:
        abort(404)
    return render_template("notifications/show.html", note=note)


@bp.route("/read-all", methods=["POST"])
@login_required
def read_all():
    count = services.mark_all_read(db.session, current_user.id)
    flash(_("%(n)d messages marked as read.", n=count), "success")
    return redirect(url_for("notifications.inbox"))


# --- Notification settings and the e-mail address (/profile/...) ---------------------------
# A blueprint of its own: these pages belong with the profile, not under /inbox. Only the
# person themselves: a helper acting for a resident is refused (app.acting.own_only), since
# where someone's messages go is theirs alone to decide.

settings_bp = Blueprint("notification_settings", __name__, url_prefix="/profile")


def _address_settings() -> preferences.AddressSettings:
    return preferences.AddressSettings.from_config(current_app.config)


def _send_confirmation(user, address: str, token: str) -> bool:
    """Mail the link to `address` now, in the person's language (not through the outbox: the
    link is a secret for that mailbox only, so it must not sit in the inbox, where the
    outbox's messages live). False, with the reason flashed, when the server refused it."""
    link = settings_for(current_app).portal_url + url_for(
        "notification_settings.confirm_email", token=token
    )
    hours = int(_address_settings().confirm_hours)
    message = Outgoing(
        delivery_id=0,
        idempotency_key=new_key(),
        channel=Channel.EMAIL,
        address=address,
        kind=CONFIRM_KIND,
        locale=str(get_locale()),
        subject=_("Confirm your e-mail address"),
        body=_(
            "Open the link below within %(hours)d hours to get messages from the portal at "
            "this address. If you did not ask for this, ignore this e-mail.",
            hours=hours,
        ),
        url=link,
    )
    try:
        provider_of(current_app, Channel.EMAIL).deliver(message)
    except DeliveryError as refused:
        flash(
            _(
                "The link could not be sent to %(address)s (%(reason)s). Check the address, "
                "or send the link again later.",
                address=address,
                reason=str(refused),
            ),
            "error",
        )
        return False
    flash(
        _(
            "We sent a link to %(address)s. Open it within %(hours)d hours to confirm the address.",
            address=address,
            hours=hours,
        ),
        "success",
    )
    return True


def _where_messages_go(user) -> dict:
    """Each channel's address as the settings page shows it."""
    push_count = db.session.scalar(
        select(func.count(PushSubscription.id)).where(
            PushSubscription.user_id == user.id, PushSubscription.gone_at.is_(None)
        )
    )
    push_page = None
    if "notifications.push" in current_app.view_functions:  # Web Push's own page, if built
        push_page = url_for("notifications.push")
    return {
        "phone": mask_phone(user.phone) if user.phone_verified_at else None,
        "has_phone": bool(user.phone),
        "push_count": push_count or 0,
        "push_page": push_page,
        "mail_enabled": _address_settings().mail_enabled,
    }


@settings_bp.route("/notifications", methods=["GET", "POST"])
@login_required
def edit():
    user = own_only()
    shown = preferences.categories_for(user)
    form = NotificationSettingsForm()
    if request.method == "GET":
        for category, chosen in preferences.effective_channels(db.session, user).items():
            for channel, on in chosen.items():
                form.channel_field(category, channel).data = on
        form.quiet_hours.data = user.quiet_hours
        form.quiet_from.data = hhmm(user.quiet_from)
        form.quiet_until.data = hhmm(user.quiet_until)
    if form.validate_on_submit():
        try:
            preferences.save_settings(
                db.session,
                user,
                channels=form.chosen(shown),
                quiet_hours=form.quiet_hours.data,
                quiet_from=form.quiet_from.data,
                quiet_until=form.quiet_until.data,
            )
        except DomainError as error:
            add_error(form, error)
        else:
            flash(_("Your notification settings are saved."), "success")
            return redirect(url_for("notification_settings.edit"))
    return render_template(
        "notifications/settings.html",
        form=form,
        user=user,
        categories={category: CATEGORIES[category] for category in shown},
        # Named from kinds.py, not written into the page: the categories quiet hours skip.
        urgent=[_(CATEGORIES[category].label) for category in shown if CATEGORIES[category].urgent],
        channels=list(Channel),
        field_name=field_name,
        **_where_messages_go(user),
    )


@settings_bp.route("/email", methods=["GET", "POST"])
@login_required
def email():
    user = own_only()
    if not _address_settings().mail_enabled:
        raise DomainError(_l("This portal does not send e-mail."), code="mail_off")
    form = EmailForm(data={"email": user.email or ""} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            token = preferences.set_email(db.session, user, form.email.data, _address_settings())
        except DomainError as error:
            add_error(form, error)
        else:
            if token is not None:
                _send_confirmation(user, user.email, token)
            elif not user.email:
                flash(_("Your e-mail address is removed. Nothing more is e-mailed."), "success")
            return redirect(url_for("notification_settings.edit"))
    return render_template("notifications/email.html", form=form, user=user)


@settings_bp.route("/email/resend", methods=["POST"])
@login_required
def resend_email():
    user = own_only()
    token = preferences.resend_token(user, _address_settings())  # CSRF: app-wide (CSRFProtect)
    _send_confirmation(user, user.email, token)
    return redirect(url_for("notification_settings.edit"))


@settings_bp.route("/email/confirm/<token>")
@login_required
def confirm_email(token: str):
    user = own_only()
    try:
        address = preferences.confirm_email(db.session, user, token, _address_settings())
    except DomainError as error:
        return render_template("notifications/email_confirm.html", error=error, user=user), 400
    flash(
        _("%(address)s is confirmed. Messages you chose e-mail for go there.", address=address),
        "success",
    )
    return redirect(url_for("notification_settings.edit"))
