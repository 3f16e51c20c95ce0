"""Bookings as iCalendar (RFC 5545), for one booking or a person's subscribed feed."""

from __future__ import annotations

import secrets

from flask import url_for
from icalendar import Calendar, Event
from sqlalchemy import select

from app.db import unit_of_work
from bookings.models import Booking, BookingStatus, CalendarFeed
from venues.models import Space

PRODID = "-//citizen-portal//venue bookings//ZH"


def _event(booking: Booking, space: Space) -> Event:
    venue = space.venue
    event = Event()
    event.add("uid", f"{booking.reference}@citizen-portal")
    event.add("dtstamp", booking.updated_at)
    event.add("dtstart", booking.starts_at)
    event.add("dtend", booking.ends_at)
    event.add("summary", f"{venue.name_zh} · {space.name_zh}")
    event.add("location", venue.address_zh)
    event.add(
        "description",
        f"预约号 {booking.reference}  "
        # No door code until the booking is confirmed (venues.services.booking.shows_door_code).
        + (f"核销码 {booking.door_code}  " if booking.status == BookingStatus.CONFIRMED else "")
        + f"{booking.quantity} 人\n"
        + url_for("my_bookings.show", reference=booking.reference, _external=True),
    )
    cancelled = booking.status in (
        BookingStatus.CANCELLED,
        BookingStatus.REJECTED,
        BookingStatus.EXPIRED,
    )
    event.add(
        "status",
        "CANCELLED"
        if cancelled
        else "TENTATIVE"
        if booking.status in (BookingStatus.PENDING, BookingStatus.OFFERED)
        else "CONFIRMED",
    )
    return event


def calendar_for(session, bookings: list[Booking], name: str) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    spaces = {
        s.resource_id: s
        for s in session.scalars(
            select(Space).where(Space.resource_id.in_({b.resource_id for b in bookings}))
        )
    }
    for booking in bookings:
        space = spaces.get(booking.resource_id)
        if space is not None:
            cal.add_component(_event(booking, space))
    return cal.to_ical()


def feed_token(session, user_id: int, *, renew: bool = False) -> str:
    """The user's secret feed token, created on first use (in a unit of work); `renew` replaces
    a leaked one. Reading an existing token writes nothing."""
    feed = session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == user_id))
    if feed is not None and not renew:
        return feed.token
    with unit_of_work(session):
        feed = session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == user_id))
        if feed is None:
            feed = CalendarFeed(user_id=user_id, token=secrets.token_urlsafe(24))
            session.add(feed)
        else:
            feed.token = secrets.token_urlsafe(24)
        token = feed.token
    return token


def user_for_token(session, token: str):
    feed = session.scalar(select(CalendarFeed).where(CalendarFeed.token == token))
    return feed.user_id if feed else None
