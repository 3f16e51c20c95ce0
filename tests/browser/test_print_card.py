"""The desk's sign-in card prints alone: on paper, no skip link, header, navigation, help box,
footer or the clerk's links; the card itself is shown."""

from playwright.sync_api import expect


def test_the_sign_in_card_prints_alone(open_page, live_server):
    clerk = live_server.create_user("service_desk")
    page = open_page("/desk/register", user=clerk)
    page.fill("#name", "印卡阿婆")
    page.locator("#privacy").check()
    page.locator("main button[type=submit]").click()
    expect(page.locator(".signin-card .door-code")).to_have_count(2)
    expect(page.locator(".help-block")).to_be_visible()  # on screen, the page keeps its frame
    page.emulate_media(media="print")
    for hidden in (".skip-link", ".site-header", ".service-nav", ".help-block", ".site-footer"):
        assert page.locator(hidden).count() == 1 and not page.locator(hidden).is_visible(), hidden
    expect(page.locator("main .no-print").first).not_to_be_visible()
    expect(page.locator(".signin-card")).to_be_visible()
    expect(page.locator(".signin-card .door-code").first).to_be_visible()
