"""Verified homes in a real browser (issue 10, point 1): a resident gives their home in My
details and sees that it waits for the manager; they report a leak anyway; the estate's manager
sees "home not yet verified" on the report and confirms it in one click; another resident's claim
is confirmed from the claims queue. Standard mode in Chinese, elderly mode in English; every page
on the way passes the accessibility audit."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible

TEXT = {
    "zh_CN": {
        "pending": "等待物业核实",
        "confirmed": "已核实",
        "unverified": "住址待核实",
        "confirm_home": "核实此住址",
        "confirm": "确认",
        "sent": "报修已提交",
    },
    "en": {
        "pending": "Waiting for your property manager to confirm",
        "confirmed": "Confirmed",
        "unverified": "Home not yet verified",
        "confirm_home": "Confirm this home",
        "confirm": "Confirm",
        "sent": "Report sent",
    },
}


def _estate(live_server):
    def find(session):
        from sqlalchemy import select

        from repairs.models import EstateManagement

        return session.scalar(
            select(EstateManagement.estate_id).order_by(EstateManagement.estate_id.desc())
        )

    return live_server.run(find)


def _claim_id(live_server, login_name):
    def find(session):
        from app.accounts.services import find_by_login
        from app.places.services import current_claim

        return current_claim(session, find_by_login(session, login_name)).id

    return live_server.run(find)


@pytest.mark.parametrize(
    "mode, locale, room", [("standard", "zh_CN", "1801"), ("elderly", "en", "1802")]
)
def test_claim_report_and_confirm_in_one_click(open_page, live_server, mode, locale, room):
    text = TEXT[locale]
    estate_id = _estate(live_server)
    resident = live_server.create_user()
    page = open_page("/profile", mode=mode, locale=locale, user=resident)
    page.select_option("#home_estate_id", str(estate_id))
    page.fill("#home_building", "18号楼")
    page.fill("#home_unit", "1")
    page.fill("#home_room", room)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert text["pending"] in page.locator("#home-status").inner_text()
    assert_accessible(page, mode)

    page.goto(live_server.url + "/repairs/report")
    assert_accessible(page, mode)
    page.locator("input[name=category][value=water]").check()
    page.fill("#description", "厨房水管漏水")
    page.locator("main form[enctype] button[type=submit]").click()
    page.wait_for_load_state()
    assert text["sent"] in page.locator(".panel").inner_text()
    reference = page.url.split("/tickets/")[1].split("?")[0]

    manager = live_server.create_user("property_manager", f"estate:{estate_id}")
    staff = open_page(f"/repairs/tickets/{reference}", mode=mode, locale=locale, user=manager)
    assert text["unverified"] in staff.locator("#home-claim").inner_text()
    assert_accessible(staff, mode)
    staff.goto(live_server.url + "/repairs/queue")
    assert text["unverified"] in staff.locator("main").inner_text()
    assert_accessible(staff, mode)
    staff.goto(live_server.url + f"/repairs/tickets/{reference}")
    staff.get_by_role("button", name=text["confirm_home"]).click()
    staff.wait_for_load_state()
    assert (
        f"/repairs/tickets/{reference}" in staff.url and staff.locator("#home-claim").count() == 0
    )
    assert_accessible(staff, mode)

    page.goto(live_server.url + "/profile")
    assert text["confirmed"] in page.locator("#home-status").inner_text()


@pytest.mark.parametrize(
    "mode, locale, room", [("standard", "zh_CN", "1901"), ("elderly", "en", "1902")]
)
def test_manager_confirms_a_claim_from_the_queue(open_page, live_server, mode, locale, room):
    text = TEXT[locale]
    estate_id = _estate(live_server)
    resident = live_server.create_user(
        home_estate_id=estate_id, home_building="19", home_room=room, home_verified=False
    )
    claim_id = _claim_id(live_server, resident)
    manager = live_server.create_user("property_manager", f"estate:{estate_id}")
    page = open_page("/homes/claims", mode=mode, locale=locale, user=manager)
    shown = f"19号楼 {room}室" if locale == "zh_CN" else f"Building 19, room {room}"
    assert shown in page.locator("main").inner_text()
    assert_accessible(page, mode)
    page.locator(f"form[action$='/homes/claims/{claim_id}/decide'] button[value=approve]").click()
    page.wait_for_load_state()
    expect(page.locator(".flash-success")).to_have_count(1)
    assert_accessible(page, mode)
    mine = open_page("/profile", mode=mode, locale=locale, user=resident)
    assert text["confirmed"] in mine.locator("#home-status").inner_text()
