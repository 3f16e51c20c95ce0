"""The SMS gateway's settings, read once from the app's configuration (app/config.py says what
each key means) into frozen values that services take as an argument."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType

PROVIDERS = ("outbox", "tencent")


@dataclass(frozen=True)
class SmsTemplate:
    """A message kind as the provider knows it: the pre-approved template's id, the names of
    its parameters in the template's order ({1}, {2}, ...) and its approved text (what the
    development outbox shows; the real provider keeps its own copy)."""

    kind: str
    template_id: str
    params: tuple[str, ...]
    text: str

    def render(self, values) -> str:
        """The text with {1}, {2}, ... filled from `values` (in order), as the phone shows it."""
        text = self.text
        for index, value in enumerate(values, start=1):
            text = text.replace("{" + str(index) + "}", str(value))
        return text


@dataclass(frozen=True)
class TencentSettings:
    secret_id: str = ""
    secret_key: str = field(default="", repr=False)  # never in a log line or traceback
    app_id: str = ""  # SmsSdkAppId
    sign_name: str = ""  # SignName, the approved 签名
    region: str = "ap-guangzhou"
    endpoint: str = "https://sms.tencentcloudapi.com"
    timeout: float = 10.0

    def missing(self) -> list[str]:
        """The settings a SendSms request cannot do without that are not set."""
        names = {
            "TENCENT_SMS_SECRET_ID": self.secret_id,
            "TENCENT_SMS_SECRET_KEY": self.secret_key,
            "TENCENT_SMS_APP_ID": self.app_id,
            "TENCENT_SMS_SIGN_NAME": self.sign_name,
        }
        return [name for name, value in names.items() if not value]


@dataclass(frozen=True)
class SmsSettings:
    provider: str
    templates: Mapping[str, SmsTemplate]
    code_key: bytes = field(repr=False)  # keys the codes' digests; derived from SECRET_KEY
    code_lifetime: timedelta = timedelta(minutes=5)
    code_tries: int = 5
    number_interval: timedelta = timedelta(seconds=60)
    number_hourly: int = 5
    address_hourly: int = 20
    message_retention: timedelta = timedelta(days=30)
    tencent: TencentSettings = TencentSettings()
    # The provider's webhooks (replies, delivery receipts): their HMAC key (empty: every
    # request refused), how old a signed request may be, and how long an alert can be answered.
    webhook_secret: bytes = field(default=b"", repr=False)
    webhook_max_age: timedelta = timedelta(minutes=5)
    reply_window: timedelta = timedelta(hours=2)

    def template(self, kind: str) -> SmsTemplate:
        try:
            return self.templates[kind]
        except KeyError:
            raise ValueError(
                f"no SMS template for kind {kind!r}: add it to SMS_TEMPLATES"
            ) from None

    def text_of(self, kind: str, params) -> str:
        """What the phone shows for a message of `kind` with `params` (the outbox's listing); a
        kind since removed from SMS_TEMPLATES shows its parameters."""
        template = self.templates.get(kind)
        return template.render(params) if template else " / ".join(map(str, params))

    @classmethod
    def from_config(cls, config: Mapping) -> SmsSettings:
        templates = {
            kind: SmsTemplate(
                kind=kind,
                template_id=str(entry.get("template_id") or ""),
                params=tuple(str(name) for name in entry.get("params") or ()),
                text=str(entry.get("text") or ""),
            )
            for kind, entry in (config.get("SMS_TEMPLATES") or {}).items()
        }
        secret = str(config["SECRET_KEY"]).encode()
        return cls(
            provider=provider_name(config),
            templates=MappingProxyType(templates),
            # A key of its own, so a digest says nothing about SECRET_KEY's other uses.
            code_key=hmac.new(secret, b"sms-verification-code", hashlib.sha256).digest(),
            code_lifetime=timedelta(minutes=float(config.get("SMS_CODE_MINUTES", 5))),
            code_tries=int(config.get("SMS_CODE_TRIES", 5)),
            number_interval=timedelta(seconds=float(config.get("SMS_CODE_INTERVAL_SECONDS", 60))),
            number_hourly=int(config.get("SMS_CODES_PER_NUMBER_HOUR", 5)),
            address_hourly=int(config.get("SMS_CODES_PER_ADDRESS_HOUR", 20)),
            message_retention=timedelta(days=float(config.get("SMS_RETENTION_DAYS", 30))),
            webhook_secret=str(config.get("SMS_WEBHOOK_SECRET") or "").encode(),
            webhook_max_age=timedelta(
                seconds=float(config.get("SMS_WEBHOOK_MAX_AGE_SECONDS", 300))
            ),
            reply_window=timedelta(minutes=float(config.get("SMS_REPLY_WINDOW_MINUTES", 120))),
            tencent=TencentSettings(
                secret_id=config.get("TENCENT_SMS_SECRET_ID") or "",
                secret_key=config.get("TENCENT_SMS_SECRET_KEY") or "",
                app_id=config.get("TENCENT_SMS_APP_ID") or "",
                sign_name=config.get("TENCENT_SMS_SIGN_NAME") or "",
                region=config.get("TENCENT_SMS_REGION") or "ap-guangzhou",
                endpoint=config.get("TENCENT_SMS_ENDPOINT") or "https://sms.tencentcloudapi.com",
                timeout=float(config.get("TENCENT_SMS_TIMEOUT") or 10),
            ),
        )


def is_production(config: Mapping) -> bool:
    """Production as create_app sees it (it runs check_production for HTTPS apps)."""
    return config.get("PREFERRED_URL_SCHEME") == "https"


def provider_name(config: Mapping) -> str:
    """SMS_PROVIDER, or when unset: the development outbox, except in production, where
    nothing is ever kept back silently (Tencent Cloud SMS)."""
    name = str(config.get("SMS_PROVIDER") or "").strip().lower()
    name = name or ("tencent" if is_production(config) else "outbox")
    if name not in PROVIDERS:
        raise RuntimeError(f"SMS_PROVIDER must be one of {', '.join(PROVIDERS)}, not {name!r}")
    return name


def dev_outbox_enabled(config: Mapping) -> bool:
    """The development outbox page and its footer link exist only when the outbox is the
    provider, which production refuses (app.config.check_production)."""
    return provider_name(config) == "outbox" and not is_production(config)


def settings_for(app) -> SmsSettings:
    """The app's settings, built on first use and kept with the app."""
    settings = app.extensions.get("sms_settings")
    if settings is None:
        settings = app.extensions["sms_settings"] = SmsSettings.from_config(app.config)
    return settings
