from __future__ import annotations

import enum
import uuid
from datetime import datetime

from flask_babel import gettext
from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import UTCDateTime, str_enum, utcnow
from app.extensions import db
from app.notifications.params import render_params


def new_key() -> str:
    return str(uuid.uuid4())


class Notification(db.Model):
    """One message in a person's inbox.

    Subject and body are stored as message ids with parameters and translated when read, so a
    person who switches language reads their whole inbox in the new one.
    """

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(48))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text, default="")
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    link: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Its way out by SMS, e-mail and push (empty for a message that stays in the inbox).
    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="notification", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    def _render(self, message: str) -> str:
        if not message:
            return ""
        return gettext(message, **render_params(self.params))

    @property
    def subject_text(self) -> str:
        return self._render(self.subject)

    @property
    def body_text(self) -> str:
        return self._render(self.body)


class Channel(enum.StrEnum):
    """Where a message goes besides the inbox, which always keeps it."""

    SMS = "sms"
    EMAIL = "email"
    PUSH = "push"


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting for its unit to commit, its time (quiet hours), or a retry
    SENDING = "sending"  # claimed by one dispatcher; the provider is being called
    SENT = "sent"  # the provider took it
    STORED = "stored"  # the development outbox kept it: nothing left the machine
    DELIVERED = "delivered"  # the provider reported it reached the phone, mailbox or browser
    FAILED = "failed"  # given up (a dead letter): the provider refused it, or too many tries


class Delivery(db.Model):
    """One message on its way to a person through one channel: the transactional outbox.

    Written in the same unit of work as the inbox message (`notify`), so a change that rolled
    back sends nothing and one that committed loses nothing. `flask --app wsgi deliver`
    (app/notifications/dispatch.py) claims due rows, calls the channel's provider outside any
    transaction and records the answer; a row claimed by a dispatcher that died is taken again
    after the lease, with the same idempotency key.
    """

    __tablename__ = "notification_delivery"
    __table_args__ = (
        Index("ix_notification_delivery_due", "status", "next_attempt_at"),
        Index("ix_notification_delivery_provider_id", "provider", "provider_message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notification.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 8))
    # The phone number, e-mail address or push subscription (its id) at the time of writing.
    address: Mapped[str] = mapped_column(String(320))
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus, 16), default=DeliveryStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    # Sent with every attempt, so a provider that honours it never sends twice.
    idempotency_key: Mapped[str] = mapped_column(String(36), unique=True, default=new_key)
    provider: Mapped[str | None] = mapped_column(String(24))
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)  # the last attempt's failure
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    notification: Mapped[Notification] = relationship(back_populates="deliveries")


class NotificationPreference(db.Model):
    """A person's own choice of channels for one category of messages; without a row the
    defaults apply (app/notifications/kinds.py). The inbox always keeps every message."""

    __tablename__ = "notification_preference"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    sms: Mapped[bool] = mapped_column(Boolean, default=False)
    email: Mapped[bool] = mapped_column(Boolean, default=False)
    push: Mapped[bool] = mapped_column(Boolean, default=False)


class PushSubscription(db.Model):
    """A browser (the installed web app) that accepted notifications: its push service's
    endpoint and the keys a message to it is encrypted with (RFC 8291)."""

    __tablename__ = "push_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    endpoint: Mapped[str] = mapped_column(Text, unique=True)
    p256dh: Mapped[str] = mapped_column(String(128))  # the browser's public key, base64url
    auth: Mapped[str] = mapped_column(String(64))  # the authentication secret, base64url
    label: Mapped[str] = mapped_column(String(128), default="")  # browser and system
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the push service answered 404/410: the browser dropped the subscription.
    gone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InboundSms(db.Model):
    """A text message a person sent to the portal's number (the provider's inbound webhook),
    kept with what it did: a manager's `1` / `受理` answering a repair alert acknowledges that
    ticket; anything else changes nothing."""

    __tablename__ = "sms_inbound"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    text: Mapped[str] = mapped_column(String(500))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    provider_message_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    # The alert it answered (None: no alert to this number it could answer).
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification_delivery.id", ondelete="SET NULL")
    )
    outcome: Mapped[str] = mapped_column(String(32), default="ignored")
