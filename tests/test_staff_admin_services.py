"""Staff accounts administered by administrators (app/accounts/staff_services.py): invitations,
roles with scopes, district administrators kept to their district, deactivation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts import staff_services as staff
from app.accounts.models import Role, User, UserSession
from app.audit.models import AuditEntry
from app.errors import DomainError
from app.places.models import District, Estate, Town
from app.sms.models import SmsMessage


@pytest.fixture
def settings(app):
    return staff.StaffSettings.from_app(app)


@pytest.fixture
def admin(make_user):
    return make_user("administrator", name="管理员")


@pytest.fixture
def other_district(session):
    """金山区 with one town and one estate."""
    district = District(code="310116", name_zh="金山区", name_en="Jinshan District")
    town = Town(district=district, code="zhujing", name_zh="朱泾镇", name_en="Zhujing Town")
    estate = Estate(
        town=town,
        name_zh="朱泾新苑",
        name_en="Zhujing Garden",
        address_zh="上海市金山区朱泾镇1号",
        address_en="1 Zhujing Road",
        latitude=30.9,
        longitude=121.17,
    )
    session.add_all([district, town, estate])
    session.commit()
    return {"district": district, "town": town, "estate": estate}


def _actions(session, user_id):
    return session.scalars(
        select(AuditEntry.action).where(AuditEntry.object_id == str(user_id))
    ).all()


def test_invite_a_new_number_makes_an_account_without_password_and_texts_it(
    session, admin, places, settings
):
    estate = places["estates"][0]
    invitation = staff.invite(
        session,
        admin,
        phone="139 2222 0001",
        name=" 王经理 ",
        role=Role.PROPERTY_MANAGER,
        scope=f"estate:{estate.id}",
        settings=settings,
    )
    assert invitation.created
    user = session.scalar(select(User).where(User.phone == "13922220001"))
    assert user.name == "王经理" and user.password_set is False and user.active
    assert user.has_role(Role.PROPERTY_MANAGER, estate)
    assert not user.has_role(Role.PROPERTY_MANAGER, places["estates"][1])
    sms = session.scalars(select(SmsMessage).where(SmsMessage.phone == "13922220001")).all()
    assert [m.kind for m in sms] == [staff.INVITE_SMS]
    assert sms[0].params[0] == staff.role_name_zh(Role.PROPERTY_MANAGER) != "Property manager"
    assert sms[0].params[1].endswith("/login")
    assert _actions(session, user.id) == ["staff.invite"]


def test_invite_an_existing_resident_adds_the_role_and_keeps_their_account(
    session, admin, make_user, places, settings
):
    resident = make_user("resident", phone="13922220002", name="李阿姨")
    invitation = staff.invite(
        session,
        admin,
        phone="13922220002",
        name="别的名字",
        role=Role.TOWN_SUPERVISOR,
        scope=f"town:{places['towns'][1].id}",
        settings=settings,
    )
    assert not invitation.created and invitation.user.id == resident.id
    session.refresh(resident)
    assert resident.name == "李阿姨" and resident.password_set
    assert resident.role_set == {Role.RESIDENT, Role.TOWN_SUPERVISOR}
    with pytest.raises(DomainError) as refused:
        staff.invite(
            session,
            admin,
            phone="13922220002",
            name="x",
            role=Role.TOWN_SUPERVISOR,
            scope=f"town:{places['towns'][1].id}",
            settings=settings,
        )
    assert refused.value.code == "already_holds"


@pytest.mark.parametrize(
    "role, scope, code",
    [
        (Role.PROPERTY_MANAGER, None, "scope_needed"),
        (Role.PROPERTY_MANAGER, "town:{town}", "wrong_scope_kind"),
        (Role.PROPERTY_MANAGER, "estate:999999", "not_found"),
        (Role.PROPERTY_MANAGER, "nowhere:1", "invalid_scope"),
        (Role.RESIDENT, None, "not_a_staff_role"),
    ],
)
def test_a_scope_must_fit_the_role_and_exist(session, admin, places, settings, role, scope, code):
    scope = scope.format(town=places["towns"][0].id) if scope else None
    with pytest.raises(DomainError) as refused:
        staff.invite(
            session,
            admin,
            phone="13922220003",
            name="张三",
            role=role,
            scope=scope,
            settings=settings,
        )
    assert refused.value.code == code
    assert session.scalar(select(User).where(User.phone == "13922220003")) is None
    assert session.scalar(select(SmsMessage).where(SmsMessage.phone == "13922220003")) is None


def test_a_district_administrator_gives_roles_only_inside_their_district(
    session, make_user, places, other_district, settings
):
    minhang = places["towns"][0].district
    district_admin = make_user("administrator", scope=minhang)
    assert not staff.is_admin_everywhere(district_admin)
    inside = staff.invite(
        session,
        district_admin,
        phone="13922220004",
        name="莘庄经理",
        role=Role.PROPERTY_MANAGER,
        scope=f"estate:{places['estates'][0].id}",
        settings=settings,
    )
    for role, scope in [
        (Role.PROPERTY_MANAGER, f"estate:{other_district['estate'].id}"),
        (Role.TOWN_SUPERVISOR, f"town:{other_district['town'].id}"),
        (Role.ADMINISTRATOR, None),  # the whole installation
        (Role.SERVICE_DESK, None),
    ]:
        with pytest.raises(DomainError) as refused:
            staff.grant_role(
                session, district_admin, inside.user, role=role, scope=scope, settings=settings
            )
        assert refused.value.code == "outside_your_district", role
    # The invitation is in the district's audit log.
    filed = session.scalar(
        select(AuditEntry.district_id).where(
            AuditEntry.action == "staff.invite", AuditEntry.object_id == str(inside.user.id)
        )
    )
    assert filed == minhang.id
    # What they may choose from, and whom they see.
    estates = staff.scope_choices(session, district_admin, "estate")
    assert {e.id for e in estates} == {e.id for e in places["estates"]}
    jinshan_manager = make_user("property_manager", scope=other_district["estate"])
    seen = {u.id for u in staff.staff_accounts(session, district_admin)}
    assert inside.user.id in seen and jinshan_manager.id not in seen
    everyone = {u.id for u in staff.staff_accounts(session, make_user("administrator"))}
    assert {inside.user.id, jinshan_manager.id} <= everyone


def test_take_a_role_away_and_the_last_administrator_keeps_theirs(
    session, admin, make_user, places, settings
):
    manager = make_user("property_manager", scope=places["estates"][0])
    assignment = next(a for a in manager.roles if a.role == Role.PROPERTY_MANAGER)
    staff.revoke_role(session, admin, manager, assignment.id)
    session.refresh(manager)
    assert Role.PROPERTY_MANAGER not in manager.role_set
    assert "staff.revoke" in _actions(session, manager.id)

    own = next(a for a in admin.roles if a.role == Role.ADMINISTRATOR)
    with pytest.raises(DomainError) as refused:
        staff.revoke_role(session, admin, admin, own.id)
    assert refused.value.code == "last_administrator"
    with pytest.raises(DomainError) as refused:
        staff.set_active(session, admin, admin, False)
    assert refused.value.code == "last_administrator"
    # With a second administrator, the first may step down.
    make_user("administrator")
    staff.revoke_role(session, admin, admin, own.id)
    session.refresh(admin)
    assert Role.ADMINISTRATOR not in admin.role_set


def test_deactivating_ends_the_sessions_and_reactivating_lets_them_back(
    session, admin, make_user, places, settings
):
    manager = make_user("property_manager", scope=places["estates"][0], phone="13922220009")
    session.add(UserSession(user_id=manager.id, digest="d" * 64))
    session.commit()
    staff.set_active(session, admin, manager, False)
    row = session.scalar(select(UserSession).where(UserSession.user_id == manager.id))
    assert row.ended_at is not None and row.end_reason == "deactivated"
    session.refresh(manager)
    assert not manager.active
    with pytest.raises(DomainError) as refused:
        staff.invite(
            session,
            admin,
            phone="13922220009",
            name="x",
            role=Role.VENUE_ADMIN,
            scope=None,
            settings=settings,
        )
    assert refused.value.code == "inactive"
    staff.set_active(session, admin, manager, True)
    session.refresh(manager)
    assert manager.active
    assert set(_actions(session, manager.id)) >= {"staff.deactivate", "staff.reactivate"}
