"""Server-side sessions (app/accounts/sessions.py): signing out kills a copied cookie, idle and
absolute limits (shorter for staff), deactivation, the devices page, and the loader's cost (one
statement, last use written at most once a minute)."""

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from app.accounts.models import UserSession
from tests.conftest import login, submit


def signed_in(client) -> bool:
    """Does this browser get the profile (else it is sent to sign in)?"""
    response = client.get("/profile")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def browser(app, cookie: str | None = None):
    other = app.test_client()
    if cookie is not None:
        other.set_cookie("session", cookie)
    return other


def rows(session, user):
    session.rollback()
    return session.scalars(
        select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)
    ).all()


@pytest.fixture
def limits(app):
    """Real lifetimes (tests/conftest.py makes them endless for the other tests)."""
    app.config.update(
        SESSION_IDLE_MINUTES=30,
        SESSION_ABSOLUTE_HOURS=2,
        STAFF_SESSION_IDLE_MINUTES=10,
        STAFF_SESSION_ABSOLUTE_HOURS=1,
    )


def test_a_copied_cookie_is_dead_after_signing_out(app, client, session, make_user, frozen):
    user = make_user()
    login(client, user.phone)
    copied = client.get_cookie("session").value
    assert signed_in(browser(app, copied))  # the copy works while the session lives
    assert client.get_cookie("remember_token") is None  # no Flask-Login remember cookie
    submit(client, "/logout", {}, form_url="/profile")
    assert not signed_in(client)
    assert not signed_in(browser(app, copied))  # replayed after sign-out: signed out
    (row,) = rows(session, user)
    assert row.ended_at is not None and row.end_reason == "signed_out"
    assert len(row.digest) == 64 and copied not in row.digest  # only a digest is kept


def test_idle_limit(app, client, session, make_user, frozen, limits):
    user = make_user()
    login(client, user.phone)
    for _ in range(3):  # each visit within the limit keeps the session alive
        frozen.shift(timedelta(minutes=29))
        assert signed_in(client)
    frozen.shift(timedelta(minutes=31))
    assert not signed_in(client)
    (row,) = rows(session, user)
    assert row.end_reason == "idle"


def test_absolute_limit(app, client, session, make_user, frozen, limits):
    user = make_user()
    login(client, user.phone)
    for _ in range(4):  # busy for 100 minutes
        frozen.shift(timedelta(minutes=25))
        assert signed_in(client)
    frozen.shift(timedelta(minutes=21))  # 121 minutes after signing in
    assert not signed_in(client)
    (row,) = rows(session, user)
    assert row.end_reason == "expired"


def test_staff_sessions_are_shorter(app, session, make_user, frozen, limits):
    resident, staff = make_user(), make_user("district_supervisor")
    people = {"resident": browser(app), "staff": browser(app)}
    login(people["resident"], resident.phone)
    login(people["staff"], staff.username)
    frozen.shift(timedelta(minutes=15))
    assert signed_in(people["resident"])
    assert not signed_in(people["staff"])


def test_a_deactivated_account_is_out_at_once(client, session, make_user, frozen):
    user = make_user()
    login(client, user.phone)
    assert signed_in(client)
    user.active = False
    session.commit()
    assert not signed_in(client)


def test_sign_out_everywhere_else_keeps_this_browser(app, session, make_user, frozen):
    user = make_user()
    here, there = browser(app), browser(app)
    login(here, user.phone)
    login(there, user.phone)
    response = submit(here, "/profile/devices/end-others", {}, form_url="/profile/devices")
    assert response.status_code == 302
    assert signed_in(here) and not signed_in(there)
    assert [r.end_reason for r in rows(session, user)] == [None, "signed_out_elsewhere"]


def test_a_browser_signed_out_elsewhere_or_idle_is_told_why_once(
    app, session, make_user, frozen, limits
):
    user = make_user()
    here, there = browser(app), browser(app)
    login(here, user.phone)
    login(there, user.phone)
    submit(here, "/profile/devices/end-others", {}, form_url="/profile/devices")
    refused = there.get("/profile")
    page = there.get(refused.headers["Location"]).get_data(as_text=True)
    assert "您已在其他设备上退出此设备的登录" in page
    assert "其他设备" not in there.get("/login").get_data(as_text=True)  # said once
    frozen.shift(timedelta(minutes=31))
    page = here.get(here.get("/profile").headers["Location"]).get_data(as_text=True)
    assert "为了安全，长时间未使用已自动退出" in page


