"""Read-aloud (朗读) in the browser: the control on a page, the recording it plays, the field it
reads, and the no-JavaScript page with its <audio> element, in both modes (one in Chinese, one
in English). Headless Chromium has no speech synthesis voices, so the server's espeak-ng voice
is what is heard here: the path of every browser without a Chinese voice."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible

HAS_DURATION = """(selector) => {
  const audio = document.querySelector(selector);
  return audio !== null && audio.readyState >= 1 && audio.duration > 0.5;
}"""


@pytest.mark.parametrize(("mode", "locale"), [("standard", "zh_CN"), ("elderly", "en")])
def test_read_aloud_control_and_audio_page(open_page, live_server, mode, locale):
    page = open_page("/login?with=password", mode=mode, locale=locale)
    control = page.locator("[data-readaloud-play]")
    name = "朗读本页" if locale == "zh_CN" else "Read this page aloud"
    expect(control).to_have_text(name)
    speed = page.locator("[data-readaloud-speed]")
    expect(speed).to_be_visible()
    assert speed.get_attribute("aria-pressed") == "false"
    speed.click()
    assert speed.get_attribute("aria-pressed") == "true"

    with page.expect_response(lambda r: r.url.endswith("/readaloud/speak")) as answer:
        control.click()
    words = parse_qs(answer.value.request.post_data)
    assert words["speed"] == ["slow"] and words["lang"] == [locale[:2]]
    said = words["text"][0]
    assert name not in said and ("密码" in said or "Password" in said)  # <main>, not the control
    page.wait_for_function(HAS_DURATION, arg=".readaloud audio")
    assert control.inner_text() in ("停止朗读", "Stop reading")

    # While reading is on, moving to a field reads its label and hint.
    with page.expect_response(lambda r: r.url.endswith("/readaloud/speak")) as answer:
        page.focus("#password")
    field = parse_qs(answer.value.request.post_data)["text"][0]
    assert field.splitlines()[0] in ("密码", "Password")

    # Without JavaScript the control is a link to a page that plays the server's recording.
    page.goto(live_server.url + control.get_attribute("href"))
    page.wait_for_function(HAS_DURATION, arg="main audio[controls]")
    assert page.locator(".readaloud-text").inner_text().strip()
    assert_accessible(page, mode)


# The browser's own speech synthesis, with one Chinese voice, standing in for a phone's: records
# what it is asked to say instead of saying it (headless Chromium has no voices).
FAKE_VOICE = """
(() => {
  const said = [];
  window.__said = said;
  const voice = {lang: 'zh-CN', name: 'Tingting', default: true, localService: true};
  const synth = {
    getVoices: () => [voice], speak: (u) => said.push({text: u.text, lang: u.lang, rate: u.rate}),
    cancel: () => {}, addEventListener: () => {}, speaking: false,
  };
  Object.defineProperty(window, 'speechSynthesis', {value: synth});
  window.SpeechSynthesisUtterance = function (text) { this.text = text; };
})();
"""


def test_a_chinese_voice_in_the_browser_reads_without_the_server(open_page, live_server):
    page = open_page("/help", mode="elderly")
    page.add_init_script(FAKE_VOICE)
    page.reload()
    requests = []
    page.on("request", lambda r: requests.append(r.url) if "/readaloud" in r.url else None)
    page.click("[data-readaloud-speed]")  # slow
    page.click("[data-readaloud-play]")
    said = page.evaluate("window.__said")
    assert said and said[0]["text"] == "帮助与帮办服务"  # the page's heading first, line by line
    assert all(line["lang"] == "zh-CN" and line["rate"] < 1 for line in said)
    assert not any("朗读本页" in line["text"] for line in said)
    assert requests == []  # nothing asked of the server
