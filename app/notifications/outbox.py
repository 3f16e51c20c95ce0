"""The outbox's machinery, shared by both kinds of row it holds:

- `Delivery` (models.py): a message to a person (SMS, e-mail, push), tied to an inbox
  notification and its user;
- `SystemMessage` (here): a message from the portal to another system (the city parking
  platform's status push, parking/citypush.py), tied to nobody: a kind, what it is about, a
  JSON payload.

Both are written in the unit of work that made the change they report (so a change that rolled
back sends nothing and one that committed loses nothing) and are sent by the same dispatcher
(`flask --app wsgi deliver`, dispatch.py) with the same claim, lease, retry and idempotency
rules, which live here once: claim due rows with `FOR UPDATE SKIP LOCKED` (a guarded UPDATE on
SQLite), queue again rows whose dispatcher died after the lease, back off exponentially after a
failure, fail for good after `max_attempts`; the row's idempotency key goes with every attempt.

Why a second table rather than a generalised Delivery: a delivery's columns (the user, the
notification, the channel's address, per-person preferences and quiet hours, push
subscriptions) mean nothing for a system message, and the personal-data export, account
deletion and dead-letter pages read deliveries as a person's; making those columns nullable
would weaken every one of those reads. The rules that must not drift (claim, lease, retry) are
functions over either table.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String, Text, bindparam, select, update
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.db import UTCDateTime, connection_of, str_enum, unit_of_work, utcnow
from app.extensions import db
from app.notifications.channels import DeliveryError
from app.notifications.models import DeliveryStatus, new_key

log = logging.getLogger(__name__)

ERROR_LENGTH = 1000  # characters of a failure kept on the row


class SystemMessage(db.Model):
    """One message from the portal to another system, on its way: the outbox row."""

    __tablename__ = "system_message"
    __table_args__ = (
        Index("ix_system_message_due", "status", "next_attempt_at"),
        # The newest message of a kind about one thing (citypush: the last status sent).
        Index("ix_system_message_subject", "kind", "subject", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(48))  # which sender takes it ("city_parking")
    subject: Mapped[str] = mapped_column(String(64))  # what it is about ("carpark:12")
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus, 16), default=DeliveryStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    # Sent with every attempt (an Idempotency-Key header): a retry is not a second message.
    idempotency_key: Mapped[str] = mapped_column(String(36), unique=True, default=new_key)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- the rules both tables share ---------------------------------------------------------------


def requeue_abandoned(session, model, lease, now) -> int:
    """Queue again `model`'s rows claimed longer ago than `lease` (their dispatcher died)."""
    with unit_of_work(session):
        return session.execute(
            update(model)
            .where(model.status == DeliveryStatus.SENDING, model.claimed_at < now - lease)
            .values(status=DeliveryStatus.QUEUED, next_attempt_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount


def claim_due(session, model, worker: str, batch: int, now) -> list[int]:
    """Inside a unit of work: mark up to `batch` due rows of `model` as sent by `worker` (one
    guarded UPDATE over a `SKIP LOCKED` selection, so dispatchers take disjoint rows) and
    count the attempt; their ids."""
    due = (
        select(model.id)
        .where(model.status == DeliveryStatus.QUEUED, model.next_attempt_at <= now)
        .order_by(model.next_attempt_at, model.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return session.scalars(
        update(model)
        .where(model.id.in_(due), model.status == DeliveryStatus.QUEUED)
        .values(
            status=DeliveryStatus.SENDING,
            claimed_at=now,
            claimed_by=worker,
            attempts=model.attempts + 1,
        )
        .returning(model.id)
        .execution_options(synchronize_session=False)
    ).all()


def after_attempt(settings, status: DeliveryStatus, retry: bool, attempts: int, now):
    """(status, next attempt time) of a row after an attempt that ended in `status`: a
    failure that may be retried is queued again after the backoff (with jitter, so rows that
    failed together do not retry together) until `settings.max_attempts`."""
    if retry and attempts < settings.max_attempts:
        jitter = random.uniform(0.9, 1.1)  # noqa: S311  # nosec B311  # spreads retries; not a secret
        return DeliveryStatus.QUEUED, now + settings.retry_delay(attempts) * jitter
    return status, now


# --- system messages ---------------------------------------------------------------------------


def enqueue(session, kind: str, subject: str, payload: dict) -> SystemMessage:
    """Add a system message to the outbox inside the caller's unit of work (it is sent only if
    that unit commits)."""
    message = SystemMessage(kind=kind, subject=subject, payload=payload)
    session.add(message)
    return message


@dataclass(frozen=True)
class Outgoing:
    id: int
    kind: str
    payload: dict
    idempotency_key: str
    attempt: int


# kind -> factory(app) -> send(Outgoing) (raises DeliveryError when not taken)
Sender = Callable[[Outgoing], None]


def register_sender(app, kind: str, factory: Callable[..., Sender]) -> None:
    """Make `factory(app)` the sender of system messages of `kind` (a package's init_app)."""
    app.extensions.setdefault("system_senders", {})[kind] = factory


def _sender(app, kind: str) -> Sender | None:
    factories = app.extensions.get("system_senders", {})
    if kind not in factories:
        return None
    built = app.extensions.setdefault("system_senders_built", {})
    if kind not in built:
        built[kind] = factories[kind](app)
    return built[kind]


_RECORD = (
    update(SystemMessage.__table__)
    .where(
        SystemMessage.__table__.c.id == bindparam("b_id"),
        SystemMessage.__table__.c.status == DeliveryStatus.SENDING.value,
        SystemMessage.__table__.c.claimed_by == bindparam("b_worker"),
    )
    .values(
        status=bindparam("b_status"),
        error=bindparam("b_error"),
        sent_at=bindparam("b_sent_at"),
        next_attempt_at=bindparam("b_next"),
    )
)


def _send(app, message: Outgoing) -> tuple[DeliveryStatus, bool, str | None]:
    """(status, retry?, error) of one attempt; never raises."""
    sender = _sender(app, message.kind)
    if sender is None:
        return DeliveryStatus.FAILED, False, f"no sender for {message.kind}"
    try:
        with app.app_context():
            sender(message)
    except DeliveryError as refused:
        log.warning("system message %s (%s) failed: %s", message.id, message.kind, refused)
        return DeliveryStatus.FAILED, not refused.permanent, str(refused)
    except Exception as fault:  # a fault in the sender's code: recorded, retried, not lost
        log.exception("system message %s: sender %s failed", message.id, message.kind)
        return DeliveryStatus.FAILED, True, f"{type(fault).__name__}: {fault}"
    return DeliveryStatus.SENT, False, None


def deliver_due(app, session, pool, worker: str, settings, now) -> dict[str, int]:
    """One dispatcher round over system messages: requeue abandoned ones, claim what is due,
    send it in `pool` outside any transaction, record every answer in one unit of work."""
    requeue_abandoned(session, SystemMessage, settings.lease, now)
    with unit_of_work(session):
        ids = claim_due(session, SystemMessage, worker, settings.batch, now)
        rows = (
            session.execute(
                select(
                    SystemMessage.id,
                    SystemMessage.kind,
                    SystemMessage.payload,
                    SystemMessage.idempotency_key,
                    SystemMessage.attempts,
                ).where(SystemMessage.id.in_(ids))
            ).all()
            if ids
            else []
        )
    if not rows:
        return {}
    messages = [Outgoing(r.id, r.kind, r.payload, r.idempotency_key, r.attempts) for r in rows]
    results = list(pool.map(lambda message: _send(app, message), messages))
    done = clock.now()
    counts: dict[str, int] = {}
    records = []
    for message, (status, retry, error) in zip(messages, results, strict=True):
        final, next_at = after_attempt(settings, status, retry, message.attempt, done)
        key = "system retrying" if final == DeliveryStatus.QUEUED else f"system {final}"
        counts[key] = counts.get(key, 0) + 1
        records.append(
            {
                "b_id": message.id,
                "b_worker": worker,
                "b_status": final.value,
                "b_error": error[:ERROR_LENGTH] if error else None,
                "b_sent_at": done if final == DeliveryStatus.SENT else None,
                "b_next": next_at,
            }
        )
    with unit_of_work(session):
        connection_of(session).execute(_RECORD, records)
    return counts
