"""The booking path near the floor (issue 11, part 3): one API booking is one transaction of a
few statements with the token checked inside it; one person's parallel requests still keep
the per-person limits and idempotency keys; requests end read transactions with COMMIT (psycopg
keeps its prepared statements) without ever writing what no unit of work wrote; the engine
options, the uploads limit and the every-route limiter check as configured. On SQLite and
PostgreSQL."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from sqlalchemy import event, func, select

from app.accounts.models import ApiToken
from app.accounts.services import issue_token
from app.config import engine_options
from bookings.models import Booking
from bookings.services import ledger_mismatches
from tests.conftest import slot_at
from tests.race import race


def _bearer(session, user):
    token = issue_token(session, user)
    session.commit()
    return {"Authorization": f"Bearer {token}"}


class Traffic:
    """Statements and transaction ends the engine sends, in order."""

    def __init__(self, engine):
        self.sent: list[str] = []
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", lambda conn: self.sent.append("COMMIT"))
        event.listen(engine, "rollback", lambda conn: self.sent.append("ROLLBACK"))

    def _statement(self, conn, cursor, statement, parameters, context, executemany):
        self.sent.append(statement.split(None, 1)[0].upper())


def test_an_api_booking_is_one_transaction_of_a_few_statements(
    app, session, make_venue, make_user, backend
):
    """Before: 27 round trips in 3 transactions (a read, the write, a reload after commit)."""
    from app.extensions import db

    venue = make_venue(capacity=50)
    headers = _bearer(session, make_user())
    slots = [slot_at(session, venue.spaces[0], 1, hour).id for hour in (10, 11)]
    client = app.test_client()
    first = client.post("/api/v1/bookings", json={"slot_id": slots[0]}, headers=headers)
    assert first.status_code == 201  # (the token's first use is written down with it)
    session.commit()
    traffic = Traffic(db.engine)
    response = client.post(
        "/api/v1/bookings", json={"slot_id": slots[1], "party_size": 2}, headers=headers
    )
    assert response.status_code == 201
    statements = [s for s in traffic.sent if s not in ("BEGIN", "COMMIT", "ROLLBACK")]
    assert traffic.sent.count("COMMIT") == 1 and "ROLLBACK" not in traffic.sent
    assert traffic.sent[-1] == "COMMIT"  # the answer is built from values in hand: no reload
    # lock+rules, counts, then the writes: one WITH statement on PostgreSQL, three on SQLite
    expected = 3 if backend == "postgresql" else 5
    assert len(statements) == expected, traffic.sent
    body = response.json
    booking = session.get(Booking, body["id"])
    assert (body["reference"], body["code"], body["party_size"], body["space_id"]) == (
        booking.reference,
        booking.door_code,
        2,
        venue.spaces[0].id,
    )
    assert ledger_mismatches(session) == []


def test_a_token_that_is_not_valid_never_learns_about_the_body(client, session, venue_slot):
    slot_id, headers = venue_slot
    bad = {"Authorization": "Bearer not-a-token"}
    assert client.post("/api/v1/bookings", json={"slot_id": "x"}, headers=bad).status_code == 401
    refused = client.post("/api/v1/bookings", json={"slot_id": slot_id}, headers=bad)
    assert refused.status_code == 401 and refused.json["error"]["code"] == "unauthorized"
    assert "Bearer" in refused.headers["WWW-Authenticate"]
    invalid = client.post("/api/v1/bookings", json={"slot_id": "x"}, headers=headers)
    assert invalid.status_code == 422 and "slot_id" in str(invalid.json["error"]["fields"])
    assert session.scalar(select(func.count(Booking.id))) == 0


@pytest.fixture
def venue_slot(session, make_venue, make_user):
    venue = make_venue(capacity=5)
    return slot_at(session, venue.spaces[0], 1, 10).id, _bearer(session, make_user())


def test_the_token_is_marked_used_even_when_the_booking_is_refused(
    client, session, make_venue, make_user
):
    venue = make_venue(capacity=5)
    user = make_user()
    headers = _bearer(session, user)
    started = slot_at(session, venue.spaces[0], 0, 9).id  # the clock stands at 09:00
    refused = client.post("/api/v1/bookings", json={"slot_id": started}, headers=headers)
    assert refused.status_code == 400 and refused.json["error"]["code"] == "too_late"
    session.rollback()
    token = session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert token.last_used_at is not None
    assert session.scalar(select(func.count(Booking.id))) == 0


@pytest.mark.race
def test_one_persons_parallel_bookings_keep_the_daily_limit(app, session, make_venue, make_user):
    """20 requests of one person at once, for 8 slots of one day at a venue allowing 2 a day:
    the counts are read after the person's row is locked, so exactly 2 are booked."""
    venue = make_venue(capacity=50, max_per_day=2, max_per_week=10)
    slots = [slot_at(session, venue.spaces[0], 1, hour).id for hour in range(9, 17)]
    headers = _bearer(session, make_user())

    def post(i):
        response = app.test_client().post(
            "/api/v1/bookings", json={"slot_id": slots[i % len(slots)]}, headers=headers
        )
        return response.status_code, (response.json or {}).get("error", {}).get("code")

    results = race(app, 20, post)
    assert results.count((201, None)) == 2, results
    # The rest are refused by the limit, or, asking again for a slot just booked, by the one
    # booking per person per slot (checked first: the more useful answer).
    booked = {slots[i % len(slots)] for i, result in enumerate(results) if result[0] == 201}
    again = [i for i in range(20) if slots[i % len(slots)] in booked and results[i][0] != 201]
    assert all(results[i] == (409, "already_booked") for i in again), results
    assert results.count((409, "daily_limit")) == 18 - len(again)
    session.rollback()
    assert session.scalar(select(func.count(Booking.id))) == 2
    assert ledger_mismatches(session) == []


