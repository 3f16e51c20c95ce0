"""The parking service's domain operations, one module per area: reservations (the reservable
pool), sharing (off-peak contracts), payments, gate (barrier events and stays), vehicles and
verification (plates as claims), retention, sweep, tariffs, plates, operator (figures and
settings) and search.

Plain functions taking a session, the actor and `ParkingSettings`; no Flask globals. Every write
opens `app.db.unit_of_work` (a unit opened inside another joins it), so views, the API, the
sweep and the demo seeders never commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from bookings.noshows import NoShowPolicy
from parking.services.citypush import CityPushSettings

SUSPENSION_KIND = "parking"  # BookingSuspension.kind of a driver suspended from reserving
POOL_KIND = "carpark"  # Resource.kind of a car park's reservable pool
SHARING_KIND = "sharing"  # Resource.kind of an off-peak sharing window


@dataclass(frozen=True)
class ParkingSettings:
    """What parking's services read from the configuration (app/config.py). Views, the API,
    commands and the sweep build it with `from_config(current_app.config)` and pass it in."""

    reserve_days_ahead: int  # PARKING_RESERVE_DAYS_AHEAD
    max_upcoming: int  # PARKING_MAX_UPCOMING
    no_shows: NoShowPolicy  # PARKING_NO_SHOW_LIMIT, _NO_SHOW_WINDOW_DAYS, _SUSPENSION_DAYS
    sharing_pay_minutes: int  # PARKING_SHARING_PAY_MINUTES
    retention_days: int  # PARKING_RETENTION_DAYS
    payment_provider: str  # PARKING_PAYMENT_PROVIDER
    # PAYMENT_CALLBACK_SECRETS and SECRET_KEY sign providers' callbacks; never printed.
    callback_secrets: Mapping[str, str] = field(
        repr=False, default_factory=lambda: MappingProxyType({})
    )
    secret_key: str = field(repr=False, default="")
    # opendata (issue 15): the city parking platform push (CITY_PARKING_PUSH_*); None: off.
    city_push: CityPushSettings | None = None

    @classmethod
    def from_config(cls, config: Mapping) -> ParkingSettings:
        """The settings from the app's configuration (read once, when built)."""
        return cls(
            reserve_days_ahead=int(config["PARKING_RESERVE_DAYS_AHEAD"]),
            max_upcoming=int(config["PARKING_MAX_UPCOMING"]),
            no_shows=NoShowPolicy.from_config(
                config,
                "PARKING",
                kind=SUSPENSION_KIND,
                resource_kinds=(POOL_KIND,),
                count_late_cancellations=True,
            ),
            sharing_pay_minutes=int(config["PARKING_SHARING_PAY_MINUTES"]),
            retention_days=int(config["PARKING_RETENTION_DAYS"]),
            payment_provider=config["PARKING_PAYMENT_PROVIDER"],
            callback_secrets=MappingProxyType(dict(config.get("PAYMENT_CALLBACK_SECRETS") or {})),
            secret_key=config["SECRET_KEY"],
            city_push=CityPushSettings.from_config(config),
        )

    @property
    def pool_days(self) -> int:
        """How many days of the reservable pool exist ahead: today and the days one may
        reserve."""
        return self.reserve_days_ahead + 1
