"""Every text message the portal sent or kept, for the development outbox page and
`flask --app wsgi messages list`: the gateway's own (verification codes) and the notifications
that went by SMS (the notifications outbox's deliveries), each with the text the phone shows,
newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.notifications.channels import DeliveryError
from app.notifications.dispatch import outgoing, outgoing_query
from app.notifications.models import Channel, Delivery
from app.notifications.settings import settings_for as delivery_settings_for
from app.sms.channel import SmsChannel
from app.sms.services import recent
from app.sms.settings import settings_for


@dataclass(frozen=True)
class Listed:
    """One message as listed: when, to which number, its kind, status value, text and error.
    `delivery_id` is set for a notification's SMS (the outbox page offers to reply to it)."""

    created_at: datetime
    phone: str
    kind: str
    status: str
    text: str
    error: str | None
    delivery_id: int | None = None


def notification_sms(session, app, *, phone: str | None = None, limit: int = 100) -> list[Listed]:
    """The newest notifications sent (or waiting to be sent) by SMS, with their text as the
    SMS channel renders it in the recipient's language."""
    query = (
        outgoing_query(Delivery.status, Delivery.error, Delivery.created_at)
        .where(Delivery.channel == Channel.SMS)
        .order_by(Delivery.created_at.desc(), Delivery.id.desc())
        .limit(limit)
    )
    if phone:
        query = query.where(Delivery.address == phone)
    channel = SmsChannel(settings_for(app))
    settings = delivery_settings_for(app)
    listed = []
    for row in session.execute(query):
        # The text exactly as the dispatcher would send it (same translation, same template).
        try:
            text = channel.text_of(outgoing(row, settings))
        except DeliveryError as error:  # a template that needs what the message lacks
            text = str(error)
        listed.append(
            Listed(
                row.created_at,
                row.address,
                row.kind,
                row.status.value,
                text,
                row.error,
                row.id,
            )
        )
    return listed


def all_sms(session, app, *, phone: str | None = None, limit: int = 100) -> list[Listed]:
    """The gateway's messages and the notifications' SMS together, newest first."""
    settings = settings_for(app)
    own = [
        Listed(
            message.created_at,
            message.phone,
            message.kind,
            message.status.value,
            settings.text_of(message.kind, message.params),
            message.error,
        )
        for message in recent(session, phone=phone, limit=limit)
    ]
    merged = own + notification_sms(session, app, phone=phone, limit=limit)
    merged.sort(key=lambda item: item.created_at, reverse=True)
    return merged[:limit]
