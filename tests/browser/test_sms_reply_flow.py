"""Acknowledge by SMS reply, walked in the browser (issue 13): a resident files a report, the
estate's manager's SMS appears on the development outbox, a reply "1" from there acknowledges
the ticket, and the manager's ticket page says so with the alert's delivery status. The pages
added or changed (the outbox with its reply forms, the ticket's staff view) pass the audit in
both modes."""

import pytest

from tests.browser.conftest import MODES, assert_accessible


def _managed_estate(live_server) -> int:
    def find(session):
        from sqlalchemy import select

        from repairs.models import EstateManagement

        return session.scalar(
            select(EstateManagement.estate_id).order_by(EstateManagement.estate_id)
        )

    return live_server.run(find)


def _deliver(live_server) -> None:
    from app.notifications.dispatch import Dispatcher

    def run(session):
        dispatcher = Dispatcher(live_server.app, session)
        try:
            dispatcher.run(once=True)
        finally:
            dispatcher.close()

    live_server.run(run)


@pytest.mark.parametrize("mode", MODES)
def test_manager_acknowledges_a_new_report_by_replying_1(open_page, live_server, mode):
    from app.db import utcnow

    estate_id = _managed_estate(live_server)
    phone = "1360000100" + str(MODES.index(mode))
    manager = live_server.create_user(
        "property_manager", f"estate:{estate_id}", phone=phone, phone_verified_at=utcnow()
    )
    # A home per mode: the same report from the same home minutes later would be offered as
    # "the one you just sent" (both modes share the live server's database).
    resident = live_server.create_user(
        home_estate_id=estate_id, home_building="7", home_room=f"70{MODES.index(mode) + 2}"
    )

    page = open_page("/repairs/report", mode=mode, user=resident)
    page.locator("input[name=category][value=water]").check()
    page.fill("#description", "厨房水管漏水")
    page.locator("main form[enctype] button[type=submit]").click()
    page.wait_for_url(lambda url: "new=1" in url)
    reference = page.url.split("/repairs/tickets/")[1].split("?")[0]

    _deliver(live_server)  # `make run` runs `flask deliver` beside the server
    outbox = open_page("/dev/outbox", mode=mode)
    row = outbox.locator("tbody tr", has_text=phone).first
    assert "新报修" in row.inner_text() and reference in row.inner_text()
    assert_accessible(outbox, mode)
    row.locator("input[name=text]").fill("1")
    row.locator("button[type=submit]").click()
    outbox.wait_for_url(lambda url: url.endswith("/dev/outbox"))
    assert f"报修单 {reference} 已受理" in outbox.locator(".flashes").inner_text()
    assert_accessible(outbox, mode)

    ticket = open_page(f"/repairs/tickets/{reference}", mode=mode, user=manager)
    main = ticket.locator("main").inner_text()
    assert "已通过短信回复受理" in main
    assert "新报修提醒：短信已存入开发发件箱" in main and phone[:3] + "****" + phone[-4:] in main
    assert_accessible(ticket, mode)
