"""On a 390px phone, the devices and tokens tables become one card per row (labels from
data-label) and pass the audit in both modes; no cell is squeezed until its words break letter
by letter (elderly mode at 24px is the hardest case)."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import MODES, assert_accessible

PHONE = 390

# For each cell: its content width and the width of its longest word set on one line in the
# cell's own font. A cell narrower than its longest word breaks that word apart.
SQUEEZED_CELLS = """(selector) => {
  const bad = [];
  for (const td of document.querySelectorAll(selector + ' td')) {
    const words = td.innerText.split(/\\s+/).filter(Boolean);
    if (!words.length) continue;
    const style = getComputedStyle(td);
    const probe = document.createElement('span');
    probe.style.cssText = 'position:absolute;visibility:hidden;white-space:nowrap';
    probe.style.font = style.font;
    document.body.appendChild(probe);
    let longest = 0, word = '';
    for (const w of words) {
      probe.textContent = w;
      if (probe.offsetWidth > longest) { longest = probe.offsetWidth; word = w; }
    }
    probe.remove();
    const inner = td.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    if (inner + 1 < longest) bad.push(`${word}: ${longest}px in ${inner}px`);
  }
  return bad;
}"""


def _token(live_server, login):
    def make(session):
        from app.accounts import tokens
        from app.accounts.services import find_by_login

        tokens.issue(session, find_by_login(session, login), "我的脚本 nightly-export")

    live_server.run(make)


@pytest.mark.parametrize("mode", MODES)
def test_devices_and_tokens_tables_stack_on_a_phone(open_page, live_server, mode):
    user = live_server.create_user()
    _token(live_server, user)
    open_page("/", user=user, fresh=True)  # a second device in the list
    page = open_page("/profile/devices", mode=mode, user=user, width=PHONE)
    rows = page.locator("#devices tbody tr")
    expect(rows).to_have_count(2)
    assert page.evaluate(SQUEEZED_CELLS, "#devices") == []
    # a card, not a row: the label is shown above each value, the button fills the card
    first = page.locator("#devices tbody tr").first
    label = first.locator("td").first.evaluate("td => getComputedStyle(td, '::before').content")
    assert label == '"浏览器"'
    button, card = first.locator("button").bounding_box(), first.bounding_box()
    assert button["width"] > card["width"] * 0.8
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE  # no sideways scroll
    assert_accessible(page, mode)
    page = open_page("/profile/tokens", mode=mode, user=user, width=PHONE)
    assert page.evaluate(SQUEEZED_CELLS, "#tokens") == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
    assert_accessible(page, mode)
