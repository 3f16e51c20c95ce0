"""Dead letters: the outbox rows the dispatcher gave up on (status "failed": a provider refused
the message for good, or it failed `DELIVERY_MAX_ATTEMPTS` times), listed to administrators
with the last error, and queued again one by one when the cause is fixed (a template id set, a
provider's account topped up).

Functions take a session; `retry` opens its own unit of work and records it in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from app import clock
from app.accounts.models import User
from app.accounts.services import mask_phone
from app.audit.models import AuditEntry
from app.audit.services import record
from app.db import unit_of_work
from app.errors import Conflict, NotFound
from app.i18n import N_
from app.notifications.models import Channel, Delivery, DeliveryStatus, Notification

PAGE_SIZE = 50
WINDOW = timedelta(hours=24)  # the status counts cover this much of the recent past


@dataclass(frozen=True)
class DeadLetter:
    id: int
    channel: Channel
    address: str  # masked: enough to recognise, not enough to use
    kind: str
    attempts: int  # since it was last queued (a "try again" starts the count afresh)
    error: str
    failed_at: datetime  # the last attempt (the dispatcher stamps next_attempt_at with it)
    created_at: datetime
    recipient: str = ""  # the person's name
    earlier_attempts: int = 0  # the attempts before each "try again", from the audit log
    retried: int = 0  # how many times an administrator queued it again

    @property
    def total_attempts(self) -> int:
        return self.attempts + self.earlier_attempts


def mask_address(channel: Channel, address: str) -> str:
    """A phone number as 138****5678, an e-mail address as l***@example.com, a push
    subscription by its number (the endpoint itself is a capability URL)."""
    if channel == Channel.SMS:
        return mask_phone(address)
    if channel == Channel.EMAIL:
        local, _, domain = (address or "").partition("@")
        return f"{local[:1]}***@{domain}" if domain else "***"
    return f"#{address}"


def dead_letters(
    session, *, channel: Channel | None = None, page: int = 1, page_size: int = PAGE_SIZE
) -> list[DeadLetter]:
    """Failed rows, newest failure first (by the index on status and next_attempt_at), one
    page of them, optionally of one channel only."""
    query = (
        select(
            Delivery.id,
            Delivery.channel,
            Delivery.address,
            Notification.kind,
            Delivery.attempts,
            Delivery.error,
            Delivery.next_attempt_at,
            Delivery.created_at,
            User.name,
        )
        .join(Notification, Notification.id == Delivery.notification_id)
        .join(User, User.id == Delivery.user_id)
        .where(Delivery.status == DeliveryStatus.FAILED)
        .order_by(Delivery.next_attempt_at.desc(), Delivery.id.desc())
        .limit(page_size)
        .offset((max(page, 1) - 1) * page_size)
    )
    if channel is not None:
        query = query.where(Delivery.channel == channel)
    rows = session.execute(query).all()
    earlier = _earlier_attempts(session, [row.id for row in rows])
    return [
        DeadLetter(
            id=row.id,
            channel=row.channel,
            address=mask_address(row.channel, row.address),
            kind=row.kind,
            attempts=row.attempts,
            error=row.error or "",
            failed_at=row.next_attempt_at,
            created_at=row.created_at,
            recipient=row.name or "",
            earlier_attempts=earlier.get(row.id, (0, 0))[0],
            retried=earlier.get(row.id, (0, 0))[1],
        )
        for row in rows
    ]


def _earlier_attempts(session, ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per delivery id: the attempts it had before each "try again" (the audit entries of
    `retry` keep them, since the row's own count starts afresh) and how many retries."""
    if not ids:
        return {}
    found: dict[int, tuple[int, int]] = {}
    for object_id, details in session.execute(
        select(AuditEntry.object_id, AuditEntry.details).where(
            AuditEntry.action == "delivery.retry",
            AuditEntry.object_type == Delivery.__tablename__,
            AuditEntry.object_id.in_([str(i) for i in ids]),
        )
    ):
        attempts, retries = found.get(int(object_id), (0, 0))
        found[int(object_id)] = (attempts + int((details or {}).get("attempts") or 0), retries + 1)
    return found


def status_counts(session, now: datetime | None = None) -> dict[DeliveryStatus, int]:
    """How many rows written in the last 24 hours are in each status (every status listed,
    zero included), so a glance shows whether messages are leaving."""
    since = (now or clock.now()) - WINDOW
    counts = dict(
        session.execute(
            select(Delivery.status, func.count(Delivery.id))
            .where(Delivery.created_at >= since)
            .group_by(Delivery.status)
        ).all()
    )
    return {status: counts.get(status, 0) for status in DeliveryStatus}


def retry(session, actor, delivery_id: int) -> None:
    """Queue one dead letter again, due now, in a unit of work that also records it in the
    audit log (with the attempts and the error it had).

    The attempts are reset to 0: the row gets the full `DELIVERY_MAX_ATTEMPTS` tries with
    backoff again (kept, a row that failed after its last try would fail for good at the first
    new failure); the old count stays in the audit entry. The idempotency key is kept, so a
    provider that honours keys cannot send twice a message it did take after all. Only a row
    still "failed" is changed (a guarded UPDATE): two administrators pressing at once queue it
    once, and the second is told it is no longer failed (Conflict); an unknown id is NotFound.
    """
    with unit_of_work(session):
        row = session.execute(
            select(Delivery.status, Delivery.attempts, Delivery.error, Delivery.channel).where(
                Delivery.id == delivery_id
            )
        ).one_or_none()
        if row is None:
            raise NotFound(N_("There is no such message."))
        changed = session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.FAILED)
            .values(
                status=DeliveryStatus.QUEUED,
                attempts=0,
                next_attempt_at=clock.now(),
                claimed_at=None,
                claimed_by=None,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if not changed:
            raise Conflict(N_("This message is no longer failed; it was not queued again."))
        record(
            session,
            actor,
            "delivery.retry",
            object_type=Delivery.__tablename__,
            object_id=delivery_id,
            channel=str(row.channel),
            attempts=row.attempts,
            error=(row.error or "")[:200],
        )
