"""Delivering and reading inbox messages. Functions take a session. `notify` adds a message to
the caller's unit of work (it is sent with the action, or not at all); marking messages read
is a unit of its own."""

from __future__ import annotations

from sqlalchemy import func, insert, select, update

from app.db import connection_of, unit_of_work, utcnow
from app.notifications.models import Notification


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
    note = Notification(
        user_id=user_id, kind=kind, subject=subject, body=body, params=params or {}, link=link
    )
    session.add(note)
    return note


_INSERT = insert(Notification.__table__)  # built once


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
    message is delivered if and only if the caller's unit of work commits."""
    connection_of(session).execute(
        _INSERT,
        {
            "user_id": user_id,
            "kind": kind,
            "subject": subject,
            "body": body,
            "params": params or {},
            "link": link,
            "created_at": utcnow(),
            "read_at": None,
        },
    )


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
