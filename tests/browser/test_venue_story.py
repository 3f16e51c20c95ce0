"""The issue's whole story in a real browser: a resident books and gets the code, is checked in
at the door, cancels another booking, and a waitlisted neighbour is offered the places and takes
them. Once in standard mode in Chinese, once in elderly mode in English."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible

TEXT = {
    "zh_CN": {
        "confirm": "确认预约",
        "join": "登记候补",
        "yes_cancel": "是，取消预约",
        "check_in": "核销",
        "valid": "有效",
        "accept": "接受名额",
        "confirmed": "已确认",
    },
    "en": {
        "confirm": "Confirm booking",
        "join": "Join the waitlist",
        "yes_cancel": "Yes, cancel it",
        "check_in": "Check in",
        "valid": "Valid",
        "accept": "Accept the places",
        "confirmed": "confirmed",
    },
}


@pytest.mark.parametrize("mode, locale", [("standard", "zh_CN"), ("elderly", "en")])
def test_book_check_in_cancel_and_waitlist(open_page, live_server, mode, locale):
    words = TEXT[locale]

    def make_venue(session):
        """A small hall with a 2-place slot starting two minutes from now (real clock)."""
        from sqlalchemy import select

        from app import clock
        from app.places.models import Town
        from tests.conftest import ensure_bucket
        from venues.demo import add_venue
        from venues.models import VenueType

        venue = add_venue(
            session,
            name_zh=f"故事馆{mode}",
            name_en=f"Story Hall {mode}",
            town=session.scalar(select(Town)),
            type=VenueType.MUSEUM,
            address_zh="故事路 1 号",
            address_en="1 Story Road",
        )
        venue.cancel_cutoff_minutes = 30  # the slot two minutes away is past it; the later not
        hall = venue.spaces[0]
        hall.capacity = 2
        now = clock.now().replace(second=0, microsecond=0)
        soon = ensure_bucket(
            session, hall.resource_id, now + timedelta(minutes=2), now + timedelta(minutes=62), 2
        )
        later = ensure_bucket(
            session, hall.resource_id, now + timedelta(hours=3), now + timedelta(hours=4), 2
        )
        session.flush()
        return venue.id, soon.id, later.id

    venue_id, soon_id, later_id = live_server.run(make_venue)
    resident, neighbour = live_server.create_user(), live_server.create_user()
    staff = live_server.create_user("venue_staff", f"venue:{venue_id}")

    def book(page, slot_id, party, late=False):
        page.goto(f"{live_server.url}/venues/slots/{slot_id}/book")
        # walk14: past the free cancellation time, the party and check pages say the cost first.
        expect(page.locator("#late-cancel")).to_have_count(int(late))
        page.locator(f"input[name=party_size][value='{party}']").check()
        page.locator("main button[type=submit]").click()
        page.wait_for_url("**/check**")
        expect(page.locator("#late-cancel")).to_have_count(int(late))
        page.get_by_role("button", name=words["confirm"]).click()
        assert "new=1" in page.url
        return page.url.split("/bookings/")[1].split("?")[0]

    # The resident books both slots in full and gets a door code for each.
    page = open_page("/venues", mode=mode, locale=locale, user=resident)
    book(page, soon_id, 2, late=True)
    code = page.locator(".door-code").inner_text().replace(" ", "")
    assert len(code) == 8
    expect(page.locator(".qr svg")).to_be_visible()
    later_reference = book(page, later_id, 2)

    # The neighbour finds the later slot full and joins its waitlist.
    neighbour_page = open_page(
        f"/venues/slots/{later_id}/book", mode=mode, locale=locale, user=neighbour
    )
    neighbour_page.locator("input[name=party_size][value='1']").check()
    neighbour_page.locator("main button[type=submit]").click()
    neighbour_page.get_by_role("button", name=words["confirm"]).click()
    neighbour_page.get_by_role("button", name=words["join"]).click()
    assert neighbour_page.url.endswith("/bookings")

    # At the door, staff type the resident's code: checked in.
    door = open_page(f"/staff/venues/{venue_id}/door", mode=mode, locale=locale, user=staff)
    door.fill("#code", code)
    door.get_by_role("button", name=words["check_in"]).click()
    assert words["valid"] in door.locator(".result").inner_text()

    # The resident cancels the later booking ...
    page.goto(f"{live_server.url}/bookings/{later_reference}/cancel")
    page.get_by_role("button", name=words["yes_cancel"]).click()

    # ... and the neighbour's inbox has the offer, which they accept.
    neighbour_page.goto(f"{live_server.url}/inbox")
    neighbour_page.locator(".message a").first.click()
    neighbour_page.locator("main a[href^='/bookings/']").click()
    assert_accessible(neighbour_page, mode)
    neighbour_page.get_by_role("button", name=words["accept"]).click()
    assert words["confirmed"] in neighbour_page.locator(".status").inner_text()
