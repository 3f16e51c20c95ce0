"""The parking part of `flask --app wsgi sweep` (every minute; safe on several nodes): the
reservable pools made ahead, reservation reminders, no-shows, unpaid and renewed sharing
contracts, old plates anonymised. Each step writes in its own units of work."""

from __future__ import annotations

from sqlalchemy import select

from parking.models import CarPark
from parking.services import ParkingSettings, reminders, reservations, retention, sharing


def sweep(session, settings: ParkingSettings) -> dict:
    """Run every parking sweep once; counts of what each did. Idempotent."""
    made = 0
    for park in session.scalars(select(CarPark).where(CarPark.reservable_spaces > 0)).all():
        reservations.materialise_pool(session, park, settings.pool_days)
        made += 1
    counts = {
        "parking pools made": made,
        "parking no-shows": reservations.mark_no_shows(session, settings),
        "parking reservation reminders": reminders.send_reminders(session),
    }
    counts["sharing contracts lapsed unpaid"] = sharing.lapse_unpaid(session)
    renewal = sharing.renew_contracts(session, settings)
    counts.update(
        {
            "sharing contracts renewed": renewal["renewed"],
            "sharing contracts lapsed": renewal["lapsed"],
        }
    )
    counts.update(retention.anonymise_old_plates(session, settings))
    return counts
