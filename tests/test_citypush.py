"""The city parking platform push (issue 15): a car park's status goes through the outbox to an
HTTP endpoint, here a real server on loopback. Sent when occupancy moves by more than the
threshold and every interval; retried after a 500 with the same Idempotency-Key (so the
endpoint takes it once, also when a dispatcher died after sending); nothing queued when the
change rolled back, nothing at all while the push is off."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from app import clock
from app.db import unit_of_work
from app.notifications.dispatch import Dispatcher, worker_name
from app.notifications.models import DeliveryStatus
from app.notifications.outbox import SystemMessage, claim_due
from app.notifications.settings import DeliverySettings
from parking.models import GateDirection
from parking.services import citypush
from parking.services.gate import record_event
from tests.conftest import parking_settings

TOKEN = "city-test-token"


class Receiver:
    """The city platform: answers with the scripted statuses (then 200), records every request
    and keeps each Idempotency-Key's message once, as an endpoint honouring keys does."""

    def __init__(self):
        self.requests, self.kept, self.script = [], {}, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802  # http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = self.headers.get("Idempotency-Key")
                receiver.requests.append((dict(self.headers), body))
                status = receiver.script.pop(0) if receiver.script else 200
                if status == 200:
                    receiver.kept.setdefault(key, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/parking/status"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(app):
    server = Receiver()
    app.config.update(
        CITY_PARKING_PUSH_URL=server.url,
        CITY_PARKING_PUSH_TOKEN=TOKEN,
        CITY_PARKING_PUSH_THRESHOLD=2,
        CITY_PARKING_PUSH_INTERVAL_MINUTES=5,
    )
    yield server
    server.close()


def dispatch(app, session, **changes):
    settings = DeliverySettings(
        portal_url="http://portal.test", backoff=timedelta(0), concurrency=2, **changes
    )
    dispatcher = Dispatcher(app, session, settings)
    try:
        return dispatcher.run(once=True)
    finally:
        dispatcher.close()


def messages(session):
    return list(session.scalars(select(SystemMessage).order_by(SystemMessage.id)))


def enter(session, park, plate, minute):
    at = datetime(2026, 12, 1, 9, minute, tzinfo=clock.LOCAL_TZ)
    return record_event(session, park, plate, GateDirection.ENTRY, at, settings=parking_settings())


def test_a_change_over_the_threshold_is_pushed_once_with_the_documented_format(
    app, session, receiver, car_park
):
    park = car_park.default  # 100 spaces, 20 inside: 80 free
    enter(session, park, "沪A10001", 0)  # nothing sent yet: sent at once (79 free)
    enter(session, park, "沪A10002", 1)  # 78: moved 1
    enter(session, park, "沪A10003", 2)  # 77: moved 2, not more than the threshold
    enter(session, park, "沪A10004", 3)  # 76: moved 3: sent
    assert [m.payload["free"] for m in messages(session)] == [79, 76]

    dispatch(app, session)
    assert len(receiver.requests) == 2
    # sent side by side: matched by their keys, not by their order
    by_key = {headers["Idempotency-Key"]: (headers, body) for headers, body in receiver.requests}
    assert set(by_key) == {m.idempotency_key for m in messages(session)}
    headers, body = by_key[messages(session)[1].idempotency_key]
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert body == {
        "schema": citypush.PAYLOAD_SCHEMA,
        "reason": "change",
        "id": park.id,
        "district": {"code": "310112", "name": "闵行区", "name_en": "Minhang District"},
        "name": "测试停车场",
        "name_en": "Test Car Park",
        "total": 100,
        "free": 76,
        "reservable": 5,
        "status": "open",
        "updated_at": body["updated_at"],
    }
    assert datetime.fromisoformat(body["updated_at"]).utcoffset() == timedelta(hours=8)
    assert {m.status for m in messages(session)} == {DeliveryStatus.SENT}
    dispatch(app, session)  # nothing left to send
    assert len(receiver.requests) == 2


def test_a_500_is_retried_with_the_same_key_and_taken_once(app, session, receiver, car_park):
    enter(session, car_park.default, "沪A10001", 0)
    receiver.script = [500]
    dispatch(app, session)
    (message,) = messages(session)
    keys = [headers["Idempotency-Key"] for headers, _body in receiver.requests]
    assert keys == [message.idempotency_key] * 2
    assert (message.status, message.attempts) == (DeliveryStatus.SENT, 2)
    assert len(receiver.kept) == 1


def test_a_dispatcher_that_died_after_sending_is_not_a_duplicate(
    app, session, receiver, car_park, frozen
):
    enter(session, car_park.default, "沪A10001", 0)
    # A dispatcher claims the message, the endpoint takes it, and the dispatcher dies before
    # recording the answer.
    from app.notifications.outbox import Outgoing, _send

    with unit_of_work(session):
        (claimed,) = claim_due(session, SystemMessage, worker_name(), 10, clock.now())
    (message,) = messages(session)
    _send(app, Outgoing(message.id, message.kind, message.payload, message.idempotency_key, 1))
    frozen.shift(timedelta(minutes=6))  # past the 5-minute lease
    counts = dispatch(app, session)
    assert counts["system sent"] == 1
    assert [h["Idempotency-Key"] for h, _b in receiver.requests] == [message.idempotency_key] * 2
    assert len(receiver.kept) == 1  # one status, though it arrived twice


class Refused(Exception):
    pass


def test_nothing_is_queued_or_sent_when_the_change_rolled_back(app, session, receiver, car_park):
    park = car_park.default
    with pytest.raises(Refused), unit_of_work(session):
        enter(session, park, "沪A10001", 0)  # joins the outer unit
        raise Refused
    session.refresh(park)
    assert park.occupied == 20
    assert messages(session) == []
    dispatch(app, session)
    assert receiver.requests == []


def test_periodic_push_every_interval(app, session, receiver, car_park, frozen):
    settings = citypush.CityPushSettings.from_config(app.config)
    other = car_park(name="另一停车场", reservable=0)
    assert citypush.periodic(session, settings) == 2  # both car parks, never sent before
    assert citypush.periodic(session, settings) == 0  # within the interval
    frozen.shift(timedelta(minutes=6))
    assert citypush.periodic(session, settings) == 2
    dispatch(app, session)
    sent = [body for _headers, body in receiver.requests]
    assert {(b["id"], b["reason"]) for b in sent} == {
        (car_park.default.id, "periodic"),
        (other.id, "periodic"),
    }
    assert len(sent) == 4


def test_off_when_the_url_is_unset(app, session, car_park):
    assert app.config["CITY_PARKING_PUSH_URL"] is None
    enter(session, car_park.default, "沪A10001", 0)
    assert citypush.periodic(session, citypush.CityPushSettings.from_config(app.config)) == 0
    assert messages(session) == []


def test_the_pull_feed_stays(client, car_park):
    feed = client.get("/api/v1/parking/feed")
    assert feed.status_code == 200
    assert feed.get_json()[0]["id"] == car_park.default.id


@pytest.mark.race
def test_events_and_sweeps_at_once_queue_each_status_once(app, session, receiver, car_park):
    """Eight cars enter at once: each event decides under the car park's row lock, so the
    statuses queued are those of one event after another (80 free: 79, then more than 2 away:
    76, 73), never two for the same crossing; four sweeps at once queue one status per car
    park."""
    from app.extensions import db
    from parking.models import CarPark
    from tests.race import race

    park_id = car_park.default.id

    def arrive(i):
        park = db.session.get(CarPark, park_id)
        return enter(db.session, park, f"沪B2000{i}", i)

    assert not [r for r in race(app, 8, arrive) if isinstance(r, Exception)]
    assert [m.payload["free"] for m in messages(session)] == [79, 76, 73]

    settings = citypush.CityPushSettings.from_config(app.config)
    other = car_park(name="另一停车场", reservable=0)
    results = race(app, 4, lambda i: citypush.periodic(db.session, settings))
    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(results) == 1  # the new car park; the first one was queued moments ago
    assert [m.subject for m in messages(session)][-1] == citypush.subject(other.id)
