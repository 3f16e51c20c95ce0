"""Sending text messages: a row in the sender's unit of work, delivered once that unit commits.

Guarantees:
- `send` writes the message in the caller's unit of work (or a unit of its own): a message
  exists if and only if the action that sent it committed, and only then is it delivered.
- `deliver` hands one queued message to the provider at most once: it claims the row with a
  guarded update (queued -> sending) in a unit of its own, calls the provider outside any
  transaction (no database lock is held while a carrier answers), and records the answer
  (sent, stored or failed with the error) in another unit. A process that dies in between
  leaves the row "sending" with its `claimed_at`, for a dispatcher to retry.
- Once a real provider has taken a message, the verification code in it is blanked out of the
  row: the database never holds a code that was sent, only its digest. The development outbox
  keeps codes in full (that is what it is for).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import delete, select, update

from app.accounts.services import normalize_phone
from app.db import in_unit_of_work, unit_of_work, utcnow
from app.notifications.models import InboundSms
from app.sms.models import SmsMessage, SmsStatus, VerificationCode
from app.sms.providers import Outgoing, SmsDeliveryError, provider_for
from app.sms.settings import SmsSettings

log = logging.getLogger(__name__)

ERROR_LENGTH = 1000  # characters of a provider's error kept on the row
SECRET_PARAMS = frozenset({"code"})  # template parameters blanked once really sent
BLANKED = "******"
CODE_RETENTION = timedelta(days=1)  # verification codes kept, then deleted by `purge`


def send(session, phone: str, kind: str, params: dict, settings: SmsSettings) -> SmsMessage:
    """Queue the message `kind` (a key of SMS_TEMPLATES) to `phone` with `params` (a value for
    each of the template's parameter names; others are ignored) in the caller's unit of work,
    or in a unit of its own, and deliver it after that unit commits. A rolled-back unit sends
    nothing. Raises DomainError for a number that is not a mainland mobile number, ValueError
    for an unknown kind or a missing parameter (mistakes in code, not in input)."""
    template = settings.template(kind)
    missing = [name for name in template.params if name not in params]
    if missing:
        raise ValueError(f"SMS kind {kind!r} needs the parameters {missing}")
    phone = normalize_phone(phone)
    with unit_of_work(session) as unit:
        message = SmsMessage(
            phone=phone,
            kind=kind,
            template_id=template.template_id,
            params=[str(params[name]) for name in template.params],
            provider=settings.provider,
            status=SmsStatus.QUEUED,
            attempts=0,
            created_at=utcnow(),
        )
        session.add(message)
        session.flush()
        message_id = message.id
        unit.after_commit(lambda: deliver(session, message_id, settings))
    return message


def deliver(session, message_id: int, settings: SmsSettings) -> SmsStatus | None:
    """Deliver one queued message through the configured provider and record the outcome.
    Returns the message's new status, or None when it was not queued (already delivered, or
    claimed by another deliverer). Never raises for the provider's failure: that is recorded
    on the row (status failed, `error`) and logged. Runs outside any unit of work."""
    if in_unit_of_work(session):
        raise RuntimeError("deliver() calls the provider: run it after the unit of work")
    provider = provider_for(settings)
    with unit_of_work(session):
        now = utcnow()
        claimed = session.execute(
            update(SmsMessage)
            .where(SmsMessage.id == message_id, SmsMessage.status == SmsStatus.QUEUED)
            .values(
                status=SmsStatus.SENDING,
                attempts=SmsMessage.attempts + 1,
                claimed_at=now,
                provider=provider.name,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            return None
        row = session.execute(
            select(
                SmsMessage.phone, SmsMessage.kind, SmsMessage.template_id, SmsMessage.params
            ).where(SmsMessage.id == message_id)
        ).one()
    outgoing = Outgoing(message_id, row.phone, row.kind, row.template_id, tuple(row.params))
    try:
        provider_id, status, error = provider.deliver(outgoing), provider.delivered_status, None
    except SmsDeliveryError as refused:
        provider_id, status, error = None, SmsStatus.FAILED, str(refused)
        log.warning("SMS %s to %s failed: %s", message_id, row.phone[:3] + "****", error)
    except Exception as failure:  # a fault in the provider's code: kept on the row, not lost
        provider_id, status, error = None, SmsStatus.FAILED, f"{type(failure).__name__}: {failure}"
        log.exception("SMS %s: provider %s failed", message_id, provider.name)
    values = {
        "status": status,
        "provider_message_id": provider_id,
        "error": error[:ERROR_LENGTH] if error else None,
        "sent_at": utcnow() if status != SmsStatus.FAILED else None,
    }
    if status == SmsStatus.SENT:
        values["params"] = _blanked(settings, row.kind, row.params)
    with unit_of_work(session):
        session.execute(
            update(SmsMessage)
            .where(SmsMessage.id == message_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    return status


def _blanked(settings: SmsSettings, kind: str, params: list) -> list:
    try:
        names = settings.template(kind).params
    except ValueError:  # a kind since removed from SMS_TEMPLATES: blank every parameter
        return [BLANKED for _ in params]
    return [
        BLANKED if name in SECRET_PARAMS else value
        for name, value in zip(names, params, strict=False)
    ]


def recent(session, *, phone: str | None = None, limit: int = 100) -> list[SmsMessage]:
    """The newest messages first (only those to `phone`, already normalised, when given)."""
    query = select(SmsMessage).order_by(SmsMessage.created_at.desc(), SmsMessage.id.desc())
    if phone:
        query = query.where(SmsMessage.phone == phone)
    return list(session.scalars(query.limit(limit)))


def purge(session, settings: SmsSettings) -> dict[str, int]:
    """Delete what the gateway no longer needs (run by `flask sweep`; idempotent, safe on
    several nodes): verification codes a day after they were made (they count for the limits
    for an hour and work for minutes), and messages SMS_RETENTION_DAYS after they were made
    (a phone number and what was sent to it are personal data, kept only to answer "did my
    code go out?")."""
    now = utcnow()
    with unit_of_work(session):
        codes = session.execute(
            delete(VerificationCode).where(VerificationCode.created_at < now - CODE_RETENTION)
        ).rowcount
        messages = session.execute(
            delete(SmsMessage).where(SmsMessage.created_at < now - settings.message_retention)
        ).rowcount
        # Replies (a number and what it said) are kept as long as the messages they answer.
        replies = session.execute(
            delete(InboundSms).where(InboundSms.received_at < now - settings.message_retention)
        ).rowcount
    return {
        "sms codes deleted": codes,
        "sms messages deleted": messages,
        "sms replies deleted": replies,
    }
