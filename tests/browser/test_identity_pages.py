"""Real-name and 一网通办 pages pass the accessibility audit in both modes, and signing in with
一网通办 works in the browser without JavaScript, against the loopback provider."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import MODES, assert_accessible, assert_error_page
from tests.oidc_provider import oidc_provider  # noqa: F401  (the session's provider)

NUMBERS = iter(["310112198001010017", "310112198001010025", "310112198001010068"])


def _resident_with_identity(live_server):
    """A new resident with a declared real name and a linked identity: (login, identity id)."""
    from app.accounts.services import find_by_login
    from app.identity import services
    from app.identity.models import ExternalIdentity

    login = live_server.create_user()

    def setup(session):
        user = find_by_login(session, login)
        settings = services.settings_from_config(live_server.app.config)
        services.declare_real_name(session, user, "王小明", next(NUMBERS), settings=settings)
        identity = ExternalIdentity(user_id=user.id, issuer="https://ywtb.test", subject=login)
        session.add(identity)
        session.flush()
        return identity.id

    return login, live_server.run(setup)


@pytest.mark.parametrize("mode", MODES)
def test_real_name_pages(open_page, live_server, mode):
    login, identity_id = _resident_with_identity(live_server)
    page = open_page("/identity/real-name", mode=mode, user=login)
    assert "**********" in page.locator("#real-name-state").inner_text()
    assert_accessible(page, mode)
    # The form again with its errors (no confirmation, a wrong check character).
    page.fill("#name", "王小明")
    page.fill("#id_number", "110105194912310021")
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()
    assert_error_page(page)
    assert_accessible(page, mode)
    page.goto(live_server.url + f"/identity/linked/{identity_id}/unlink")
    assert_accessible(page, mode)


@pytest.mark.parametrize("mode", MODES)
def test_sign_in_with_ywtb_without_javascript(browser, open_page, live_server, oidc_provider, mode):  # noqa: F811
    """The whole flow in a browser with JavaScript off: the sign-in page's link, the provider,
    back to the portal signed in with the verified real name. Then the refusal page's audit
    (axe needs JavaScript)."""
    config = live_server.app.config
    saved = {key: config.get(key) for key in oidc_provider.portal_config()}
    config.update(oidc_provider.portal_config())
    oidc_provider.person = {
        "sub": f"browser-{mode}",
        "name": "浏览器",
        "id_number": {"standard": "310112198001010041", "elderly": "31011219800101005X"}[mode],
        "id_level": "L3",
    }
    context = browser.new_context(java_script_enabled=False)
    context.add_cookies([{"name": "display_mode", "value": mode, "url": live_server.url}])
    try:
        page = context.new_page()
        page.goto(live_server.url + "/login")
        page.get_by_role("link", name="使用一网通办登录").click()
        page.wait_for_url(lambda url: "/identity/sso/callback" in url)
        # A new account: the privacy notice first. Without the tick, an error; then with it.
        page.get_by_role("button", name="创建我的账户").click()
        expect(page.locator(".error-summary")).to_be_visible()
        page.check("#consent")
        page.get_by_role("button", name="创建我的账户").click()
        page.wait_for_url(lambda url: "/identity/real-name" in url)
        text = page.locator("main").inner_text()
        assert "浏览器" in text and "**********" in text
        # The new-account page (with its error) and the refusal page, audited with JavaScript.
        audited = open_page("/login", mode=mode)
        oidc_provider.person = {"sub": f"browser-audit-{mode}", "name": "审计"}
        audited.get_by_role("link", name="使用一网通办登录").click()
        audited.wait_for_url(lambda url: "/identity/sso/callback" in url)
        audited.get_by_role("button", name="创建我的账户").click()
        audited.wait_for_load_state()
        assert_error_page(audited)
        assert_accessible(audited, mode)
        refused = open_page("/identity/sso/callback?state=forged&code=x", mode=mode)
        expect(refused.locator("#sso-refusal")).to_be_visible()
        assert_accessible(refused, mode)
        signed_out_login = open_page("/login", mode=mode)
        assert_accessible(signed_out_login, mode)  # with the link
    finally:
        context.close()
        config.update(saved)
        oidc_provider.reset()
