import pytest

from app.accounts import services
from app.i18n import N_
from app.notifications import services as inbox


def _token(session, user):
    token = services.issue_token(session, user)
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_me_requires_a_bearer_token(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert "Bearer" in response.headers["WWW-Authenticate"]
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_me_returns_the_owner_with_a_masked_phone(client, session, make_user):
    user = make_user(phone="13912345678")
    response = client.get("/api/v1/me", headers=_token(session, user))
    assert response.status_code == 200
    assert response.json["phone_masked"] == "139****5678"
    assert response.json["roles"] == [{"role": "resident", "scope_kind": None, "scope_id": None}]
    assert "13912345678" not in response.get_data(as_text=True)


def test_revoked_token_is_refused(client, session, make_user):
    from app.accounts.models import ApiToken
    from app.db import utcnow

    user = make_user()
    headers = _token(session, user)
    for token in session.query(ApiToken).filter_by(user_id=user.id):
        token.revoked_at = utcnow()
    session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_error_messages_follow_accept_language(client):
    zh = client.get("/api/v1/nowhere").json["error"]
    en = client.get("/api/v1/nowhere", headers={"Accept-Language": "en-US,en;q=0.9"}).json["error"]
    assert zh["code"] == en["code"] == "not_found"
    assert zh["message"] == "未找到。" and en["message"] == "Not found."


def test_notifications_list_and_mark_read(client, session, make_user):
    user, other = make_user(), make_user()
    note = inbox.notify(session, user.id, kind="t", subject=N_("Your details are saved."))
    session.commit()
    headers = _token(session, user)
    listing = client.get("/api/v1/notifications", headers=headers).json
    assert [n["id"] for n in listing] == [note.id] and listing[0]["read"] is False
    assert listing[0]["subject"] == "您的资料已保存。"
    assert (
        client.post(f"/api/v1/notifications/{note.id}/read", headers=headers).json["read"] is True
    )
    other_headers = _token(session, other)
    assert (
        client.post(f"/api/v1/notifications/{note.id}/read", headers=other_headers).status_code
        == 404
    )


def test_query_validation_errors_use_the_common_format(client, session, make_user):
    headers = _token(session, make_user())
    response = client.get("/api/v1/notifications?limit=0", headers=headers)
    assert response.status_code == 422
    body = response.json["error"]
    assert body["code"] == "validation_error" and "limit" in str(body["fields"])


def test_openapi_document_is_generated_from_the_code(client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/me" in doc["paths"] and "/api/v1/notifications" in doc["paths"]
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "error" in doc["components"]["schemas"]["Error"]["properties"]


def test_api_needs_no_csrf_token(client, session, make_user):
    user = make_user()
    note = inbox.notify(session, user.id, kind="t", subject=N_("Your details are saved."))
    session.commit()
    assert (
        client.post(
            f"/api/v1/notifications/{note.id}/read", headers=_token(session, user)
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    "path", ["/api/v1/bookings", "/api/v1/parking/reservations", "/api/v1/parking/events"]
)
def test_token_is_checked_before_the_body(client, path):
    """Without a token the answer is 401 whatever the body, and the body is still documented."""
    response = client.post(path, json={})
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"
    spec = client.get("/api/v1/openapi.json").json
    assert "requestBody" in spec["paths"][path]["post"] and spec["paths"][path]["post"]["security"]
