"""The SMS gateway's tables: the outbox of text messages and the verification codes sent by SMS.

An `SmsMessage` is written in the unit of work of the action that sends it and delivered after
that unit commits (a rolled-back action sends nothing). A `VerificationCode` keeps only a keyed
digest of its code: reading the table never tells anyone a code that still works.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import UTCDateTime, str_enum, utcnow
from app.extensions import db


class SmsStatus(enum.StrEnum):
    QUEUED = "queued"  # written, waiting for its unit to commit or for the dispatcher
    SENDING = "sending"  # claimed by one deliverer (never two), provider called
    SENT = "sent"  # a real provider accepted it
    FAILED = "failed"  # the provider refused it or could not be reached; `error` says why
    STORED = "stored"  # the development outbox kept it: nothing left the machine


class CodePurpose(enum.StrEnum):
    """What a verification code unlocks; a code for one purpose never works for another."""

    REGISTER = "register"
    SIGNIN = "signin"
    RESET = "reset"  # a forgotten password
    CHANGE_PHONE = "change_phone"  # confirms the new number
    SECOND_FACTOR = "second_factor"  # staff sign-in after the password


class SmsMessage(db.Model):
    """One text message to one mobile number: a pre-approved template and its parameters, in
    the template's order, as the provider receives them."""

    __tablename__ = "sms_message"
    __table_args__ = (
        Index("ix_sms_message_phone_created", "phone", "created_at"),
        Index("ix_sms_message_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))  # 11 mainland digits, no +86
    kind: Mapped[str] = mapped_column(String(48))  # a key of SMS_TEMPLATES
    template_id: Mapped[str] = mapped_column(String(64))
    params: Mapped[list] = mapped_column(JSON, default=list)  # strings, the template's order
    provider: Mapped[str] = mapped_column(String(24))
    status: Mapped[SmsStatus] = mapped_column(str_enum(SmsStatus, 16), default=SmsStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class VerificationCode(db.Model):
    """A 6-digit code sent to `phone` for `purpose`. Only its HMAC is stored. It works once,
    until `expires_at`, within `tries` attempts; the newest code for a number and purpose
    replaces the ones before it. The rows are also the rate limit's counters."""

    __tablename__ = "sms_verification_code"
    __table_args__ = (
        CheckConstraint("tries >= 0", name="tries_nonnegative"),
        Index("ix_sms_verification_code_phone_created", "phone", "created_at"),
        Index("ix_sms_verification_code_address_created", "address", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[CodePurpose] = mapped_column(str_enum(CodePurpose, 24))
    digest: Mapped[str] = mapped_column(String(64))  # hex HMAC-SHA256, never the code
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    address: Mapped[str] = mapped_column(String(64))  # the client address that asked for it
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("sms_message.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
