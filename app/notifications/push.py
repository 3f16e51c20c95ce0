"""Web Push: the push channel of the notifications outbox and the browsers that subscribed.

* **Keys (VAPID, RFC 8292)**: the portal signs every push with one P-256 key pair,
  VAPID_PRIVATE_KEY (the 32-byte private value) and VAPID_PUBLIC_KEY (the uncompressed point a
  browser subscribes with as `applicationServerKey`), both base64url, and VAPID_SUBJECT (a
  mailto: the push services can write to). `flask --app wsgi vapid-keys` prints a new pair.
  Production refuses to start without them while PUSH_ENABLED (app/config.py check_push);
  development makes a pair on first use and keeps it in the instance folder (a subscription is
  bound to the key it was made with, so the pair must outlive a restart); tests get one per app.
* **Subscriptions**: `subscribe` validates what the browser's PushManager gave (an https
  endpoint, a P-256 point, a 16-byte secret), keeps one row per endpoint (subscribing again
  updates it) and at most PUSH_SUBSCRIPTIONS_PER_PERSON live ones per person.
* **Provider** (`PushChannel`): the message as JSON {title, body, url, tag}, encrypted
  aes128gcm (RFC 8291) by pywebpush, with a TTL, an Urgency header (high for urgent
  categories) and a Topic made from the delivery's idempotency key, so a retry replaces an
  undelivered copy at the push service instead of adding a second. 404/410 mean the browser
  dropped the subscription (the dispatcher marks it gone); 429, 5xx and network failures are
  tried again; any other refusal is final. The endpoint and keys come with the claimed row
  (`Outgoing.target`, read by app/notifications/dispatch.py), so the provider does no database
  work.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

import click
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask.cli import with_appcontext
from flask_babel import lazy_gettext as _l
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush
from sqlalchemy import delete, func, select

from app.db import unit_of_work, utcnow
from app.errors import DomainError
from app.notifications.channels import DeliveryError, Outgoing
from app.notifications.kinds import CATEGORIES, category_of
from app.notifications.models import DeliveryStatus, PushSubscription

KEY_FILE = "vapid.json"  # in the instance folder, development only
MAX_ENDPOINT = 1024
PAYLOAD_BODY_BYTES = 2500  # push services take 4096 bytes; the rest is title, url, framing


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url (padding optional); ValueError for anything else."""
    if (
        not isinstance(text, str)
        or not text
        or text.strip("=").strip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    ):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None


# --- VAPID keys --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VapidKeys:
    private_key: str  # base64url, 32 bytes
    public_key: str  # base64url, 65 bytes (uncompressed point): the applicationServerKey
    subject: str  # mailto: or https: a push service can reach the portal's operator at


def new_key_pair() -> tuple[str, str]:
    """A fresh (private, public) VAPID pair in the configuration's format."""
    key = ec.generate_private_key(ec.SECP256R1())
    return b64url(key.private_numbers().private_value.to_bytes(32, "big")), public_key_of(key)


def public_key_of(key) -> str:
    if isinstance(key, str):
        key = ec.derive_private_key(int.from_bytes(b64url_decode(key), "big"), ec.SECP256R1())
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point)


def check_key_pair(private_key: str, public_key: str) -> None:
    """RuntimeError unless the two form one P-256 pair in the configuration's format."""
    try:
        raw = b64url_decode(private_key)
        if len(raw) != 32:
            raise ValueError("the private key is not 32 bytes")
        matches = public_key_of(private_key) == public_key.rstrip("=")
    except ValueError as error:
        raise RuntimeError(f"VAPID_PRIVATE_KEY is not a P-256 private key: {error}") from None
    if not matches:
        raise RuntimeError("VAPID_PUBLIC_KEY is not the public half of VAPID_PRIVATE_KEY")


def push_enabled(config) -> bool:
    return str(config.get("PUSH_ENABLED", "1")).strip().lower() in ("1", "true", "yes", "on")


def is_production(config) -> bool:
    # The production config is the one that serves HTTPS (create_app checks it the same way).
    return config.get("PREFERRED_URL_SCHEME") == "https"


def vapid_keys(app) -> VapidKeys | None:
    """The app's VAPID keys (None while PUSH_ENABLED is off): configured ones, else in
    development a pair made once and kept in the instance folder, in tests one per app."""
    if not push_enabled(app.config):
        return None
    keys = app.extensions.get("vapid_keys")
    if keys is not None:
        return keys
    private, public = app.config.get("VAPID_PRIVATE_KEY"), app.config.get("VAPID_PUBLIC_KEY")
    if private and public:
        check_key_pair(private, public)
    elif is_production(app.config):
        raise RuntimeError("VAPID_PRIVATE_KEY and VAPID_PUBLIC_KEY must be set in production")
    elif app.config.get("TESTING"):
        private, public = new_key_pair()
    else:
        private, public = _development_pair(os.path.join(app.instance_path, KEY_FILE))
    subject = app.config.get("VAPID_SUBJECT") or "mailto:webmaster@localhost.localdomain"
    keys = app.extensions["vapid_keys"] = VapidKeys(private, public.rstrip("="), subject)
    return keys


