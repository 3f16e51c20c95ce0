"""Staff accounts in a real browser (/admin/staff): every page passes the accessibility audit
in both display modes (standard in Chinese on a desktop, elderly in English on a phone), and an
administrator invites a property manager who then signs in with the SMS code from the
development outbox and finds their workspace."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.accounts.models import User
from tests.browser.conftest import assert_accessible, assert_error_page
from tests.browser.test_signin_pages import outbox_code, submit_form


def _estate(live_server):
    def first(session):
        from sqlalchemy import select

        from app.places.models import Estate

        estate = session.scalar(select(Estate).order_by(Estate.id))
        return estate.id, estate.name_zh

    return live_server.run(first)


def _user_id(live_server, login):
    from app.accounts.services import find_by_login

    return live_server.run(lambda session: find_by_login(session, login).id)


@pytest.mark.parametrize(
    "mode, locale, width", [("standard", "zh_CN", 1280), ("elderly", "en", 390)]
)
def test_staff_pages_pass_the_audit(open_page, live_server, mode, locale, width):
    admin = live_server.create_user("administrator")
    estate_id, _name = _estate(live_server)
    manager = live_server.create_user("property_manager", scope=f"estate:{estate_id}")
    manager_id = _user_id(live_server, manager)
    assignment_id = live_server.run(lambda session: session.get(User, manager_id).roles[0].id)
    for path in (
        "/admin/staff",
        "/admin/staff?q=测试&role=property_manager",
        f"/admin/staff/{manager_id}",
        f"/admin/staff/{manager_id}/roles/add",
        f"/admin/staff/{manager_id}/roles/{assignment_id}/remove",
        f"/admin/staff/{manager_id}/deactivate",
    ):
        page = open_page(path, mode=mode, locale=locale, user=admin, width=width)
        assert_accessible(page, mode)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        if path.endswith(str(manager_id)):
            page.screenshot(path=f"/tmp/shots/staff-account-{mode}.png", full_page=True)
    page = open_page("/admin/staff/invite", mode=mode, locale=locale, user=admin, width=width)
    assert_accessible(page, mode)
    page.fill("#phone", "12345")
    page.select_option("#role", "property_manager")
    submit_form(page)
    if locale == "zh_CN":
        assert_error_page(page)  # the number and the name, linked from the summary
    else:
        assert page.title().startswith("Error: ") and not page.title().startswith("Error: Error")
    expect(page.locator('.error-summary a[href="#phone"]')).to_be_visible()
    assert_accessible(page, mode)
    page.fill("#phone", "13755550001" if mode == "standard" else "13755550002")
    page.fill("#name", "审计经理")
    submit_form(page)
    expect(page.locator("#scope")).to_be_visible()  # the second step: the estate
    assert_accessible(page, mode)
    page.screenshot(path=f"/tmp/shots/staff-place-{mode}.png", full_page=True)


def test_an_invited_manager_signs_in_with_the_sms_code(open_page, live_server):
    admin = live_server.create_user("administrator")
    estate_id, estate_name = _estate(live_server)
    page = open_page("/admin/staff", user=admin)
    page.get_by_role("link", name="邀请员工").click()
    page.fill("#phone", "137 5555 0009")
    page.fill("#name", "新物业经理")
    page.select_option("#role", "property_manager")
    submit_form(page)
    page.fill("#q", estate_name[:2])
    page.get_by_role("button", name="显示匹配的地方").click()
    if page.locator("select#scope").count():
        page.select_option("#scope", f"estate:{estate_id}")
    else:
        page.locator(f'input[name=scope][value="estate:{estate_id}"]').check()
    page.get_by_role("button", name="发送邀请").click()
    page.wait_for_load_state()
    main = page.locator("main").inner_text()
    assert "13755550009" in main and estate_name in main and "仅短信验证码" in main

    # The invitee reads the text in the development outbox, then signs in with a code.
    invitee = open_page("/dev/outbox")
    assert "【员工账号】" in invitee.locator("main").inner_text()
    invitee.goto(live_server.url + "/login")
    invitee.fill("#phone", "13755550009")
    submit_form(invitee)
    invitee.fill("#code", outbox_code(live_server, "13755550009"))
    submit_form(invitee)
    assert "/login" not in invitee.url
    invitee.goto(live_server.url + "/")
    workspace = invitee.locator("#workspace-title").locator("xpath=..").inner_text()
    assert "报修" in workspace  # the manager's repair queue
