"""One no-show policy for every service that sells capacity: a confirmed booking nobody used
by its deadline becomes a no-show (its units go back), and the configured number of no-shows
(and, where the service says so, late cancellations) within a window suspends the person from
booking that kind of thing for a while.

Venues and parking differ only in their numbers, in when a booking is due and in what they
tell the person; those are the service's, passed in. The transition, the count and the
suspension are here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app import clock
from app.db import unit_of_work
from bookings import services as engine
from bookings.models import Booking, BookingStatus, Resource

LATE = "late"  # status_reason of a cancellation after the free cut-off


@dataclass(frozen=True)
class NoShowPolicy:
    kind: str  # the suspension's kind: "venue", "parking"
    resource_kinds: tuple[str, ...]  # Resource.kind of the bookings that count
    limit: int  # this many within `window_days` ...
    window_days: int
    suspension_days: int  # ... suspend for this long
    count_late_cancellations: bool = False

    @classmethod
    def from_config(
        cls, config: Mapping, prefix: str, *, kind: str, resource_kinds: tuple[str, ...], **rest
    ):
        """The policy from `<PREFIX>_NO_SHOW_LIMIT`, `_NO_SHOW_WINDOW_DAYS` and
        `_SUSPENSION_DAYS` (app/config.py)."""
        return cls(
            kind=kind,
            resource_kinds=resource_kinds,
            limit=int(config[f"{prefix}_NO_SHOW_LIMIT"]),
            window_days=int(config[f"{prefix}_NO_SHOW_WINDOW_DAYS"]),
            suspension_days=int(config[f"{prefix}_SUSPENSION_DAYS"]),
            **rest,
        )


def recent_no_shows(session, user_id: int, policy: NoShowPolicy) -> int:
    """What counts against the person now: their no-shows (and late cancellations where the
    policy counts them) of bookings that started within the window."""
    since = clock.now() - timedelta(days=policy.window_days)
    counted = Booking.status == BookingStatus.NO_SHOW
    if policy.count_late_cancellations:
        counted = counted | (
            (Booking.status == BookingStatus.CANCELLED) & (Booking.status_reason == LATE)
        )
    return (
        session.scalar(
            select(func.count(Booking.id))
            .join(Resource, Resource.id == Booking.resource_id)
            .where(
                Booking.holder_id == user_id,
                Resource.kind.in_(policy.resource_kinds),
                Booking.starts_at >= since,
                counted,
            )
        )
        or 0
    )


def suspend_if_repeated(session, user_id: int, policy: NoShowPolicy) -> tuple[datetime, int] | None:
    """Suspend the person when what counts against them reached the limit (in the caller's
    unit of work). (end of the new suspension, count), or None."""
    count = recent_no_shows(session, user_id, policy)
    until = engine.suspend_if_due(
        session,
        user_id,
        policy.kind,
        count=count,
        limit=policy.limit,
        days=policy.suspension_days,
        reason=f"{count} no-shows in {policy.window_days} days",
    )
    return (until, count) if until is not None else None


def mark_no_shows(
    session,
    due: Iterable[tuple[Booking, object]],
    policy: NoShowPolicy,
    *,
    missed: Callable[[object, Booking, object], None],
    suspended: Callable[[object, int, datetime, int], None],
) -> int:
    """Make each due (booking, context) a no-show, one unit of work each (one failure does not
    undo the others, and no lock is held across the batch). A booking someone checked in or
    cancelled meanwhile is left alone (the transition is guarded). `missed(session, booking,
    context)` and `suspended(session, user_id, until, count)` write the service's messages in
    the same unit. Returns how many became no-shows."""
    marked = 0
    for booking, context in due:
        with unit_of_work(session):
            if not engine.transition(session, booking, "no_show"):
                continue
            marked += 1
            missed(session, booking, context)
            suspension = suspend_if_repeated(session, booking.holder_id, policy)
            if suspension is not None:
                suspended(session, booking.holder_id, *suspension)
    return marked
