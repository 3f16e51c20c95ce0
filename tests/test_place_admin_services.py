"""Which company manages an estate, as a history (repairs.services.management): a change from
a date closes the open period, old tickets keep rating with the old company, and two
administrators changing one estate at once leave exactly one open period."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.errors import DomainError
from repairs.models import Category, EstateManagement, PropertyCompany
from repairs.services import management, rating, tickets
from tests.conftest import login, two_managed_estates
from tests.race import race


@pytest.fixture
def world(session, places, make_user, frozen):
    company, other, estate_a, estate_b = two_managed_estates(session, places)
    resident = make_user(
        home_estate_id=estate_a.id, home_building="5", home_unit="2", home_room="301"
    )
    return {
        "company": company,
        "other": other,
        "estate": estate_a,
        "resident": resident,
        "admin": make_user("administrator"),
    }


def _report(session, world):
    r = world["resident"]
    return tickets.report(session, r, r, category=Category.WATER, description="水管漏水")


def test_a_change_from_today_sends_new_reports_to_the_new_company_and_old_ones_stay(
    session, world, frozen
):
    estate, company, other = world["estate"], world["company"], world["other"]
    before = _report(session, world)
    today = clock.today()
    management.assign_company(session, estate, other, today, world["admin"])
    after = _report(session, world)
    assert (before.company_id, after.company_id) == (company.id, other.id)
    rows = management.history(session, estate_id=estate.id)
    assert [(r.company_id, r.valid_to) for r in rows] == [(other.id, None), (company.id, today)]
    # The month's rating counts each report with the company it was made with.
    counts = {r.key: r.tickets for r in rating.company_ratings(session, today.replace(day=1))}
    assert counts[company.id] == 1 and counts[other.id] == 1


def test_a_change_dated_tomorrow_leaves_the_old_company_in_charge_until_then(session, world):
    estate, company, other = world["estate"], world["company"], world["other"]
    tomorrow = clock.today() + timedelta(days=1)
    management.assign_company(session, estate, other, tomorrow, world["admin"])
    assert management.current_management(session, estate.id).company_id == company.id
    assert management.current_management(session, estate.id, tomorrow).company_id == other.id
    assert estate.id in set(session.scalars(management.managed_estate_ids(company.id)))
    assert estate.id in set(session.scalars(management.managed_estate_ids(other.id, tomorrow)))


def test_refusals_past_dates_archived_companies_and_the_same_company_is_no_change(session, world):
    estate, company, other, admin = (
        world["estate"],
        world["company"],
        world["other"],
        world["admin"],
    )
    with pytest.raises(DomainError) as info:
        management.assign_company(session, estate, other, clock.today() - timedelta(1), admin)
    assert info.value.field == "from_date"
    same = management.assign_company(session, estate, company, clock.today(), admin)
    assert (
        same.valid_from == date(2000, 1, 1)
        and len(management.history(session, estate_id=estate.id)) == 1
    )
    other.archived_at = clock.now()
    session.commit()
    with pytest.raises(DomainError) as info:
        management.assign_company(session, estate, other, clock.today(), admin)
    assert info.value.field == "company"


def test_the_database_refuses_a_second_open_period(session, world):
    """The backstop under the service: the partial unique index on the open row."""
    from sqlalchemy.exc import IntegrityError

    session.add(EstateManagement(estate_id=world["estate"].id, company_id=world["other"].id))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


@pytest.mark.race
def test_administrators_changing_one_estate_at_once_leave_one_open_period(
    app, session, world, frozen
):
    estate_id, admin_id = world["estate"].id, world["admin"].id
    names = [f"竞争物业{i}" for i in range(4)]
    session.add_all([PropertyCompany(name_zh=n, name_en=n) for n in names])
    session.commit()
    day = clock.today() + timedelta(days=3)

    def change(i):
        from app.accounts.models import User
        from app.extensions import db
        from app.places.models import Estate

        s = db.session
        company = s.scalar(select(PropertyCompany).filter_by(name_zh=names[i]))
        return management.assign_company(
            s, s.get(Estate, estate_id), company, day, s.get(User, admin_id)
        ).company_id

    results = race(app, 4, change)
    won = [r for r in results if isinstance(r, int)]
    # The first to take the estate's lock wins; the others then find a period starting on the
    # same day and are refused, never a second open row.
    assert len(won) == 1, results
    assert all(isinstance(r, DomainError) for r in results if not isinstance(r, int)), results
    session.expire_all()
    open_rows = session.scalars(
        select(EstateManagement).filter_by(estate_id=estate_id, valid_to=None)
    ).all()
    assert [r.company_id for r in open_rows] == won


def test_archived_places_are_offered_to_residents_nowhere_but_history_stays(
    client, session, world, car_park, make_user
):
    from app.places import admin_services
    from app.places.services import set_home
    from parking.services.search import search

    park, admin, estate = car_park.default, world["admin"], world["estate"]
    before = _report(session, world)
    admin_services.set_archived(session, admin, park, True)
    admin_services.set_archived(session, admin, estate, True)
    assert park.id not in {p.id for p in search(session)}
    with pytest.raises(DomainError):
        set_home(session, make_user(), estate.id, "1", "", "101")
    with pytest.raises(DomainError) as info:
        _report(session, world)  # its resident: the estate takes no new reports
    assert info.value.code == "no_company"
    # Its resident keeps the home, the old report keeps its estate and company.
    assert world["resident"].home_claim.household.estate_id == estate.id
    assert (before.estate_id, before.company_id) == (estate.id, world["company"].id)
    newcomer = make_user()
    login(client, newcomer.phone)
    html = client.get("/profile").get_data(as_text=True)
    assert estate.name_zh not in html and "七宝新村" in html  # the other estate is offered
    admin_services.set_archived(session, admin, estate, False)
    assert _report(session, world).company_id == world["company"].id
