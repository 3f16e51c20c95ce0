"""The city parking platform's adapter: how a queued status message (parking/services/
citypush.py) leaves the portal. The dispatcher (`flask --app wsgi deliver`) calls `send` outside
any transaction, once per attempt, and records the answer (app/notifications/outbox.py).

One HTTP POST per message to CITY_PARKING_PUSH_URL: the payload as JSON (UTF-8), with
`Authorization: Bearer <CITY_PARKING_PUSH_TOKEN>` and `Idempotency-Key: <the message's key>`,
the same on every attempt, so an endpoint that keeps the keys it has seen takes a retried
message once. 2xx (and 409, "already have it") is delivered; 408, 429, 5xx, a timeout or a
refused connection is retried with backoff; any other 4xx fails for good (a dead letter).
"""

from __future__ import annotations

import requests

from app.notifications.channels import DeliveryError
from app.notifications.outbox import Outgoing, register_sender
from parking.services.citypush import KIND, CityPushSettings

RETRYABLE = {408, 425, 429}


class CityParkingSender:
    name = "city_parking"

    def __init__(self, settings: CityPushSettings) -> None:
        self.settings = settings
        self.http = requests.Session()

    def __call__(self, message: Outgoing) -> None:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": message.idempotency_key,
            "User-Agent": "citizen-portal city-parking-push/1",
        }
        if self.settings.token:
            headers["Authorization"] = f"Bearer {self.settings.token}"
        try:
            answer = self.http.post(
                self.settings.url,
                json=message.payload,
                headers=headers,
                timeout=self.settings.timeout,
            )
        except requests.RequestException as unreachable:
            raise DeliveryError(f"city parking endpoint: {unreachable}") from unreachable
        if 200 <= answer.status_code < 300 or answer.status_code == 409:
            return
        reason = f"city parking endpoint answered {answer.status_code}"
        retry = answer.status_code >= 500 or answer.status_code in RETRYABLE
        raise DeliveryError(reason, permanent=not retry)


def init_app(app) -> None:
    """Register the sender and the periodic push in the sweep. Both read CITY_PARKING_PUSH_*
    when they run, so the push stays off (nothing queued, nothing sent) while the URL is unset."""
    from app.registry import register_sweeper
    from parking.services import citypush

    def sender(app):
        settings = CityPushSettings.from_config(app.config)
        if settings is None:
            return _off
        return CityParkingSender(settings)

    register_sender(app, KIND, sender)
    register_sweeper(
        app,
        lambda session: {
            "city parking pushes queued": citypush.periodic(
                session, CityPushSettings.from_config(app.config)
            )
        },
    )


def _off(message: Outgoing) -> None:
    raise DeliveryError("CITY_PARKING_PUSH_URL is not set: the push is off", permanent=True)