@pytest.mark.race
def test_a_double_submitted_api_booking_is_one_booking(app, session, make_venue, make_user):
    """20 copies of one request (same token, same Idempotency-Key) at once: one booking, and
    every answer is it."""
    venue = make_venue(capacity=50)
    slot_id = slot_at(session, venue.spaces[0], 1, 10).id
    headers = {**_bearer(session, make_user()), "Idempotency-Key": "tap-tap"}

    def post(_i):
        response = app.test_client().post(
            "/api/v1/bookings", json={"slot_id": slot_id, "party_size": 2}, headers=headers
        )
        return response.status_code, (response.json or {}).get("id")

    results = race(app, 20, post)
    assert {status for status, _ in results} == {201}, results
    assert len({booking_id for _, booking_id in results}) == 1
    session.rollback()
    assert session.scalar(select(func.count(Booking.id))) == 1
    assert ledger_mismatches(session) == []


def test_a_read_only_request_ends_with_commit(app, client, venue_slot):
    """psycopg 3 discards a connection's prepared statements on ROLLBACK."""
    from app.extensions import db

    traffic = Traffic(db.engine)
    assert client.get("/api/v1/venues").status_code == 200
    assert "SELECT" in traffic.sent and traffic.sent[-1] == "COMMIT"
    assert "ROLLBACK" not in traffic.sent


def test_a_request_never_commits_what_no_unit_of_work_wrote(app, session, make_venue):
    """A page that changes a loaded object (flushed by a later query, or not) and answers:
    the request's end rolls that back, as closing the session always did."""
    from app.extensions import db
    from venues.models import Venue

    venue_id = make_venue().id
    session.commit()

    def touch(flush: str):
        venue = db.session.get(Venue, venue_id)
        venue.name_zh = "改过的名字"
        if flush == "yes":
            db.session.scalar(select(func.count(Venue.id)))  # autoflush: the UPDATE is sent
        return "ok"

    app.add_url_rule("/test/touch/<flush>", "test_touch", touch)
    client = app.test_client()
    for flush in ("yes", "no"):
        assert client.get(f"/test/touch/{flush}").status_code == 200
        session.rollback()
        assert session.get(Venue, venue_id).name_zh == "测试博物馆", flush


def test_engine_options_size_the_pool_and_keep_prepared_statements():
    url = "postgresql+psycopg://portal@db/portal"
    config = {
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "DATABASE_POOL_SIZE": 16,
        "DATABASE_MAX_OVERFLOW": 4,
        "DATABASE_PREPARE_THRESHOLD": "2",
    }
    assert engine_options(config) == {
        "pool_pre_ping": True,
        "pool_size": 16,
        "max_overflow": 4,
        "connect_args": {"prepare_threshold": 2},
    }
    explicit = {
        **config,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 3, "connect_args": {"prepare_threshold": 9}},
        "DATABASE_PREPARE_THRESHOLD": "none",
    }
    assert engine_options(explicit) == {
        "pool_size": 3,
        "max_overflow": 4,
        "connect_args": {"prepare_threshold": 9},
    }
    assert engine_options({**config, "DATABASE_PREPARE_THRESHOLD": "none"})["connect_args"] == {
        "prepare_threshold": None
    }
    sqlite = {**config, "SQLALCHEMY_DATABASE_URI": "sqlite:///portal.db"}
    assert engine_options(sqlite) == {"pool_pre_ping": True}


def test_json_api_operations_take_no_uploads_and_are_not_counted(app, client, venue_slot):
    """UPLOAD_RATE counts files received by forms; an API operation reads JSON only, so a file
    sent to it is refused as not JSON and counts nothing (tests/test_abuse_limits.py keeps the
    forms' limit)."""
    slot_id, headers = venue_slot
    app.config["UPLOAD_RATE"] = "1 per hour"
    answers = Counter(
        client.post(
            "/api/v1/bookings",
            data={"slot_id": str(slot_id), "photo": (io.BytesIO(b"x" * 100), "a.png")},
            headers=headers,
            content_type="multipart/form-data",
        ).status_code
        for _ in range(3)
    )
    assert 429 not in answers and set(answers) <= {415, 422}, answers


def test_limits_for_every_route_are_checked_when_configured(database_url):
    from app import create_app
    from app.extensions import db

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TESTING": True,
            "SECRET_KEY": "testing-secret",
            "RATELIMIT_DEFAULT": "2 per minute",
        }
    )
    with app.app_context():
        client = app.test_client()
        statuses = [client.get("/api/v1/venues/1").status_code for _ in range(3)]
        assert statuses[:2] != [429, 429] and statuses[2] == 429
        db.session.remove()
        db.engine.dispose()


def test_an_over_long_idempotency_key_is_cut_and_still_one_booking(client, session, venue_slot):
    """The key is looked up as it is stored (cut to its column), or the second request would
    miss the first booking and fail on the unique key."""
    slot_id, headers = venue_slot
    headers = {**headers, "Idempotency-Key": "k" * 500}
    first = client.post("/api/v1/bookings", json={"slot_id": slot_id}, headers=headers)
    again = client.post("/api/v1/bookings", json={"slot_id": slot_id}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json["id"] == again.json["id"]
