"""The venue part of `flask --app wsgi sweep` (every minute from cron; safe on several nodes):
slots for the coming days, expired waitlist offers, no-shows and their suspensions, reminders."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import format_datetime
from sqlalchemy import func, select, update

from app import clock
from app.db import write_transaction
from app.i18n import N_
from app.notifications.services import notify
from bookings import services as engine
from bookings.models import Booking, BookingStatus
from venues.models import Space, Venue
from venues.services.booking import SUSPENSION_KIND, expire_offers
from venues.services.catalogue import materialise

REMIND_BEFORE = timedelta(hours=24)


def mark_no_shows(session) -> int:
    """Bookings not checked in by start + the venue's grace become no-shows and free their
    places; the configured number of no-shows within the window suspends booking."""
    now = clock.now()
    rows = session.execute(
        select(Booking, Venue)
        .join(Space, Space.resource_id == Booking.resource_id)
        .join(Venue, Venue.id == Space.venue_id)
        .where(Booking.status == BookingStatus.CONFIRMED, Booking.starts_at < now)
    ).all()
    marked = 0
    for booking, venue in rows:
        if booking.starts_at + timedelta(minutes=venue.checkin_grace_minutes) > now:
            continue
        write_transaction(session)
        try:
            if engine.transition(session, booking, "no_show"):
                marked += 1
                notify(
                    session,
                    booking.holder_id,
                    kind="venue.no_show",
                    subject=N_("You missed booking %(ref)s at %(venue)s"),
                    body=N_(
                        "It was not checked in by %(time)s, so its places were given to others."
                    ),
                    params={
                        "ref": booking.reference,
                        "venue": venue.name_zh,
                        "time": format_datetime(
                            booking.starts_at + timedelta(minutes=venue.checkin_grace_minutes),
                            "short",
                        ),
                    },
                    link=f"/bookings/{booking.reference}",
                )
                _suspend_if_repeated(session, booking.holder_id)
            session.commit()
        except Exception:
            session.rollback()
            raise
    return marked


def _suspend_if_repeated(session, user_id: int) -> None:
    config = current_app.config
    window_start = clock.now() - timedelta(days=config["VENUE_NO_SHOW_WINDOW_DAYS"])
    count = (
        session.scalar(
            select(func.count(Booking.id))
            .join(Space, Space.resource_id == Booking.resource_id)
            .where(
                Booking.holder_id == user_id,
                Booking.status == BookingStatus.NO_SHOW,
                Booking.starts_at >= window_start,
            )
        )
        or 0
    )
    until = engine.suspend_if_due(
        session,
        user_id,
        SUSPENSION_KIND,
        count=count,
        limit=config["VENUE_NO_SHOW_LIMIT"],
        days=config["VENUE_SUSPENSION_DAYS"],
        reason=f"{count} no-shows in {config['VENUE_NO_SHOW_WINDOW_DAYS']} days",
    )
    if until is None:
        return
    notify(
        session,
        user_id,
        kind="venue.suspended",
        subject=N_("Venue booking is paused for you until %(until)s"),
        body=N_(
            "You did not come to %(count)s bookings within %(days)s days without cancelling. You can book again from %(until)s."
        ),
        params={
            "until": format_datetime(until, "short"),
            "count": count,
            "days": config["VENUE_NO_SHOW_WINDOW_DAYS"],
        },
        link="/bookings",
    )


def send_reminders(session) -> int:
    """One inbox reminder per confirmed booking, in the day before it starts."""
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
        claimed = session.execute(
            update(Booking)
            .where(Booking.id == booking.id, Booking.reminded_at.is_(None))
            .values(reminded_at=now)
        ).rowcount
        if claimed:
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
                    "venue": space.venue.name_zh,
                    "code": booking.door_code,
                    "when": format_datetime(booking.starts_at, "short"),
                },
                link=f"/bookings/{booking.reference}",
            )
            sent += 1
        session.commit()
    return sent


def sweep(session) -> dict:
    venues = list(session.scalars(select(Venue).where(Venue.active.is_(True))))
    slots = sum(materialise(session, venue) for venue in venues)
    return {
        "venue_slots": slots,
        "offers_expired": expire_offers(session),
        "no_shows": mark_no_shows(session),
        "reminders": send_reminders(session),
    }
