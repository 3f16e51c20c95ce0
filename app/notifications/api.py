from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from marshmallow import Schema, fields, pre_dump, validate

from app.accounts.models import Role
from app.api import SECURITY, ApiError, current_api_user, token_required
from app.extensions import db
from app.notifications import services
from app.notifications.status import plain, state_of
from app.urls import MAX_INT  # ids and offsets fit an INTEGER column

blp = Blueprint(
    "api_notifications",
    __name__,
    url_prefix="/api/v1/notifications",
    description="The in-app inbox (收件箱)",
)


class DeliveryStateSchema(Schema):
    channel = fields.String(required=True, metadata={"description": "sms, email or push"})
    status = fields.String(
        required=True,
        metadata={"description": "queued, sending, sent, stored, delivered or failed"},
    )
    at = fields.AwareDateTime(
        allow_none=True,
        metadata={"description": "when it got there; for a queued message, when it goes"},
    )
    reason = fields.String(
        allow_none=True,
        metadata={"description": "why it failed in plain words (raw for administrators)"},
    )
    quiet = fields.Boolean(
        required=True, metadata={"description": "queued until the person's quiet hours end"}
    )

    @pre_dump
    def _state(self, delivery, **_kwargs):
        # The same reading as the inbox page's: a provider's raw error for administrators only.
        state, user = state_of(delivery), current_api_user()
        return state if user is not None and user.has_role(Role.ADMINISTRATOR) else plain(state)


class NotificationSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    subject = fields.String(required=True, attribute="subject_text")
    body = fields.String(required=True, attribute="body_text")
    link = fields.String(allow_none=True)
    created_at = fields.AwareDateTime(required=True)
    read = fields.Boolean(required=True, attribute="is_read")
    deliveries = fields.List(
        fields.Nested(DeliveryStateSchema),
        required=True,
        metadata={"description": "How far the message got by SMS, e-mail and push"},
    )


class InboxQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_INT))


@blp.route("")
@blp.doc(security=SECURITY)
@blp.arguments(InboxQuerySchema, location="query")
@blp.response(200, NotificationSchema(many=True))
@token_required
def list_notifications(args):
    """Messages for the token's owner, newest first."""
    return services.inbox(
        db.session, current_api_user().id, limit=args["limit"], offset=args["offset"]
    )


@blp.route("/<int:notification_id>/read", methods=["POST"])
@blp.doc(security=SECURITY)
@blp.response(200, NotificationSchema)
@token_required
def mark_read(notification_id):
    """Mark one message read."""
    note = services.read(db.session, current_api_user().id, notification_id)
    if note is None:
        raise ApiError(404, "not_found", _l("No such message."))
    return note
