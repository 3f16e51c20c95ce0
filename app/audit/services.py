"""Recording and reading the audit log."""

from __future__ import annotations

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.db import unit_of_work

PAGE_SIZE = 50


def record(
    session,
    actor,
    action: str,
    obj=None,
    *,
    object_type: str | None = None,
    object_id=None,
    on_behalf_of=None,
    **details,
) -> AuditEntry:
    """Add an audit entry to the caller's unit of work, so it commits (or not) with the action
    it records. Called by services inside their unit; never commits by itself.

    `obj` is any model instance with an `id`; its table name is the object type. An object with
    a scope chain naming a district (an estate, a ticket, a venue, a car park) files the entry
    under that district.
    """
    if obj is not None:
        object_type = object_type or obj.__tablename__
        object_id = obj.id if object_id is None else object_id
    entry = AuditEntry(
        actor_id=getattr(actor, "id", actor),
        on_behalf_of_id=getattr(on_behalf_of, "id", on_behalf_of),
        action=action,
        object_type=object_type or "",
        object_id=str(object_id or ""),
        details=details,
        district_id=_district_of(obj),
    )
    session.add(entry)
    return entry


def _district_of(obj) -> int | None:
    try:
        chain = obj.scope_chain
    except AttributeError:
        # No chain (an account, a token), or an object not yet tied to its town (a pending
        # row): the entry is nobody's district's.
        return None
    return next((scope_id for kind, scope_id in chain if kind == "district"), None)


def record_access(
    session, staff, action: str, obj=None, *, resident_id: int | None = None, **details
) -> AuditEntry:
    """Record that `staff` read residents' personal data (a repair ticket, a bookings export, a
    car park's plates) as a small unit of work of its own, committed at once: the page writes
    nothing else, and the trace must stay whatever happens next. What the page loaded stays
    loaded (it goes on to show it). One entry per page or file, never per row shown;
    `resident_id` says whose data it was when it is one person's."""
    if resident_id is not None:
        details["resident_id"] = resident_id
    with unit_of_work(session, keep_loaded=True):
        return record(session, staff, action, obj, **details)


def search(
    session,
    *,
    action: str | None = None,
    object_type: str | None = None,
    actor_id: int | None = None,
    district_ids: list[int] | None = None,
    page: int = 1,
) -> list[AuditEntry]:
    """A page of entries, newest first. `district_ids`: only those districts' entries (a
    district-scoped reader); None: every entry."""
    query = select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    if district_ids is not None:
        query = query.where(AuditEntry.district_id.in_(district_ids))
    if action:
        query = query.where(AuditEntry.action == action)
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if actor_id:
        query = query.where(AuditEntry.actor_id == actor_id)
    return list(session.scalars(query.limit(PAGE_SIZE).offset((max(page, 1) - 1) * PAGE_SIZE)))
