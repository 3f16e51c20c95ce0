"""API tokens (app/accounts/tokens.py): expiry and revocation answer 401 with a reason, scopes
keep gate tokens and Open311 keys to their one door, the tokens page and the car park's gate
tokens, and `flask revoke-token`."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.accounts.models import ApiToken, TokenScope
from app.accounts.services import issue_token
from tests.conftest import login, submit


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def event_at(park_id):
    return {
        "carpark_id": park_id,
        "plate": "沪A12345",
        "direction": "entry",
        "occurred_at": "2026-12-01T09:00:00+08:00",
    }


def test_expired_and_revoked_tokens_get_401_saying_why(client, session, make_user, frozen):
    user = make_user()
    token = issue_token(session, user, "script", days=30)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    frozen.shift(timedelta(days=30, seconds=1))
    expired = client.get("/api/v1/me", headers=bearer(token))
    assert expired.status_code == 401 and expired.json["error"]["code"] == "token_expired"
    assert "2026-12-31" in expired.json["error"]["message"]
    # the booking path's own check (one statement) answers the same
    booking = client.post(
        "/api/v1/bookings", headers=bearer(token), json={"slot_id": 1, "party_size": 1}
    )
    assert booking.status_code == 401 and booking.json["error"]["code"] == "token_expired"

    fresh = issue_token(session, user, "other")
    row = session.scalar(select(ApiToken).where(ApiToken.name == "other"))
    from app.accounts import tokens

    tokens.revoke(session, row)
    revoked = client.get("/api/v1/me", headers=bearer(fresh))
    assert revoked.status_code == 401 and revoked.json["error"]["code"] == "token_revoked"
    unknown = client.get("/api/v1/me", headers=bearer("cp_nothing"))
    assert unknown.status_code == 401 and unknown.json["error"]["code"] == "unauthorized"


def test_new_tokens_expire_after_api_token_days(app, session, make_user, frozen):
    app.config["API_TOKEN_DAYS"] = 90
    issue_token(session, make_user(), "t")
    row = session.scalar(select(ApiToken))
    assert row.expires_at - row.created_at == timedelta(days=90)


@pytest.fixture
def gate_world(session, car_park, make_user, places, repair_company):
    park = car_park.default
    other_park = car_park(name="另一停车场")
    operator = make_user("carpark_operator", scope=park)
    gate = issue_token(session, operator, "gate", scope=TokenScope.GATE, scope_id=park.id)
    return park, other_park, operator, gate


def test_a_gate_token_reports_its_car_parks_events_and_nothing_else(client, session, gate_world):
    park, other_park, operator, gate = gate_world
    assert (
        client.post(
            "/api/v1/parking/events", headers=bearer(gate), json=event_at(park.id)
        ).status_code
        == 201
    )
    elsewhere = client.post(
        "/api/v1/parking/events", headers=bearer(gate), json=event_at(other_park.id)
    )
    assert elsewhere.status_code == 403
    for method, url, body in (
        ("GET", "/api/v1/me", None),
        ("GET", "/api/v1/notifications", None),
        ("POST", "/api/v1/bookings", {"slot_id": 1, "party_size": 1}),
        ("GET", "/api/v1/bookings", None),
    ):
        refused = client.open(url, method=method, headers=bearer(gate), json=body)
        assert refused.status_code == 403, (url, refused.status_code)
        assert refused.json["error"]["code"] == "insufficient_scope"
    # nor can it file Open311 reports in the operator's name
    filed = client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": gate,
            "service_code": "lift",
            "address_id": str(places_estate(session)),
            "description": "电梯坏了",
        },
    )
    assert filed.status_code == 403
    # an operator who loses the role takes the gate token's rights with them
    operator.roles.clear()
    session.commit()
    gone = client.post("/api/v1/parking/events", headers=bearer(gate), json=event_at(park.id))
    assert gone.status_code == 403


def places_estate(session):
    from app.places.models import Estate

    return session.scalar(select(Estate.id).order_by(Estate.id))


def test_an_open311_key_files_reports_and_is_refused_by_the_personal_api(
    client, session, make_user, places, repair_company, frozen
):
    resident = make_user()
    key = issue_token(session, resident, "partner", scope=TokenScope.OPEN311)
    filed = client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": key,
            "service_code": "lift",
            "address_id": str(places["estates"][0].id),
            "description": "电梯停在 3 楼不动",
        },
    )
    assert filed.status_code == 201, filed.json
    for url in ("/api/v1/me", "/api/v1/notifications", "/api/v1/bookings"):
        refused = client.get(url, headers=bearer(key))
        assert refused.status_code == 403 and refused.json["error"]["code"] == "insufficient_scope"


def test_tokens_page_makes_lists_and_revokes(client, session, make_user, frozen):
    user, stranger = make_user(), make_user()
    theirs = issue_token(session, stranger, "theirs")
    login(client, user.phone)
    made = submit(client, "/profile/tokens", {"name": "我的脚本", "kind": "personal"})
    assert made.status_code == 302 and made.headers["Location"] == "/profile/tokens"  # PRG
    shown = client.get("/profile/tokens")
    assert shown.headers["Cache-Control"] == "no-store"
    secret = shown.get_data(as_text=True).split('id="secret">')[1].split("<")[0].strip()
    reload = client.get("/profile/tokens").get_data(as_text=True)
    assert secret.startswith("cp_") and secret not in reload  # shown once
    assert 'id="secret"' not in reload and "我的脚本" in reload
    assert (
        session.scalar(
            select(func.count()).select_from(ApiToken).where(ApiToken.user_id == user.id)
        )
        == 1
    )
    assert client.get("/api/v1/me", headers=bearer(secret)).json["id"] == user.id
    page = client.get("/profile/tokens").get_data(as_text=True)
    assert "我的脚本" in page and "theirs" not in page
    row = session.scalar(select(ApiToken).where(ApiToken.name == "我的脚本"))
    assert row.last_used_at is not None and row.scope == TokenScope.PERSONAL
    # an error keeps the answers
    empty = submit(client, "/profile/tokens", {"name": "", "kind": "open311"})
    assert empty.status_code == 200
    assert re.search(r'<input checked[^>]*value="open311"', empty.get_data(as_text=True))
    # revoking asks first
    confirm = client.get(f"/profile/tokens/{row.id}/revoke")
    assert (
        confirm.status_code == 200
        and client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    )
    submit(client, f"/profile/tokens/{row.id}/revoke", {})
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401
    from app.audit.models import AuditEntry

    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "accounts.token_revoked"))
    assert entry.actor_id == user.id and entry.object_id == str(row.id)
    # someone else's token: missing, and it still works
    stranger_row = session.scalar(select(ApiToken).where(ApiToken.name == "theirs"))
    assert client.get(f"/profile/tokens/{stranger_row.id}/revoke").status_code == 404
    assert (
        submit(
            client, f"/profile/tokens/{stranger_row.id}/revoke", {}, form_url="/profile/tokens"
        ).status_code
        == 404
    )
    assert client.get("/api/v1/me", headers=bearer(theirs)).status_code == 200


def test_gate_tokens_on_the_car_park_page(client, session, gate_world):
    park, other_park, operator, old_gate = gate_world
    login(client, operator.username)
    html = submit(
        client, f"/parking/operate/{park.id}/token", {}, form_url=f"/parking/operate/{park.id}"
    ).get_data(as_text=True)
    secret = html.split('token-text">')[1].split("<")[0].strip()
    row = session.scalar(select(ApiToken).where(ApiToken.digest == ApiToken.digest_of(secret)))
    assert row.scope == TokenScope.GATE and row.scope_id == park.id
    assert (
        client.post(
            "/api/v1/parking/events", headers=bearer(secret), json=event_at(park.id)
        ).status_code
        == 201
    )
    dashboard = client.get(f"/parking/operate/{park.id}").get_data(as_text=True)
    assert dashboard.count("/revoke") == 2  # both of the car park's gate tokens
    url = f"/parking/operate/{park.id}/tokens/{row.id}/revoke"
    assert client.get(url).status_code == 200
    submit(client, url, {})
    refused = client.post("/api/v1/parking/events", headers=bearer(secret), json=event_at(park.id))
    assert refused.status_code == 401 and refused.json["error"]["code"] == "token_revoked"
    # another car park's address does not reach this one's tokens
    old = session.scalar(select(ApiToken).where(ApiToken.digest == ApiToken.digest_of(old_gate)))
    assert client.get(f"/parking/operate/{other_park.id}/tokens/{old.id}/revoke").status_code == 403


def test_revoke_token_command(runner, session, make_user, frozen):
    user = make_user("administrator")
    issue_token(session, user, "laptop")
    issue_token(session, user, "server")
    issue_token(session, user, "server")
    result = runner.invoke(args=["revoke-token", user.username, "--name", "server"])
    assert result.exit_code == 0 and result.output.count("revoked token") == 2, result.output
    live = session.scalars(select(ApiToken.name).where(ApiToken.revoked_at.is_(None))).all()
    assert live == ["laptop"]
    missing = runner.invoke(args=["revoke-token", user.username, "--name", "nothing"])
    assert missing.exit_code != 0 and "nothing" in missing.output  # no token called that
    unknown = runner.invoke(args=["revoke-token", "nobody", "--all"])
    assert unknown.exit_code != 0 and "nobody" in unknown.output
    neither = runner.invoke(args=["revoke-token", user.username])
    assert neither.exit_code != 0 and "--name NAME or --all" in neither.output
    every = runner.invoke(args=["revoke-token", user.username, "--all"])
    assert every.exit_code == 0 and "'laptop'" in every.output
    session.rollback()
    assert session.scalars(select(ApiToken).where(ApiToken.revoked_at.is_(None))).all() == []
    from app.audit.models import AuditEntry

    logged = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "accounts.token_revoked")
    ).all()
    assert len(logged) == 3 and {e.details["via"] for e in logged} == {"command line"}
    assert {e.details["owner"] for e in logged} == {user.id}
