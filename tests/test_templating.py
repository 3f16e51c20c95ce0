"""What every page's rendering relies on (app/templating.py) gives what it gave before it was
made cheap: translations follow the locale, days and URLs are what Babel and Flask make of
them, a rendered fragment is never older than what it shows, and the inbox badge counts what
the request itself changed."""

from datetime import UTC

import pytest
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import event

from app import clock
from app.accounts.models import signed_in_user
from app.db import unit_of_work
from app.extensions import db
from app.notifications.services import notify
from app.templating import content_key, unread_messages


@pytest.fixture
def statements(app):
    sent = []

    def count(conn, cursor, statement, *args):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    yield sent
    event.remove(db.engine, "before_cursor_execute", count)


def test_translations_follow_the_locale_within_a_request(app):
    home = app.jinja_env.from_string(
        "{{ _('Home') }} {{ ngettext('%(num)d venue', '%(num)d venues', 2) }}"
    )
    with app.test_request_context("/"):
        assert home.render() == "首页 共 2 个场馆"
        with force_locale("en"):
            assert home.render() == "Home 2 venues" and str(_l("Home")) == "Home"
        assert home.render() == "首页 共 2 个场馆" and str(_l("Home")) == "首页"
    # (each request in an app context of its own, as served: g holds the request's locale)
    with app.app_context(), app.test_request_context("/", headers={"Cookie": "locale=en"}):
        assert home.render() == "Home 2 venues"


def test_days_are_formatted_in_each_locale(app):
    from datetime import date, datetime

    day = app.jinja_env.from_string("{{ d | date('full') }}|{{ d | date('long') }}")
    with app.test_request_context("/"):
        # The human day (its year only when not this year) and a date with its year (issue 14).
        year = "" if clock.today().year == 2026 else "2026年"
        assert day.render(d=date(2026, 12, 1)) == f"{year}12月1日（周二）|2026年12月1日"
        with force_locale("en"):
            year = "" if clock.today().year == 2026 else " 2026"
            assert day.render(d=date(2026, 12, 1)) == f"Tue 1 Dec{year}|1 December 2026"
        # A time of day is in the reader's zone (Asia/Shanghai): 20:00 UTC is the next day.
        late = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
        assert app.jinja_env.from_string("{{ d | date('long') }}").render(d=late) == "2026年12月2日"


def test_urls_follow_the_script_root(app):
    link = app.jinja_env.from_string(
        "{{ url_for('main.home') }} {{ url_for('static', filename='a.css') }}"
    )
    with app.test_request_context("/"):
        assert link.render() == "/ /static/a.css"
    with app.test_request_context("/", base_url="http://localhost/portal"):
        assert link.render() == "/portal/ /portal/static/a.css"
    with app.test_request_context("/"):
        assert link.render() == "/ /static/a.css"


def test_a_content_key_changes_with_any_column(session, make_venue):
    venue = make_venue()
    before = content_key([venue, (venue.spaces[0], 3)])
    assert before == content_key([venue, (venue.spaces[0], 3)])
    venue.phone = "021-1"
    assert content_key([venue, (venue.spaces[0], 3)]) != before


def test_the_inbox_badge_counts_with_the_account_until_the_request_commits(
    app, session, make_user, statements
):
    user_id = make_user().id
    with unit_of_work(session):
        for _ in range(2):
            notify(session, user_id, kind="test", subject="hello")
    session.remove()
    with app.test_request_context("/"):
        user = signed_in_user(db.session, user_id)
        assert [r.role.value for r in user.roles] == ["resident"]
        sent = len(statements)
        assert unread_messages(user) == 2 and len(statements) == sent  # no query of its own
        with unit_of_work(db.session):
            notify(db.session, user_id, kind="test", subject="again")
        assert unread_messages(user) == 3  # the request wrote one: counted again
        db.session.remove()


def test_the_frame_follows_who_looks_where_with_their_own_token(app, session, make_user):
    """The header and footer are kept once rendered (app.templating.frame_part): each page
    still shows its own path, the visitor's mode, sign-in state, inbox count and CSRF token."""
    from tests.conftest import CSRF_RE, login

    first, second = app.test_client(), app.test_client()
    one, two = (c.get("/help").get_data(as_text=True) for c in (first, second))
    assert CSRF_RE.findall(one) and set(CSRF_RE.findall(one)).isdisjoint(CSRF_RE.findall(two))
    assert 'name="next" value="/help"' in one and 'class="service-nav"' in one
    html = first.get("/accessibility").get_data(as_text=True)
    assert 'name="next" value="/accessibility"' in html and 'value="/help"' not in html
    second.set_cookie("display_mode", "elderly")
    html = second.get("/help").get_data(as_text=True)
    assert "退出长辈模式" in html and 'class="service-nav"' not in html
    user = make_user()
    login(first, user.phone)
    assert "退出登录" in first.get("/help").get_data(as_text=True)
    with unit_of_work(session):
        notify(session, user.id, kind="test", subject="hello")
    html = first.get("/help").get_data(as_text=True)
    assert '<span class="badge">1<span class="visually-hidden">' in html
