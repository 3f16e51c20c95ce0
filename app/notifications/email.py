"""The e-mail channel: a notification sent over SMTP (Python's smtplib) as a message with a
plain-text and an HTML part, the link to its page, and a footer pointing to the person's
notification settings.

The Message-ID is made from the delivery's idempotency key, so a message sent again after a
timeout (the server may have taken the first) carries the same id and mail software can tell
the copies apart. A 4xx answer, a refused connection or a timeout raises `DeliveryError`
(the dispatcher retries later); a 5xx refusal of the recipient or of the message raises it
`permanent` (trying again cannot help). Without MAIL_SERVER e-mail is off: the settings page
offers no address, and a delivery fails at once saying so (production refuses a half
configuration, app/config.py `check_mail`).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from flask_babel import force_locale

from app import clock
from app.notifications.channels import DeliveryError, Outgoing
from app.notifications.models import DeliveryStatus

SETTINGS_PATH = "/profile/notifications"  # the footer's link: where a person stops the mails
CONFIRM_KIND = "email.confirm"  # the address's confirmation link: no settings footer


def _flag(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class MailSettings:
    server: str  # empty: e-mail is off
    port: int
    starttls: bool  # upgrade the connection with STARTTLS (port 587)
    ssl: bool  # TLS from the first byte (port 465)
    username: str
    password: str
    sender: str  # "物业百事通 <noreply@example.gov.cn>" or a bare address
    timeout: float  # seconds for the connection and each answer
    portal_url: str

    @property
    def enabled(self) -> bool:
        return bool(self.server)

    @property
    def domain(self) -> str:
        """The sender's domain, for Message-IDs."""
        return parseaddr(self.sender)[1].rpartition("@")[2] or "localhost"

    @classmethod
    def from_config(cls, config: Mapping, portal_url: str) -> MailSettings:
        return cls(
            server=str(config.get("MAIL_SERVER") or "").strip(),
            port=int(config.get("MAIL_PORT") or 587),
            starttls=_flag(config.get("MAIL_USE_TLS", True)),
            ssl=_flag(config.get("MAIL_USE_SSL", False)),
            username=str(config.get("MAIL_USERNAME") or ""),
            password=str(config.get("MAIL_PASSWORD") or ""),
            sender=str(config.get("MAIL_FROM") or "noreply@localhost"),
            timeout=float(config.get("MAIL_TIMEOUT") or 10),
            portal_url=portal_url,
        )


def build_message(message: Outgoing, settings: MailSettings, jinja_env) -> EmailMessage:
    """The e-mail for `message`: headers, a plain-text part and an HTML alternative rendered
    from templates/email/ in the recipient's language (Jinja escapes every value in the HTML);
    every message but an address's confirmation ends with the way to stop such mails."""
    footer = message.kind != CONFIRM_KIND
    context = {
        "subject": message.subject,
        "body": message.body,
        "url": message.url,
        "settings_url": settings.portal_url + SETTINGS_PATH,
        "footer": footer,
        "confirm": not footer,  # the HTML link reads "Confirm this address"
    }
    with force_locale(message.locale):
        text = jinja_env.get_template("email/message.txt").render(context)
        html = jinja_env.get_template("email/message.html").render(context, lang=message.locale)
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = settings.sender
    mail["To"] = Address(addr_spec=message.address)
    mail["Date"] = format_datetime(clock.now())
    mail["Message-ID"] = f"<{message.idempotency_key}@{settings.domain}>"
    mail["Auto-Submitted"] = "auto-generated"  # no out-of-office replies to a robot
    if footer:
        mail["List-Unsubscribe"] = f"<{settings.portal_url}{SETTINGS_PATH}>"
    mail.set_content(text)
    mail.add_alternative(html, subtype="html")
    return mail


def _refusal(code: int, text, what: str) -> DeliveryError:
    reason = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    return DeliveryError(f"{what}: {code} {reason}", permanent=code >= 500)


class EmailChannel:
    """The SMTP provider: one connection per message (the dispatcher's threads send several at
    once; a connection is not shared between threads)."""

    name = "smtp"
    delivered_status = DeliveryStatus.SENT

    def __init__(self, settings: MailSettings, jinja_env) -> None:
        self.settings = settings
        self.jinja_env = jinja_env

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.ssl:
            return smtplib.SMTP_SSL(
                s.server, s.port, timeout=s.timeout, context=ssl.create_default_context()
            )
        smtp = smtplib.SMTP(s.server, s.port, timeout=s.timeout)
        if s.starttls:
            smtp.starttls(context=ssl.create_default_context())
        return smtp

    def deliver(self, message: Outgoing) -> str | None:
        if not self.settings.enabled:
            raise DeliveryError("MAIL_SERVER is not set: e-mail is off", permanent=True)
        mail = build_message(message, self.settings, self.jinja_env)
        try:
            with self._connect() as smtp:
                if self.settings.username:
                    smtp.login(self.settings.username, self.settings.password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as refused:
            [(code, text)] = refused.recipients.values()  # one recipient per message
            raise _refusal(code, text, "recipient refused") from None
        except smtplib.SMTPDataError as refused:  # the message itself (content, size)
            raise _refusal(refused.smtp_code, refused.smtp_error, "message refused") from None
        except smtplib.SMTPResponseException as answer:
            # The sender refused, a failed login: the server's configuration, not this
            # message. Retried (with backoff) so a corrected setting delivers what waited.
            raise DeliveryError(
                f"SMTP {answer.smtp_code} {answer.smtp_error!r}", permanent=False
            ) from None
        except (OSError, smtplib.SMTPException) as fault:  # refused, timed out, cut off
            raise DeliveryError(f"SMTP server unreachable: {fault!r}") from None
        return mail["Message-ID"]


def channel_for(app) -> EmailChannel:
    from app.notifications.settings import settings_for

    return EmailChannel(
        MailSettings.from_config(app.config, settings_for(app).portal_url), app.jinja_env
    )
