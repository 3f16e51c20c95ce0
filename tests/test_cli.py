from sqlalchemy import func, select

from app.accounts.models import Role, User
from app.places.models import Estate, Town


def test_create_user_with_scoped_role(runner, session, places):
    estate = places["estates"][0]
    result = runner.invoke(
        args=[
            "create-user",
            "wang",
            "--role",
            "property_manager",
            "--scope",
            f"estate:{estate.id}",
            "--password",
            "long-password",
        ]
    )
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.username == "wang"))
    assert user.has_role(Role.PROPERTY_MANAGER, estate)
    assert user.check_password("long-password")


def test_create_user_refuses_bad_input_clearly(runner, session):
    result = runner.invoke(
        args=["create-user", "li", "--role", "property_manager", "--password", "long-password"]
    )
    assert result.exit_code != 0 and "estate:ID" in result.output
    result = runner.invoke(args=["create-user", "li", "--role", "resident", "--password", "short"])
    assert result.exit_code != 0 and "8" in result.output
    assert session.scalar(select(User).where(User.username == "li")) is None


def test_create_token_prints_a_working_token(runner, client, make_user):
    user = make_user("administrator")
    result = runner.invoke(args=["create-token", user.username])
    token = result.output.strip()
    assert result.exit_code == 0 and token.startswith("cp_")
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.json["id"] == user.id


def test_create_token_for_unknown_user(runner):
    result = runner.invoke(args=["create-token", "nobody"])
    assert result.exit_code != 0 and "nobody" in result.output


def _check_two_districts(app, session):
    """The demo's second district (app/demo_jinshan.py): Jinshan's venues, car parks and
    estates are in Jinshan's towns, managed by a company of their own; its supervisor and
    resident sign in to it."""
    from app.demo import DEMO_PASSWORD
    from app.places.models import District
    from parking.models import CarPark
    from repairs.models import EstateManagement, PropertyCompany
    from tests.conftest import login
    from venues.models import Venue

    jinshan = session.scalar(select(District).where(District.code == "310116"))
    towns = {t.id for t in jinshan.towns}
    assert {v.name_zh for v in session.scalars(select(Venue).where(Venue.town_id.in_(towns)))} == {
        "金山区图书馆",
        "金山体育中心",
    }
    assert len(session.scalars(select(CarPark).where(CarPark.town_id.in_(towns))).all()) == 2
    companies = set(
        session.scalars(
            select(PropertyCompany.name_zh)
            .join(EstateManagement, EstateManagement.company_id == PropertyCompany.id)
            .join(Estate, Estate.id == EstateManagement.estate_id)
            .where(Estate.town_id.in_(towns))
        )
    )
    assert companies == {"上海金山城市物业管理有限公司"}
    session.commit()
    supervisor = app.test_client()
    login(supervisor, "district-jinshan", DEMO_PASSWORD)
    page = supervisor.get("/repairs/companies").get_data(as_text=True)
    assert "上海金山城市物业管理有限公司" in page and "上海莘城物业管理有限公司" not in page
    resident = app.test_client()  # 孙阿姨 lives in Jinshan: her lists open on it
    login(resident, "13900000004", DEMO_PASSWORD)
    page = resident.get("/venues").get_data(as_text=True)
    assert '<span class="brand-name">金山区</span>' in page
    assert "金山区图书馆" in page and "闵行区博物馆" not in page


def test_seed_demo_is_idempotent_gives_every_role_and_every_account_signs_in(runner, app, session):
    """One seeding per database for everything the demo promises (seeding takes seconds: the
    checks share it)."""
    from app.demo import DEMO_PASSWORD, RESIDENTS, STAFF
    from parking.models import Vehicle, VehicleStatus
    from tests.conftest import login

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    counts = [session.scalar(select(func.count()).select_from(m)) for m in (User, Town, Estate)]
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert counts == [
        session.scalar(select(func.count()).select_from(m)) for m in (User, Town, Estate)
    ]
    assert counts[1] == 14 + 10  # Minhang's towns and Jinshan's (issue 15)
    _check_two_districts(app, session)
    # The demo residents' numbers are proven, so their messages go by SMS too.
    phones = [phone for phone, *_rest in RESIDENTS]
    residents = session.scalars(select(User).where(User.phone.in_(phones))).all()
    assert len(residents) == len(phones)
    assert all(u.phone_verified_at is not None for u in residents)
    roles = {a.role for u in session.scalars(select(User)) for a in u.roles}
    assert {
        Role.RESIDENT,
        Role.ADMINISTRATOR,
        Role.DISTRICT_SUPERVISOR,
        Role.TOWN_SUPERVISOR,
        Role.PROPERTY_MANAGER,
        Role.COMMUNITY_HELPER,
        Role.VENUE_ADMIN,
    } <= roles
    # The demo's company manager covers every estate its company manages (莘庄锦苑 among them).
    from repairs.demo import COMPANY_MANAGER

    company_manager = session.scalar(select(User).where(User.username == COMPANY_MANAGER[0]))
    xinzhuang = session.scalar(select(Estate).where(Estate.name_zh == "莘庄锦苑"))
    assert [a.scope_kind for a in company_manager.roles] == ["company"]
    assert company_manager.has_role(Role.PROPERTY_MANAGER, xinzhuang)

    # The demo plates are verified, the first with automatic payment bound.
    first = session.scalar(select(Vehicle).where(Vehicle.plate == "沪A12345"))
    second = session.scalar(select(Vehicle).where(Vehicle.plate == "沪AD23456"))
    assert first.status == second.status == VehicleStatus.VERIFIED
    assert first.autopay_method_id is not None
    assert first.owner.phone == "13900000001" and second.owner.phone == "13900000002"
    session.commit()

    # Every demo account signs in to its own workspace; the elderly demo resident sees
    # elderly mode at once.
    expected = [(username, role.label) for username, _name, role, _scope in STAFF]
    expected += [(phone, Role.RESIDENT.label) for phone, *_rest in RESIDENTS]
    expected.append((COMPANY_MANAGER[0], Role.PROPERTY_MANAGER.label))
    for login_name, label in expected:
        client = app.test_client()
        login(client, login_name, DEMO_PASSWORD)
        html = client.get("/").get_data(as_text=True)
        with app.test_request_context():
            assert f'<h3 class="card-title">{label}' in html, login_name
        if login_name == "13900000002":
            assert 'class="mode-elderly"' in html


def test_demo_data_is_one_unit_of_work(session):
    """`flask seed-demo` loads the frame's and every service's demo data together or not at all."""
    import pytest

    from app.demo import seed_all

    def broken(_session):
        raise RuntimeError("a service's seeder failed")

    with pytest.raises(RuntimeError):
        seed_all(session, [broken])
    assert session.scalar(select(func.count(Town.id))) == 0
    assert session.scalar(select(func.count(User.id))) == 0
