"""The venue part of `flask --app wsgi sweep` (every minute from cron; safe on several nodes):
slots for the coming days, expired waitlist offers, no-shows and their suspensions, reminders."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from app import clock
from app.db import unit_of_work
from app.i18n import N_
from app.notifications.params import localized, when
from app.notifications.services import notify
from bookings import noshows
from bookings.models import Booking, BookingStatus
from venues.models import Space, Venue
from venues.services.catalogue import materialise
from venues.services.rules import VenueSettings, tell_suspended
from venues.services.waitlist import expire_offers

REMIND_BEFORE = timedelta(hours=24)


def _checkin_deadline(booking: Booking, venue: Venue) -> datetime:
    return booking.starts_at + timedelta(minutes=venue.checkin_grace_minutes)


def mark_no_shows(session, policy: noshows.NoShowPolicy) -> int:
    """Bookings not checked in by start + the venue's grace become no-shows and free their
    places; `policy` (the engine's, from VENUE_NO_SHOW_*) decides when repeated no-shows suspend
    booking. One unit of work per booking; the holder is told of each, and of a suspension."""
    now = clock.now()
    rows = session.execute(
        select(Booking, Venue)
        .join(Space, Space.resource_id == Booking.resource_id)
        .join(Venue, Venue.id == Space.venue_id)
        .where(Booking.status == BookingStatus.CONFIRMED, Booking.starts_at < now)
    ).all()
    due = [(booking, venue) for booking, venue in rows if _checkin_deadline(booking, venue) <= now]

    def missed(session, booking: Booking, venue: Venue) -> None:
        notify(
            session,
            booking.holder_id,
            kind="venue.no_show",
            subject=N_("You missed booking %(ref)s at %(venue)s"),
            body=N_("It was not checked in by %(time)s, so its places were given to others."),
            params={
                "ref": booking.reference,
                "venue": localized(venue.name_zh, venue.name_en),
                "time": when(_checkin_deadline(booking, venue)),
            },
            link=f"/bookings/{booking.reference}",
        )

    def suspended(session, user_id: int, until: datetime, count: int) -> None:
        tell_suspended(session, user_id, until, count, policy)  # as a late cancellation does

    return noshows.mark_no_shows(session, due, policy, missed=missed, suspended=suspended)


def send_reminders(session) -> int:
    """One inbox reminder per confirmed booking, in the day before it starts: each claimed by a
    guarded update in its own unit of work with its message, so two nodes never both send it."""
    now = clock.now()
    due = list(
        session.scalars(
            select(Booking)
            .join(Space, Space.resource_id == Booking.resource_id)
            .where(
                Booking.status == BookingStatus.CONFIRMED,
                Booking.reminded_at.is_(None),
                Booking.starts_at > now,
                Booking.starts_at <= now + REMIND_BEFORE,
            )
        )
    )
    sent = 0
    for booking in due:
        with unit_of_work(session):
            claimed = session.execute(
                update(Booking)
                .where(Booking.id == booking.id, Booking.reminded_at.is_(None))
                .values(reminded_at=now)
            ).rowcount
            if not claimed:
                continue
            space = session.scalar(select(Space).where(Space.resource_id == booking.resource_id))
            notify(
                session,
                booking.holder_id,
                kind="venue.reminder",
                subject=N_("Reminder: %(venue)s, %(when)s"),
                body=N_(
                    "Show code %(code)s at the door. Cannot come? Cancel so someone else can go."
                ),
                params={
                    "venue": localized(space.venue.name_zh, space.venue.name_en),
                    "code": booking.door_code,
                    "when": when(booking.starts_at),
                    # The start as the SMS template ("venue.reminder") shows it, in any language.
                    "start": clock.local(booking.starts_at).strftime("%m-%d %H:%M"),
                },
                link=f"/bookings/{booking.reference}",
            )
            sent += 1
    return sent


def sweep(session, settings: VenueSettings) -> dict:
    """Everything the venues do every minute; each step idempotent. `settings` come from the
    caller (the registration in venues/__init__.py builds them from the app's config)."""
    venues = list(session.scalars(select(Venue).where(Venue.active.is_(True))))
    slots = sum(materialise(session, venue) for venue in venues)
    return {
        "venue_slots": slots,
        "offers_expired": expire_offers(session),
        "no_shows": mark_no_shows(session, settings.no_shows),
        "reminders": send_reminders(session),
    }
