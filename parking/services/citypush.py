"""The city parking platform push: each car park's status (spaces free, reservable, open or
full or closed) sent to the city's endpoint through the outbox
(app/notifications/outbox.py: retries with backoff, a lease, one idempotency key per message).

When a message is queued:
- on a gate event, in the event's own unit of work (so an event that rolled back queues
  nothing), when the free spaces moved by more than `threshold` since the last status queued
  for that car park, or its open/full/closed status changed, or none was ever queued;
- by the sweep (`periodic`), for every car park whose last status is older than `interval`.

Both read the last status queued from the outbox itself (the newest system_message of this
kind about the car park), under the car park's row lock, so two events at once never both
decide to send. The payload is the status at that moment (format: PAYLOAD_SCHEMA below, also in
the README); the receiver keeps the newest `updated_at` per car park, since a retried message
can arrive after a newer one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import clock
from app.db import unit_of_work
from app.notifications.outbox import SystemMessage, enqueue
from parking.models import CarPark

KIND = "city_parking"
PAYLOAD_SCHEMA = "citizen-portal/city-parking-status/1"


@dataclass(frozen=True)
class CityPushSettings:
    url: str
    token: str = field(repr=False, default="")
    threshold: int = 5  # spaces: a change by MORE than this is pushed at once
    interval: timedelta = timedelta(minutes=5)  # and every car park at least this often
    timeout: float = 10.0  # seconds the endpoint has to answer

    @classmethod
    def from_config(cls, config: Mapping) -> CityPushSettings | None:
        """The settings, or None (the push is off) when CITY_PARKING_PUSH_URL is unset."""
        url = config.get("CITY_PARKING_PUSH_URL")
        if not url:
            return None
        return cls(
            url=url,
            token=config.get("CITY_PARKING_PUSH_TOKEN") or "",
            threshold=int(config.get("CITY_PARKING_PUSH_THRESHOLD", 5)),
            interval=timedelta(minutes=float(config.get("CITY_PARKING_PUSH_INTERVAL_MINUTES", 5))),
            timeout=float(config.get("CITY_PARKING_PUSH_TIMEOUT", 10)),
        )


def subject(park_id: int) -> str:
    return f"carpark:{park_id}"


def status_of(park: CarPark) -> str:
    if not park.in_service:
        return "closed"
    return "full" if park.free_spaces <= 0 else "open"


def payload(session, park: CarPark, reason: str) -> dict:
    """The status message of `park` as it stands in this transaction."""
    from parking.services.reservations import reservable_now

    district = park.town.district
    return {
        "schema": PAYLOAD_SCHEMA,
        "reason": reason,  # "change" (threshold or status) or "periodic"
        "id": park.id,
        "district": {"code": district.code, "name": district.name_zh, "name_en": district.name_en},
        "name": park.name_zh,
        "name_en": park.name_en,
        "total": park.total_spaces,
        "free": park.free_spaces,
        "reservable": reservable_now(session, park),
        "status": status_of(park),
        "updated_at": clock.local(park.updated_at).isoformat(timespec="seconds"),
    }


def last_queued(session, park_id: int) -> SystemMessage | None:
    """The newest status message queued for the car park (sent or not)."""
    return session.scalar(
        select(SystemMessage)
        .where(SystemMessage.kind == KIND, SystemMessage.subject == subject(park_id))
        .order_by(SystemMessage.id.desc())
        .limit(1)
    )


def changed_enough(last: SystemMessage | None, park: CarPark, threshold: int) -> bool:
    """Whether `park` differs from the last status queued by more than the threshold."""
    if last is None:
        return True
    before = last.payload
    moved = abs(park.free_spaces - int(before.get("free", 0))) > threshold
    return moved or before.get("status") != status_of(park)


def after_occupancy_change(session, park_id: int, settings: CityPushSettings | None):
    """Inside the unit of work that changed the car park's occupancy (with its row locked):
    queue its status when it moved by more than the threshold. The queued message, or None."""
    if settings is None:
        return None
    park = session.get(CarPark, park_id, populate_existing=True)
    if not changed_enough(last_queued(session, park_id), park, settings.threshold):
        return None
    return enqueue(session, KIND, subject(park_id), payload(session, park, "change"))


def periodic(session, settings: CityPushSettings | None, now: datetime | None = None) -> int:
    """Queue the status of every car park not sent within the interval; how many. Each car
    park in its own unit of work with its row locked, so sweeps on several nodes queue one."""
    if settings is None:
        return 0
    now = now or clock.now()
    queued = 0
    park_ids = session.scalars(
        select(CarPark.id).where(CarPark.archived_at.is_(None)).order_by(CarPark.id)
    ).all()
    for park_id in park_ids:
        with unit_of_work(session):
            park = session.scalar(
                select(CarPark)
                .where(CarPark.id == park_id)
                .options(selectinload(CarPark.town))
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            last = last_queued(session, park_id)
            if last is not None and last.created_at > now - settings.interval:
                continue
            enqueue(session, KIND, subject(park_id), payload(session, park, "periodic"))
            queued += 1
    return queued
