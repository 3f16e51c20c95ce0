"""Web Push (app/notifications/push.py): a message reaches a push endpoint on loopback signed
with the portal's VAPID key (RFC 8292) and encrypted for the subscription as RFC 8291 says (the
test decrypts it with a key pair it made, as a browser would); 404/410 mark the subscription
gone, 429/5xx are tried again; subscriptions are validated, capped and one per endpoint; the
keys come from configuration, production refuses to start without them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
import time
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select

from app.db import unit_of_work
from app.notifications import push
from app.notifications.dispatch import Dispatcher
from app.notifications.models import Channel, Delivery, DeliveryStatus, PushSubscription
from app.notifications.services import notify
from app.notifications.settings import settings_for
from tests.conftest import csrf_token, login


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Browser:
    """A browser's side of a subscription: its P-256 key pair and authentication secret."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.public = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.auth = os.urandom(16)

    def subscription(self, endpoint: str) -> dict:
        return {
            "endpoint": endpoint,
            "keys": {"p256dh": b64url(self.public), "auth": b64url(self.auth)},
        }

    def decrypt(self, body: bytes) -> bytes:
        """RFC 8291 section 3 with RFC 8188's aes128gcm framing: salt, record size, the
        sender's public key in the header; keys from ECDH and the auth secret."""
        salt, record_size, id_length = body[:16], int.from_bytes(body[16:20], "big"), body[20]
        sender = body[21 : 21 + id_length]
        ciphertext = body[21 + id_length :]
        assert id_length == 65 and len(ciphertext) <= record_size  # one record
        shared = self.key.exchange(
            ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender)
        )
        prk_key = hmac.new(self.auth, shared, hashlib.sha256).digest()
        key_info = b"WebPush: info\x00" + self.public + sender
        ikm = hmac.new(prk_key, key_info + b"\x01", hashlib.sha256).digest()
        prk = hmac.new(salt, ikm, hashlib.sha256).digest()
        cek = hmac.new(prk, b"Content-Encoding: aes128gcm\x00\x01", hashlib.sha256).digest()[:16]
        nonce = hmac.new(prk, b"Content-Encoding: nonce\x00\x01", hashlib.sha256).digest()[:12]
        padded = AESGCM(cek).decrypt(nonce, ciphertext, None)
        data = padded.rstrip(b"\x00")
        assert data.endswith(b"\x02")  # the last record's delimiter
        return data[:-1]


