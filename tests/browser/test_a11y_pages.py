"""Accessibility beyond what axe sees (issue 14, section 3): text that follows the browser's
text-size setting, numbers that never split, the portal's own error pages."""

import pytest

from tests.browser.conftest import MODES, assert_accessible
from tests.browser.test_parking_story import _ids

_SIZES_JS = """() => ({body: parseFloat(getComputedStyle(document.body).fontSize),
  h1: parseFloat(getComputedStyle(document.querySelector('h1')).fontSize),
  hint: parseFloat(getComputedStyle(document.querySelector('.help-block p')).fontSize)})"""

# Every number, time or price split over two lines in the page's first table's cells.
_SPLIT_NUMBERS_JS = r"""() => {
  const out = [];
  const body = document.querySelector('main table tbody');
  const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    for (const m of node.textContent.matchAll(/[¥￥]?\d[\d:.,]*\d/g)) {
      const range = document.createRange();
      range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
      const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
      if (tops.size > 1) out.push(m[0]);
    }
  }
  return out;
}"""


@pytest.mark.parametrize("mode", MODES)
def test_text_follows_the_browsers_text_size(open_page, mode):
    """Type is in rem: doubling the browser's default text size (Chromium's font-size
    preference, which a phone's text-size setting feeds) doubles the page's text."""
    page = open_page("/help", mode=mode)
    before = page.evaluate(_SIZES_JS)
    if mode == "elderly":
        assert min(before.values()) >= 24  # 18pt at the default size, hints included
    cdp = page.context.new_cdp_session(page)
    cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 32}})
    page.reload()
    after = page.evaluate(_SIZES_JS)
    assert after == {k: v * 2 for k, v in before.items()}


def test_numbers_times_and_prices_never_split(open_page, live_server):
    """In elderly mode on a phone, a table's times and prices each stay on one line."""
    _, estate_park_id = _ids(live_server)
    user = live_server.create_user()
    page = open_page(f"/parking/{estate_park_id}/share", mode="elderly", width=390, user=user)
    assert page.locator("main table td").count() > 0
    assert page.evaluate(_SPLIT_NUMBERS_JS) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # and the table fits
    page.screenshot(path="/tmp/shots/share-elderly-phone.png", full_page=True)


@pytest.mark.parametrize("mode", MODES)
def test_display_settings_high_contrast_and_larger_text_pass_the_audit(
    open_page, live_server, mode
):
    """显示设置 chosen in the browser: high contrast and text larger than elderly mode, each
    page audited (axe, and in elderly mode 24px text and 60px targets) in the mode."""
    page = open_page("/display", mode=mode, width=390)
    page.check("#text_size-1")
    page.check("#colour_scheme-1")
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state("load")
    assert page.locator("html").get_attribute("class") == (
        f"mode-{mode} text-larger scheme-contrast"
    )
    assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") == 30
    page.screenshot(path=f"/tmp/shots/display-{mode}-phone.png", full_page=True)
    assert_accessible(page, mode)
    page.goto(live_server.url + "/help")
    assert_accessible(page, mode)


def test_a_lost_session_shows_the_form_again_in_the_persons_language_and_mode(
    open_page, live_server
):
    """The phone closed the browser and lost the session cookie: sending the form shows it again
    with what was typed, in English and elderly mode, audited; sending it again goes through."""
    user = live_server.create_user()
    page = open_page("/login?with=password", mode="elderly", locale="en", width=390)
    page.fill("#login", user)
    page.context.clear_cookies()
    page.context.add_cookies(
        [
            {"name": "display_mode", "value": "elderly", "url": live_server.url},
            {"name": "locale", "value": "en", "url": live_server.url},
        ]
    )
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state("load")
    # The password tab posts to /login, whose page is the code tab: the page that sends what
    # was typed again (never the password), once the person presses it.
    assert page.locator("h1").inner_text() == "This form was not sent"
    assert page.locator("html").get_attribute("class") == "mode-elderly"
    page.screenshot(path="/tmp/shots/csrf-elderly-en-phone.png", full_page=True)
    assert_accessible(page, "elderly")
    page.get_by_role("button", name="Send it again").click()
    page.wait_for_load_state("load")
    assert page.input_value("#login") == user  # kept, and only the password asked for
    assert "Enter your password" in page.locator(".error-summary").inner_text()
    page.fill("#password", "correct-horse-9")
    page.locator("main button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)


def test_a_photo_over_the_limit_is_refused_before_it_is_sent(open_page, live_server):
    """The photo field says the limit, and with JavaScript a larger photo is refused at once."""
    from tests.browser.test_repairs_pages import _estate_with_company

    estate_id, _town = _estate_with_company(live_server)
    resident = live_server.create_user(home_estate_id=estate_id)
    page = open_page("/repairs/report", user=resident)
    assert "每张照片不超过 10 MB" in page.locator("#photos-hint").inner_text()
    big = {"name": "big.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8" + b"0" * 11_000_000}
    page.set_input_files("#photos", [big])
    assert (
        page.locator("#photos-size-error").inner_text()
        == "这张照片超过 10 MB，请选择小一些的照片。"
    )
    assert page.evaluate("document.getElementById('photos').files.length") == 0
    assert page.get_attribute("#photos", "aria-invalid") == "true"
    assert "photos-size-error" in page.get_attribute("#photos", "aria-describedby")


def test_the_audit_finds_what_it_is_for(browser):
    """The checks can fail: a page with an image without a text alternative, pale text, a small
    button and small text is answered with each problem (in elderly mode)."""
    from tests.browser.checks import audit_page

    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_content(
        '<html lang="en"><head><title>t</title></head><body><main><h1>Test</h1>'
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
        '<p style="color:#ccc;background:#fff;font-size:30px">pale text</p>'
        '<button style="width:20px;height:20px;font-size:30px">x</button>'
        '<p style="font-size:12px">small</p></main></body></html>'
    )
    problems = "\n".join(audit_page(page, elderly=True))
    context.close()
    assert "axe image-alt" in problems and "axe color-contrast" in problems
    assert "under 60x60" in problems and "under 24px" in problems
