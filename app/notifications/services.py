"""Writing and reading messages. Functions take a session. `notify` adds a message to the
caller's unit of work with one delivery row per channel the person receives it by (the
transactional outbox: it is sent with the action, or not at all; `flask deliver` sends it);
marking messages read is a unit of its own."""

from __future__ import annotations

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import selectinload

from app import clock
from app.db import connection_of, unit_of_work, utcnow
from app.notifications.models import Delivery, DeliveryStatus, Notification, new_key
from app.notifications.planning import plan


def notify(
    session,
    user_id: int,
    *,
    kind: str,
    subject: str,
    body: str = "",
    params: dict | None = None,
    link: str | None = None,
) -> Notification:
    """Queue a message for `user_id` in the caller's unit of work, so it is delivered if and only
    if the action that caused it commits.

    `subject` and `body` are untranslated message ids (mark them with `N_`) with `%(name)s`
    placeholders filled from `params` when the message is displayed.
    """
    now = clock.now()
    note = Notification(
        user_id=user_id,
        kind=kind,
        subject=subject,
        body=body,
        params=params or {},
        link=link,
        created_at=now,
    )
    note.deliveries = [Delivery(**row) for row in plan(session, user_id, kind, now)]
    session.add(note)
    return note


_INSERT = insert(Notification.__table__)  # built once
_INSERT_RETURNING = _INSERT.returning(Notification.__table__.c.id)
_INSERT_DELIVERY = insert(Delivery.__table__)


def insert_notification(
    session,
    user_id: int,
    *,
    kind: str,
    subject: str,
    body: str = "",
    params: dict | None = None,
    link: str | None = None,
) -> None:
    """`notify` as one INSERT on the caller's connection, without an ORM object to flush: for
    write paths made of plain statements (a booking through the API). The same guarantee: the
    message is delivered if and only if the caller's unit of work commits. A kind that stays
    in the inbox (a booking's confirmation) costs exactly that one INSERT."""
    now = clock.now()
    row = {
        "user_id": user_id,
        "kind": kind,
        "subject": subject,
        "body": body,
        "params": params or {},
        "link": link,
        "created_at": now,
        "read_at": None,
    }
    deliveries = plan(session, user_id, kind, now)
    connection = connection_of(session)
    if not deliveries:
        connection.execute(_INSERT, row)
        return
    notification_id = connection.execute(_INSERT_RETURNING, row).scalar_one()
    connection.execute(
        _INSERT_DELIVERY, [new_delivery(notification_id, delivery, now) for delivery in deliveries]
    )


def new_delivery(notification_id: int, planned: dict, now) -> dict:
    """A delivery row for a plain INSERT, with the defaults the ORM would give it."""
    return {
        "notification_id": notification_id,
        "status": DeliveryStatus.QUEUED,
        "attempts": 0,
        "idempotency_key": new_key(),
        "created_at": now,
        "claimed_at": None,
        "claimed_by": None,
        "provider": None,
        "provider_message_id": None,
        "error": None,
        "sent_at": None,
        "delivered_at": None,
        **planned,
    }


def unread_count(session, user_id: int) -> int:
    return (
        session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == user_id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def inbox(session, user_id: int, *, limit: int = 50, offset: int = 0) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .options(selectinload(Notification.deliveries))
            .where(Notification.user_id == user_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )


def get_for_user(session, user_id: int, notification_id: int) -> Notification | None:
    """The message if it belongs to `user_id`; someone else's message is indistinguishable from
    a missing one."""
    return session.scalar(
        select(Notification).where(
            Notification.id == notification_id, Notification.user_id == user_id
        )
    )


def read(session, user_id: int, notification_id: int) -> Notification | None:
    """Open one of `user_id`'s messages: the message, now marked read (the first reading's time
    is kept), or None if it is not theirs or not there."""
    note = get_for_user(session, user_id, notification_id)
    if note is not None and note.read_at is None:
        with unit_of_work(session):
            note.read_at = utcnow()
    return note


def mark_all_read(session, user_id: int) -> int:
    """Mark every unread message of `user_id` read; returns how many were unread."""
    with unit_of_work(session):
        result = session.execute(
            update(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .values(read_at=utcnow())
        )
    return result.rowcount
