"""The notification settings page and the e-mail address confirmed by a link, in a real
browser against a real SMTP server on loopback: both modes (one in English), each page passing
the accessibility audit, answers kept after an error."""

import re

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible
from tests.test_email_channel import Mailbox, free_port


@pytest.fixture
def mail_on(live_server):
    """E-mail on for the shared live server while the test runs, through a loopback server."""
    from app.notifications.models import Channel

    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app = live_server.app
    before = {key: app.config.get(key) for key in ("MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS")}
    app.config.update(
        MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_USE_TLS=False, MAIL_TIMEOUT=5
    )
    app.extensions.get("delivery_providers", {}).pop(Channel.EMAIL, None)
    yield mailbox
    app.config.update(before)
    app.extensions.get("delivery_providers", {}).pop(Channel.EMAIL, None)
    controller.stop()


@pytest.mark.parametrize(("mode", "locale"), [("standard", "zh_CN"), ("elderly", "en")])
def test_settings_and_email_confirmation(open_page, live_server, mail_on, mode, locale):
    from app.accounts.models import DisplayMode

    user = live_server.create_user(
        locale=locale, display_mode=DisplayMode(mode) if mode == "elderly" else DisplayMode.STANDARD
    )
    page = open_page("/profile", mode=mode, locale=locale, user=user)
    page.locator("a[href='/profile/notifications']").click()
    page.wait_for_url("**/profile/notifications")
    # Elderly mode: everything by SMS unless the person chose otherwise.
    assert page.locator("#booking_reminders_sms").is_checked() == (mode == "elderly")
    # A wrong time: the error summary links to the field, the answers stay.
    page.uncheck("#waitlist_offers_sms")
    page.fill("#quiet_from", "25:00")
    page.locator("main form button[type=submit]").last.click()
    summary = page.locator(".error-summary a[href='#quiet_from']")
    expect(summary).to_have_count(1)
    assert page.input_value("#quiet_from") == "25:00"
    assert not page.locator("#waitlist_offers_sms").is_checked()
    assert_accessible(page, mode)
    # The e-mail address, and its link.
    page.locator("a[href='/profile/email']").click()
    page.wait_for_url("**/profile/email")
    assert_accessible(page, mode)
    page.fill("#email", "li.lei@example.com")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/profile/notifications")
    assert "li.lei@example.com" in page.locator("#where").inner_text()
    [mail] = mail_on.messages
    text = mail.get_body(("plain",)).get_content()
    path = re.search(r"https?://[^/\s]+(/profile/email/confirm/\S+)", text).group(1)
    page.goto(live_server.url + path)
    page.wait_for_url("**/profile/notifications")
    confirmed = "已确认" if locale == "zh_CN" else "(confirmed)"
    assert confirmed in page.locator("#where").inner_text()
