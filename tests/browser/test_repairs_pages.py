"""Every repairs page passes the accessibility audit in standard and elderly mode."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import MODES, assert_accessible
from tests.browser.test_stacked_tables import PHONE, SQUEEZED_CELLS


def _estate_with_company(live_server):
    def find(session):
        from sqlalchemy import select

        from repairs.models import EstateManagement

        management = session.scalar(select(EstateManagement).order_by(EstateManagement.estate_id))
        return management.estate_id, management.estate.town_id

    return live_server.run(find)


@pytest.mark.parametrize(
    "mode, locale", [("standard", "zh_CN"), ("elderly", "en"), ("elderly", "zh_CN")]
)
def test_resident_report_and_ticket_pages(open_page, live_server, mode, locale):
    estate_id, _town = _estate_with_company(live_server)
    resident = live_server.create_user(home_estate_id=estate_id, home_building="3", home_room="502")
    page = open_page("/repairs", mode=mode, locale=locale, user=resident)
    assert_accessible(page, mode)
    page.goto(live_server.url + "/repairs/report")
    assert_accessible(page, mode)
    page.locator("input[name=category][value=water]").check()
    page.fill("#description", "卫生间水龙头一直滴水")
    page.locator("main form[enctype] button[type=submit]").click()
    expect(page.locator(".panel")).to_be_visible()
    assert "new=1" in page.url
    assert ("Report sent" if locale == "en" else "报修已提交") in page.locator(
        ".panel"
    ).inner_text()
    assert_accessible(page, mode)
    ticket_url = page.url.split("?")[0]
    # The same words again from a fresh form: offered as the report just sent, nothing filed.
    page.goto(live_server.url + "/repairs/report")
    page.locator("input[name=category][value=water]").check()
    page.fill("#description", "卫生间水龙头一直滴水。")
    page.locator("main form[enctype] button[type=submit]").click()
    assert page.locator("#twin a.button").get_attribute("href").endswith(ticket_url[-9:])
    assert_accessible(page, mode)
    # Cancelling asks first, with a warning button.
    page.goto(ticket_url)
    page.locator("main a.button-warning").click()
    assert_accessible(page, mode)
    page.locator("main form button.button-warning").click()
    assert page.url == ticket_url


@pytest.mark.parametrize("mode", MODES)
def test_manager_and_supervisor_pages(open_page, live_server, mode):
    estate_id, town_id = _estate_with_company(live_server)
    resident = live_server.create_user(home_estate_id=estate_id, home_building="1", home_room="101")

    def file(session):
        from app.accounts.services import find_by_login
        from repairs.models import Category
        from repairs.services.tickets import report

        user = find_by_login(session, resident)
        return report(session, user, user, category=Category.LIFT, description="电梯异响").reference

    reference = live_server.run(file)
    original = live_server.run(file)
    manager = live_server.create_user("property_manager", f"estate:{estate_id}")
    for path in ("/repairs/queue", f"/repairs/tickets/{reference}"):
        page = open_page(path, mode=mode, user=manager)
        assert_accessible(page, mode)
    # The visit's own form: the native date-time picker, the technician kept and shown.
    page.fill("#visit-visit_at", "2030-12-02T14:30")
    page.fill("#visit-technician_name", "王师傅")
    page.locator("form:has(#visit-visit_at) button[type=submit]").click()
    assert "王师傅" in page.locator(".timeline").inner_text()
    # Marking a duplicate asks first, on a page of its own.
    page.fill("#duplicate-duplicate_of", original)
    page.locator("form:has(#duplicate-duplicate_of) button[type=submit]").click()
    assert page.locator("main button.button-warning").count() == 1 and original in page.title()
    assert_accessible(page, mode)
    # On a phone the queue is one card per report, no cell squeezed letter by letter.
    page = open_page("/repairs/queue", mode=mode, user=manager, width=PHONE)
    assert page.evaluate(SQUEEZED_CELLS, "#queue") == []
    assert page.locator("#queue thead").bounding_box()["height"] <= 1
    town = live_server.create_user("town_supervisor", f"town:{town_id}")
    for path in (
        "/repairs/supervise",
        "/repairs/supervise/tickets?flag=open",
        "/repairs/rating",
        f"/repairs/tickets/{reference}",
    ):
        page = open_page(path, mode=mode, user=town)
        assert_accessible(page, mode)
    # The rating on a phone: whole company names above their bars, the ranking as cards.
    page = open_page("/repairs/rating", mode=mode, user=town, width=PHONE)
    assert page.evaluate(SQUEEZED_CELLS, "#ranking") == []
    name = page.locator(".bar-name").first
    assert name.evaluate("e => e.scrollWidth <= e.clientWidth") and "…" not in name.inner_text()
    assert_accessible(page, mode)


@pytest.mark.parametrize("mode", MODES)
def test_company_settings_pages(open_page, live_server, mode):
    district = live_server.create_user("district_supervisor")

    def first_company(session):
        from sqlalchemy import func, select

        from repairs.models import PropertyCompany

        return session.scalar(select(func.min(PropertyCompany.id)))

    company_id = live_server.run(first_company)
    for path in ("/repairs/companies", f"/repairs/companies/{company_id}"):
        page = open_page(path, mode=mode, user=district)
        assert_accessible(page, mode)


@pytest.mark.parametrize("mode", MODES)
def test_parking_pages(open_page, live_server, mode):
    park_id = live_server.run(
        lambda s: s.scalar(__import__("sqlalchemy").text("SELECT min(id) FROM car_park"))
    )
    quote = (
        f"/parking/quote?car_park={park_id}&entry_day-year=2026&entry_day-month=12&entry_day-day=1"
        "&entry_time=09:00&exit_day-year=2026&exit_day-month=12&exit_day-day=1&exit_time=11:30"
    )
    for path in (
        "/parking",
        "/parking?sort=name",
        "/parking?near=七宝",
        "/parking?near=nowhere-at-all",
        f"/parking/{park_id}",
        "/parking/quote",
        quote,
    ):
        page = open_page(path, mode=mode)
        assert_accessible(page, mode)
