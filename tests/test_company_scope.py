"""A property manager held for a whole property company (issue 15: scopes "estate, company"):
they cover every estate the company manages today (its homes and claims) and every report made
to the company, also after the estate changed company; the queue, the claims page, the alerts,
the staff pages, the staff import and `create-user` all take the company scope; an estate
manager's checks still cost no statement."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from app import clock
from app.accounts.models import Role, User
from app.db import utcnow
from app.errors import Forbidden
from app.extensions import db
from app.notifications.models import Notification
from app.places import services as homes
from app.places.models import ClaimStatus, District, Estate, Town
from repairs.models import Category, EstateManagement, State, Ticket
from repairs.services import management, sweep, tickets
from tests.conftest import csrf_token, login, submit, two_managed_estates
from tests.test_imports import answers, run
from tests.test_sms_alerts import sms_to

PROVEN = {"phone_verified_at": utcnow()}


@pytest.fixture
def world(session, places, make_user, frozen):
    """测试物业 manages estates A (莘庄镇) and C (七宝镇), 别家物业 estate B; a manager held for
    each company, an estate manager of A, a resident of each estate, an administrator."""
    company, other, estate_a, estate_b = two_managed_estates(session, places)
    estate_c = Estate(
        town=places["towns"][1],
        name_zh="七宝三村",
        name_en="Qibao Third Village",
        address_zh="七宝镇三村路3号",
        address_en="3 Sancun Road",
    )
    session.add(estate_c)
    session.flush()
    session.add(EstateManagement(estate_id=estate_c.id, company_id=company.id))
    session.commit()
    return {
        "company": company,
        "other": other,
        "a": estate_a,
        "b": estate_b,
        "c": estate_c,
        "boss": make_user("property_manager", scope=company, phone="13800006666", **PROVEN),
        "other_boss": make_user("property_manager", scope=other, phone="13800007777", **PROVEN),
        "estate_manager": make_user("property_manager", scope=estate_a),
        "resident_a": make_user(home_estate_id=estate_a.id, home_building="5", home_room="301"),
        "resident_b": make_user(home_estate_id=estate_b.id, home_building="2", home_room="202"),
        "resident_c": make_user(home_estate_id=estate_c.id, home_building="3", home_room="303"),
        "admin": make_user("administrator"),
    }


def report(session, resident) -> Ticket:
    return tickets.report(
        session, resident, resident, category=Category.WATER, description="水管漏水"
    )


def signed_in(app, user):
    client = app.test_client()
    login(client, user.phone or user.username)
    return client


def test_a_company_manager_covers_its_estates_homes_claims_and_reports_only(session, world):
    boss, other_boss = world["boss"], world["other_boss"]
    a, b, c = world["a"], world["b"], world["c"]
    for estate in (a, c):
        assert boss.has_role(Role.PROPERTY_MANAGER, estate)
    assert not boss.has_role(Role.PROPERTY_MANAGER, b)
    assert other_boss.has_role(Role.PROPERTY_MANAGER, b)
    assert not other_boss.has_role(Role.PROPERTY_MANAGER, a)
    claim = homes.current_claim(session, world["resident_c"])
    assert boss.has_role(Role.PROPERTY_MANAGER, claim)
    assert boss.has_role(Role.PROPERTY_MANAGER, claim.household)
    assert not other_boss.has_role(Role.PROPERTY_MANAGER, claim)
    mine, theirs = report(session, world["resident_a"]), report(session, world["resident_b"])
    assert boss.has_role(Role.PROPERTY_MANAGER, mine)
    assert not boss.has_role(Role.PROPERTY_MANAGER, theirs)
    assert other_boss.has_role(Role.PROPERTY_MANAGER, theirs)
    assert not other_boss.has_role(Role.PROPERTY_MANAGER, mine)


def _after_change(session, world, old):
    """What a change of estate A to 别家物业 leaves, once in force: `old` (made before) stays
    with 测试物业's manager; the estate, its claims and new reports are 别家物业's."""
    boss, other_boss, a = world["boss"], world["other_boss"], world["a"]
    claim = homes.current_claim(session, world["resident_a"])
    assert not boss.has_role(Role.PROPERTY_MANAGER, a)
    assert not boss.has_role(Role.PROPERTY_MANAGER, claim)
    assert other_boss.has_role(Role.PROPERTY_MANAGER, a)
    assert other_boss.has_role(Role.PROPERTY_MANAGER, claim)
    assert boss.has_role(Role.PROPERTY_MANAGER, world["c"])  # its other estate stays
    # The report made before the change stays with the company it was made to.
    assert old.company_id == world["company"].id
    assert boss.has_role(Role.PROPERTY_MANAGER, old)
    assert not other_boss.has_role(Role.PROPERTY_MANAGER, old)
    with pytest.raises(Forbidden):
        tickets.act(session, other_boss, old, "acknowledge")
    tickets.act(session, boss, old, "acknowledge")
    assert old.state == State.ACKNOWLEDGED
    new = report(session, world["resident_a"])
    assert new.company_id == world["other"].id
    assert other_boss.has_role(Role.PROPERTY_MANAGER, new)
    assert not boss.has_role(Role.PROPERTY_MANAGER, new)


def test_a_change_of_company_dated_tomorrow_moves_the_estate_from_that_day(session, world, frozen):
    old = report(session, world["resident_a"])
    tomorrow = clock.today() + timedelta(days=1)
    management.assign_company(session, world["a"], world["other"], tomorrow, world["admin"])
    # Until the day, nothing moves.
    assert world["boss"].has_role(Role.PROPERTY_MANAGER, world["a"])
    assert not world["other_boss"].has_role(Role.PROPERTY_MANAGER, world["a"])
    assert report(session, world["resident_a"]).company_id == world["company"].id
    frozen.shift(timedelta(days=1))
    _after_change(session, world, old)


def test_a_change_of_company_from_today_moves_the_estate_at_once(session, world):
    old = report(session, world["resident_a"])
    management.assign_company(session, world["a"], world["other"], clock.today(), world["admin"])
    _after_change(session, world, old)


def test_the_queue_lists_the_companys_reports_and_acknowledges_one(app, session, world):
    boss = world["boss"]
    in_a, in_b, in_c = (report(session, world[f"resident_{x}"]) for x in "abc")
    management.assign_company(session, world["a"], world["other"], clock.today(), world["admin"])
    new_in_a = report(session, world["resident_a"])
    client = signed_in(app, boss)
    page = client.get("/repairs/queue").get_data(as_text=True)
    # Its reports of both estates, the one of the estate that moved away included; not the
    # other company's, nor the report made to the new company.
    assert in_a.reference in page and in_c.reference in page
    assert in_b.reference not in page and new_in_a.reference not in page
    theirs = signed_in(app, world["other_boss"]).get("/repairs/queue").get_data(as_text=True)
    assert in_b.reference in theirs and new_in_a.reference in theirs
    assert in_c.reference not in theirs
    # The report made to 测试物业 before the change: its page is 测试物业's, not the new one's.
    assert client.get(f"/repairs/tickets/{in_a.reference}").status_code == 200
    stranger = signed_in(app, world["other_boss"])
    assert stranger.get(f"/repairs/tickets/{in_a.reference}").status_code == 404
    response = submit(
        client,
        f"/repairs/tickets/{in_c.reference}/act",
        {"action": "acknowledge", "from": "queue"},
        form_url="/repairs/queue",
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Ticket, in_c.id).state == State.ACKNOWLEDGED
    assert session.get(Ticket, in_c.id).responded_at is not None


def test_the_new_companys_queue_leaves_out_the_old_companys_reports(app, session, world):
    old = report(session, world["resident_a"])
    management.assign_company(session, world["a"], world["other"], clock.today(), world["admin"])
    theirs = signed_in(app, world["other_boss"]).get("/repairs/queue").get_data(as_text=True)
    assert old.reference not in theirs


def test_the_claims_page_lists_the_companys_estates_and_its_manager_decides(
    app, session, world, make_user
):
    newcomer_a, newcomer_c, newcomer_b = (make_user(name=n) for n in ("丙", "丁", "戊"))
    homes.set_home(session, newcomer_a, world["a"].id, "8", "", "801")
    homes.set_home(session, newcomer_c, world["c"].id, "9", "", "901")
    homes.set_home(session, newcomer_b, world["b"].id, "6", "", "601")
    session.commit()
    client = signed_in(app, world["boss"])
    page = client.get("/homes/claims").get_data(as_text=True)
    assert "丙" in page and "丁" in page and "戊" not in page
    claim = homes.current_claim(session, newcomer_c)
    stranger = signed_in(app, world["other_boss"])
    assert "丁" not in stranger.get("/homes/claims").get_data(as_text=True)
    refused = stranger.post(
        f"/homes/claims/{claim.id}/decide",
        data={"csrf_token": csrf_token(stranger, "/homes/claims"), "decision": "approve"},
    )
    assert refused.status_code == 404
    done = submit(
        client,
        f"/homes/claims/{claim.id}/decide",
        {"decision": "approve"},
        form_url="/homes/claims",
    )
    assert done.status_code == 302
    session.expire_all()
    assert homes.current_claim(session, newcomer_c).status == ClaimStatus.VERIFIED


def test_reports_warnings_and_escalations_reach_the_company_manager(session, world, frozen):
    boss, other_boss = world["boss"], world["other_boss"]
    ticket = report(session, world["resident_c"])
    new = set(
        session.scalars(select(Notification.user_id).where(Notification.kind == "repair.new"))
    )
    assert boss.id in new and other_boss.id not in new
    assert sms_to(session, "repair.new") == {boss.id: 1}
    frozen.shift(timedelta(minutes=21))
    assert sweep.warn(session) == 1
    assert sms_to(session, "repair.warning") == {boss.id: 1}
    frozen.shift(timedelta(minutes=10))
    assert sweep.escalate(session)[0] == 1
    assert boss.id in sms_to(session, "repair.escalated")
    assert other_boss.id not in sms_to(session, "repair.escalated")
    assert session.get(Ticket, ticket.id).company_id == world["company"].id


def test_a_new_home_claim_tells_the_company_manager(session, world, make_user):
    newcomer = make_user(name="己")
    before = session.scalar(select(func.max(Notification.id)))
    homes.set_home(session, newcomer, world["c"].id, "9", "", "902")
    session.commit()
    told = set(
        session.scalars(
            select(Notification.user_id).where(
                Notification.kind == "home.claim", Notification.id > before
            )
        )
    )
    assert world["boss"].id in told and world["other_boss"].id not in told


def test_an_administrator_invites_a_company_manager_in_two_steps(app, session, world):
    company = world["company"]
    client = signed_in(app, world["admin"])
    first = {"phone": "13944449001", "name": "周经理", "role": "property_manager"}
    step2 = submit(client, "/admin/staff/invite", {**first, "action": "continue"})
    text = step2.get_data(as_text=True)
    assert f"物业公司：{company.name_zh}" in text and f'value="company:{company.id}"' in text
    assert f"小区：{world['c'].name_zh}" in text and f'value="estate:{world["c"].id}"' in text
    done = submit(
        client,
        "/admin/staff/invite",
        {**first, "scope": f"company:{company.id}", "action": "save"},
    )
    assert done.status_code == 302
    user = session.scalar(select(User).where(User.phone == "13944449001"))
    assert user.scopes(Role.PROPERTY_MANAGER, "company") == [company.id]
    assert user.has_role(Role.PROPERTY_MANAGER, world["c"])
    account = client.get(done.headers["Location"]).get_data(as_text=True)
    assert company.name_zh in account
    listed = client.get("/admin/staff?kind=company").get_data(as_text=True)
    assert "周经理" in listed and world["boss"].name in listed
    assert world["estate_manager"].name not in listed  # held for an estate


def test_a_district_administrator_gives_company_roles_only_for_their_districts_companies(
    app, session, world, make_user
):
    jinshan = District(code="310116", name_zh="金山区", name_en="Jinshan District")
    town = Town(district=jinshan, code="zhujing", name_zh="朱泾镇", name_en="Zhujing")
    far = Estate(
        town=town, name_zh="朱泾花园", name_en="Zhujing Garden", address_zh="朱泾", address_en="Z"
    )
    session.add(far)
    session.flush()
    # 别家物业 also manages an estate in Jinshan: a Minhang administrator cannot give its roles.
    session.add(EstateManagement(estate_id=far.id, company_id=world["other"].id))
    session.commit()
    district_admin = make_user("administrator", scope=world["a"].town.district)
    client = signed_in(app, district_admin)
    first = {"phone": "13944449002", "name": "吴经理", "role": "property_manager"}
    step2 = submit(client, "/admin/staff/invite", {**first, "action": "continue"})
    text = step2.get_data(as_text=True)
    assert f"company:{world['company'].id}" in text
    assert f"company:{world['other'].id}" not in text
    refused = submit(
        client,
        "/admin/staff/invite",
        {**first, "scope": f"company:{world['other'].id}", "action": "save"},
    )
    assert refused.status_code == 200 and 'href="#scope"' in refused.get_data(as_text=True)
    assert session.scalar(select(User).where(User.phone == "13944449002")) is None
    done = submit(
        client,
        "/admin/staff/invite",
        {**first, "scope": f"company:{world['company'].id}", "action": "save"},
    )
    assert done.status_code == 302
    user = session.scalar(select(User).where(User.phone == "13944449002"))
    assert user.scopes(Role.PROPERTY_MANAGER, "company") == [world["company"].id]
    # The staff import draws the same line for the same administrator.
    rows = "phone,name,role,scope_kind,scope_name\n"
    rows += "13900008804,褚经理,property_manager,company,测试物业\n"
    rows += "13900008805,卫经理,property_manager,company,别家物业\n"
    dry = run(session, "staff", rows, actor=district_admin, dry_run=True)
    assert answers(dry) == [(2, "create", ""), (3, "error", "scope_kind")]


def test_the_staff_import_gives_a_company_role_by_the_companys_name(session, world):
    admin = world["admin"]
    text = (
        "phone,name,role,scope_kind,scope_name\n"
        "13900008801,郑经理,property_manager,company,测试物业\n"
        "13900008802,冯经理,property_manager,company,Other Property\n"
        "13900008803,陈经理,property_manager,company,没有这家物业\n"
    )
    dry = run(session, "staff", text, actor=admin, dry_run=True)
    assert answers(dry) == [(2, "create", ""), (3, "create", ""), (4, "error", "scope_name")]
    good = "\n".join(text.splitlines()[:3]) + "\n"
    assert run(session, "staff", good, actor=admin).written
    zheng = session.scalar(select(User).where(User.phone == "13900008801"))
    feng = session.scalar(select(User).where(User.phone == "13900008802"))
    assert zheng.scopes(Role.PROPERTY_MANAGER, "company") == [world["company"].id]
    assert feng.has_role(Role.PROPERTY_MANAGER, world["b"])
    assert not zheng.has_role(Role.PROPERTY_MANAGER, world["b"])
    again = run(session, "staff", good, actor=admin)
    assert {o.outcome for o in again.outcomes} == {"unchanged"}


def test_create_user_takes_a_company_scope(runner, session, world):
    company = world["company"]
    result = runner.invoke(
        args=[
            "create-user",
            "qian",
            "--role",
            "property_manager",
            "--scope",
            f"company:{company.id}",
            "--password",
            "long-password",
        ]
    )
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.username == "qian"))
    assert user.scopes(Role.PROPERTY_MANAGER, "company") == [company.id]
    assert user.has_role(Role.PROPERTY_MANAGER, world["c"])


def test_an_estate_or_report_check_costs_no_statement(session, world):
    ticket = report(session, world["resident_a"])
    ids = ticket.id, world["estate_manager"].id, world["boss"].id, world["a"].id
    session.expunge_all()
    ticket, manager, boss = session.get(Ticket, ids[0]), session.get(User, ids[1]), None
    boss, estate = session.get(User, ids[2]), session.get(Estate, ids[3])
    manager.roles, boss.roles  # noqa: B018  (loaded before counting)
    sent = []
    count = lambda *args: sent.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert manager.has_role(Role.PROPERTY_MANAGER, estate)
        assert manager.has_role(Role.PROPERTY_MANAGER, ticket)
        # A company's manager on a report made to the company: its own column answers.
        assert boss.has_role(Role.PROPERTY_MANAGER, ticket)
        assert sent == []
        # On an estate, the company managing it today is one statement.
        assert boss.has_role(Role.PROPERTY_MANAGER, estate) and sent
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