def _development_pair(path: str) -> tuple[str, str]:
    """The pair in `path`, written first if missing. Written whole to a temporary file and
    linked into place (which fails if the file exists), so the server and the dispatcher
    starting together agree on one pair and never read half a file; this user's alone."""
    if not os.path.exists(path):
        private, public = new_key_pair()
        draft = f"{path}.{os.getpid()}.tmp"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"private_key": private, "public_key": public}, out)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process was first: its pair it is
        finally:
            os.unlink(draft)
    with open(path, encoding="utf-8") as stored:
        pair = json.load(stored)
    return pair["private_key"], pair["public_key"]


@click.command("vapid-keys")
@with_appcontext
def vapid_keys_command():
    """Print a new VAPID key pair for Web Push, as the environment settings it goes into."""
    private, public = new_key_pair()
    click.echo(f"VAPID_PRIVATE_KEY={private}")
    click.echo(f"VAPID_PUBLIC_KEY={public}")


# --- Subscriptions -----------------------------------------------------------------------------


class SubscriptionRefused(DomainError):
    code = "push_subscription_refused"


@dataclass(frozen=True)
class PushSettings:
    allow_loopback: bool  # http://127.0.0.1 and localhost endpoints (development and tests)
    per_person: int
    ttl: int  # seconds a push service keeps a message for an offline browser
    urgent_ttl: int
    timeout: float

    @classmethod
    def from_config(cls, config) -> PushSettings:
        return cls(
            allow_loopback=not is_production(config),
            per_person=int(config.get("PUSH_SUBSCRIPTIONS_PER_PERSON", 10)),
            ttl=int(config.get("PUSH_TTL_SECONDS", 86400)),
            urgent_ttl=int(config.get("PUSH_URGENT_TTL_SECONDS", 259200)),
            timeout=float(config.get("PUSH_TIMEOUT_SECONDS", 10)),
        )


def _check_endpoint(endpoint, settings: PushSettings) -> str:
    invalid = SubscriptionRefused(_l("This browser gave an address we cannot send to."))
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > MAX_ENDPOINT:
        raise invalid
    try:
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError:
        raise invalid from None
    if (
        parts.username
        or parts.password
        or not host
        or any(c <= " " or c == "\x7f" for c in endpoint)
    ):
        raise invalid
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    loopback = host == "localhost" or (literal is not None and literal.is_loopback)
    if loopback and settings.allow_loopback and parts.scheme in ("http", "https"):
        return endpoint
    # A push service is a public https host: never an address inside the portal's network.
    if parts.scheme != "https" or loopback or (literal is not None and not literal.is_global):
        raise invalid
    return endpoint


def _check_key(value, length: int) -> str:
    try:
        raw = b64url_decode(value)
    except ValueError:
        raw = b""
    if len(raw) != length:
        raise SubscriptionRefused(_l("This browser gave keys we cannot use."))
    if length == 65:
        try:  # a point on P-256, uncompressed (0x04 || x || y)
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        except ValueError:
            raise SubscriptionRefused(_l("This browser gave keys we cannot use.")) from None
        if raw[0] != 4:
            raise SubscriptionRefused(_l("This browser gave keys we cannot use."))
    return b64url(raw)


def subscribe(session, user_id: int, data, label: str, settings: PushSettings):
    """Keep the browser subscription `data` ({endpoint, keys: {p256dh, auth}}, as the
    browser's PushSubscription.toJSON() gives it) for `user_id`. Guarantees: only a valid
    subscription is stored (SubscriptionRefused otherwise); one row per endpoint, so
    subscribing again updates it (and moves it to this person: a shared computer now signed in
    as someone else); at most `settings.per_person` live subscriptions per person."""
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, dict):
        raise SubscriptionRefused(_l("This browser gave keys we cannot use."))
    endpoint = _check_endpoint(data.get("endpoint"), settings)
    p256dh, auth = _check_key(keys.get("p256dh"), 65), _check_key(keys.get("auth"), 16)
    with unit_of_work(session):
        row = session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
        if row is None or row.user_id != user_id:
            live = session.scalar(
                select(func.count())
                .select_from(PushSubscription)
                .where(PushSubscription.user_id == user_id, PushSubscription.gone_at.is_(None))
            )
            if live >= settings.per_person:
                raise SubscriptionRefused(
                    _l(
                        "You have notifications on in %(n)d browsers, the most we keep. "
                        "Stop them in one you no longer use first."
                    ),
                    n=settings.per_person,
                )
        if row is None:
            row = PushSubscription(user_id=user_id, endpoint=endpoint)
            session.add(row)
        row.user_id, row.p256dh, row.auth = user_id, p256dh, auth
        label = "".join(c for c in label if c.isprintable())[:128]  # from a request header
        row.label, row.gone_at, row.created_at = label, None, utcnow()
        session.flush()
        return row


