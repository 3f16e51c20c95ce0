"""The development outbox page (/dev/outbox): the text messages the portal would have sent,
newest first, codes in full, the notifications' SMS among them; a message that can be answered
(a repair alert) has a form to reply as its recipient would, handled exactly as the provider's
inbound webhook is (without the signature). It exists only while the development outbox is the
SMS provider (never in production, which refuses that provider): otherwise it is 404 like any
missing page."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l

from app import clock
from app.extensions import db
from app.notifications.models import Channel, Delivery
from app.sms.forms import ReplyForm
from app.sms.listing import all_sms
from app.sms.replies import reply_handlers
from app.sms.services import inbound
from app.sms.settings import dev_outbox_enabled, settings_for

bp = Blueprint("sms", __name__, url_prefix="/dev")

PAGE_SIZE = 100
STATUS_LABELS = {
    "queued": _l("Waiting"),
    "sending": _l("Being sent"),
    "sent": _l("Sent"),
    "failed": _l("Failed"),
    "stored": _l("Kept here, not sent"),
    "delivered": _l("Delivered"),
}
# %(ref)s: the reference of the report the outcome is about (inbound.answered_ref).
OUTCOMES = {
    inbound.ACKNOWLEDGED: _l("Reply received: report %(ref)s is acknowledged."),
    inbound.ALREADY_ACKNOWLEDGED: _l(
        "Reply received, but report %(ref)s was already acknowledged: nothing changed."
    ),
    inbound.IGNORED: _l("Reply received. Only 1 or 受理 acknowledges a report: nothing changed."),
    inbound.NO_ALERT: _l(
        "Reply received, but no alert still waiting for an answer went to this number "
        "recently: nothing changed."
    ),
    inbound.NOT_ALLOWED: _l(
        "Reply received, but this number's account may not acknowledge that report: "
        "nothing changed."
    ),
    inbound.CONFLICT: _l("Reply received, but the report changed meanwhile: nothing changed."),
}


def _enabled() -> None:
    if not dev_outbox_enabled(current_app.config):
        abort(404)


def _page(form: ReplyForm, replying_to: int | None = None):
    messages = all_sms(db.session, current_app, limit=PAGE_SIZE)
    repliable = set(reply_handlers(current_app))
    rows = [
        (item, STATUS_LABELS.get(item.status, item.status), item.kind in repliable)
        for item in messages
    ]
    return render_template(
        "sms/outbox.html", rows=rows, page_size=PAGE_SIZE, form=form, replying_to=replying_to
    )


@bp.route("/outbox")
def outbox():
    _enabled()
    return _page(ReplyForm())


@bp.post("/outbox/reply")
def reply():
    """Reply to a notification's SMS as its recipient: the same handling as the provider's
    inbound webhook (app/notifications/webhooks.py), a fresh provider id each time."""
    _enabled()
    form = ReplyForm()
    if not form.validate_on_submit():
        return _page(form, _delivery_id(form.delivery.data)), 200
    delivery = db.session.get(Delivery, _delivery_id(form.delivery.data) or 0)
    if delivery is None or delivery.channel != Channel.SMS:
        abort(404)
    row = inbound.receive(
        db.session,
        inbound.Inbound(
            phone=delivery.address,
            text=form.text.data,
            provider_message_id=f"dev-{uuid.uuid4()}",
            received_at=clock.now(),
        ),
        reply_handlers(current_app),
        settings_for(current_app).reply_window,
    )
    text = str(OUTCOMES[row.outcome]) % {"ref": inbound.answered_ref(db.session, row)}
    flash(text, "success" if row.outcome == inbound.ACKNOWLEDGED else "info")
    return redirect(url_for("sms.outbox"))


def _delivery_id(raw) -> int | None:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return value if 0 < value < 2**31 else None
