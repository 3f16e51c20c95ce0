"""The portal as an installed web app, in a real browser (headless Chromium, JavaScript on): the
manifest is linked and valid with its icons; /sw.js registers for the whole portal (and the
subscribe button gets as far as the browser's push service, which headless Chromium lacks); a push
delivered to it through the DevTools protocol (as a push service would) shows a notification
with the message's title, body and link; with the network gone, a page opens as the offline
page, styled from the worker's copy of the stylesheet. Headless Chromium reaches no real push
service, so subscribing itself is tested against a local one in tests/test_push.py."""

from __future__ import annotations

import io
import json

from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible

NOTIFICATIONS_JS = """async () => {
  const registration = await navigator.serviceWorker.ready;
  return (await registration.getNotifications()).map(
    (n) => ({title: n.title, body: n.body, url: n.data && n.data.url, tag: n.tag}));
}"""


def shown_notifications(page) -> list[dict]:
    """The worker's notifications, once there are any (the push event is handled on its own)."""
    for _ in range(100):
        shown = page.evaluate(NOTIFICATIONS_JS)
        if shown:
            return shown
        page.wait_for_timeout(50)
    return []


def registration_id(cdp, page, scope: str) -> str:
    """The worker's registration id, from the DevTools ServiceWorker domain's events."""
    found: dict[str, str] = {}

    def updated(params):
        for registration in params["registrations"]:
            if registration["scopeURL"] == scope and not registration.get("isDeleted"):
                found["id"] = registration["registrationId"]

    cdp.on("ServiceWorker.workerRegistrationUpdated", updated)
    cdp.send("ServiceWorker.enable")
    for _ in range(100):  # events arrive while Playwright waits
        if "id" in found:
            return found["id"]
        page.wait_for_timeout(50)
    raise AssertionError(f"no service worker registration for {scope}")


def test_the_installed_web_app(open_page, live_server):
    user = live_server.create_user()
    page = open_page("/inbox/push", user=user)
    context, origin = page.context, live_server.url
    context.grant_permissions(["notifications"], origin=origin)

    # The manifest, linked from every page's <head>, with icons of the sizes it says.
    href = page.locator("link[rel=manifest]").get_attribute("href")
    manifest = json.loads(page.request.get(origin + href).text())
    assert manifest["start_url"] == manifest["scope"] == "/"
    assert manifest["display"] == "standalone" and manifest["name"].startswith("闵行区")
    for icon in manifest["icons"]:
        image = Image.open(io.BytesIO(page.request.get(origin + icon["src"]).body()))
        assert f"{image.width}x{image.height}" == icon["sizes"]
    assert {icon["purpose"] for icon in manifest["icons"]} == {"any", "maskable"}

    # The page registered the worker for the whole portal; JavaScript shows the button.
    scope = page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)")
    assert scope == origin + "/"
    button = page.get_by_role("button", name="在此浏览器开启通知")
    # Permission granted, the worker ready; headless Chromium has no push service, so the
    # browser refuses the subscription and the page says so, ready for another try.
    button.click()
    expect(page.locator("#push-status")).to_have_text("未能开启通知，请稍后再试。")
    assert button.is_enabled()

    # A push, as the push service hands it to the browser: a notification.
    cdp = context.new_cdp_session(page)
    message = {
        "title": "候补名额已为您保留",
        "body": "请在60分钟内确认。",
        "url": origin + "/inbox",
        "tag": "t1",
    }
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": origin,
            "registrationId": registration_id(cdp, page, scope),
            "data": json.dumps(message),
        },
    )
    assert shown_notifications(page) == [message]

    # No network: a page opens as the offline page, in both languages and large type.
    page.reload()  # now under the worker's control
    context.set_offline(True)
    try:
        page.goto(origin + "/venues")
        assert page.locator("h1").inner_text() == "网络未连接"
        assert "You are offline" in page.locator("main").inner_text()
        assert page.evaluate("getComputedStyle(document.body).fontSize") == "24px"  # its CSS
        assert_accessible(page, "elderly")
    finally:
        context.set_offline(False)
    page.goto(origin + "/inbox/push")  # back online: the portal, not the copy
    assert page.locator("h1").inner_text() == "浏览器通知"


def test_without_javascript_the_page_says_so(browser, live_server):
    """JavaScript off: the page says turning notifications on needs it, and shows no button."""
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        user = live_server.create_user()
        page.goto(live_server.url + "/login?with=password")
        page.fill("#login", user)
        page.fill("#password", "correct-horse-9")
        page.locator("main button[type=submit]").click()
        page.wait_for_url(lambda url: "/login" not in url)
        page.goto(live_server.url + "/inbox/push")
        assert "需要 JavaScript" in page.locator("#push-status").inner_text()
        expect(page.get_by_role("button", name="在此浏览器开启通知")).not_to_be_visible()
    finally:
        context.close()
