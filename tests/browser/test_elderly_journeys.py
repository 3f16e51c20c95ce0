"""Elderly mode shortens the journey (issue 14, sections 2 and 6), on a 390 x 844 phone without
JavaScript: the services and "我的" on the first screen, a header that takes little of it, one
way back to standard mode, the language and sign-out in the menu."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.conftest import PASSWORD

PHONE = {"width": 390, "height": 844}


def _phone(browser, live_server, mode, locale="zh_CN"):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    context.add_cookies(
        [
            {"name": "display_mode", "value": mode, "url": live_server.url},
            {"name": "locale", "value": locale, "url": live_server.url},
        ]
    )
    return context


# How many lines an element's text takes (the cell's own height counts its row's tallest cell).
LINES = """(el) => { const r = document.createRange(); r.selectNodeContents(el);
  return new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size; }"""


def _bottom(locator) -> float:
    box = locator.bounding_box()
    return box["y"] + box["height"]


def test_home_first_screen_on_a_phone_in_elderly_mode(browser, live_server):
    user = live_server.create_user()
    context = _phone(browser, live_server, "elderly")
    page = context.new_page()
    page.goto(live_server.url + "/login?with=password")
    page.fill("#login", user)
    page.fill("#password", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("class") == "mode-elderly"

    # The three services and every line of "我的" are on the first screen.
    tiles = page.locator("a.service-tile")
    expect(tiles).to_have_count(3)
    mine = page.locator("a.mine-link")
    expect(mine).to_have_count(5)
    for link in [*tiles.all(), *mine.all()]:
        assert _bottom(link) <= PHONE["height"], link.inner_text()
    # The header (and no second navigation row) takes under a fifth of it (30% before).
    assert _bottom(page.locator(".site-header")) < PHONE["height"] * 0.2
    assert page.locator(".service-nav").count() == 0

    # One clear way back; no language button in the header; both in reach of the menu.
    header = page.locator(".site-header")
    expect(header.get_by_role("button", name="退出长辈模式")).to_be_visible()
    expect(header.get_by_role("button", name="English")).to_be_hidden()
    header.locator("summary").click()
    menu = header.locator(".header-menu-panel")
    expect(menu.get_by_role("link", name="我的资料")).to_be_visible()
    sign_out = menu.get_by_role("button", name="退出登录")
    # Sign-out stands apart from 我的资料 (not the next target below it).
    assert sign_out.bounding_box()["y"] - _bottom(menu.get_by_role("link", name="我的资料")) > 60

    # The language is one step away in the menu, without JavaScript.
    menu.get_by_role("button", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.get_by_role("heading", name="Mine")).to_be_visible()
    # In English too: the header's name on one line, 朗读 and its speed on one row, and every
    # line of "Mine" on the first screen (the two-line header and stacked buttons pushed it off).
    page.evaluate("document.querySelector('[data-readaloud-speed]').hidden = false")  # as JS does
    name = page.locator(".brand-name").bounding_box()
    assert name["height"] < 50, name
    read, slow = (page.locator(s).bounding_box() for s in (".readaloud-play", ".readaloud-speed"))
    assert slow["y"] == read["y"] and slow["x"] + slow["width"] <= PHONE["width"], (read, slow)
    for link in [*page.locator("a.service-tile").all(), *page.locator("a.mine-link").all()]:
        assert _bottom(link) <= PHONE["height"], link.inner_text()
    page.get_by_role("button", name="Leave elderly mode").click()
    assert page.locator("html").get_attribute("class") == "mode-standard"
    context.close()


def test_venue_search_and_car_parks_on_a_phone_in_elderly_mode(browser, live_server):
    """The first venue is on the first screen; 明天 is one tap, Next another; the filters open
    from their one button; the car-park list likewise. Without JavaScript."""
    context = _phone(browser, live_server, "elderly")
    page = context.new_page()
    page.goto(live_server.url + "/venues")
    first = page.locator(".venue-item h2 a").first
    assert _bottom(first) <= PHONE["height"]
    expect(page.locator("#day")).to_have_count(0)  # no date field: the day buttons instead
    # Each day's date is one line inside its button ("12月1 / 日" before), three to a row.
    days = page.locator(".day-links .button")
    assert len({days.nth(i).bounding_box()["y"] for i in range(3)}) == 1
    for date in page.locator(".day-date").all():
        assert date.bounding_box()["height"] < 1.5 * 24 * 1.5, date.inner_text()
    page.locator(".day-links a", has_text="明天").click()
    expect(page.locator('.day-links a[aria-current="true"]')).to_contain_text("明天")
    expect(page.locator(".venue-item")).to_have_count(6)  # the demo district has far more
    page.locator("a[rel=next]").click()
    expect(page.locator(".pagination-status")).to_contain_text("第 2 页")
    assert "day-day=" in page.url  # the day chosen is kept
    page.locator(".filters summary").click()
    expect(page.locator("#q")).to_be_visible()
    # walk14: without JavaScript the read-aloud speed (a script's button) is not shown, and on
    # a venue page the 14-day table's dates break between date and weekday only (two lines at
    # most; "12月1 / 日（周 / 二）" before).
    expect(page.locator("[data-readaloud-speed]")).to_be_hidden()
    page.locator(".venue-item h2 a").first.click()
    days = page.locator("table", has=page.locator("caption", has_text="14 天")).first
    for date in days.locator("th[scope=row]").all()[:3]:
        assert date.evaluate(LINES) <= 2, date.inner_text()

    page.goto(live_server.url + "/parking")
    assert _bottom(page.locator(".venue-item h3 a").first) <= PHONE["height"]
    expect(page.locator("#q")).to_be_hidden()
    page.locator(".filters summary").click()
    expect(page.locator("#q")).to_be_visible()
    context.close()


def test_english_header_and_footer_on_a_phone(browser, live_server):
    """In English on a phone the district's name stands clear of Menu (it ran under the button),
    and below the footer of a short page is the footer's colour, not a bare canvas."""
    for mode in ("standard", "elderly"):
        context = _phone(browser, live_server, mode, locale="en")
        page = context.new_page()
        page.goto(live_server.url + "/help")
        name = page.locator(".brand-name").bounding_box()
        assert name["x"] + name["width"] <= page.locator(".header-menu-button").bounding_box()["x"]
        # The page starts clear of the header (朗读本页 sat flush against it in standard mode).
        gap = page.locator(".readaloud").bounding_box()["y"] - _bottom(page.locator(".site-header"))
        assert gap >= 12, (mode, gap)
        colours = page.evaluate(
            """() => [document.documentElement, document.querySelector('.site-footer')]
                .map(e => getComputedStyle(e).backgroundColor)"""
        )
        assert colours[0] == colours[1], colours
        context.close()