def test_devices_page_lists_and_ends_sessions(app, session, make_user, frozen):
    user, stranger = make_user(), make_user()
    here, there, theirs = browser(app), browser(app), browser(app)
    login(here, user.phone)
    there.environ_base["HTTP_USER_AGENT"] = UA_ANDROID
    login(there, user.phone)
    login(theirs, stranger.phone)
    html = here.get("/profile/devices").get_data(as_text=True)
    assert html.count("<tr>") == 3  # the header row and two sessions
    assert "Chrome Mobile" in html and "Android" in html and "127.0.0.*" in html
    mine = rows(session, user)
    other_row = mine[1]
    stranger_row = rows(session, stranger)[0]
    # someone else's session: missing, and it lives on
    refused = submit(
        here, f"/profile/devices/{stranger_row.id}/end", {}, form_url="/profile/devices"
    )
    assert refused.status_code == 404 and signed_in(theirs)
    ended = submit(here, f"/profile/devices/{other_row.id}/end", {}, form_url="/profile/devices")
    assert ended.status_code == 302 and not signed_in(there) and signed_in(here)
    assert "Chrome Mobile" not in here.get("/profile/devices").get_data(as_text=True)
    # "this device": ends the browser's own session
    submit(here, f"/profile/devices/{mine[0].id}/end", {}, form_url="/profile/devices")
    assert not signed_in(here)


def test_sign_out_everywhere_asks_first(app, session, make_user, frozen):
    user = make_user()
    here, there = browser(app), browser(app)
    login(here, user.phone)
    login(there, user.phone)
    page = here.get("/profile/devices/end-all")
    assert page.status_code == 200 and signed_in(here) and signed_in(there)
    submit(here, "/profile/devices/end-all", {})
    assert not signed_in(here) and not signed_in(there)
    assert {r.end_reason for r in rows(session, user)} == {"signed_out_everywhere"}


def test_signing_in_again_ends_the_browsers_old_session(client, session, make_user, frozen):
    user = make_user()
    login(client, user.phone)
    submit(client, "/logout", {}, form_url="/profile")
    login(client, user.phone)
    assert [r.end_reason for r in rows(session, user)] == ["signed_out", None]


def test_the_loader_is_one_statement_and_writes_at_most_once_a_minute(
    app, client, session, make_user, frozen
):
    from app.extensions import db

    user = make_user()
    login(client, user.phone)
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for _ in range(3):
            assert signed_in(client)
        frozen.shift(timedelta(seconds=61))
        assert signed_in(client)
        assert signed_in(client)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    reads = [s for s in seen if "FROM user_account" in s and "user_session" in s]
    touches = [s for s in seen if s.startswith("UPDATE user_session")]
    assert len(reads) == 5  # one per page: the account, its roles, inbox count and session
    assert not [s for s in seen if s.startswith("SELECT") and "FROM user_session" in s]
    assert len(touches) == 1  # after the minute, once
    (row,) = rows(session, user)
    assert row.last_used_at == row.created_at + timedelta(seconds=61)


UA_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)


def test_describe_agent_and_network():
    from app.accounts.sessions import describe_agent, network_of

    assert describe_agent(UA_ANDROID) == "Chrome Mobile 120 / Android 14"
    assert describe_agent("") == ""
    assert network_of("203.0.113.77") == "203.0.113.*"
    assert network_of("2001:db8:1234:5678::1") == "2001:db8:1234::/48"
    assert network_of("not an address") == ""


def test_the_sweep_purges_old_sessions(app, session, make_user, frozen, limits):
    from app.accounts.sessions import purge
    from app.db import utcnow

    user, now = make_user(), utcnow()

    def row(digest, *, used_days_ago, ended_days_ago=None):
        used = now - timedelta(days=used_days_ago)
        ended = None if ended_days_ago is None else now - timedelta(days=ended_days_ago)
        return UserSession(
            user_id=user.id,
            digest=digest * 64,
            created_at=used,
            last_used_at=used,
            ended_at=ended,
            end_reason="signed_out" if ended else None,
        )

    session.add_all(
        [
            row("a", used_days_ago=40, ended_days_ago=31),  # ended a month ago: purged
            row("b", used_days_ago=40, ended_days_ago=29),  # kept for the devices' history
            row("c", used_days_ago=31),  # never came back: purged
            row("d", used_days_ago=0),  # live
        ]
    )
    session.commit()
    assert purge(session, app.config) == {"sessions_purged": 2}
    assert [r.digest[0] for r in rows(session, user)] == ["b", "d"]
    assert purge(session, app.config) == {"sessions_purged": 0}


def test_devices_and_tokens_pages_in_both_languages(app, client, session, make_user, frozen):
    user = make_user()
    login(client, user.phone)
    chinese = {"/profile/devices": "已登录的设备", "/profile/tokens": "API 令牌"}
    for path, heading in chinese.items():
        assert heading in client.get(path).get_data(as_text=True)
    user.locale = "en"
    session.commit()
    client.set_cookie("locale", "en")
    english = {"/profile/devices": "Signed-in devices", "/profile/tokens": "API tokens"}
    for path, heading in english.items():
        html = client.get(path).get_data(as_text=True)
        assert heading in html and "本机" not in html
    assert "(this device)" in client.get("/profile/devices").get_data(as_text=True)
