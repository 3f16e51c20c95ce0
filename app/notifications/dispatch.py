"""The dispatcher: `flask --app wsgi deliver` sends what the outbox holds.

Each round, in three short units of work with no transaction open while a provider answers:
1. **Claim** up to `batch` due rows: one `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP
   LOCKED) RETURNING` on PostgreSQL, so dispatchers on several nodes take disjoint rows
   without waiting for each other; on SQLite the same statement runs under the write lock
   every unit takes (`BEGIN IMMEDIATE`) and the guard `status = 'queued'` in the UPDATE. A
   claimed row is "sending", with the dispatcher's name and the time.
2. **Send** each claimed message through its channel's provider (threads, paced per channel
   by a token bucket), with the row's idempotency key.
3. **Record** every answer in one statement, guarded by `status = 'sending' AND claimed_by =
   this dispatcher`: sent (or stored), failed for good, or queued again after an exponential
   backoff; after `max_attempts` tries a row fails for good and is listed to administrators
   as a dead letter.

A dispatcher killed between 1 and 3 leaves its rows "sending"; after the lease any dispatcher
queues them again (same idempotency key, so a provider that honours keys sends once).

Each round then does the same for the messages to other systems (outbox.SystemMessage: the
city parking push), with the same claim, lease and retry code (app/notifications/outbox.py).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from flask_babel import force_locale, gettext
from sqlalchemy import bindparam, select, update

from app import clock
from app.accounts.models import User
from app.db import connection_of, unit_of_work
from app.notifications import outbox
from app.notifications.channels import DeliveryError, Outgoing, provider_of
from app.notifications.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    PushSubscription,
)
from app.notifications.params import render_params
from app.notifications.settings import DeliverySettings, settings_for

log = logging.getLogger(__name__)

ERROR_LENGTH = 1000  # characters of a provider's error kept on the row
_table = Delivery.__table__


def worker_name() -> str:
    """This dispatcher's name on the rows it claims: host, process and a random tail."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class TokenBucket:
    """Pace calls to at most `rate` per second (bursts of up to one second's worth): a
    dispatcher's share of a provider's limit. Thread-safe; `take` sleeps until a call may go."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(rate, 1.0)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> None:
        if self.rate <= 0:
            return
        while True:
            with self.lock:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                wait = (1 - self.tokens) / self.rate
            time.sleep(wait)


@dataclass(frozen=True)
class Result:
    delivery_id: int
    channel: Channel
    address: str
    attempts: int
    provider: str | None
    status: DeliveryStatus
    provider_message_id: str | None = None
    error: str | None = None
    address_gone: bool = False
    retry: bool = False


def requeue_abandoned(session, settings: DeliverySettings, now) -> int:
    """Queue again the rows claimed longer ago than the lease (their dispatcher died)."""
    return outbox.requeue_abandoned(session, Delivery, settings.lease, now)


def claim(session, worker: str, settings: DeliverySettings, now) -> list[Outgoing]:
    """Take up to `settings.batch` due rows for `worker` and read what sending them needs."""
    with unit_of_work(session):
        ids = outbox.claim_due(session, Delivery, worker, settings.batch, now)
        if not ids:
            return []
        rows = session.execute(
            outgoing_query().where(Delivery.id.in_(ids)).order_by(Delivery.id)
        ).all()
        targets = _push_targets(session, rows)
    return [outgoing(row, settings, targets.get(row.id, {})) for row in rows]


def outgoing_query(*extra):
    """The rows `outgoing` makes messages of (with `extra` columns): what the claim reads, and
    what the development outbox lists SMS with (app/sms/listing.py), so it shows the text the
    dispatcher sends."""
    return (
        select(
            Delivery.id,
            Delivery.idempotency_key,
            Delivery.channel,
            Delivery.address,
            Delivery.attempts,
            Notification.kind,
            Notification.subject,
            Notification.body,
            Notification.params,
            Notification.link,
            User.locale,
            *extra,
        )
        .join(Notification, Notification.id == Delivery.notification_id)
        .join(User, User.id == Delivery.user_id)
    )


def _push_targets(session, rows) -> dict[int, dict]:
    """Delivery id -> the live push subscription (endpoint and keys) its address names: one
    statement for the whole batch, so the push provider does no database work."""
    wanted = {
        row.id: int(row.address)
        for row in rows
        if row.channel == Channel.PUSH and row.address.isdigit()
    }
    if not wanted:
        return {}
    found = {
        sub.id: {"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}}
        for sub in session.execute(
            select(
                PushSubscription.id,
                PushSubscription.endpoint,
                PushSubscription.p256dh,
                PushSubscription.auth,
            ).where(
                PushSubscription.id.in_(set(wanted.values())),
                PushSubscription.gone_at.is_(None),
            )
        )
    }
    return {delivery: found[sub] for delivery, sub in wanted.items() if sub in found}


def outgoing(row, settings: DeliverySettings, target: dict | None = None) -> Outgoing:
    """One row of `outgoing_query` as the message its provider gets, translated into the
    recipient's language."""
    locale = row.locale or "zh_CN"
    # Dates and names in the recipient's language, whoever wrote the message (params.py).
    params = render_params(row.params, locale)
    with force_locale(locale):
        subject = gettext(row.subject, **params) if row.subject else ""
        body = gettext(row.body, **params) if row.body else ""
    return Outgoing(
        delivery_id=row.id,
        idempotency_key=row.idempotency_key,
        channel=row.channel,
        address=row.address,
        kind=row.kind,
        locale=row.locale or "zh_CN",
        subject=subject,
        body=body,
        url=settings.portal_url + (row.link or "/inbox"),
        params=params,
        attempt=row.attempts,
        target=target or {},
    )


