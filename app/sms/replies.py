"""Which package answers a reply to which SMS alert: a service package registers a handler for
the notification kinds it sends (repairs: "1" to a repair alert acknowledges the ticket), so
the SMS gateway acts on replies without knowing the packages (app/sms/services/inbound.py)."""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType

from app.sms.services.inbound import ReplyHandler


def register_reply_handler(app, kinds: Iterable[str], handler: ReplyHandler) -> None:
    """Make `handler` answer replies to SMS messages of `kinds` in `app`."""
    handlers = app.extensions.setdefault("sms_reply_handlers", {})
    for kind in kinds:
        handlers[kind] = handler


def reply_handlers(app) -> MappingProxyType:
    """notification kind -> its reply handler, in `app`."""
    return MappingProxyType(app.extensions.get("sms_reply_handlers", {}))
