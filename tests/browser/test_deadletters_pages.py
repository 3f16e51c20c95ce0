"""The administrators' dead letters page (/admin/deliveries) passes the accessibility audit in
both display modes (and both languages), and its "try again" button queues the message."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible


def _refused_offer(live_server):
    """A resident's waitlist offer that the SMS provider refused for good: a dead letter made by
    the real dispatcher (the app's own SMS provider is put back afterwards)."""
    from app.db import unit_of_work, utcnow
    from app.notifications.channels import DeliveryError, register
    from app.notifications.dispatch import Dispatcher
    from app.notifications.models import Channel
    from app.notifications.services import notify

    class Refusing:
        name = "refusing"
        delivered_status = None

        def deliver(self, message):
            raise DeliveryError("E1001 template not approved", permanent=True)

    app = live_server.app
    resident = live_server.create_user(phone_verified_at=utcnow())

    def offer(session):
        from app.accounts.services import find_by_login

        with unit_of_work(session):
            notify(
                session,
                find_by_login(session, resident).id,
                kind="venue.offer",
                subject="A place is held for you",
            )

    live_server.run(offer)
    original = app.extensions["delivery_factories"][Channel.SMS]
    register(app, Channel.SMS, lambda _app: Refusing())
    try:
        dispatcher = live_server.run(lambda session: Dispatcher(app, session))
        live_server.run(lambda session: dispatcher.run(once=True))
        dispatcher.close()
    finally:
        register(app, Channel.SMS, original)


@pytest.mark.parametrize("mode, locale", [("standard", "zh_CN"), ("elderly", "en")])
def test_dead_letters_page(open_page, live_server, mode, locale):
    _refused_offer(live_server)
    admin = live_server.create_user("administrator")
    page = open_page("/admin/deliveries?channel=sms", mode=mode, locale=locale, user=admin)
    assert "E1001 template not approved" in page.locator("#dead-letters").inner_text()
    assert_accessible(page, mode)
    if mode == "standard":
        rows = page.locator("#dead-letters tbody tr").count()
        page.locator("#dead-letters tbody tr").first.locator("button").click()
        page.wait_for_load_state()
        expect(page.locator(".flash-success")).to_have_count(1)
        expect(page.locator("#dead-letters tbody tr")).to_have_count(rows - 1)
        assert_accessible(page, mode)
