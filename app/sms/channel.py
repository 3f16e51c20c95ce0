"""The SMS channel of the notifications outbox (app/notifications/dispatch.py): a notification
sent as a text message through the SMS gateway's provider (the development outbox or Tencent
Cloud SMS). The template is the notification kind's own in SMS_TEMPLATES ("venue.offer"), or
the generic "notice" (the subject and the link). A parameter named `url` is the link to the
message's page, `subject` its subject in the recipient's language; any other name is read
from the notification's parameters."""

from __future__ import annotations

from app.notifications.channels import DeliveryError, Outgoing
from app.notifications.models import DeliveryStatus
from app.sms.models import SmsStatus
from app.sms.providers import Outgoing as SmsOutgoing
from app.sms.providers import SmsDeliveryError, provider_for
from app.sms.settings import SmsSettings, settings_for

# One SMS segment holds 70 Chinese characters. A template's text is short; what varies is the
# link and a name or subject: the first of these parameters gets what the rest leaves.
SEGMENT = 70
FITTED = ("subject", "estate")
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
        if needed <= set(message.params):
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
        """Shorten the first fitted parameter (the subject, the estate's name) so the whole
        text stays within one segment where it can; the link is never cut."""
        over = len(template.render(values)) - SEGMENT
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


def channel_for(app) -> SmsChannel:
    return SmsChannel(settings_for(app))