def subscriptions_of(session, user_id: int) -> list[PushSubscription]:
    """The person's browsers, newest first (those the push service dropped included)."""
    return list(
        session.scalars(
            select(PushSubscription)
            .where(PushSubscription.user_id == user_id)
            .order_by(PushSubscription.created_at.desc(), PushSubscription.id.desc())
        )
    )


def unsubscribe(session, user_id: int, subscription_id: int) -> bool:
    """Forget one of the person's own browsers (nothing is sent to it after this unit
    commits; queued pushes to it fail as removed). False when it was not theirs or is gone."""
    with unit_of_work(session):
        return bool(
            session.execute(
                delete(PushSubscription).where(
                    PushSubscription.id == subscription_id, PushSubscription.user_id == user_id
                )
            ).rowcount
        )


def export_personal_data(session, user) -> dict:
    """The person's browsers for "my data": label, push service, when turned on, last sent."""
    return {
        "browsers": [
            {
                "label": row.label,
                "push_service": urlsplit(row.endpoint).hostname,
                "turned_on_at": row.created_at.isoformat(),
                "last_sent_at": row.last_sent_at.isoformat() if row.last_sent_at else None,
                "dropped_at": row.gone_at.isoformat() if row.gone_at else None,
            }
            for row in subscriptions_of(session, user.id)
        ]
    }


def erase_personal_data(session, user) -> dict:
    """Closing the account: every browser forgotten, so nothing more is pushed to it."""
    removed = session.execute(delete(PushSubscription).where(PushSubscription.user_id == user.id))
    return {"push_subscriptions": removed.rowcount}


# --- The provider ------------------------------------------------------------------------------


def topic_of(message: Outgoing) -> str:
    # At most 32 characters of the base64url alphabet (RFC 8030 5.4): the key's hex digits.
    return message.idempotency_key.replace("-", "")[:32]


def payload_of(message: Outgoing) -> bytes:
    body = message.body.encode("utf-8")[:PAYLOAD_BODY_BYTES].decode("utf-8", "ignore")
    return json.dumps(
        {"title": message.subject, "body": body, "url": message.url, "tag": topic_of(message)},
        ensure_ascii=False,
    ).encode("utf-8")


class PushChannel:
    name = "webpush"
    delivered_status = DeliveryStatus.SENT  # push services do not report what reached a screen

    def __init__(self, keys: VapidKeys, settings: PushSettings) -> None:
        self.vapid = Vapid02.from_raw(keys.private_key.encode("ascii"))
        self.subject = keys.subject
        self.settings = settings

    def deliver(self, message: Outgoing) -> str | None:
        if not message.target:
            raise DeliveryError("the browser's subscription was removed", permanent=True)
        category = category_of(message.kind)
        urgent = category is not None and CATEGORIES[category].urgent
        try:
            response = webpush(
                message.target,
                data=payload_of(message),
                vapid_private_key=self.vapid,
                vapid_claims={"sub": self.subject},  # a new dict: webpush adds aud and exp
                content_encoding="aes128gcm",
                ttl=self.settings.urgent_ttl if urgent else self.settings.ttl,
                headers={"Topic": topic_of(message), "Urgency": "high" if urgent else "normal"},
                timeout=self.settings.timeout,
            )
        except WebPushException as refused:
            status = refused.response.status_code if refused.response is not None else None
            if status in (404, 410):
                raise DeliveryError(
                    f"push service answered {status}: the browser dropped the subscription",
                    address_gone=True,
                ) from None
            if status is None or status == 429 or status >= 500:
                raise DeliveryError(f"push service answered {status}: try again") from None
            raise DeliveryError(f"push service refused it: {status}", permanent=True) from None
        except requests.RequestException as failed:
            raise DeliveryError(f"push service unreachable: {type(failed).__name__}") from None
        return (response.headers.get("Location") or "")[:128] or None


def channel_for(app) -> PushChannel:
    keys = vapid_keys(app)
    if keys is None:
        raise DeliveryError("Web Push is off (PUSH_ENABLED)", permanent=True)
    return PushChannel(keys, PushSettings.from_config(app.config))