class PushService:
    """A push service on loopback: keeps every request and answers with `status`."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 201
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                service.requests.append({"path": self.path, "headers": self.headers, "body": body})
                self.send_response(service.status)
                self.send_header("Location", f"{service.origin}/messages/{len(service.requests)}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def service():
    running = PushService()
    yield running
    running.close()


def check_vapid(authorization: str, public_key: str, origin: str, subject: str) -> None:
    """RFC 8292: `vapid t=JWT,k=KEY`, the JWT signed ES256 by KEY, for this origin, not expired."""
    scheme, _, params = authorization.partition(" ")
    fields = dict(part.split("=", 1) for part in params.split(","))
    assert scheme == "vapid" and fields["k"] == public_key
    head, claims, signature = fields["t"].split(".")
    assert json.loads(unb64url(head)) == {"typ": "JWT", "alg": "ES256"}
    raw = unb64url(signature)
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(public_key))
    key.verify(  # raises InvalidSignature
        encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
        f"{head}.{claims}".encode(),
        ec.ECDSA(hashes.SHA256()),
    )
    claims = json.loads(unb64url(claims))
    assert claims["aud"] == origin and claims["sub"] == subject
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600


def subscribe_through_page(client, browser: Browser, endpoint: str):
    token = csrf_token(client, "/inbox/push")
    return client.post(
        "/inbox/push/subscriptions",
        json=browser.subscription(endpoint),
        headers={
            "X-CSRFToken": token,
            "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0",
        },
    )


def dispatch(app, session):
    dispatcher = Dispatcher(app, session, settings_for(app))
    try:
        return dispatcher.run(once=True)
    finally:
        dispatcher.close()


def offer(session, user, kind="venue.offer"):
    with unit_of_work(session):
        notify(
            session,
            user.id,
            kind=kind,
            subject="A place for %(venue)s is held for you",
            body="Accept it within 60 minutes.",
            params={"venue": "闵行博物馆"},
            link="/venues/offers/1",
        )


def test_a_push_arrives_signed_and_decrypts_to_the_message(
    app, session, client, make_user, service, frozen
):
    # Frozen on a morning: at night the reminder below would wait for the quiet hours' end.
    resident = make_user()
    login(client, resident.login_name)
    browser = Browser()
    response = subscribe_through_page(client, browser, f"{service.origin}/push/abc")
    assert response.status_code == 201, response.get_data(as_text=True)
    [row] = session.scalars(select(PushSubscription)).all()
    assert (row.user_id, row.label) == (resident.id, "Chrome 131 / Linux")

    offer(session, resident)
    [delivery] = session.scalars(select(Delivery).where(Delivery.channel == Channel.PUSH)).all()
    assert delivery.address == str(row.id)
    assert dispatch(app, session)["sent"] == 1

    [sent] = service.requests
    headers = sent["headers"]
    keys = push.vapid_keys(app)
    check_vapid(headers["Authorization"], keys.public_key, service.origin, keys.subject)
    assert headers["Content-Encoding"] == "aes128gcm"
    assert headers["Topic"] == delivery.idempotency_key.replace("-", "")
    assert headers["Urgency"] == "high"  # a waitlist offer is urgent: kept longer
    assert headers["TTL"] == str(app.config["PUSH_URGENT_TTL_SECONDS"])
    message = json.loads(browser.decrypt(sent["body"]))
    assert message == {
        "title": "A place for 闵行博物馆 is held for you",
        "body": "Accept it within 60 minutes.",
        "url": settings_for(app).portal_url + "/venues/offers/1",
        "tag": headers["Topic"],
    }
    # The same bytes as the reference implementation reads them.
    assert http_ece.decrypt(sent["body"], private_key=browser.key, auth_secret=browser.auth) == (
        browser.decrypt(sent["body"])
    )
    session.expire_all()
    delivery = session.get(Delivery, delivery.id)
    assert delivery.status == DeliveryStatus.SENT and delivery.provider == "webpush"
    assert delivery.provider_message_id == f"{service.origin}/messages/1"
    assert session.get(PushSubscription, row.id).last_sent_at is not None
    page = client.get("/inbox/push").get_data(as_text=True)
    assert "Chrome 131 / Linux" in page and f"{service.origin}/push/abc" in page

    offer(session, resident, kind="venue.reminder")  # not urgent: the shorter TTL
    dispatch(app, session)
    headers = service.requests[1]["headers"]
    assert headers["Urgency"] == "normal" and headers["TTL"] == str(app.config["PUSH_TTL_SECONDS"])


@pytest.mark.parametrize(
    "status, outcome, gone",
    [
        (410, DeliveryStatus.FAILED, True),  # 404 too
        (503, DeliveryStatus.QUEUED, False),  # tried again after the backoff (429 too)
        (400, DeliveryStatus.FAILED, False),  # refused for good, the browser still there
    ],
)
def test_the_push_services_answer_decides(app, session, make_user, service, status, outcome, gone):
    resident = make_user()
    row = push.subscribe(
        session,
        resident.id,
        Browser().subscription(f"{service.origin}/push/x"),
        "",
        push.PushSettings.from_config(app.config),
    )
    service.status = status
    offer(session, resident)
    dispatch(app, session)
    session.expire_all()
    [delivery] = session.scalars(select(Delivery)).all()
    assert delivery.status == outcome and str(status) in delivery.error
    assert (session.get(PushSubscription, row.id).gone_at is not None) is gone
    if gone:  # nothing more is planned for a browser that dropped its subscription
        offer(session, resident)
        assert session.scalars(select(Delivery)).all() == [delivery]


def test_a_push_service_that_does_not_answer_is_tried_again(app, session, make_user):
    resident = make_user()
    import socket

    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    push.subscribe(
        session,
        resident.id,
        Browser().subscription(f"http://127.0.0.1:{port}/push"),
        "",
        push.PushSettings.from_config(app.config),
    )
    offer(session, resident)
    dispatch(app, session)
    [delivery] = session.scalars(select(Delivery)).all()
    assert delivery.status == DeliveryStatus.QUEUED and "unreachable" in delivery.error


def test_a_removed_subscription_gets_nothing(app, session, make_user, service):
    resident = make_user()
    settings = push.PushSettings.from_config(app.config)
    row = push.subscribe(
        session, resident.id, Browser().subscription(f"{service.origin}/p"), "", settings
    )
    offer(session, resident)
    assert push.unsubscribe(session, resident.id, row.id)
    dispatch(app, session)
    [delivery] = session.scalars(select(Delivery)).all()
    assert delivery.status == DeliveryStatus.FAILED and "removed" in delivery.error
    assert service.requests == []


BAD_SUBSCRIPTIONS = [
    ("endpoint", "http://push.example.com/x"),  # not https
    ("endpoint", "ftp://127.0.0.1/x"),
    ("endpoint", "https://user:pw@push.example.com/x"),
    ("endpoint", "https://push.example.com/" + "x" * 1100),
    ("endpoint", None),
    ("endpoint", "https://push.example.com/a\x00b"),
    ("p256dh", b64url(b"\x04" + b"\x01" * 64)),  # not a point on P-256
    ("p256dh", b64url(b"\x04" + b"\x01" * 10)),  # too short
    ("p256dh", "not base64!"),
    ("auth", b64url(os.urandom(15))),
    ("auth", ""),
]


def test_invalid_subscriptions_are_refused(app, session, make_user):
    user, settings = make_user(), push.PushSettings.from_config(app.config)
    for field, value in BAD_SUBSCRIPTIONS:
        data = Browser().subscription("https://push.example.com/send/1")
        (data if field == "endpoint" else data["keys"])[field] = value
        with pytest.raises(push.SubscriptionRefused):
            push.subscribe(session, user.id, data, "", settings)
    assert session.scalars(select(PushSubscription)).all() == []


def test_production_takes_only_public_https_push_services(app):
    production = push.PushSettings.from_config({"PREFERRED_URL_SCHEME": "https"})
    for endpoint in (
        "http://127.0.0.1:9/x",
        "https://localhost/x",
        "https://10.0.0.8/x",
        "https://[::1]/x",
    ):
        with pytest.raises(push.SubscriptionRefused):
            push._check_endpoint(endpoint, production)
    assert push._check_endpoint("https://fcm.googleapis.com/fcm/send/a", production)


def test_one_row_per_endpoint_and_a_cap_per_person(app, session, make_user):
    settings = push.PushSettings.from_config({**app.config, "PUSH_SUBSCRIPTIONS_PER_PERSON": 2})
    first, second = make_user(), make_user()
    browser = Browser()
    endpoint = "https://push.example.com/send/1"
    row = push.subscribe(session, first.id, browser.subscription(endpoint), "A", settings)
    again = Browser()  # the browser renewed its keys: the same row, updated
    assert (
        push.subscribe(session, first.id, again.subscription(endpoint), "B", settings).id == row.id
    )
    session.expire_all()
    assert session.get(PushSubscription, row.id).p256dh == b64url(again.public)
    push.subscribe(session, first.id, Browser().subscription(endpoint + "2"), "", settings)
    with pytest.raises(push.SubscriptionRefused):
        push.subscribe(session, first.id, Browser().subscription(endpoint + "3"), "", settings)
    # A shared computer, now signed in as someone else: the endpoint moves to them.
    push.subscribe(session, second.id, again.subscription(endpoint), "", settings)
    session.expire_all()
    assert session.get(PushSubscription, row.id).user_id == second.id
    assert len(push.subscriptions_of(session, first.id)) == 1


def test_the_page_lists_only_ones_own_and_removes_only_ones_own(app, session, client, make_user):
    settings = push.PushSettings.from_config(app.config)
    mine, theirs = make_user(), make_user()
    own = push.subscribe(
        session, mine.id, Browser().subscription("https://p.example.com/1"), "Mine", settings
    )
    other = push.subscribe(
        session, theirs.id, Browser().subscription("https://p.example.com/2"), "Theirs", settings
    )
    login(client, mine.login_name)
    page = client.get("/inbox/push").get_data(as_text=True)
    assert "Mine" in page and "Theirs" not in page and push.vapid_keys(app).public_key in page
    token = csrf_token(client, "/inbox/push")
    assert (  # someone else's: as if there were none
        client.post(f"/inbox/push/{other.id}/remove", data={"csrf_token": token}).status_code == 404
    )
    assert (
        client.post(f"/inbox/push/{own.id}/remove", data={"csrf_token": token}).status_code == 302
    )
    session.expire_all()
    assert [row.label for row in session.scalars(select(PushSubscription))] == ["Theirs"]
    # The JSON subscribe needs the CSRF token like any form.
    refused = client.post(
        "/inbox/push/subscriptions", json=Browser().subscription("https://p.example.com/3")
    )
    assert refused.status_code == 400
    bad = client.post(
        "/inbox/push/subscriptions",
        json={"endpoint": "https://p.example.com/3", "keys": {"p256dh": "x", "auth": "y"}},
        headers={"X-CSRFToken": token},
    )
    assert bad.status_code == 400 and bad.json["code"] == "push_subscription_refused"


def test_keys_from_configuration_and_the_production_check(runner, tmp_path):
    from app.config import check_push

    result = runner.invoke(args=["vapid-keys"])
    lines = dict(line.split("=", 1) for line in result.output.split())
    push.check_key_pair(lines["VAPID_PRIVATE_KEY"], lines["VAPID_PUBLIC_KEY"])
    production = {
        "VAPID_PRIVATE_KEY": lines["VAPID_PRIVATE_KEY"],
        "VAPID_PUBLIC_KEY": lines["VAPID_PUBLIC_KEY"],
        "VAPID_SUBJECT": "mailto:ops@example.gov.cn",
    }
    check_push(production)
    for broken, message in [
        ({"VAPID_PRIVATE_KEY": ""}, "must be set"),
        ({"VAPID_SUBJECT": ""}, "VAPID_SUBJECT"),
        ({"VAPID_PUBLIC_KEY": push.new_key_pair()[1]}, "not the public half"),
    ]:
        with pytest.raises(RuntimeError, match=message):
            check_push({**production, **broken})
    check_push({"PUSH_ENABLED": "0"})  # push off: no keys needed

    # Development without keys: one pair made on first use and kept in the instance folder.
    def development_app():
        config = {"VAPID_PRIVATE_KEY": "", "VAPID_PUBLIC_KEY": "", "PUSH_ENABLED": "1"}
        return types.SimpleNamespace(config=config, extensions={}, instance_path=str(tmp_path))

    made = push.vapid_keys(development_app())
    assert push.vapid_keys(development_app()) == made
    assert oct(os.stat(tmp_path / push.KEY_FILE).st_mode & 0o777) == "0o600"
    push.check_key_pair(made.private_key, made.public_key)


def test_my_data_and_closing_the_account(app, session, make_user):
    from app.registry import personal_data

    user = make_user()
    endpoint = "https://push.example.com/send/9"
    push.subscribe(
        session,
        user.id,
        Browser().subscription(endpoint),
        "Firefox 133",
        push.PushSettings.from_config(app.config),
    )
    [part] = [part for part in personal_data(app) if part.key == "push"]
    [browser] = part.export(session, user)["browsers"]
    assert (browser["label"], browser["push_service"]) == ("Firefox 133", "push.example.com")
    with unit_of_work(session):
        assert part.erase(session, user) == {"push_subscriptions": 1}
    assert push.subscriptions_of(session, user.id) == []
