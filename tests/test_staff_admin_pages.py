"""The staff accounts pages (/admin/staff: app/accounts/admin_views.py): list and search, invite
in two steps without JavaScript, add and remove roles, deactivate (that person's session ends),
and who may use them."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import Role, User
from app.audit.models import AuditEntry
from app.extensions import db
from app.sms.models import SmsMessage
from tests.conftest import PASSWORD, csrf_token, login, submit


def _admin_client(app, make_user):
    admin = make_user("administrator", name="总管理员")
    client = app.test_client()
    login(client, admin.username)
    return client, admin


def test_list_search_and_filter_with_masked_numbers(app, make_user, places):
    client, _admin = _admin_client(app, make_user)
    make_user("property_manager", scope=places["estates"][0], name="王经理", phone="13911112222")
    make_user("town_supervisor", scope=places["towns"][1], name="李站长", phone="13933334444")
    make_user("resident", name="赵居民", phone="13955556666")
    page = client.get("/admin/staff").get_data(as_text=True)
    assert "王经理" in page and "李站长" in page and "139****2222" in page
    assert "13911112222" not in page and "赵居民" not in page  # residents are not staff
    assert "莘城苑" in page  # the role's place, by name
    found = client.get("/admin/staff?q=2222").get_data(as_text=True)
    assert "王经理" in found and "李站长" not in found
    found = client.get("/admin/staff?q=李").get_data(as_text=True)
    assert "李站长" in found and "王经理" not in found
    found = client.get("/admin/staff?role=town_supervisor").get_data(as_text=True)
    assert "李站长" in found and "王经理" not in found
    found = client.get("/admin/staff?kind=estate").get_data(as_text=True)
    assert "王经理" in found and "李站长" not in found
    client.post("/language", data={"locale": "en", "csrf_token": csrf_token(client, "/")})
    english = client.get("/admin/staff?q=2222").get_data(as_text=True)
    assert "Xincheng Garden" in english and "Property manager" in english


def test_invite_in_two_steps_then_the_account_page_shows_the_role(app, make_user, places):
    client, _admin = _admin_client(app, make_user)
    estate = places["estates"][1]
    # Step 1 with a mistake: the answers are kept and the error is linked to its field.
    bad = submit(
        client,
        "/admin/staff/invite",
        {"phone": "12345", "name": "孙经理", "role": "property_manager", "action": "continue"},
    )
    text = bad.get_data(as_text=True)
    assert bad.status_code == 200 and 'href="#phone"' in text and 'value="孙经理"' in text
    # An empty form: the summary lists the fields in the page's order (walk15: role came first).
    empty = submit(client, "/admin/staff/invite", {"action": "continue"}).get_data(as_text=True)
    assert empty.index('href="#phone"') < empty.index('href="#name"') < empty.index('href="#role"')
    # Step 2: the estates to choose from, the name filter shortening the list.
    step2 = submit(
        client,
        "/admin/staff/invite",
        {
            "phone": "139 4444 0001",
            "name": "孙经理",
            "role": "property_manager",
            "action": "continue",
        },
    ).get_data(as_text=True)
    assert "七宝新村" in step2 and "莘城苑" in step2
    filtered = submit(
        client,
        "/admin/staff/invite",
        {
            "phone": "139 4444 0001",
            "name": "孙经理",
            "role": "property_manager",
            "q": "七宝",
            "action": "filter",
        },
    ).get_data(as_text=True)
    assert "七宝新村" in filtered and "莘城苑" not in filtered
    missing = submit(
        client,
        "/admin/staff/invite",
        {"phone": "13944440001", "name": "孙经理", "role": "property_manager", "action": "save"},
    )
    assert 'href="#scope"' in missing.get_data(as_text=True)
    done = submit(
        client,
        "/admin/staff/invite",
        {
            "phone": "13944440001",
            "name": "孙经理",
            "role": "property_manager",
            "scope": f"estate:{estate.id}",
            "action": "save",
        },
    )
    assert done.status_code == 302
    user = db.session.scalar(select(User).where(User.phone == "13944440001"))
    assert user.has_role(Role.PROPERTY_MANAGER, estate) and not user.password_set
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "13944440001" in page and "七宝新村" in page  # the whole number on the account page
    assert db.session.scalar(select(SmsMessage.kind).where(SmsMessage.phone == "13944440001"))


def test_add_and_remove_a_role_behind_a_confirmation(app, make_user, places):
    client, _admin = _admin_client(app, make_user)
    manager = make_user("property_manager", scope=places["estates"][0], name="王经理")
    base = f"/admin/staff/{manager.id}"
    step2 = submit(client, f"{base}/roles/add", {"role": "town_supervisor", "action": "continue"})
    assert "莘庄镇" in step2.get_data(as_text=True)
    added = submit(
        client,
        f"{base}/roles/add",
        {"role": "town_supervisor", "scope": f"town:{places['towns'][0].id}", "action": "save"},
    )
    assert added.status_code == 302
    db.session.expire_all()
    town_role = next(a for a in manager.roles if a.role == Role.TOWN_SUPERVISOR)
    remove_url = f"{base}/roles/{town_role.id}/remove"
    confirm = client.get(remove_url).get_data(as_text=True)
    assert "button-warning" in confirm and "莘庄镇" in confirm
    assert submit(client, remove_url, {}).status_code == 302
    db.session.expire_all()
    assert manager.role_set == {Role.PROPERTY_MANAGER}
    # A role that may be held everywhere: "all" is the whole portal's answer.
    everywhere = {"role": "venue_admin", "scope": "all", "action": "save"}
    assert submit(client, f"{base}/roles/add", everywhere).status_code == 302
    db.session.expire_all()
    assert manager.has_role(Role.VENUE_ADMIN) and manager.scopes(Role.VENUE_ADMIN) == []
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.object_id == str(manager.id))
    ).all()
    assert {"staff.grant", "staff.revoke"} <= set(actions)


def test_deactivating_signs_the_person_out(app, make_user, places):
    client, _admin = _admin_client(app, make_user)
    manager = make_user("property_manager", scope=places["estates"][0], name="王经理")
    theirs = app.test_client()
    login(theirs, manager.username)
    assert theirs.get("/profile").status_code == 200
    confirm = client.get(f"/admin/staff/{manager.id}/deactivate").get_data(as_text=True)
    assert "button-warning" in confirm
    assert submit(client, f"/admin/staff/{manager.id}/deactivate", {}).status_code == 302
    assert theirs.get("/profile").status_code == 302  # sent to sign in
    refused = submit(theirs, "/login", {"login": manager.username, "password": PASSWORD})
    assert refused.status_code == 200
    assert submit(client, f"/admin/staff/{manager.id}/reactivate", {}).status_code == 302
    login(theirs, manager.username)


def test_only_administrators_and_district_administrators_for_their_own(
    app, make_user, places, session
):
    resident = make_user("resident")
    venue_admin = make_user("venue_admin")
    for user in (resident, venue_admin):
        client = app.test_client()
        login(client, user.login_name)
        assert client.get("/admin/staff").status_code == 403
        assert client.get("/admin/staff/invite").status_code == 403
    from app.places.models import District, Town

    jinshan = District(code="310116", name_zh="金山区", name_en="Jinshan District")
    session.add(Town(district=jinshan, code="zj", name_zh="朱泾镇", name_en="Zhujing"))
    session.commit()
    district_admin = make_user("administrator", scope=places["towns"][0].district)
    elsewhere = make_user("town_supervisor", scope=jinshan.towns[0])
    client = app.test_client()
    login(client, district_admin.username)
    assert client.get(f"/admin/staff/{elsewhere.id}").status_code == 404
    step2 = submit(
        client,
        "/admin/staff/invite",
        {"phone": "13944440002", "name": "x", "role": "town_supervisor", "action": "continue"},
    ).get_data(as_text=True)
    assert "莘庄镇" in step2 and "朱泾镇" not in step2
    refused = submit(
        client,
        "/admin/staff/invite",
        {
            "phone": "13944440002",
            "name": "x",
            "role": "town_supervisor",
            "scope": f"town:{jinshan.towns[0].id}",
            "action": "save",
        },
    )
    assert refused.status_code == 200 and 'href="#scope"' in refused.get_data(as_text=True)
    portal_wide = submit(
        client,
        "/admin/staff/invite",
        {"phone": "13944440003", "name": "y", "role": "service_desk", "action": "continue"},
    )
    assert 'href="#role"' in portal_wide.get_data(as_text=True)  # not theirs to give


def test_the_account_page_says_how_a_new_member_of_staff_signs_in(app, make_user, places):
    """Where staff need a password and a code (production), a new account has no password: the
    page says they set one first, as their invitation SMS does, not "SMS code only"."""
    client, _admin = _admin_client(app, make_user)
    manager = make_user("property_manager", scope=places["estates"][0], phone="13944440009")
    manager.password_set = False
    db.session.commit()
    code_only = client.get(f"/admin/staff/{manager.id}").get_data(as_text=True)
    assert "仅短信验证码" in code_only
    app.config["SIGNIN_SECOND_FACTOR_ROLES"] = "all"
    app.extensions.pop("signin_settings", None)  # built from the config on first use
    first_set = client.get(f"/admin/staff/{manager.id}").get_data(as_text=True)
    assert "尚未设置密码：先用发到手机的验证码设置密码" in first_set
    assert "仅短信验证码" not in first_set


def test_inviting_for_a_role_already_held_answers_on_the_place_step(app, make_user, places):
    """The refusal names the place's field and keeps the place chosen: the administrator sees
    which place the account already holds, not the first step again."""
    client, _admin = _admin_client(app, make_user)
    estate = places["estates"][0]
    make_user("property_manager", scope=estate, phone="13944440010")
    again = submit(
        client,
        "/admin/staff/invite",
        {
            "phone": "13944440010",
            "name": "王经理",
            "role": "property_manager",
            "scope": f"estate:{estate.id}",
            "action": "save",
        },
    ).get_data(as_text=True)
    assert "该账号已在该地方担任此角色" in again and 'href="#scope"' in again
    assert f'value="estate:{estate.id}" checked' in again
