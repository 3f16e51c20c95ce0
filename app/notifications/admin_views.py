"""Administrators' view of the outbox (/admin/deliveries): the dead letters (messages the
dispatcher gave up on) with their last error, "try again" for each, and how many messages of
the last 24 hours are in each status."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.accounts.models import Role
from app.audit.services import record_access
from app.auth import require_role
from app.errors import Conflict
from app.extensions import db
from app.notifications import deadletters
from app.notifications.email import CONFIRM_KIND
from app.notifications.kinds import CATEGORIES, category_of
from app.notifications.models import Channel, DeliveryStatus
from app.urls import int_arg

bp = Blueprint("deliveries_admin", __name__, url_prefix="/admin/deliveries")

CHANNEL_LABELS = {
    Channel.SMS: _l("SMS"),
    Channel.EMAIL: _l("E-mail"),
    Channel.PUSH: _l("Push"),
}

STATUS_LABELS = {
    DeliveryStatus.QUEUED: _l("Waiting to be sent"),
    DeliveryStatus.SENDING: _l("Being sent"),
    DeliveryStatus.SENT: _l("Sent"),
    DeliveryStatus.STORED: _l("Kept in the development outbox"),
    DeliveryStatus.DELIVERED: _l("Delivered"),
    DeliveryStatus.FAILED: _l("Failed"),
}


# Kinds outside the settings' categories that still go out by a channel.
OTHER_KINDS = {CONFIRM_KIND: _l("E-mail address confirmation")}


def kind_label(kind: str) -> str:
    """A message kind as an administrator reads it: its category's label on the settings page
    ("候补名额"), else a label of its own, else the kind's code."""
    category = category_of(kind)
    if category is not None:
        return _(CATEGORIES[category].label)
    return str(OTHER_KINDS.get(kind, kind))


def _channel(value: str | None) -> Channel | None:
    try:
        return Channel(value) if value else None
    except ValueError:
        return None


def _installation_administrator() -> None:
    """Everyone's undelivered messages are the installation's, not a district's: a district
    administrator (issue 15) is refused."""
    if not current_user.holds_everywhere(Role.ADMINISTRATOR):
        abort(403)


@bp.route("")
@require_role(Role.ADMINISTRATOR)
def dead_letters():
    _installation_administrator()
    channel = _channel(request.args.get("channel"))
    page = max(int_arg(request.args, "page", 1) or 1, 1)
    rows = deadletters.dead_letters(db.session, channel=channel, page=page)
    counts = deadletters.status_counts(db.session)
    # Masked numbers and addresses, still whose messages failed: the reading is on the record.
    record_access(
        db.session,
        current_user,
        "deliveries.dead_letters_viewed",
        None,
        channel=str(channel or ""),
        shown=len(rows),
    )
    return render_template(
        "notifications/admin_deliveries.html",
        rows=rows,
        counts=counts,
        channel=channel,
        channels=CHANNEL_LABELS,
        statuses=STATUS_LABELS,
        kind_label=kind_label,
        page=page,
        page_size=deadletters.PAGE_SIZE,
    )


@bp.route("/retry", methods=["POST"])
@require_role(Role.ADMINISTRATOR)
def retry():
    _installation_administrator()
    delivery_id = int_arg(request.form, "delivery_id")
    if delivery_id is None:
        abort(400)
    back = url_for(
        "deliveries_admin.dead_letters", channel=_channel(request.form.get("channel")) or None
    )
    try:
        deadletters.retry(db.session, current_user, delivery_id)
    except Conflict as error:
        flash(str(error), "error")
    else:
        flash(
            _("Message %(id)d is queued again; the dispatcher sends it shortly.", id=delivery_id),
            "success",
        )
    return redirect(back)


def init_app(app) -> None:
    from app.registry import Link, register_workspace_links

    app.register_blueprint(bp)
    register_workspace_links(
        app,
        Role.ADMINISTRATOR,
        lambda user, assignment: (
            [Link(_l("Messages not delivered"), url_for("deliveries_admin.dead_letters"))]
            if assignment.scope_kind is None
            else []
        ),
    )
