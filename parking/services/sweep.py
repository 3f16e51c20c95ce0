"""The parking part of `flask --app wsgi sweep` (every minute; safe on several nodes)."""

from __future__ import annotations

from sqlalchemy import select

from parking.models import CarPark
from parking.services import reservations, retention, sharing


def sweep(session) -> dict:
    made = 0
    for park in session.scalars(select(CarPark).where(CarPark.reservable_spaces > 0)).all():
        reservations.materialise_pool(session, park)
        made += 1
    counts = {"parking pools made": made, "parking no-shows": reservations.mark_no_shows(session)}
    counts["sharing contracts lapsed unpaid"] = sharing.lapse_unpaid(session)
    renewal = sharing.renew_contracts(session)
    counts.update(
        {
            "sharing contracts renewed": renewal["renewed"],
            "sharing contracts lapsed": renewal["lapsed"],
        }
    )
    counts.update(retention.anonymise_old_plates(session))
    return counts
