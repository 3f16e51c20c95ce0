"""The alerts sent to staff about a ticket (a new report, the deadline near, escalations) and
how far each got by each channel, for the ticket page's staff view: read from the deliveries
of the notifications whose link is the ticket's page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.accounts.models import User
from app.notifications.models import Delivery, Notification
from repairs.models import Ticket
from repairs.services.sms_reply import REPLY_KINDS


@dataclass(frozen=True)
class AlertLine:
    """One alert to one person by one channel (channel None: it stayed in the inbox)."""

    kind: str
    created_at: datetime
    recipient: str  # the person's name
    channel: str | None
    status: str | None
    at: datetime | None  # when it reached the status (sent, delivered) or is due
    address: str | None
    error: str | None


def alert_lines(session, ticket: Ticket) -> list[AlertLine]:
    """Every staff alert about `ticket`, oldest first, one line per channel it went by (or one
    for an alert that stayed in the inbox). One query; only notifications written since the
    ticket was filed are read (the index on their time)."""
    rows = session.execute(
        select(Notification.kind, Notification.created_at, User.name, Delivery)
        .join(User, User.id == Notification.user_id)
        .outerjoin(Delivery, Delivery.notification_id == Notification.id)
        .where(
            Notification.created_at >= ticket.submitted_at,
            Notification.link == f"/repairs/tickets/{ticket.reference}",
            Notification.kind.in_(REPLY_KINDS),
        )
        .order_by(Notification.created_at, Notification.id, Delivery.id)
    ).all()
    return [
        AlertLine(
            kind=kind,
            created_at=created_at,
            recipient=name or "",
            channel=delivery.channel.value if delivery else None,
            status=delivery.status.value if delivery else None,
            at=_at(delivery) if delivery else None,
            address=delivery.address if delivery else None,
            error=delivery.error if delivery else None,
        )
        for kind, created_at, name, delivery in rows
    ]


def _at(delivery: Delivery) -> datetime | None:
    if delivery.delivered_at is not None:
        return delivery.delivered_at
    return delivery.sent_at or delivery.next_attempt_at
