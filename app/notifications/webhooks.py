"""The SMS provider's webhooks: replies people send (POST /hooks/sms/inbound) and delivery
receipts (POST /hooks/sms/receipts). No session, no CSRF token: each request is signed.

The signature scheme (what the gateway in front of the provider, or the provider, must send):
- `X-Portal-Timestamp`: the time of signing, in whole seconds since the Unix epoch;
- `X-Portal-Signature`: hex(HMAC-SHA256(SMS_WEBHOOK_SECRET, timestamp + "." + raw body)),
  optionally prefixed "sha256=".
A request whose timestamp is more than SMS_WEBHOOK_MAX_AGE_SECONDS (300) away from now is
refused (a replay), and the signatures are compared in constant time. Without a secret
configured, every request is refused: an unsigned webhook would let anyone acknowledge tickets.

The bodies are Tencent Cloud SMS's callbacks: a reply (回复短信回调) is one JSON object
`{"mobile", "nationcode", "text", "sign", "time", "extend"}` (`time` in Unix seconds);
receipts (状态回调) are a JSON list of `{"mobile", "report_status": "SUCCESS" | "FAIL",
"errmsg", "description", "sid", "user_receive_time": "YYYY-MM-DD HH:MM:SS"}`. The answer is
Tencent's `{"result": 0, "errmsg": "OK"}`. A reply carries no message id: the same reply sent
twice is recognised by its number, time and text (or by a `sid`, when a gateway adds one).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import UTC, datetime

from flask import Blueprint, current_app, jsonify, request

from app import clock
from app.extensions import csrf, db
from app.sms.replies import reply_handlers
from app.sms.services.inbound import Inbound, Receipt, receive, record_receipts
from app.sms.settings import settings_for

log = logging.getLogger(__name__)

bp = Blueprint("hooks", __name__, url_prefix="/hooks")
csrf.exempt(bp)

TIMESTAMP_HEADER = "X-Portal-Timestamp"
SIGNATURE_HEADER = "X-Portal-Signature"
MAX_BODY = 256 * 1024  # a receipt batch is a few hundred short entries at most


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature of `body` sent at `timestamp` (the scheme in the module's docstring)."""
    return hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: bytes, timestamp: str, body: bytes, given: str, now: float, max_age) -> bool:
    """Is `given` the signature of `body` at `timestamp`, and `timestamp` within `max_age` of
    `now`? False without a secret."""
    if not secret or not timestamp or not given:
        return False
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > max_age.total_seconds():
        return False
    given = given.removeprefix("sha256=").strip().lower()
    return hmac.compare_digest(signature(secret, timestamp, body), given)


def _answer(result: int, message: str, status: int):
    return jsonify({"result": result, "errmsg": message}), status


def _signed_json():
    """The request's JSON body if its signature holds; else (None, the refusal to send)."""
    settings = settings_for(current_app)
    body = request.get_data(cache=True)
    if len(body) > MAX_BODY:
        return None, _answer(1, "body too large", 413)
    if not verify(
        settings.webhook_secret,
        request.headers.get(TIMESTAMP_HEADER, ""),
        body,
        request.headers.get(SIGNATURE_HEADER, ""),
        time.time(),
        settings.webhook_max_age,
    ):
        log.warning("SMS webhook %s: signature refused", request.path)
        return None, _answer(1, "bad signature", 401)
    try:
        return json.loads(body), None
    except ValueError:
        return None, _answer(1, "body is not JSON", 400)


def inbound_of(payload: dict) -> Inbound:
    """A Tencent reply callback as an `Inbound`; ValueError when it is not one."""
    mobile, text = str(payload["mobile"]), str(payload["text"])
    sent = int(payload.get("time") or time.time())
    identity = (
        payload.get("sid")
        or hashlib.sha256(
            "|".join(
                (
                    str(payload.get("nationcode", "")),
                    mobile,
                    str(sent),
                    text,
                    str(payload.get("extend")),
                )
            ).encode()
        ).hexdigest()[:40]
    )
    return Inbound(
        phone=mobile,
        text=text,
        provider_message_id=f"reply-{identity}"[:128],
        received_at=datetime.fromtimestamp(sent, UTC),
    )


@bp.post("/sms/inbound")
def sms_inbound():
    payload, refusal = _signed_json()
    if refusal is not None:
        return refusal
    try:
        message = inbound_of(payload)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return _answer(1, "not a reply callback", 400)
    settings = settings_for(current_app)
    row = receive(db.session, message, reply_handlers(current_app), settings.reply_window)
    log.info("SMS reply from %s: %s", row.phone[-4:], row.outcome)
    return _answer(0, "OK", 200)


def receipt_of(entry: dict) -> Receipt:
    """One Tencent status callback entry as a `Receipt`; ValueError when it is not one."""
    status = str(entry["report_status"]).upper()
    if status not in ("SUCCESS", "FAIL"):
        raise ValueError(status)
    at = None
    if entry.get("user_receive_time"):  # the phone's local time, Asia/Shanghai
        at = datetime.strptime(str(entry["user_receive_time"]), "%Y-%m-%d %H:%M:%S").replace(
            tzinfo=clock.LOCAL_TZ
        )
    reason = " ".join(str(entry.get(key) or "") for key in ("errmsg", "description")).strip()
    return Receipt(str(entry["sid"]), status == "SUCCESS", at, reason)


@bp.post("/sms/receipts")
def sms_receipts():
    payload, refusal = _signed_json()
    if refusal is not None:
        return refusal
    entries = payload if isinstance(payload, list) else [payload]
    try:
        receipts = [receipt_of(entry) for entry in entries]
    except (KeyError, TypeError, ValueError, AttributeError):
        return _answer(1, "not a status callback", 400)
    provider = settings_for(current_app).provider
    matched = record_receipts(db.session, provider, receipts)
    log.info("SMS receipts: %d of %d matched a delivery", matched, len(receipts))
    return _answer(0, "OK", 200)
