"""Tencent Cloud SMS (app/sms/tencent.py) against a stand-in for sms.tencentcloudapi.com started
on loopback for each test. The stand-in checks every request the way Tencent Cloud's API
documentation describes TC3-HMAC-SHA256 (written out again here from the documentation, not
imported from the adapter): the canonical request from the signed headers and the payload's
hash, the string to sign with the credential scope, the signing key derived from the date, the
service and "tc3_request", and the timestamp's freshness; and answers as SendSms does."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import re
import socket
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from app.sms.models import SmsMessage, SmsStatus
from app.sms.services import check_code, issue_code, send
from app.sms.settings import SmsSettings, SmsTemplate, TencentSettings, settings_for
from app.sms.tencent import signed_headers

SECRET_ID = "AKIDportaltest0001"
SECRET_KEY = "portal-test-secret-key"  # nosec B105 # the stand-in's own test key
PHONE = "13912345678"
AUTHORIZATION = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[a-z]+)"
    r"/tc3_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


class TencentStandIn(ThreadingHTTPServer):
    """Answers SendSms on 127.0.0.1 at a free port. `requests` holds each accepted body;
    `status_code` (per-number) or `api_error` make the next answers refusals."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.keys = {SECRET_ID: SECRET_KEY}
        self.requests: list[dict] = []
        self.refused: list[str] = []
        self.status_code = "Ok"
        self.api_error: tuple[str, str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def check_signature(self, method, headers, body: bytes) -> str | None:
        """None for a request signed as documented, else the error code Tencent answers."""
        match = AUTHORIZATION.match(headers.get("Authorization", ""))
        if match is None:
            return "AuthFailure.InvalidAuthorization"
        key = self.keys.get(match["id"])
        if key is None:
            return "AuthFailure.SecretIdNotFound"
        timestamp = int(headers.get("X-TC-Timestamp", "0"))
        if abs(time.time() - timestamp) > 300:
            return "AuthFailure.SignatureExpire"
        date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
        signed = match["signed"].split(";")
        if (
            match["date"] != date
            or match["service"] != "sms"
            or not {"content-type", "host"} <= set(signed)
        ):
            return "AuthFailure.SignatureFailure"
        # Header names and values in lower case, trimmed, each followed by a newline.
        canonical_headers = "".join(f"{h}:{headers.get(h, '').strip().lower()}\n" for h in signed)
        canonical_request = "\n".join(
            [method, "/", "", canonical_headers, ";".join(signed), hashlib.sha256(body).hexdigest()]
        )
        string_to_sign = "\n".join(
            [
                "TC3-HMAC-SHA256",
                str(timestamp),
                f"{date}/sms/tc3_request",
                hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
            ]
        )
        secret_date = _hmac(("TC3" + key).encode("utf-8"), date)
        secret_signing = _hmac(_hmac(secret_date, "sms"), "tc3_request")
        expected = hmac.new(secret_signing, string_to_sign.encode("utf-8"), hashlib.sha256)
        if not hmac.compare_digest(expected.hexdigest(), match["signature"]):
            return "AuthFailure.SignatureFailure"
        return None


class _Handler(BaseHTTPRequestHandler):
    server: TencentStandIn

    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        request_id = str(uuid.uuid4())
        refusal = self.server.check_signature("POST", self.headers, body)
        if refusal is None and (
            self.headers.get("X-TC-Action") != "SendSms"
            or self.headers.get("X-TC-Version") != "2021-01-11"
        ):
            refusal = "InvalidAction"
        if refusal is None and self.server.api_error:
            refusal = self.server.api_error[0]
        if refusal is not None:
            self.server.refused.append(refusal)
            message = self.server.api_error[1] if self.server.api_error else "refused"
            return self._answer(
                {"Error": {"Code": refusal, "Message": message}, "RequestId": request_id}
            )
        params = json.loads(body)
        self.server.requests.append(params)
        code = self.server.status_code
        statuses = [
            {
                "SerialNo": f"5000:{uuid.uuid4().int % 10**20}",
                "PhoneNumber": number,
                "Fee": 1,
                "SessionContext": params.get("SessionContext", ""),
                "Code": code,
                "Message": "send success" if code == "Ok" else "the number's daily limit",
                "IsoCode": "CN",
            }
            for number in params["PhoneNumberSet"]
        ]
        self._answer({"SendStatusSet": statuses, "RequestId": request_id})

    def _answer(self, response: dict) -> None:
        data = json.dumps({"Response": response}).encode()
        self.send_response(200)  # Tencent answers errors with 200 and an Error object too
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def tencent():
    server = TencentStandIn()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def tencent_settings(app, endpoint: str, secret_key: str = SECRET_KEY) -> SmsSettings:
    base = settings_for(app)
    templates = dict(base.templates)
    templates["verification_code"] = dataclasses.replace(
        templates["verification_code"], template_id="2000001"
    )
    templates["account_exists"] = dataclasses.replace(
        templates["account_exists"], template_id="2000003"
    )
    templates["venue_reminder"] = SmsTemplate(
        "venue_reminder", "2000002", ("venue", "time", "reference"), "{1}{2}，预约号{3}"
    )
    return dataclasses.replace(
        base,
        provider="tencent",
        templates=templates,
        tencent=TencentSettings(
            secret_id=SECRET_ID,
            secret_key=secret_key,
            app_id="1400000001",
            sign_name="闵行区政务服务",
            endpoint=endpoint,
            timeout=5,
        ),
    )


def test_a_signed_code_is_sent_and_blanked_from_the_row(app, session, tencent):
    settings = tencent_settings(app, tencent.url)
    row = issue_code(session, PHONE, "signin", address="203.0.113.7", settings=settings)
    assert tencent.refused == [] and len(tencent.requests) == 1
    sent = tencent.requests[0]
    assert sent["PhoneNumberSet"] == ["+8613912345678"]
    assert sent["SmsSdkAppId"] == "1400000001" and sent["SignName"] == "闵行区政务服务"
    assert sent["TemplateId"] == "2000001"
    code, minutes = sent["TemplateParamSet"]
    assert len(code) == 6 and code.isdigit() and minutes == "5"
    message = session.get(SmsMessage, row.message_id)
    assert message.status == SmsStatus.SENT and message.provider_message_id.startswith("5000:")
    assert message.params == ["******", "5"]  # the database keeps no code that was sent
    assert check_code(session, PHONE, "signin", code, settings) is True  # the code that arrived


def test_template_parameters_arrive_in_the_templates_order(app, session, tencent):
    settings = tencent_settings(app, tencent.url)
    params = {"reference": "K7Q2", "time": "12月1日 09:00", "venue": "闵行博物馆"}
    message = send(session, PHONE, "venue_reminder", params, settings)
    assert tencent.requests[0]["TemplateParamSet"] == ["闵行博物馆", "12月1日 09:00", "K7Q2"]
    assert tencent.requests[0]["TemplateId"] == "2000002"
    assert session.get(SmsMessage, message.id).status == SmsStatus.SENT


def test_a_wrong_secret_is_refused_and_the_row_failed(app, session, tencent):
    settings = tencent_settings(app, tencent.url, secret_key="not-the-secret")
    message = send(session, PHONE, "account_exists", {}, settings)
    assert tencent.refused == ["AuthFailure.SignatureFailure"] and tencent.requests == []
    failed = session.get(SmsMessage, message.id)
    assert failed.status == SmsStatus.FAILED and "AuthFailure.SignatureFailure" in failed.error


def test_the_stand_in_refuses_a_changed_body_or_an_old_timestamp(tencent):
    """The control: the stand-in really checks what the documentation says is signed."""
    settings = TencentSettings(SECRET_ID, SECRET_KEY, "1400000001", "签名", endpoint=tencent.url)
    payload = json.dumps({"PhoneNumberSet": ["+8613912345678"], "TemplateParamSet": []}).encode()

    def post(body, timestamp):
        headers = signed_headers(settings, payload, timestamp)
        answer = requests.post(tencent.url, data=body, headers=headers, timeout=5).json()
        return answer["Response"].get("Error", {}).get("Code")

    assert post(payload, int(time.time())) is None
    assert post(payload.replace(b"139", b"138"), int(time.time())) == "AuthFailure.SignatureFailure"
    assert post(payload, int(time.time()) - 600) == "AuthFailure.SignatureExpire"


def test_provider_refusals_become_failed_rows(app, session, tencent):
    settings = tencent_settings(app, tencent.url)
    tencent.status_code = "LimitExceeded.PhoneNumberDailyLimit"
    first = send(session, PHONE, "account_exists", {}, settings)
    failed = session.get(SmsMessage, first.id)
    assert failed.status == SmsStatus.FAILED
    assert failed.error.startswith("LimitExceeded.PhoneNumberDailyLimit: the number's daily limit")
    tencent.status_code = "Ok"
    tencent.api_error = ("FailedOperation.TemplateIncorrectOrUnapproved", "template not approved")
    second = send(session, PHONE, "account_exists", {}, settings)
    failed = session.get(SmsMessage, second.id)
    assert failed.status == SmsStatus.FAILED
    assert "FailedOperation.TemplateIncorrectOrUnapproved: template not approved" in failed.error


def test_an_unreachable_endpoint_is_a_failed_row(app, session):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = tencent_settings(app, f"http://127.0.0.1:{port}")
    message = send(session, PHONE, "account_exists", {}, settings)
    failed = session.get(SmsMessage, message.id)
    assert failed.status == SmsStatus.FAILED and "could not be reached" in failed.error
