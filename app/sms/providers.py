"""SMS providers: what hands a message to a carrier. Each has a `name` (stored on the message),
the status a message it took ends in, and `deliver(message) -> provider message id`, which
raises `SmsDeliveryError` (its text is stored on the failed row) when the message was not
taken. Providers do no database work: `app.sms.services.deliver` claims the row, calls the
provider outside any transaction and records the answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from app.sms.models import SmsStatus
from app.sms.settings import SmsSettings


class SmsDeliveryError(Exception):
    """The provider did not take the message; the text says why, for the row and the log."""


@dataclass(frozen=True)
class Outgoing:
    """One message as a provider needs it, read from its row before the provider is called."""

    message_id: int
    phone: str  # 11 mainland digits
    kind: str
    template_id: str
    params: tuple[str, ...]


class SmsProvider(Protocol):
    name: str
    delivered_status: SmsStatus

    def deliver(self, message: Outgoing) -> str: ...


class DevelopmentOutbox:
    """Keeps every message in the outbox table with status "stored"; nothing leaves the
    machine. Read them with `flask --app wsgi messages list` or on /dev/outbox. Refused in
    production (app.config.check_production)."""

    name = "outbox"
    delivered_status = SmsStatus.STORED

    def deliver(self, message: Outgoing) -> str:
        return f"outbox-{message.message_id}"


def provider_for(settings: SmsSettings) -> SmsProvider:
    if settings.provider == "outbox":
        return DevelopmentOutbox()
    if settings.provider == "tencent":
        from app.sms.tencent import TencentSms

        return TencentSms(settings.tencent)
    raise ValueError(f"unknown SMS provider {settings.provider!r}")
