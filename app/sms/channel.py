"""The SMS channel of the notifications outbox (app/notifications/dispatch.py): a notification
sent as a text message through the SMS gateway's provider (the development outbox or Tencent
Cloud SMS). The template is the notification kind's own in SMS_TEMPLATES ("venue.offer"), or
the generic "notice" (the subject and the link). A parameter named `url` is the link to the
message's page, `subject` its subject in the recipient's language, `status` the Chinese word
for the notification's `state` (a repair ticket's); any other name is read from the
notification's parameters."""

from __future__ import annotations

from app.notifications.channels import DeliveryError, Outgoing
from app.notifications.models import DeliveryStatus
from app.sms.models import SmsStatus
from app.sms.providers import Outgoing as SmsOutgoing
from app.sms.providers import SmsDeliveryError, provider_for
from app.sms.settings import SmsSettings, settings_for

# One SMS segment holds 70 Chinese characters; a longer text goes as a long SMS whose segments
# hold 67 each. A text fits one segment when it does; otherwise up to two segments (134) are
# used before anything is shortened. What varies is the link and a name or subject: the first
# of these parameters gets what the rest leaves; the link and a reference are never cut.
SEGMENT = 70
LONG_SEGMENT = 67
LONGEST = 2 * LONG_SEGMENT
FITTED = ("subject", "estate")
# A repair ticket's state (the `state` its updates carry) as the SMS says it: SMS are Chinese.
STATUS_WORDS = {
    "submitted": "已提交",
    "acknowledged": "已受理",
    "assigned": "已派工",
    "in_progress": "维修中",
    "resolved": "已修好",
    "closed": "已关闭",
    "reopened": "已重新打开",
    "duplicate": "已合并",
    "cancelled": "已取消",
}
SHORTEST = 4  # characters a shortened parameter keeps, the ellipsis included
GENERIC = "notice"


class SmsChannel:
    def __init__(self, settings: SmsSettings) -> None:
        self.settings = settings
        self.provider = provider_for(settings)
        self.name = self.provider.name
        self.delivered_status = (
            DeliveryStatus.STORED
            if self.provider.delivered_status == SmsStatus.STORED
            else DeliveryStatus.SENT
        )

    def template_for(self, kind: str):
        return self.settings.templates.get(kind) or self.settings.template(GENERIC)

    def _template_of(self, message: Outgoing):
        """The kind's own template, or the generic notice when the message lacks one of its
        parameters (written before the template changed): it still goes out, as a notice."""
        template = self.template_for(message.kind)
        needed = set(template.params) - {"url", "subject"}
        given = set(message.params) | ({"status"} if _status(message) else set())
        if needed <= given:
            return template
        return self.settings.template(GENERIC)

    def params_for(self, message: Outgoing) -> tuple[str, ...]:
        template = self._template_of(message)
        values = []
        for name in template.params:
            if name == "url":
                values.append(message.url)
            elif name == "subject":
                values.append(message.subject)
            elif name == "status" and _status(message):
                values.append(_status(message))
            elif name in message.params:
                values.append(str(message.params[name]))
            else:
                raise DeliveryError(
                    f"SMS template {template.kind!r} needs {name!r}, which a {message.kind} "
                    "message does not have",
                    permanent=True,
                )
        return self._fit(template, values)

    @staticmethod
    def _fit(template, values: list[str]) -> tuple[str, ...]:
        """The text as is when it fits two segments (LONGEST); otherwise the first fitted
        parameter (the subject, the estate's name) shortened so it does, where it can. The
        link and the other parameters (a reference, a time, a status) are never cut."""
        over = len(template.render(values)) - LONGEST
        for index, name in enumerate(template.params):
            if name in FITTED and over > 0:
                value = values[index]
                keep = max(len(value) - over - 1, SHORTEST - 1)
                if keep < len(value) - 1:
                    values[index] = value[:keep] + "…"
                break
        return tuple(values)

    def text_of(self, message: Outgoing) -> str:
        return self._template_of(message).render(self.params_for(message))

    def deliver(self, message: Outgoing) -> str | None:
        template = self._template_of(message)
        outgoing = SmsOutgoing(
            message_id=message.delivery_id,
            phone=message.address,
            kind=template.kind,
            template_id=template.template_id,
            params=self.params_for(message),
        )
        try:
            return self.provider.deliver(outgoing)
        except SmsDeliveryError as refused:
            raise DeliveryError(str(refused)) from None


def _status(message: Outgoing) -> str:
    return STATUS_WORDS.get(str((message.params or {}).get("state", "")), "")


def channel_for(app) -> SmsChannel:
    return SmsChannel(settings_for(app))
