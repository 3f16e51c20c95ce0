"""The micro-cache of anonymous catalogue pages (app/pagecache.py): who gets a kept page, with
whose CSRF token, for how long, in which language and mode; and that signed-in pages never
touch it."""

import re
import threading
import time

import pytest
from sqlalchemy import event

from app.extensions import db
from app.pagecache import Page, PageCache
from tests.conftest import CSRF_RE, login


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(app):
    """The app's page cache, on (30 s), on a clock the test moves."""
    clock = Clock()
    app.extensions["page_cache"] = PageCache(30, 50, clock=clock)
    return clock


@pytest.fixture
def venue(make_venue):
    return make_venue(name="莘庄博物馆")


@pytest.fixture
def queries(app):
    """The SELECTs sent while the test runs (each request's, too)."""
    sent = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    yield sent
    event.remove(db.engine, "before_cursor_execute", count)


def rename(session, venue, name):
    venue.name_zh = name
    session.commit()


def session_cookie(response) -> str:
    return next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))


def test_a_second_visitor_gets_the_kept_page_with_a_token_of_their_own(app, clock, venue, queries):
    first, second = app.test_client(), app.test_client()
    path = f"/venues/{venue.id}"
    page = first.get(path)
    queries.clear()
    again = second.get(path)
    assert again.status_code == 200 and not queries  # served without running the view
    mine, theirs = (CSRF_RE.findall(r.get_data(as_text=True)) for r in (again, page))
    assert len(mine) == len(theirs) == 2 and set(mine).isdisjoint(theirs)
    # The same page but for the token.
    assert CSRF_RE.sub("", again.get_data(as_text=True)) == CSRF_RE.sub(
        "", page.get_data(as_text=True)
    )
    # Each answer sets its visitor's own session (where their token is), never the first's.
    assert session_cookie(again) != session_cookie(page)
    assert "Cookie" in again.headers["Vary"] and again.headers["Cache-Control"] == "no-store"
    # The second visitor's token works for them, and the first visitor's does not.
    form = {"locale": "en", "next": path}
    assert second.post("/language", data={**form, "csrf_token": theirs[0]}).status_code == 400
    assert second.post("/language", data={**form, "csrf_token": mine[0]}).status_code == 302


def test_a_change_shows_once_the_page_has_expired(app, clock, session, venue):
    visitor = app.test_client()
    assert "莘庄博物馆" in visitor.get("/venues").get_data(as_text=True)
    rename(session, venue, "七宝博物馆")
    assert "莘庄博物馆" in visitor.get("/venues").get_data(as_text=True)  # kept 30 s
    clock.now += 31
    html = visitor.get("/venues").get_data(as_text=True)
    assert "七宝博物馆" in html and "莘庄博物馆" not in html


def test_signed_in_pages_are_never_kept_nor_served_from_the_cache(
    app, clock, session, venue, make_user
):
    resident = app.test_client()
    login(resident, make_user().phone)
    resident.get(f"/venues/{venue.id}")  # signed in: not kept for visitors
    rename(session, venue, "七宝博物馆")
    assert "七宝博物馆" in app.test_client().get(f"/venues/{venue.id}").get_data(as_text=True)
    rename(session, venue, "颛桥博物馆")  # the visitors' page is now kept, and stale
    assert "七宝博物馆" in app.test_client().get(f"/venues/{venue.id}").get_data(as_text=True)
    assert "颛桥博物馆" in resident.get(f"/venues/{venue.id}").get_data(as_text=True)


