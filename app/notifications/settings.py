"""The dispatcher's settings, read once from the app's configuration (app/config.py says what
each key means) into a frozen value the dispatcher takes as an argument."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType

from app.notifications.models import Channel


@dataclass(frozen=True)
class DeliverySettings:
    portal_url: str  # links in messages: PORTAL_URL + the page's path
    max_attempts: int = 6  # then the row fails for good (a dead letter)
    backoff: timedelta = timedelta(seconds=30)  # after the first failure; doubled each time
    backoff_max: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=5)  # a claim older than this was abandoned
    batch: int = 50  # rows claimed at once by one dispatcher
    concurrency: int = 8  # provider calls in flight at once in one dispatcher
    poll: float = 2.0  # seconds between looks when nothing is due
    # Messages per second per channel and dispatcher (a provider's own limit, divided by
    # the number of dispatchers that run).
    rates: Mapping[Channel, float] = field(default_factory=lambda: MappingProxyType({}))

    def retry_delay(self, attempts: int) -> timedelta:
        """How long after failed attempt number `attempts` (1, 2, ...) to try again."""
        return min(self.backoff * (2 ** max(attempts - 1, 0)), self.backoff_max)

    @classmethod
    def from_config(cls, config: Mapping) -> DeliverySettings:
        return cls(
            portal_url=str(config.get("PORTAL_URL") or "http://127.0.0.1:5000").rstrip("/"),
            max_attempts=int(config.get("DELIVERY_MAX_ATTEMPTS", 6)),
            backoff=timedelta(seconds=float(config.get("DELIVERY_BACKOFF_SECONDS", 30))),
            backoff_max=timedelta(seconds=float(config.get("DELIVERY_BACKOFF_MAX_SECONDS", 3600))),
            lease=timedelta(seconds=float(config.get("DELIVERY_LEASE_SECONDS", 300))),
            batch=int(config.get("DELIVERY_BATCH", 50)),
            concurrency=int(config.get("DELIVERY_CONCURRENCY", 8)),
            poll=float(config.get("DELIVERY_POLL_SECONDS", 2)),
            rates=MappingProxyType(
                {
                    channel: float(config.get(f"DELIVERY_RATE_{channel.name}", default))
                    for channel, default in (
                        (Channel.SMS, 20),
                        (Channel.EMAIL, 20),
                        (Channel.PUSH, 100),
                    )
                }
            ),
        )


def settings_for(app) -> DeliverySettings:
    settings = app.extensions.get("delivery_settings")
    if settings is None:
        settings = app.extensions["delivery_settings"] = DeliverySettings.from_config(app.config)
    return settings
