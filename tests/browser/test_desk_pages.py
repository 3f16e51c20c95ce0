"""The service desk in a real browser: a clerk registers an elderly resident who has no mobile
phone (the printed sign-in card), records their written consent for a community helper with the
scanned slip, and the helper then books a venue for them. Every new page passes the
accessibility audit in standard and elderly mode, the resident's "my data" and closing pages
too."""

import io
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import MODES, assert_accessible, assert_error_page


def _png(path) -> str:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (60, 40), "white").save(out, "PNG")
    path.write_bytes(out.getvalue())
    return str(path)


def _slot(live_server):
    def make(session):
        from sqlalchemy import select

        from app import clock
        from app.places.models import Town
        from tests.conftest import ensure_bucket
        from venues.demo import add_venue
        from venues.models import VenueType

        venue = add_venue(
            session,
            name_zh="帮办馆",
            name_en="Helpers Hall",
            town=session.scalar(select(Town)),
            type=VenueType.MUSEUM,
            address_zh="帮办路 1 号",
            address_en="1 Helpers Road",
        )
        hall = venue.spaces[0]
        start = clock.now().replace(second=0, microsecond=0) + timedelta(hours=3)
        slot = ensure_bucket(session, hall.resource_id, start, start + timedelta(hours=1), 5)
        session.flush()
        return slot.id

    return live_server.run(make)


def test_desk_registers_a_resident_without_a_phone_and_a_helper_books_for_them(
    open_page, live_server, tmp_path
):
    clerk = live_server.create_user("service_desk")
    helper = live_server.create_user("community_helper")
    slot_id = _slot(live_server)

    desk = open_page("/desk/register", mode="elderly", user=clerk)
    desk.fill("#name", "王阿婆")
    desk.locator("#privacy").check()
    desk.locator("main button[type=submit]").click()
    account = desk.locator(".door-code").first.inner_text().strip()
    code = desk.locator(".door-code").nth(1).inner_text().replace(" ", "")
    assert account.startswith("8") and len(code) == 8
    assert_accessible(desk, "elderly")
    desk.get_by_role("link", name="返回王阿婆").click()
    resident_url = desk.url
    desk.goto(resident_url + "/consent")
    desk.fill("#helper", helper)
    desk.locator("input[name=services][value=venues]").check()
    ends = date.today() + timedelta(days=90)
    desk.fill("#ends_on", str(ends.year))
    desk.fill("#ends_on-month", str(ends.month))
    desk.fill("#ends_on-day", str(ends.day))
    desk.set_input_files("#slip", _png(tmp_path / "slip.png"))
    desk.locator("main button[type=submit]").click()
    assert desk.url == resident_url
    expect(desk.get_by_role("link", name="签字的同意书")).to_be_visible()

    # The resident signs in with the card once.
    card = open_page("/card-signin", mode="elderly")
    card.fill("#account", account)
    card.fill("#code", code)
    card.locator("main button[type=submit]").click()
    assert "/card-signin" not in card.url

    # The helper acts for them and books.
    page = open_page("/bookings/helping", user=helper)
    page.locator("main form button[type=submit]").first.click()
    page.goto(f"{live_server.url}/venues/slots/{slot_id}/book")
    page.locator("input[name=party_size][value='1']").check()
    page.locator("main button[type=submit]").click()
    page.get_by_role("button", name="确认预约").click()
    assert "new=1" in page.url

    card.goto(f"{live_server.url}/bookings")
    assert "帮办馆" in card.content()
    card.goto(f"{live_server.url}/account/desk-actions")
    assert "登记" in card.content()


@pytest.mark.parametrize("mode", MODES)
def test_desk_and_my_data_pages(open_page, live_server, mode):
    clerk = live_server.create_user("service_desk")
    resident = live_server.create_user()

    def resident_id(session):
        from app.accounts.services import find_by_login

        return find_by_login(session, resident).id

    rid = live_server.run(resident_id)
    for path in (
        "/desk",
        f"/desk?q={resident}",
        "/desk/register",
        f"/desk/residents/{rid}",
        f"/desk/residents/{rid}/consent",
        f"/desk/residents/{rid}/real-name",
        f"/desk/residents/{rid}/close",
    ):
        page = open_page(path, mode=mode, user=clerk)
        assert_accessible(page, mode)
    page = open_page("/desk/register", mode=mode, user=clerk)  # the printed card
    page.fill("#name", f"李阿公{mode}")
    page.locator("#privacy").check()
    page.locator("main button[type=submit]").click()
    expect(page.locator(".door-code")).to_have_count(2)
    assert_accessible(page, mode)
    page = open_page(f"/desk/residents/{rid}/consent", mode=mode, user=clerk)
    page.locator("main button[type=submit]").click()
    assert_error_page(page)
    assert_accessible(page, mode)
    for path in ("/account/my-data", "/account/desk-actions", "/account/close"):
        page = open_page(path, mode=mode, user=resident)
        assert_accessible(page, mode)
    page = open_page("/account/close", mode=mode, user=resident)
    page.locator("main button[type=submit]").last.click()  # closing, without a password
    assert_error_page(page)
    assert_accessible(page, mode)
    page = open_page("/card-signin", mode=mode)
    assert_accessible(page, mode)
