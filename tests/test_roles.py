import pytest

from app.accounts import services
from app.accounts.models import Role
from app.errors import DomainError
from tests.conftest import login


def test_scoped_roles_follow_the_scope_chain(make_user, places):
    xinzhuang, qibao = places["towns"]
    estate_a, estate_b = places["estates"]
    manager = make_user("property_manager", scope=estate_a)
    town = make_user("town_supervisor", scope=xinzhuang)
    district = make_user("district_supervisor")
    assert manager.has_role(Role.PROPERTY_MANAGER, estate_a)
    assert not manager.has_role(Role.PROPERTY_MANAGER, estate_b)
    assert town.has_role(Role.TOWN_SUPERVISOR, estate_a)  # estate A is in Xinzhuang
    assert not town.has_role(Role.TOWN_SUPERVISOR, estate_b)
    assert district.has_role(Role.DISTRICT_SUPERVISOR, estate_b)
    assert not manager.has_role(Role.TOWN_SUPERVISOR)


def test_scoped_role_needs_its_scope(session, places):
    with pytest.raises(DomainError):
        services.create_user(
            session, username="m", password="long-enough-1", roles=[(Role.PROPERTY_MANAGER, None)]
        )
    with pytest.raises(DomainError):
        services.create_user(
            session,
            username="m2",
            password="long-enough-1",
            roles=[(Role.PROPERTY_MANAGER, f"town:{places['towns'][0].id}")],
        )
    with pytest.raises(DomainError):
        services.create_user(
            session,
            username="m3",
            password="long-enough-1",
            roles=[(Role.PROPERTY_MANAGER, "estate:9999")],
        )


@pytest.mark.parametrize(
    "role, status",
    [
        ("administrator", 200),
        ("district_supervisor", 200),
        ("resident", 403),
        ("community_helper", 403),
        ("venue_admin", 403),
    ],
)
def test_audit_log_is_for_administrators_and_district_supervisors(client, make_user, role, status):
    user = make_user(role)
    login(client, user.phone or user.username)
    assert client.get("/audit").status_code == status


def test_visitors_are_sent_to_sign_in(client):
    response = client.get("/audit")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_home_page_shows_each_role_its_workspace(client, make_user, places):
    manager = make_user("property_manager", scope=places["estates"][0])
    login(client, manager.username)
    html = client.get("/").get_data(as_text=True)
    assert "物业经理" in html and "莘城苑" in html
    admin = make_user("administrator")
    client2 = client.application.test_client()
    login(client2, admin.username)
    html = client2.get("/").get_data(as_text=True)
    assert "系统管理员" in html and "/audit" in html
