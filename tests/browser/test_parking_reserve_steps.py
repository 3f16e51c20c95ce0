"""Elderly mode's parking reservation on a 390 x 844 phone (issue 14: at most 6 options a
screen, no "show this day's times" step): the vehicle, the day, the part of the day, the hour and
the quarter hour, each its own page of large radios, with Back and answers kept after an error.
Chinese without JavaScript, English with it (and the audits, which need JavaScript)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible
from tests.conftest import PASSWORD

PHONE = {"width": 390, "height": 844}
WORDS = {
    "zh_CN": {
        "plate": "哪辆车？",
        "day": "哪天到达？",
        "hour": "几点钟到达？",
        "time": "几点几分到达？",
        "tomorrow": "明天",
        "morning": "上午",
        "continue": "继续",
        "back": "返回",
        "reserve": "预约车位",
        "missing": "请选择车辆",
    },
    "en": {
        "plate": "Which vehicle?",
        "day": "Which day will you arrive?",
        "hour": "In which hour will you arrive?",
        "time": "At what time will you arrive?",
        "tomorrow": "Tomorrow",
        "morning": "Morning",
        "continue": "Continue",
        "back": "Back",
        "reserve": "Reserve the space",
        "missing": "Choose a vehicle",
    },
}


def walk_to_a_time(page, choose=lambda labels: labels.first) -> None:
    """Answer each step with its first choice (or `choose`'s) until the reservation is made:
    what an elderly driver's browser does (used by tests/browser/test_parking_story.py too)."""
    while page.locator("main input[type=radio]").count():
        choose(page.locator("main .radio-label")).click()
        page.locator("main form button[type=submit]").click()
    assert "new=1" in page.url


def _large(page) -> None:
    """Every option is a 60 x 60 target with text of 24 px or more, and at most 6 of them."""
    labels = page.locator("main .radio-label")
    assert 1 <= labels.count() <= 6
    for label in labels.all():
        box = label.bounding_box()
        assert box["height"] >= 60 and box["x"] + box["width"] <= PHONE["width"], box
        size = label.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= 24, size
    for radio in page.locator("main input[type=radio]").all():
        box = radio.bounding_box()
        assert box["width"] >= 60 and box["height"] >= 60, box


@pytest.mark.parametrize("locale, javascript", [("zh_CN", False), ("en", True)])
def test_reserving_in_short_steps_on_a_phone(browser, live_server, locale, javascript):
    words = WORDS[locale]
    driver = live_server.create_user()

    def setup(session):
        from sqlalchemy import select

        from app.accounts.services import find_by_login
        from parking.models import CarPark
        from parking.services import vehicles

        user = find_by_login(session, driver)
        for plate in ("沪C1" + driver[-4:], "沪D1" + driver[-4:]):
            vehicles.register(session, user, plate)
        return session.scalar(select(CarPark.id).where(CarPark.name_zh == "莘庄地铁站P+R停车场"))

    park_id = live_server.run(setup)
    context = browser.new_context(viewport=PHONE, java_script_enabled=javascript)
    context.add_cookies(
        [
            {"name": "display_mode", "value": "elderly", "url": live_server.url},
            {"name": "locale", "value": locale, "url": live_server.url},
        ]
    )
    page = context.new_page()

    def audit(page):  # axe needs the page's JavaScript: the English run audits the same steps
        if javascript:
            assert_accessible(page, "elderly")

    page.goto(live_server.url + "/login?with=password")
    page.fill("#login", driver)
    page.fill("#password", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)

    page.goto(f"{live_server.url}/parking/{park_id}/reserve")
    assert page.locator("h1").inner_text() == words["plate"]
    assert page.locator("select").count() == 0  # no list of ~88 times
    _large(page)
    audit(page)
    page.get_by_role("button", name=words["continue"]).click()  # nothing chosen
    expect_error = page.locator(".error-summary a[href='#plate']")
    assert expect_error.inner_text() == words["missing"]
    audit(page)
    page.locator("main .radio-label").nth(1).click()
    page.get_by_role("button", name=words["continue"]).click()

    assert page.locator("h1").inner_text() == words["day"]
    _large(page)
    page.locator("main .radio-label", has_text=re.compile("^" + words["tomorrow"])).click()
    page.get_by_role("button", name=words["continue"]).click()
    page.locator(
        "main .radio-label", has_text=re.compile("^" + words["morning"])
    ).click()  # the part of the day
    page.get_by_role("button", name=words["continue"]).click()
    assert page.locator("h1").inner_text() == words["hour"]
    _large(page)
    audit(page)
    page.locator("main .radio-label", has_text="10:00–11:00").click()
    page.get_by_role("button", name=words["continue"]).click()

    assert page.locator("h1").inner_text() == words["time"]
    _large(page)
    audit(page)
    page.get_by_role("link", name=words["back"]).click()  # the hour again, 10 still chosen
    assert page.locator("h1").inner_text() == words["hour"]
    assert page.locator("main input[value='10']").is_checked()
    page.get_by_role("button", name=words["continue"]).click()
    page.get_by_role("button", name=words["reserve"]).click()  # no time chosen: asked again
    expect(page.locator(".error-summary a[href='#time']")).to_be_visible()
    assert page.locator("h1").inner_text() == words["time"]
    page.locator("main .radio-label", has_text="10:15").click()
    page.get_by_role("button", name=words["reserve"]).click()
    assert "new=1" in page.url
    assert "10:15" in page.locator("main").inner_text()
    assert "沪D1" + driver[-4:] in page.locator("main").inner_text()
    context.close()