def send(app, message: Outgoing, buckets: dict[Channel, TokenBucket]) -> Result:
    """Hand one message to its channel's provider; never raises (the failure is the result)."""
    common = {
        "delivery_id": message.delivery_id,
        "channel": message.channel,
        "address": message.address,
        "attempts": message.attempt,
    }
    try:
        provider = provider_of(app, message.channel)
    except DeliveryError as missing:
        return Result(**common, provider=None, status=DeliveryStatus.FAILED, error=str(missing))
    bucket = buckets.get(message.channel)
    if bucket is not None:
        bucket.take()
    try:
        provider_id = provider.deliver(message)
    except DeliveryError as refused:
        log.warning("delivery %s (%s) failed: %s", message.delivery_id, message.channel, refused)
        return Result(
            **common,
            provider=provider.name,
            status=DeliveryStatus.FAILED,
            error=str(refused),
            address_gone=refused.address_gone,
            retry=not refused.permanent,
        )
    except Exception as fault:  # a fault in the provider's code: recorded, retried, not lost
        log.exception("delivery %s: provider %s failed", message.delivery_id, provider.name)
        return Result(
            **common,
            provider=provider.name,
            status=DeliveryStatus.FAILED,
            error=f"{type(fault).__name__}: {fault}",
            retry=True,
        )
    return Result(
        **common,
        provider=provider.name,
        status=provider.delivered_status,
        provider_message_id=provider_id,
    )


_RECORD = (
    update(_table)
    .where(
        _table.c.id == bindparam("b_id"),
        _table.c.status == DeliveryStatus.SENDING.value,
        _table.c.claimed_by == bindparam("b_worker"),
    )
    .values(
        status=bindparam("b_status"),
        provider=bindparam("b_provider"),
        provider_message_id=bindparam("b_provider_id"),
        error=bindparam("b_error"),
        sent_at=bindparam("b_sent_at"),
        next_attempt_at=bindparam("b_next"),
    )
)


def record(session, worker: str, results: list[Result], settings: DeliverySettings, now) -> None:
    """Write every answer of one round in one unit of work."""
    if not results:
        return
    rows = []
    for result in results:
        status, next_at = outbox.after_attempt(
            settings, result.status, result.retry, result.attempts, now
        )
        rows.append(
            {
                "b_id": result.delivery_id,
                "b_worker": worker,
                "b_status": status.value,
                "b_provider": result.provider,
                "b_provider_id": result.provider_message_id,
                "b_error": result.error[:ERROR_LENGTH] if result.error else None,
                "b_sent_at": now
                if status not in (DeliveryStatus.QUEUED, DeliveryStatus.FAILED)
                else None,
                "b_next": next_at,
            }
        )
    gone = [int(r.address) for r in results if r.address_gone and r.channel == Channel.PUSH]
    pushed = [
        int(r.address)
        for r in results
        if r.channel == Channel.PUSH and r.status in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED)
    ]
    with unit_of_work(session):
        connection_of(session).execute(_RECORD, rows)
        if gone:
            session.execute(
                update(PushSubscription)
                .where(PushSubscription.id.in_(gone), PushSubscription.gone_at.is_(None))
                .values(gone_at=now)
                .execution_options(synchronize_session=False)
            )
        if pushed:  # "last sent" on the person's list of browsers
            session.execute(
                update(PushSubscription)
                .where(PushSubscription.id.in_(pushed))
                .values(last_sent_at=now)
                .execution_options(synchronize_session=False)
            )


class Dispatcher:
    """One dispatcher process's state: its name, its thread pool and its pacing."""

    def __init__(self, app, session, settings: DeliverySettings | None = None) -> None:
        self.app = app
        self.session = session
        self.settings = settings or settings_for(app)
        self.worker = worker_name()
        self.buckets = {channel: TokenBucket(rate) for channel, rate in self.settings.rates.items()}
        self.pool = ThreadPoolExecutor(
            max_workers=max(self.settings.concurrency, 1), thread_name_prefix="deliver"
        )

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    def _send_in_app(self, message: Outgoing) -> Result:
        with self.app.app_context():
            return send(self.app, message, self.buckets)

    def round(self) -> dict[str, int]:
        """Claim what is due, send it, record the answers; how many ended how."""
        now = clock.now()
        requeued = requeue_abandoned(self.session, self.settings, now)
        messages = claim(self.session, self.worker, self.settings, now)
        results = list(self.pool.map(self._send_in_app, messages))
        record(self.session, self.worker, results, self.settings, clock.now())
        counts = {"claimed": len(messages), "requeued": requeued}
        # Messages to other systems (outbox.SystemMessage: the city parking push), same rules.
        system = outbox.deliver_due(
            self.app, self.session, self.pool, self.worker, self.settings, now
        )
        counts["claimed"] += sum(system.values())
        counts.update(system)
        for result in results:
            key = (
                "retrying"
                if result.retry and result.status == DeliveryStatus.FAILED
                else str(result.status)
            )
            counts[key] = counts.get(key, 0) + 1
        return counts

    def run(self, *, once: bool = False, stop: threading.Event | None = None) -> dict[str, int]:
        """Deliver rounds until stopped (or, `once`, until nothing is due); the totals."""
        stop = stop or threading.Event()
        totals: dict[str, int] = {}
        while not stop.is_set():
            counts = self.round()
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
            if counts["claimed"] == 0:
                if once:
                    break
                stop.wait(self.settings.poll)
        return totals
