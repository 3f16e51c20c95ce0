"""The development outbox page (/dev/outbox) passes the accessibility audit in both display modes
and both languages, and shows the code a person would have received."""

import pytest

from tests.browser.conftest import assert_accessible


@pytest.mark.parametrize("mode, locale", [("standard", "zh_CN"), ("elderly", "en")])
def test_development_outbox(open_page, live_server, mode, locale):
    from app.sms.services import send
    from app.sms.settings import settings_for

    settings = settings_for(live_server.app)
    live_server.run(
        lambda session: send(
            session, "13700009999", "verification_code", {"code": "246810", "minutes": 5}, settings
        )
    )
    page = open_page("/dev/outbox", mode=mode, locale=locale)
    assert "246810" in page.locator("main").inner_text()
    assert page.locator("footer a[href='/dev/outbox']").count() == 1
    assert_accessible(page, mode)
