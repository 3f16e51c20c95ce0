"""The venue booking service's part of "my data" and of closing an account (注销): what it holds
about a person (venue bookings, waitlist places, a calendar feed, booking suspensions), and how
it lets go of them. Registered with the frame in venues/__init__.py (app.registry.PersonalData)."""

from __future__ import annotations

from sqlalchemy import delete, select

from app import clock
from app.accounts.models import User
from bookings.models import (
    HOLDING,
    Booking,
    BookingSuspension,
    CalendarFeed,
    WaitlistEntry,
    WaitlistStatus,
)
from venues.models import Space
from venues.services import booking as booking_service
from venues.services import waitlist

CLOSED_REASON = "account closed"


def _iso(moment):
    return moment.isoformat() if moment is not None else None


def export(session, user: User) -> dict:
    """Everything the venue service holds about `user`: their venue bookings (any status),
    waitlist places and suspensions, and whether they have a calendar feed (not its secret)."""
    bookings = session.execute(
        select(Booking, Space)
        .join(Space, Space.resource_id == Booking.resource_id)
        .where(Booking.holder_id == user.id)
        .order_by(Booking.starts_at)
    ).all()
    entries = session.scalars(select(WaitlistEntry).where(WaitlistEntry.user_id == user.id))
    suspensions = session.scalars(
        select(BookingSuspension).where(BookingSuspension.user_id == user.id)
    )
    feed = session.scalar(select(CalendarFeed.id).where(CalendarFeed.user_id == user.id))
    return {
        "bookings": [
            {
                "reference": b.reference,
                "venue": space.venue.name_zh,
                "space": space.name_zh,
                "starts_at": _iso(b.starts_at),
                "ends_at": _iso(b.ends_at),
                "quantity": b.quantity,
                "status": b.status.value,
                "booked_by_someone_else": b.booked_by_id not in (None, user.id),
                "created_at": _iso(b.created_at),
            }
            for b, space in bookings
        ],
        "waitlist": [
            {"status": e.status.value, "quantity": e.quantity, "since": _iso(e.created_at)}
            for e in entries
        ],
        "suspensions": [
            {"kind": s.kind, "until": _iso(s.until), "reason": s.reason} for s in suspensions
        ],
        "calendar_feed": feed is not None,
    }


def erase(session, user: User) -> dict:
    """Inside the caller's unit of work: cancel `user`'s venue bookings that have not started
    and still hold places (through `booking.cancel`: the places go back and the waitlist is
    offered them), leave their waitlists, and drop their calendar feed. Past bookings stay,
    with the emptied account, for the venues' visitor statistics."""
    now = clock.now()
    future = session.scalars(
        select(Booking)
        .join(Space, Space.resource_id == Booking.resource_id)
        .where(
            Booking.holder_id == user.id,
            Booking.status.in_(HOLDING),
            Booking.starts_at > now,
        )
        .order_by(Booking.starts_at)
    ).all()
    cancelled = 0
    for booking in future:
        if booking_service.cancel_refusal(session, booking, user, by_staff=True) is None:
            booking_service.cancel(session, booking, user, by_staff=True, reason=CLOSED_REASON)
            cancelled += 1
    left = 0
    for entry in session.scalars(
        select(WaitlistEntry).where(
            WaitlistEntry.user_id == user.id, WaitlistEntry.status == WaitlistStatus.WAITING
        )
    ).all():
        left += waitlist.leave_waitlist(session, entry)
    session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user.id))
    return {"venue_bookings_cancelled": cancelled, "waitlists_left": left}
