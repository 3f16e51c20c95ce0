"""The import pages (/admin/imports) in a browser, both display modes and both languages: the
upload page, a broken file's answers (errors first), a good file's dry run, the confirmation,
the result, and a job still running (its page refreshes itself, without JavaScript), each
passing the accessibility audit. One walk per mode."""

import os

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible

SHOTS = os.environ.get("IMPORT_SCREENSHOTS")  # a folder: save what each step looked like


def _shot(page, name, mode, width):
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}-{mode}-{width}.png", full_page=True)


def _upload(page, kind: str, name: str, data: bytes):
    page.check(f"input[name=kind][value={kind}]")
    page.set_input_files("#file", files=[{"name": name, "mimeType": "text/csv", "buffer": data}])
    page.click("#upload-form button[type=submit]")
    page.wait_for_load_state()


@pytest.mark.parametrize(
    "mode, locale, width", [("standard", "zh_CN", 1280), ("elderly", "en", 390)]
)
def test_import_walk(open_page, live_server, mode, locale, width):
    from app.imports import jobs
    from app.imports.kinds import kind_of

    admin = live_server.create_user("administrator")
    page = open_page("/admin/imports", mode=mode, locale=locale, user=admin, width=width)
    expect(page.locator("#kind-households")).to_have_count(1)
    assert_accessible(page, mode)
    _shot(page, "upload", mode, width)
    town = f"导入测试镇{mode}"
    broken = f"district,name\n闵行区,{town}\n没有这个区,新镇\n闵行区,{town}\n".encode()
    _upload(page, "towns", "towns.csv", broken)
    expect(page.locator("#import-errors")).to_have_count(1)
    first = page.locator("#import-rows tbody tr").first
    assert "没有这个区" in first.inner_text() and page.locator("#import-continue").count() == 0
    assert_accessible(page, mode)
    _shot(page, "errors", mode, width)
    page.goto(live_server.url + "/admin/imports")
    _upload(page, "towns", "towns.csv", f"district,name\n闵行区,{town}\n".encode("gbk"))
    expect(page.locator("#import-checked")).to_have_count(1)
    page.click("#import-continue")
    page.wait_for_load_state()
    assert_accessible(page, mode)
    _shot(page, "confirm", mode, width)
    page.click("#apply-form button[type=submit]")
    page.wait_for_load_state()
    expect(page.locator("#import-saved")).to_have_count(1)
    assert_accessible(page, mode)
    _shot(page, "saved", mode, width)

    # A job still being checked: a page that refreshes itself and says so.
    def running(session):
        from app.accounts.services import find_by_login

        user = find_by_login(session, admin)
        kind = kind_of("households", live_server.app)
        return jobs.create(session, user, kind, "big.csv", b"town,estate\n", 10_000).token

    token = live_server.run(running)
    response = page.goto(f"{live_server.url}/admin/imports/{token}")
    assert response.headers["refresh"] == "2" and page.locator("#import-reloading").count() == 1
    # The audit reads a page that stays put: the same page after "stop reloading".
    page.goto(f"{live_server.url}/admin/imports/{token}?auto=0")
    assert page.locator("#import-progress [role=status]").count() == 1
    assert_accessible(page, mode)
    _shot(page, "progress", mode, width)
