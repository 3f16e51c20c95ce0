"""Reservation reminders: each confirmed parking reservation gets one message in the half hour
before its arrival time (by the holder's own channels: "parking.reminder" is in the parking
category), so a driver who cannot come cancels and frees the space before it counts as a
no-show. Run by the parking sweep every minute, safe on several nodes at once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app import clock
from app.db import unit_of_work
from app.i18n import N_
from app.notifications.params import localized, when
from app.notifications.services import notify
from bookings.models import Booking, BookingStatus
from parking.models import CarPark, ParkingReservation

REMIND_BEFORE = timedelta(minutes=30)


def send_reminders(session) -> int:
    """Remind the holder of every confirmed reservation whose arrival time is within the next
    30 minutes, once: each reminder is claimed by a guarded UPDATE of `reminded_at` in its own
    unit of work with its message, so two sweeps never both send it and a sweep that fails
    sends nothing half. A reservation made less than 30 minutes before its arrival gets none
    (its confirmation has just been read). How many were sent."""
    now = clock.now()
    due = session.execute(
        select(
            ParkingReservation.id,
            ParkingReservation.plate,
            ParkingReservation.arrive_at,
            Booking.holder_id,
            Booking.reference,
            Booking.created_at,
            CarPark.name_zh,
            CarPark.name_en,
        )
        .join(Booking, Booking.id == ParkingReservation.booking_id)
        .join(CarPark, CarPark.id == ParkingReservation.car_park_id)
        .where(
            Booking.status == BookingStatus.CONFIRMED,
            ParkingReservation.reminded_at.is_(None),
            ParkingReservation.arrive_at > now,
            ParkingReservation.arrive_at <= now + REMIND_BEFORE,
        )
        .order_by(ParkingReservation.arrive_at)
    ).all()
    sent = 0
    for row in due:
        if row.created_at > row.arrive_at - REMIND_BEFORE:
            continue  # made within the half hour: no column arithmetic portable to SQLite
        with unit_of_work(session):
            claimed = session.execute(
                update(ParkingReservation)
                .where(ParkingReservation.id == row.id, ParkingReservation.reminded_at.is_(None))
                .values(reminded_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            if not claimed:
                continue
            notify(
                session,
                row.holder_id,
                kind="parking.reminder",
                subject=N_("Reminder: your reserved space at %(park)s, %(when)s"),
                body=N_("%(plate)s. Cannot come? Cancel so the space goes to someone else."),
                params={
                    "park": localized(row.name_zh, row.name_en),
                    "plate": row.plate,
                    "when": when(row.arrive_at),
                    # The arrival as the SMS template ("parking.reminder") shows it.
                    "start": clock.local(row.arrive_at).strftime("%H:%M"),
                },
                link=f"/parking/reservations/{row.reference}",
            )
            sent += 1
    return sent
