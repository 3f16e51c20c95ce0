"""Browser fixtures: one live portal (SQLite, migrated and seeded) and one headless Debian
Chromium per test session (per xdist worker), driven by Playwright. No browser is downloaded."""

from __future__ import annotations

import itertools
import logging
import os
import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import CI, PASSWORD, migrate_to_head

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
MODES = ["standard", "elderly"]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    # Browser tests are spread over the xdist workers like the others: each worker that runs
    # any starts one live portal and one Chromium (session fixtures below) and shares them
    # between all of its browser tests, so the two cores share the browser work too.
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def assert_error_page(page) -> None:
    """The page (once its navigation has finished) is an error page: its title starts with 错误."""
    from playwright.sync_api import expect

    expect(page).to_have_title(re.compile("^错误："))


def assert_accessible(page, mode: str) -> None:
    """The page passes axe and our own checks in `mode`; a failure lists every problem."""
    from tests.browser.checks import audit_page

    problems = audit_page(page, elderly=mode == "elderly")
    assert not problems, f"{page.url} ({mode}):\n" + "\n".join(problems)


class LiveServer:
    def __init__(self, app, url):
        self.app, self.url = app, url
        self._names = itertools.count(1)

    def create_user(
        self,
        role="resident",
        scope=None,
        home_estate_id=None,
        home_building="1",
        home_unit="",
        home_room="101",
        home_verified=True,
        **attrs,
    ):
        """A fresh account on the live server (fresh, so its display settings start clean),
        with a home (verified unless home_verified=False) when home_estate_id is given."""
        from app.accounts import services
        from app.accounts.models import Role
        from app.extensions import db

        n = next(self._names)
        with self.app.app_context():
            role = Role(role)
            if role == Role.RESIDENT:
                user = services.register_resident(
                    db.session, phone=f"1370000{n:04d}", name=f"测试居民{n}", password=PASSWORD
                )
            else:
                user = services.create_user(
                    db.session,
                    username=f"b-{role.value}-{n}",
                    password=PASSWORD,
                    name=f"测试{n}",
                    roles=[(role, scope)],
                )
            for key, value in attrs.items():
                setattr(user, key, value)
            if home_estate_id is not None:
                from tests.conftest import give_home

                give_home(
                    db.session,
                    user,
                    home_estate_id,
                    home_building,
                    home_unit,
                    home_room,
                    verified=home_verified,
                )
            db.session.commit()
            return user.login_name

    def run(self, fn):
        """Run fn(session) inside the live app (to set up data), committing after."""
        from app.extensions import db

        with self.app.app_context():
            result = fn(db.session)
            db.session.commit()
            return result


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    from app import create_app
    from app.demo import seed_frame
    from app.extensions import db
    from app.registry import registry

    path = tmp_path_factory.mktemp("live") / "portal.db"
    url = f"sqlite:///{path}"
    migrate_to_head(url)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "TESTING": True,
            "UPLOAD_DIR": str(tmp_path_factory.mktemp("uploads")),
            "SECRET_KEY": "browser-secret",
            "RATELIMIT_ENABLED": False,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    with app.app_context():
        seed_frame(db.session)
        for seeder in registry(app).seeders:
            seeder(db.session)
        db.session.commit()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
    server.shutdown()


def _clicks_wait_for_the_page_they_open() -> None:
    """A click returns once the page it opens is loaded, as a person waits for it.

    Playwright's click returns when a navigation it started is committed: `page.url` is already
    the new address while the old document may still be the one queried, so an assertion that
    does not wait (`is_visible`, `count`, or `inner_text` of an element both pages have) could
    read the old page. Waiting for "load" here is a no-op for a click that opens nothing.
    """
    from playwright.sync_api import Locator, Page

    def waiting(click, page_of):
        if getattr(click, "waits_for_load", False):
            return click

        def click_and_wait(self, *args, **kwargs):
            click(self, *args, **kwargs)
            page = page_of(self)
            if not page.is_closed():
                page.wait_for_load_state("load")

        click_and_wait.waits_for_load = True
        return click_and_wait

    Locator.click = waiting(Locator.click, lambda locator: locator.page)
    Page.click = waiting(Page.click, lambda page: page)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if CI:
            pytest.fail(f"{CHROMIUM} is missing; CI must run the browser tests")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    _clicks_wait_for_the_page_they_open()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, live_server):
    """open_page(path, mode="standard", locale="zh_CN", user=None) -> a Playwright page.

    Visitors get their mode and language as cookies; a user signs in through the real form and
    keeps them (a visitor's choice is adopted on sign-in). Within a test, a user opened again in
    the same mode and language reuses the cookies of their last sign-in, as a person's browser
    does, instead of signing in again; `fresh=True` signs in anew (another device).
    """
    contexts = []
    last_signin = {}  # user -> (mode, locale, storage state) of their newest sign-in

    def open_(path, *, mode="standard", locale="zh_CN", user=None, width=1280, fresh=False):
        reuse = last_signin.get(user) if user is not None and not fresh else None
        state = reuse[2] if reuse is not None and reuse[:2] == (mode, locale) else None
        context = browser.new_context(
            viewport={"width": width, "height": 900},
            java_script_enabled=True,
            storage_state=state,
        )
        contexts.append(context)
        if state is None:
            context.add_cookies(
                [
                    {"name": "display_mode", "value": mode, "url": live_server.url},
                    {"name": "locale", "value": locale, "url": live_server.url},
                ]
            )
        page = context.new_page()
        if user is not None and state is None:
            page.goto(live_server.url + "/login?with=password")  # the code tab is the default
            page.fill("#login", user)
            page.fill("#password", PASSWORD)
            page.locator("main button[type=submit]").click()
            page.wait_for_url(lambda url: "/login" not in url)
            if fresh:  # it may have changed the account's mode: the next open signs in again
                last_signin.pop(user, None)
            else:
                last_signin[user] = (mode, locale, context.storage_state())
        page.goto(live_server.url + path)
        return page

    yield open_
    for context in contexts:
        context.close()
