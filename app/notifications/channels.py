"""Channel providers: what hands one message to a carrier (an SMS gateway, an SMTP server, a
browser's push service). Each has a `name` (stored on the delivery), the status a message it
took ends in, and `deliver(message) -> provider message id or None`, which raises
`DeliveryError` when the message was not taken. Providers do no database work: the
dispatcher (app/notifications/dispatch.py) claims rows, calls providers outside any
transaction and records their answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from app.notifications.models import Channel, DeliveryStatus


class DeliveryError(Exception):
    """The provider did not take the message. `permanent`: trying again cannot help (an
    address refused, a template missing), so the row fails at once instead of backing off.
    `address_gone`: the address no longer exists (a push subscription the browser dropped)."""

    def __init__(self, reason: str, *, permanent: bool = False, address_gone: bool = False):
        super().__init__(reason)
        self.permanent = permanent or address_gone
        self.address_gone = address_gone


@dataclass(frozen=True)
class Outgoing:
    """One message as a provider needs it, read and translated (into the recipient's
    language) before the provider is called."""

    delivery_id: int
    idempotency_key: str  # the same on every attempt: a provider that honours it sends once
    channel: Channel
    address: str  # phone number, e-mail address, or push subscription id
    kind: str  # the notification's kind ("venue.offer")
    locale: str
    subject: str  # translated
    body: str  # translated, may be empty
    url: str  # the absolute link to the page the message is about (the inbox when none)
    params: dict = field(default_factory=dict)  # the notification's parameters, untranslated
    attempt: int = 1
    # What the channel needs of the address besides its name, read with the claim: a push
    # subscription's endpoint and keys (empty when the subscription was removed or is gone).
    target: dict = field(default_factory=dict)


class ChannelProvider(Protocol):
    name: str
    delivered_status: DeliveryStatus

    def deliver(self, message: Outgoing) -> str | None: ...


def register(app, channel: Channel, factory: Callable) -> None:
    """Make `factory(app)` the app's provider of `channel` (each channel's package calls
    this from its init_app; a test may register a stub)."""
    app.extensions.setdefault("delivery_factories", {})[channel] = factory
    app.extensions.setdefault("delivery_providers", {}).pop(channel, None)


def provider_of(app, channel: Channel) -> ChannelProvider:
    """The app's provider for `channel`, built on first use and kept with the app."""
    providers = app.extensions.setdefault("delivery_providers", {})
    if channel not in providers:
        factory = app.extensions.get("delivery_factories", {}).get(channel)
        if factory is None:
            raise DeliveryError(f"no provider for the {channel} channel", permanent=True)
        providers[channel] = factory(app)
    return providers[channel]
