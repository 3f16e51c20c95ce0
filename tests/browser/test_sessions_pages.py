"""The devices and API tokens pages, and the car park's gate tokens, pass the accessibility
audit in standard and elderly mode; signing another device out works without JavaScript."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import MODES, PASSWORD, assert_accessible, assert_error_page


def _token_of(live_server, login: str, name: str) -> int:
    def make(session):
        from app.accounts import tokens
        from app.accounts.services import find_by_login

        row, _secret = tokens.issue(session, find_by_login(session, login), name)
        return row.id

    return live_server.run(make)


@pytest.mark.parametrize("mode", MODES)
def test_devices_and_tokens_pages(open_page, live_server, mode):
    user = live_server.create_user()
    token_id = _token_of(live_server, user, "我的脚本")
    open_page("/", user=user, fresh=True)  # a second signed-in browser for the list
    for path in (
        "/profile/devices",
        "/profile/devices/end-all",
        "/profile/tokens",
        f"/profile/tokens/{token_id}/revoke",
    ):
        page = open_page(path, mode=mode, user=user)
        assert_accessible(page, mode)
    # a new token, shown once, and the form with an error
    page = open_page("/profile/tokens", mode=mode, user=user)
    page.fill("#name", "合作方")
    page.locator("main button[type=submit]").click()
    assert page.locator("#secret").inner_text().startswith("cp_")
    assert_accessible(page, mode)
    page = open_page("/profile/tokens", mode=mode, user=user)
    page.locator("main button[type=submit]").click()
    assert_error_page(page)
    assert_accessible(page, mode)


@pytest.mark.parametrize("mode", MODES)
def test_gate_tokens_on_the_car_park_page(open_page, live_server, mode):
    from app.accounts.models import TokenScope

    def first_park(session):
        from sqlalchemy import select

        from parking.models import CarPark

        return session.scalar(select(CarPark.id).order_by(CarPark.id))

    park = live_server.run(first_park)
    operator = live_server.create_user("carpark_operator", scope=f"carpark:{park}")

    def gate_token(session):
        from app.accounts import tokens
        from app.accounts.services import find_by_login

        row, _ = tokens.issue(
            session,
            find_by_login(session, operator),
            f"gate {park}",
            scope=TokenScope.GATE,
            scope_id=park,
        )
        return row.id

    token_id = live_server.run(gate_token)
    for path in (f"/parking/operate/{park}", f"/parking/operate/{park}/tokens/{token_id}/revoke"):
        page = open_page(path, mode=mode, user=operator)
        assert_accessible(page, mode)


def test_signing_another_device_out_without_javascript(browser, live_server, open_page):
    user = live_server.create_user()
    other = open_page("/profile", user=user)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/login?with=password")  # as open_page signs in
    page.fill("#login", user)
    page.fill("#password", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.goto(live_server.url + "/profile/devices")
    rows = page.locator("#devices tbody tr")
    expect(rows).to_have_count(2)
    rows.filter(has_not_text="本机").get_by_role("button").click()
    other.reload()
    assert "/login" in other.url
    page.goto(live_server.url + "/profile/devices/end-all")
    page.locator("main button[type=submit]").click()
    page.goto(live_server.url + "/profile")
    assert "/login" in page.url
    context.close()
