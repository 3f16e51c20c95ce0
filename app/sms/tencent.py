"""Tencent Cloud SMS (短信): the SendSms action of API version 2021-01-11, signed with
TC3-HMAC-SHA256 as Tencent Cloud's API documentation describes ("签名方法 v3"):

1. CanonicalRequest = method \\n URI \\n query \\n canonical headers \\n signed headers \\n
   hex(SHA256(payload)); the canonical headers are `name:value\\n` for content-type, host and
   x-tc-action, names and values in lower case.
2. StringToSign = "TC3-HMAC-SHA256" \\n timestamp \\n "<UTC date>/sms/tc3_request" \\n
   hex(SHA256(CanonicalRequest)).
3. The signing key is HMAC-SHA256 chained from "TC3" + SecretKey over the UTC date, the service
   ("sms") and "tc3_request"; Signature = hex(HMAC-SHA256(key, StringToSign)).
4. Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<date>/sms/tc3_request,
   SignedHeaders=content-type;host;x-tc-action, Signature=<signature>.

Why not the official tencentcloud-sdk-python-sms: it can be pointed at a local endpoint, but
its client wraps every call in a "region breaker" that, after failures, sends requests to a
backup domain of its own choosing, and whose error path (in the versions read) swallowed the
exception and returned nothing; it recognises an error answer only by an exact Content-Type,
and it pulls in a second package for some 40 lines of documented hashing. Our adapter does
exactly one request to the configured endpoint with a bounded timeout, and every refusal
(transport, HTTP, API error, per-number status) becomes one clear SmsDeliveryError.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests

from app.sms.models import SmsStatus
from app.sms.providers import Outgoing, SmsDeliveryError
from app.sms.settings import TencentSettings

SERVICE = "sms"
ACTION = "SendSms"
VERSION = "2021-01-11"
ALGORITHM = "TC3-HMAC-SHA256"
CONTENT_TYPE = "application/json; charset=utf-8"
SIGNED_HEADERS = ("content-type", "host", "x-tc-action")


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def signed_headers(settings: TencentSettings, payload: bytes, timestamp: int) -> dict[str, str]:
    """The request headers for `payload`, Authorization included (TC3-HMAC-SHA256)."""
    host = urlsplit(settings.endpoint).netloc
    headers = {"Content-Type": CONTENT_TYPE, "Host": host, "X-TC-Action": ACTION}
    canonical_headers = "".join(
        f"{name}:{headers[_title(name)].strip().lower()}\n" for name in SIGNED_HEADERS
    )
    signed = ";".join(SIGNED_HEADERS)
    canonical_request = "\n".join(
        ("POST", "/", "", canonical_headers, signed, _sha256_hex(payload))
    )
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{SERVICE}/tc3_request"
    string_to_sign = "\n".join(
        (ALGORITHM, str(timestamp), scope, _sha256_hex(canonical_request.encode("utf-8")))
    )
    key = _hmac(("TC3" + settings.secret_key).encode("utf-8"), date)
    key = _hmac(_hmac(key, SERVICE), "tc3_request")
    signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return {
        **headers,
        "X-TC-Timestamp": str(timestamp),
        "X-TC-Version": VERSION,
        "X-TC-Region": settings.region,
        "Authorization": (
            f"{ALGORITHM} Credential={settings.secret_id}/{scope}, "
            f"SignedHeaders={signed}, Signature={signature}"
        ),
    }


def _title(name: str) -> str:
    return {"content-type": "Content-Type", "host": "Host", "x-tc-action": "X-TC-Action"}[name]


def send_sms_body(settings: TencentSettings, message: Outgoing) -> dict:
    """SendSms's parameters: the number in E.164 (+86), the template and its parameters in the
    template's order."""
    return {
        "PhoneNumberSet": [f"+86{message.phone}"],
        "SmsSdkAppId": settings.app_id,
        "SignName": settings.sign_name,
        "TemplateId": message.template_id,
        "TemplateParamSet": list(message.params),
        "SessionContext": str(message.message_id),  # echoed in delivery receipts
    }


class TencentSms:
    """Delivers through Tencent Cloud SMS. `deliver` returns the message's SerialNo."""

    name = "tencent"
    delivered_status = SmsStatus.SENT

    def __init__(self, settings: TencentSettings, http=None) -> None:
        self.settings = settings
        self._http = http
        # One HTTP session per dispatcher thread: the connection to Tencent is kept alive
        # between messages instead of a new TCP and TLS handshake for each.
        self._local = threading.local()

    @property
    def http(self):
        if self._http is not None:
            return self._http
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def deliver(self, message: Outgoing) -> str:
        missing = self.settings.missing()
        if missing:
            raise SmsDeliveryError(f"Tencent Cloud SMS is not configured: set {', '.join(missing)}")
        if not message.template_id:
            raise SmsDeliveryError(
                f"no Tencent template id for the message kind {message.kind!r}: set it in "
                "SMS_TEMPLATES"
            )
        payload = json.dumps(
            send_sms_body(self.settings, message), ensure_ascii=False, separators=(",", ":")
        ).encode("utf-8")
        headers = signed_headers(self.settings, payload, int(time.time()))
        try:
            response = self.http.post(
                self.settings.endpoint, data=payload, headers=headers, timeout=self.settings.timeout
            )
        except requests.RequestException as error:
            raise SmsDeliveryError(f"Tencent Cloud SMS could not be reached: {error}") from None
        return _serial_number(response)


def _serial_number(response) -> str:
    """The SerialNo of the one number sent to, or SmsDeliveryError with Tencent's reason."""
    try:
        answer = response.json()["Response"]
    except (ValueError, KeyError, TypeError):
        raise SmsDeliveryError(
            f"Tencent Cloud SMS answered HTTP {response.status_code} without a Response"
        ) from None
    request_id = answer.get("RequestId", "")
    error = answer.get("Error")
    if error:
        raise SmsDeliveryError(
            f"{error.get('Code')}: {error.get('Message')} (RequestId {request_id})"
        )
    statuses = answer.get("SendStatusSet") or []
    if not statuses:
        raise SmsDeliveryError(f"Tencent Cloud SMS gave no SendStatusSet (RequestId {request_id})")
    status = statuses[0]
    if status.get("Code") != "Ok":
        raise SmsDeliveryError(
            f"{status.get('Code')}: {status.get('Message')} (RequestId {request_id})"
        )
    return str(status.get("SerialNo") or request_id)
