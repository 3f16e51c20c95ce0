"""The development outbox page (/dev/outbox): the text messages the portal would have sent,
newest first, codes in full. It exists only while the development outbox is the SMS provider
(never in production, which refuses that provider): otherwise it is 404 like any missing page."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.sms.models import SmsStatus
from app.sms.services import recent
from app.sms.settings import dev_outbox_enabled, settings_for

bp = Blueprint("sms", __name__, url_prefix="/dev")

PAGE_SIZE = 100
STATUS_LABELS = {
    SmsStatus.QUEUED: _l("Waiting"),
    SmsStatus.SENDING: _l("Being sent"),
    SmsStatus.SENT: _l("Sent"),
    SmsStatus.FAILED: _l("Failed"),
    SmsStatus.STORED: _l("Kept here, not sent"),
}


@bp.route("/outbox")
def outbox():
    if not dev_outbox_enabled(current_app.config):
        abort(404)
    settings = settings_for(current_app)
    messages = recent(db.session, limit=PAGE_SIZE)
    rows = [
        (message, settings.text_of(message.kind, message.params), STATUS_LABELS[message.status])
        for message in messages
    ]
    return render_template("sms/outbox.html", rows=rows, page_size=PAGE_SIZE)
