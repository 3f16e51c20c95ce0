"""全闵预约 over the JSON API, including a race through the HTTP endpoint."""

import pytest
from sqlalchemy import func, select

from app.accounts.services import issue_token
from bookings.models import Booking
from bookings.services import ledger_mismatches
from tests.conftest import slot_at
from tests.race import race


@pytest.fixture
def venue(make_venue):
    return make_venue(capacity=5)


def auth(session, user):
    token = issue_token(session, user)
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_catalogue_and_availability(client, session, venue):
    listing = client.get("/api/v1/venues").json
    assert [v["id"] for v in listing] == [venue.id] and listing[0]["facilities"][
        "step_free"
    ] is True
    detail = client.get(f"/api/v1/venues/{venue.id}").json
    assert {s["mode"] for s in detail["spaces"]} == {"general", "personalised"}
    assert detail["hours"][0] == {"weekday": 0, "opens": "09:00", "closes": "17:00"}
    slots = client.get(f"/api/v1/venues/{venue.id}/availability?date=2026-12-02").json
    hall = [s for s in slots if s["space_id"] == venue.spaces[0].id]
    assert (
        len(hall) == 8
        and hall[0]["start"] == "2026-12-02T01:00:00+00:00"
        and hall[0]["remaining"] == 5
    )
    bad = client.get(f"/api/v1/venues/{venue.id}/availability?date=tomorrow")
    assert bad.status_code == 422 and "date" in bad.json["error"]["fields"]["query"]
    assert client.get("/api/v1/venues/999").json["error"]["code"] == "not_found"


def test_book_list_get_ics_and_cancel(client, session, venue, make_user):
    user = make_user()
    headers = auth(session, user)
    slot = slot_at(session, venue.spaces[0], 1, 10)
    response = client.post(
        "/api/v1/bookings",
        json={"slot_id": slot.id, "party_size": 2},
        headers={**headers, "Idempotency-Key": "abc"},
    )
    assert response.status_code == 201
    body = response.json
    assert body["status"] == "confirmed" and len(body["code"]) == 8 and body["party_size"] == 2
    again = client.post(
        "/api/v1/bookings",
        json={"slot_id": slot.id, "party_size": 2},
        headers={**headers, "Idempotency-Key": "abc"},
    )
    assert again.json["id"] == body["id"]
    assert [b["id"] for b in client.get("/api/v1/bookings", headers=headers).json] == [body["id"]]
    assert (
        client.get(f"/api/v1/bookings/{body['id']}", headers=headers).json["reference"]
        == body["reference"]
    )
    ics = client.get(f"/api/v1/bookings/{body['id']}.ics", headers=headers)
    assert ics.mimetype == "text/calendar" and b"DTSTART" in ics.data
    other = auth(session, make_user())
    assert client.get(f"/api/v1/bookings/{body['id']}", headers=other).status_code == 404
    assert client.delete(f"/api/v1/bookings/{body['id']}", headers=other).status_code == 404
    cancelled = client.delete(f"/api/v1/bookings/{body['id']}", headers=headers)
    assert cancelled.json["status"] == "cancelled"
    second = client.delete(f"/api/v1/bookings/{body['id']}", headers=headers)
    assert second.status_code == 409 and second.json["error"]["code"] == "not_cancellable"


@pytest.mark.parametrize(
    "payload, status, code",
    [
        ({"slot_id": 999999, "party_size": 1}, 404, "not_found"),
        ({"party_size": 1}, 422, "validation_error"),
        ({"slot_id": "x"}, 422, "validation_error"),
    ],
)
def test_refusals_are_clear(client, session, venue, make_user, payload, status, code):
    response = client.post("/api/v1/bookings", json=payload, headers=auth(session, make_user()))
    assert response.status_code == status and response.json["error"]["code"] == code
    assert response.json["error"]["message"]


def test_rule_refusals_have_codes_and_messages_in_the_asked_language(
    client, session, venue, make_user
):
    headers = auth(session, make_user())
    started = slot_at(session, venue.spaces[0], 0, 9)
    response = client.post(
        "/api/v1/bookings",
        json={"slot_id": started.id, "party_size": 1},
        headers={**headers, "Accept-Language": "en"},
    )
    assert response.status_code == 400 and response.json["error"]["code"] == "too_late"
    assert "already started" in response.json["error"]["message"]
    big = client.post(
        "/api/v1/bookings",
        json={"slot_id": slot_at(session, venue.spaces[0], 1, 9).id, "party_size": 9},
        headers=headers,
    )
    assert big.status_code == 400 and big.json["error"]["code"] == "party_size"


def test_bookings_need_a_token(client, venue):
    assert client.post("/api/v1/bookings", json={"slot_id": 1}).status_code == 401
    assert client.get("/api/v1/bookings").status_code == 401


def test_openapi_documents_the_venue_api(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in (
        "/api/v1/venues",
        "/api/v1/venues/{venue_id}",
        "/api/v1/venues/{venue_id}/availability",
        "/api/v1/bookings",
        "/api/v1/bookings/{booking_id}",
        "/api/v1/bookings/{booking_id}.ics",
    ):
        assert path in paths, path
    post = paths["/api/v1/bookings"]["post"]
    assert "409" in post["responses"] and any(
        p["name"] == "Idempotency-Key" for p in post["parameters"]
    )


@pytest.mark.race
def test_hundred_http_requests_for_the_last_five_places(app, session, venue, make_user):
    """100 people press "book" in the app at once for 5 places: 5 x 201, 95 x 409 sold_out."""
    slot_id = slot_at(session, venue.spaces[0], 1, 10).id
    headers = [auth(session, make_user()) for _ in range(100)]

    def post(i):
        client = app.test_client()
        response = client.post(
            "/api/v1/bookings", json={"slot_id": slot_id, "party_size": 1}, headers=headers[i]
        )
        return response.status_code, (response.json or {}).get("error", {}).get("code")

    results = race(app, 100, post)
    assert sorted(results, key=str).count((201, None)) == 5, results
    assert results.count((409, "sold_out")) == 95
    session.rollback()
    assert session.scalar(select(func.count(Booking.id))) == 5
    assert ledger_mismatches(session) == []
