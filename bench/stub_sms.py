"""A Tencent Cloud SMS endpoint on loopback, for the delivery benchmark (bench/delivery.py) and
the SIGKILL test (tests/test_dispatch_kill.py): the portal's real Tencent provider
(app/sms/tencent.py) is pointed at it with TENCENT_SMS_ENDPOINT, so each message goes through
the real template parameters, TC3-HMAC-SHA256 signing and HTTP path.

Each SendSms request is checked (signature, one number, a template id), held for `latency`
seconds (a carrier's answer time), then answered "Ok" with a serial number. The message's
`SessionContext` is our delivery id (app/sms/tencent.py sends it), one per delivery row and
so per idempotency key: the stub treats it as the idempotency key, as a provider that honours
keys does. The first request with a key *sends* the message (recorded in `accepted`, with the
time); a later request with the same key (a retry after a timeout, or after a dispatcher died
before recording its answer) gets the same serial number and sends nothing. `requests`
counts every request per key, so a test sees both: how often it was asked, how often sent.

A request whose client has gone away while it was held is still sent (a carrier that took a
request does not take it back): exactly the case a dispatcher killed mid-batch leaves.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET_ID = "AKIDbenchstub"
SECRET_KEY = "bench-stub-secret-key"  # nosec B105: loopback stub only
APP_ID = "1400000000"
SIGN_NAME = "闵行区"


def tencent_env(url: str) -> dict[str, str]:
    """The environment that points the portal's Tencent provider at the stub at `url`."""
    return {
        "SMS_PROVIDER": "tencent",
        "TENCENT_SMS_ENDPOINT": url,
        "TENCENT_SMS_SECRET_ID": SECRET_ID,
        "TENCENT_SMS_SECRET_KEY": SECRET_KEY,
        "TENCENT_SMS_APP_ID": APP_ID,
        "TENCENT_SMS_SIGN_NAME": SIGN_NAME,
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The listen backlog, fixed when the constructor binds: the default (5) resets connections
    # when dozens of dispatcher threads connect at once, and each reset is a retry 30 s later.
    request_queue_size = 512


class SmsStub:
    def __init__(self, latency: float = 0.05) -> None:
        self.latency = latency
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()  # key -> requests with it
        self.accepted: dict[str, float] = {}  # key -> when it was sent (time.time())
        self.refused: list[str] = []  # why requests were refused (must stay empty)
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def __enter__(self) -> SmsStub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def received(self) -> int:
        with self.lock:
            return sum(self.requests.values())

    def _check(self, headers, payload: bytes) -> str | None:
        from app.sms.settings import TencentSettings
        from app.sms.tencent import signed_headers

        settings = TencentSettings(
            secret_id=SECRET_ID,
            secret_key=SECRET_KEY,
            app_id=APP_ID,
            sign_name=SIGN_NAME,
            endpoint=f"http://{headers.get('Host')}/",
        )
        try:
            expected = signed_headers(settings, payload, int(headers.get("X-TC-Timestamp")))
        except (TypeError, ValueError):
            return "no timestamp"
        if headers.get("Authorization") != expected["Authorization"]:
            return "signature does not match"
        body = json.loads(payload)
        if len(body.get("PhoneNumberSet") or []) != 1 or not body.get("TemplateId"):
            return "one number and a template id expected"
        if not body.get("SessionContext"):
            return "no SessionContext (our delivery id)"
        return None

    def _handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                payload = self.rfile.read(length)
                if len(payload) < length:
                    # The sender died mid-request (the kill test does this on purpose): a
                    # provider never sees half a request as a message, so neither does the stub.
                    self.close_connection = True
                    return
                problem = stub._check(self.headers, payload)
                if problem:
                    with stub.lock:
                        stub.refused.append(problem)
                    return self._answer({"Error": {"Code": "AuthFailure", "Message": problem}})
                key = str(json.loads(payload)["SessionContext"])
                with stub.lock:
                    stub.requests[key] += 1
                time.sleep(stub.latency)
                with stub.lock:
                    stub.accepted.setdefault(key, time.time())
                self._answer(
                    {"SendStatusSet": [{"Code": "Ok", "Message": "send success", "SerialNo": key}]}
                )

            def _answer(self, response: dict) -> None:
                body = json.dumps({"Response": {**response, "RequestId": "stub"}}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the dispatcher died while the message was held: it was sent anyway

        return Handler