def test_language_display_mode_and_query_each_have_their_own_page(app, clock, venue):
    chinese, english, elderly = app.test_client(), app.test_client(), app.test_client()
    english.set_cookie("locale", "en")
    elderly.set_cookie("display_mode", "elderly")
    for _ in range(2):  # the second round from the cache
        zh, en, old = (c.get(f"/venues/{venue.id}").get_data(as_text=True) for c in
                       (chinese, english, elderly))  # fmt: skip
        assert 'lang="zh-CN"' in zh and "Test Museum" not in zh and "mode-standard" in zh
        assert 'lang="en"' in en and "Test Museum" in en
        assert "mode-elderly" in old and 'lang="zh-CN"' in old
    museums = chinese.get("/venues?type=museum").get_data(as_text=True)
    libraries = chinese.get("/venues?type=library").get_data(as_text=True)
    assert "莘庄博物馆" in museums and "莘庄博物馆" not in libraries


def test_a_visitor_with_a_message_waiting_gets_their_own_page(app, clock, venue):
    """A flashed message is shown once, to the visitor it was for: such a visit neither uses
    the kept page nor keeps its own."""
    visitor = app.test_client()
    visitor.get("/venues")  # the page without a message is kept
    with visitor.session_transaction() as cookie:
        cookie["_flashes"] = [("info", "只给你看的消息")]
    assert "只给你看的消息" in visitor.get("/venues").get_data(as_text=True)
    assert "只给你看的消息" not in app.test_client().get("/venues").get_data(as_text=True)
    assert "只给你看的消息" not in visitor.get("/venues").get_data(as_text=True)  # shown once


def test_answers_other_than_a_page_are_not_kept(app, clock, make_venue):
    visitor = app.test_client()
    assert visitor.get("/venues/999999").status_code == 404
    venue = make_venue()
    assert venue.id != 999999 and visitor.get(f"/venues/{venue.id}").status_code == 200


def test_the_cache_is_off_unless_configured(app, session, venue):
    assert app.config["PAGE_CACHE_SECONDS"] == 0  # development and tests
    visitor = app.test_client()
    visitor.get("/venues")
    rename(session, venue, "七宝博物馆")
    assert "七宝博物馆" in visitor.get("/venues").get_data(as_text=True)


# --- The cache itself -----------------------------------------------------------------------


def page(clock, text="<p>page</p>"):
    return Page(clock() + 30, (text,), 200, "text/html")


def test_one_render_per_key_at_a_time_the_others_wait_for_it():
    clock = Clock()
    cache = PageCache(30, 10, clock=clock)
    renders, results = [], []
    start = threading.Barrier(8)

    def render():
        renders.append(1)
        time.sleep(0.2)  # long enough for every other thread to arrive and wait
        return page(clock), "<p>page</p>"

    def visit():
        start.wait()
        kept, answer = cache.serve("key", render)
        results.append(kept.body("") if kept is not None else answer)

    threads = [threading.Thread(target=visit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(renders) == 1 and results == ["<p>page</p>"] * 8


def test_when_the_render_is_not_kept_each_waiting_request_renders_its_own():
    cache = PageCache(30, 10, clock=Clock())
    renders = []

    def render():
        renders.append(1)
        return None, "an error page"  # not one to keep

    assert cache.serve("key", render) == (None, "an error page")
    assert cache.serve("key", render) == (None, "an error page") and len(renders) == 2


def test_at_most_the_configured_number_of_pages_expired_ones_first():
    clock = Clock()
    cache = PageCache(30, 3, clock=clock)
    cache.serve("old", lambda: (Page(clock() + 1, ("old",), 200, "text/html"), "old"))
    for key in ("a", "b"):
        cache.serve(key, lambda: (page(clock), "x"))
    clock.now += 2  # "old" has expired
    cache.serve("c", lambda: (page(clock), "x"))
    assert set(cache._pages) == {"a", "b", "c"}
    cache.serve("d", lambda: (page(clock), "x"))  # none expired: the oldest goes
    assert set(cache._pages) == {"b", "c", "d"}


def test_a_page_is_cut_where_its_token_was():
    kept = Page(0, tuple('<input value="TOKEN"><input value="TOKEN">'.split("TOKEN")), 200, "")
    assert kept.body("mine") == '<input value="mine"><input value="mine">'
    assert re.search("TOKEN", kept.body("mine")) is None
