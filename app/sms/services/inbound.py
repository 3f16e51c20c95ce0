"""Text messages people send to the portal's number, and the carrier's delivery receipts.

Guarantees:
- `receive` keeps every inbound message (`InboundSms`) with what it did, once per provider
  message id: the same message delivered twice by the provider is recorded and acted on once.
- A reply "1" or "受理" (spaces trimmed, full-width digits read as digits) answers the newest
  alert sent by SMS to that number within the reply window whose matter is still open AND that
  the number's account may act on, as the package that sent the alert decides (a reply
  handler: repairs acknowledges the ticket). An alert the account may not act on (a
  company-wide escalation about another estate) never hides an older one it may. The handler
  runs in the same unit of work as the stored message: both happen, or neither. Anything else,
  or a reply no open alert matches, changes nothing; the outcome says why (the newest matter
  the account may act on that is already answered: ALREADY_ACKNOWLEDGED; otherwise an alert it
  may not act on: NOT_ALLOWED). `delivery_id` names the alert the outcome is about.
- `record_receipts` sets the deliveries a provider reports on (by provider and its message id)
  to delivered, with the time the phone got it, or failed with the carrier's reason.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app import clock
from app.accounts.models import User
from app.accounts.services import normalize_phone
from app.db import unit_of_work
from app.errors import DomainError
from app.notifications.models import Channel, Delivery, DeliveryStatus, InboundSms, Notification

YES = frozenset({"1", "受理"})
TEXT_LENGTH = 500  # the column's size
# The carrier stamps a reply with its own clock; ours records a message sent once the provider
# answered. A reply seconds after the alert may carry an earlier time than our record.
CLOCK_SKEW = timedelta(minutes=2)

# What an inbound message did (InboundSms.outcome).
ACKNOWLEDGED = "acknowledged"  # the handler acted on the alert it answered
IGNORED = "ignored"  # not a reply the portal understands ("1" or "受理")
NO_ALERT = "no_alert"  # no open alert was sent to this number within the window
NOT_ALLOWED = "not_allowed"  # the number's account may not act on the matter alerted
CONFLICT = "conflict"  # the matter changed while the reply was being handled
ALREADY_ACKNOWLEDGED = "already_acknowledged"  # the account's matter was answered before

# A reply handler: (session, notification answered, the number's account) -> an outcome:
# ACKNOWLEDGED when it acted; NOT_ALLOWED or ALREADY_ACKNOWLEDGED when it did not (the next
# older alert is tried); None when the alert's matter is gone (likewise).
ReplyHandler = Callable[[object, Notification, User], str | None]


@dataclass(frozen=True)
class Inbound:
    """One message as the provider reported it."""

    phone: str
    text: str
    provider_message_id: str
    received_at: datetime


def is_yes(text: str) -> bool:
    """Is `text` the reply that acknowledges: "1" or "受理", full-width or padded?"""
    return unicodedata.normalize("NFKC", text or "").strip() in YES


def receive(
    session, message: Inbound, handlers: Mapping[str, ReplyHandler], window: timedelta
) -> InboundSms:
    """Store `message` and act on it (see the module's guarantees). `handlers`: notification
    kind -> the reply handler of the package that sends that kind. Returns the stored row, the
    earlier one when the provider sent this message before."""
    known = _known(session, message.provider_message_id)
    if known is not None:
        return known
    try:
        with unit_of_work(session):
            row = _store(session, message)
            row.outcome = _act(session, row, message, handlers, window)
    except IntegrityError:  # the same message, stored a moment ago by a concurrent request
        return _known(session, message.provider_message_id)
    except DomainError:  # the ticket changed between the check and the action
        with unit_of_work(session):
            row = _store(session, message)
            row.outcome = CONFLICT
    return row


def _known(session, provider_message_id: str) -> InboundSms | None:
    return session.scalar(
        select(InboundSms).where(InboundSms.provider_message_id == provider_message_id)
    )


def _store(session, message: Inbound) -> InboundSms:
    try:
        phone = normalize_phone(message.phone)
    except DomainError:
        phone = (message.phone or "")[:20]  # kept as given: no alert went to it
    row = InboundSms(
        phone=phone,
        text=(message.text or "")[:TEXT_LENGTH],
        received_at=message.received_at,
        provider_message_id=message.provider_message_id,
        outcome=IGNORED,
    )
    session.add(row)
    session.flush()
    return row


def _act(session, row: InboundSms, message: Inbound, handlers, window: timedelta) -> str:
    if not is_yes(message.text):
        return IGNORED
    account = session.scalar(
        select(User).where(
            User.phone == row.phone, User.phone_verified_at.is_not(None), User.active.is_(True)
        )
    )
    # Newest first: the first alert the account may act on is answered. The others only
    # decide what a reply that acted on nothing is told (why nothing changed).
    passed: dict[str, int] = {}
    for delivery, notification in _alerts(session, row.phone, handlers, message, window):
        outcome = handlers[notification.kind](session, notification, account)
        if outcome in (NOT_ALLOWED, ALREADY_ACKNOWLEDGED):
            passed.setdefault(outcome, delivery.id)
        elif outcome is not None:
            row.delivery_id = delivery.id
            return outcome
    for outcome in (ALREADY_ACKNOWLEDGED, NOT_ALLOWED):
        if outcome in passed:
            row.delivery_id = passed[outcome]
            return outcome
    return NO_ALERT


def answered_ref(session, row: InboundSms) -> str:
    """The reference of the matter (a repair ticket) whose alert the reply's outcome is about,
    or "" when it answered none."""
    if row.delivery_id is None:
        return ""
    notification = session.scalar(
        select(Notification)
        .join(Delivery, Delivery.notification_id == Notification.id)
        .where(Delivery.id == row.delivery_id)
    )
    return str(((notification.params if notification else None) or {}).get("ref", ""))


def _alerts(session, phone: str, handlers, message: Inbound, window: timedelta):
    """The alerts sent by SMS to `phone` within `window` before the reply, newest first."""
    return session.execute(
        select(Delivery, Notification)
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(
            Delivery.channel == Channel.SMS,
            Delivery.address == phone,
            Delivery.sent_at.is_not(None),
            Delivery.sent_at >= message.received_at - window,
            Delivery.sent_at <= message.received_at + CLOCK_SKEW,
            Notification.kind.in_(list(handlers)),
        )
        .order_by(Delivery.sent_at.desc(), Delivery.id.desc())
        .limit(20)
    ).all()


@dataclass(frozen=True)
class Receipt:
    """A carrier's report on one message: reached the phone (at `at`), or failed (`reason`)."""

    provider_message_id: str
    delivered: bool
    at: datetime | None = None
    reason: str = ""


def record_receipts(session, provider: str, receipts: Iterable[Receipt]) -> int:
    """Record the carrier's receipts on the deliveries they name (one unit of work); returns
    how many deliveries they matched. A receipt for a message the portal does not know (a
    verification code, another system's message) changes nothing; a repeated one changes
    nothing more."""
    matched = 0
    with unit_of_work(session):
        for receipt in receipts:
            values = (
                {
                    "status": DeliveryStatus.DELIVERED,
                    "delivered_at": receipt.at or clock.now(),
                    "error": None,
                }
                if receipt.delivered
                else {"status": DeliveryStatus.FAILED, "error": receipt.reason[:1000] or "FAIL"}
            )
            result = session.execute(
                update(Delivery)
                .where(
                    Delivery.provider == provider,
                    Delivery.provider_message_id == receipt.provider_message_id,
                    Delivery.status.in_(
                        (DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)
                    ),
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            matched += result.rowcount
    return matched
