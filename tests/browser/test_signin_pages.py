"""A resident registers in elderly mode with the code from the development outbox, then signs in
with a code; every page on the way passes the accessibility audit. The password and number
pages of the profile are audited in both modes."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import MODES, assert_accessible, assert_error_page


def outbox_code(live_server, phone: str) -> str:
    """The newest verification code sent to `phone`, as the development outbox keeps it."""
    from app.sms.models import SmsMessage

    def read(session):
        return session.scalar(
            select(SmsMessage.params)
            .where(SmsMessage.phone == phone, SmsMessage.kind == "verification_code")
            .order_by(SmsMessage.id.desc())
            .limit(1)
        )[0]

    return live_server.run(read)


def submit_form(page) -> None:
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_load_state()


def test_an_elderly_resident_registers_and_signs_in_with_codes(open_page, live_server):
    page = open_page("/register", mode="elderly")
    assert_accessible(page, "elderly")
    page.fill("#phone", "137 6666 0001")
    submit_form(page)
    assert page.url.endswith("/register/details")
    assert "137****0001" in page.locator("main").inner_text()
    assert_accessible(page, "elderly")
    # Without the consent box ticked: the error, on the box, in the summary.
    page.fill("#code", outbox_code(live_server, "13766660001"))
    page.fill("#name", "测试阿婆")
    submit_form(page)
    assert_error_page(page)
    expect(page.locator('.error-summary a[href="#consent"]')).to_be_visible()
    assert_accessible(page, "elderly")
    page.check("#consent")
    submit_form(page)
    assert page.url.endswith("/profile")
    assert page.locator("html").get_attribute("class") == "mode-elderly"
    assert "13766660001" in page.locator("main").inner_text()

    # Signed out, then in again with a code (the default way).
    page.locator(".header-menu summary").click()  # sign-out is in the header's menu
    page.get_by_role("button", name="退出登录").click()
    page.goto(live_server.url + "/login")
    assert_accessible(page, "elderly")
    user = live_server.create_user()  # another number: one code a minute per number
    page.fill("#phone", user)
    submit_form(page)
    assert "/login/code" in page.url
    assert_accessible(page, "elderly")
    page.fill("#code", outbox_code(live_server, user))
    submit_form(page)
    assert "/login" not in page.url and page.locator(".menu-signout button").count() == 1


@pytest.mark.parametrize("mode", MODES)
def test_password_and_number_pages(open_page, live_server, mode):
    user = live_server.create_user()
    for path in ("/profile/password", "/profile/phone"):
        page = open_page(path, mode=mode, user=user)
        assert_accessible(page, mode)
    page.fill("#phone", "13766660006" if mode == "standard" else "13766660007")
    submit_form(page)
    assert page.url.endswith("/profile/phone/confirm")
    assert_accessible(page, mode)
    page = open_page("/password/forgot", mode=mode)
    page.fill("#phone", "13766660002" if mode == "standard" else "13766660003")
    submit_form(page)
    assert page.url.endswith("/password/reset")
    assert_accessible(page, mode)


@pytest.mark.parametrize("mode", MODES)
def test_staff_second_factor_page(open_page, live_server, mode):
    """The code page after a staff password (SIGNIN_SECOND_FACTOR_ROLES on for this test)."""
    app = live_server.app
    app.config["SIGNIN_SECOND_FACTOR_ROLES"] = "administrator"
    app.extensions.pop("signin_settings", None)
    try:
        phone = "13766660004" if mode == "standard" else "13766660005"
        admin = live_server.create_user("administrator", phone=phone)
        page = open_page("/login?with=password", mode=mode)
        page.fill("#login", admin)
        page.fill("#password", "correct-horse-9")
        submit_form(page)
        assert page.url.endswith("/login/verify") and "137****" in page.locator("main").inner_text()
        assert_accessible(page, mode)
        page.fill("#code", outbox_code(live_server, phone))
        submit_form(page)
        assert "/login" not in page.url
    finally:
        app.config["SIGNIN_SECOND_FACTOR_ROLES"] = None
        app.extensions.pop("signin_settings", None)
