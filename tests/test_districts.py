"""Several districts in one portal (issue 15): roles scoped to a district, what district-scoped
staff see, the district's identity in the frame, the residents' district chooser."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.audit import services as audit
from app.notifications.models import Notification
from app.places import districts
from app.places.models import District, Estate, Town
from repairs.models import Category, EstateManagement, PropertyCompany
from repairs.services import sweep, tickets
from tests.conftest import login, slot_at, submit


@pytest.fixture
def jinshan(session, places):
    """A second district (金山区) with a town, an estate and the company managing it, beside
    `places`' Minhang (whose estates a company of their own manages)."""
    district = District(
        code="310116",
        name_zh="金山区",
        name_en="Jinshan District",
        hotline="12345",
        footer_zh="金山区人民政府办公室 主办",
        footer_en="Run by the General Office of the Jinshan District People's Government",
    )
    town = Town(district=district, code="zhujing", name_zh="朱泾镇", name_en="Zhujing Town")
    estate = Estate(
        town=town,
        name_zh="朱泾花园",
        name_en="Zhujing Garden",
        address_zh="上海市金山区朱泾镇人民路100弄",
        address_en="Lane 100, Renmin Road, Zhujing",
        latitude=30.90,
        longitude=121.16,
    )
    minhang_company = PropertyCompany(name_zh="闵行物业", name_en="Minhang Property")
    jinshan_company = PropertyCompany(name_zh="金山物业", name_en="Jinshan Property")
    session.add_all([estate, minhang_company, jinshan_company])
    session.flush()
    session.add_all(
        [EstateManagement(estate_id=e.id, company_id=minhang_company.id) for e in places["estates"]]
        + [EstateManagement(estate_id=estate.id, company_id=jinshan_company.id)]
    )
    session.commit()
    return {"district": district, "town": town, "estate": estate}


def _report(session, make_user, estate, description="水管漏水"):
    resident = make_user(home_estate_id=estate.id)
    return tickets.report(
        session, resident, resident, category=Category.WATER, description=description
    )


def test_a_district_role_covers_its_district_only(session, places, jinshan, make_user):
    minhang = places["towns"][0].district
    estate_m, estate_j = places["estates"][0], jinshan["estate"]
    supervisor = make_user("district_supervisor", scope=jinshan["district"])
    admin = make_user("administrator", scope=minhang)
    city = make_user("district_supervisor")  # unscoped: every district
    ticket = _report(session, make_user, estate_j)

    for obj in (jinshan["district"], jinshan["town"], estate_j, ticket):
        assert supervisor.has_role(Role.DISTRICT_SUPERVISOR, obj)
        assert not admin.has_role(Role.ADMINISTRATOR, obj)
        assert city.has_role(Role.DISTRICT_SUPERVISOR, obj)
    for obj in (minhang, places["towns"][1], estate_m):
        assert not supervisor.has_role(Role.DISTRICT_SUPERVISOR, obj)
        assert admin.has_role(Role.ADMINISTRATOR, obj)
    assert not admin.holds_everywhere(Role.ADMINISTRATOR)
    assert make_user("administrator").holds_everywhere(Role.ADMINISTRATOR)
    assert districts.supervised_town_ids(session, supervisor) == [jinshan["town"].id]
    assert districts.supervised_town_ids(session, city) is None
    assert districts.overseen_district_ids(admin) == [minhang.id]


def test_supervisor_pages_show_their_district_only(client, session, places, jinshan, make_user):
    minhang_ticket = _report(session, make_user, places["estates"][0], "闵行的水管")
    jinshan_ticket = _report(session, make_user, jinshan["estate"], "金山的水管")
    supervisor = make_user("district_supervisor", scope=jinshan["district"])
    login(client, supervisor.username)
    # Their pages wear Jinshan's identity without choosing (no home of their own).
    chooser = client.get("/district").get_data(as_text=True)
    assert 'checked class="radio-input" id="district-1"' in chooser

    listing = client.get("/repairs/supervise/tickets?flag=open").get_data(as_text=True)
    assert jinshan_ticket.reference in listing and minhang_ticket.reference not in listing
    board = client.get("/repairs/supervise").get_data(as_text=True)
    assert "朱泾花园" in board and "莘城苑" not in board
    assert client.get(f"/repairs/tickets/{minhang_ticket.reference}").status_code in (403, 404)
    assert client.get(f"/repairs/tickets/{jinshan_ticket.reference}").status_code == 200


def test_audit_log_is_read_by_district(app, client, session, places, jinshan, make_user):
    admin = make_user("administrator")
    audit.record(session, admin, "estate.renamed", places["estates"][0])
    audit.record(session, admin, "estate.moved", jinshan["estate"])
    audit.record(session, admin, "user.created", admin)
    session.commit()
    entries = {e.action: e.district_id for e in audit.search(session)}
    assert entries == {
        "estate.renamed": places["towns"][0].district_id,
        "estate.moved": jinshan["district"].id,
        "user.created": None,
    }

    login(client, make_user("district_supervisor", scope=jinshan["district"]).username)
    page = client.get("/audit").get_data(as_text=True)
    assert "estate.moved" in page and "estate.renamed" not in page and "user.created" not in page
    other = app.test_client()
    login(other, admin.username)
    page = other.get("/audit").get_data(as_text=True)
    assert all(action in page for action in ("estate.moved", "estate.renamed", "user.created"))


def test_late_escalation_goes_to_the_estates_district(session, places, jinshan, make_user, frozen):
    own = make_user("district_supervisor", scope=jinshan["district"])
    other = make_user("district_supervisor", scope=places["towns"][0].district)
    city = make_user("district_supervisor")
    _report(session, make_user, jinshan["estate"])
    frozen.shift(timedelta(hours=30))
    sweep.escalate(session)
    alerted = set(
        session.scalars(
            select(Notification.user_id).where(Notification.kind == "repair.escalated_district")
        )
    )
    assert alerted == {own.id, city.id} and other.id not in alerted


def _english(client):
    client.set_cookie("locale", "en")
    return client


def test_the_frame_names_the_district_of_its_row(client, session, places, jinshan):
    minhang = places["towns"][0].district
    minhang.booking_name_zh, minhang.booking_name_en = "全闵预约", "Minhang Bookings"
    minhang.footer_zh, minhang.hotline = "闵行区人民政府办公室 主办", "021-12345"
    session.commit()
    page = client.get("/").get_data(as_text=True)  # no choice, no home: the first district
    assert "闵行区" in page and "全闵预约" in page and "闵行区人民政府办公室 主办" in page
    assert "021-12345" in page and "金山区" not in page
    venues = client.get("/venues").get_data(as_text=True)
    assert "<title>全闵预约" in venues and "正在显示闵行区。" in venues

    # The chooser, kept on the device: Jinshan has no booking name of its own.
    form = client.get("/district?next=/venues").get_data(as_text=True)
    assert "您想看哪个区？" in form and 'checked class="radio-input" id="district-0"' in form
    answer = submit(client, "/district?next=/venues", {"district": "310116"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/venues"
    page = client.get("/venues").get_data(as_text=True)
    assert "金山区" in page and "场馆预约" in page and "全闵预约" not in page
    assert "金山区人民政府办公室 主办" in page and "正在显示金山区。" in page

    english = _english(client).get("/").get_data(as_text=True)
    assert "Jinshan District" in english and "Venue booking" in english
    submit(client, "/district", {"district": "310112"})
    english = client.get("/").get_data(as_text=True)
    assert "Minhang Bookings" in english and "Minhang District" in english


def test_an_unknown_district_is_refused_with_the_question_again(client, places, jinshan):
    answer = submit(client, "/district", {"district": "999999"})
    assert answer.status_code == 200 and "error-summary" in answer.get_data(as_text=True)
    assert client.get_cookie("district") is None


def test_lists_show_the_chosen_district_and_anyone_books_anywhere(
    client, session, places, jinshan, make_venue, make_user, car_park
):
    from tests.test_venue_booking import book

    make_venue(name="莘庄博物馆")
    far = make_venue(name="朱泾博物馆", town=jinshan["town"])
    park_m = car_park(name="莘庄停车场")
    park_j = car_park(name="朱泾停车场")
    park_j.town = jinshan["town"]
    session.commit()

    listing = client.get("/venues").get_data(as_text=True)
    assert "莘庄博物馆" in listing and "朱泾博物馆" not in listing and "朱泾镇" not in listing
    parks = client.get("/parking").get_data(as_text=True)
    assert park_m.name_zh in parks and park_j.name_zh not in parks

    # A resident whose confirmed home is in Jinshan sees Jinshan's without choosing.
    resident = make_user(home_estate_id=jinshan["estate"].id)
    login(client, resident.phone)
    listing = client.get("/venues").get_data(as_text=True)
    assert "朱泾博物馆" in listing and "莘庄博物馆" not in listing
    assert park_j.name_zh in client.get("/parking").get_data(as_text=True)

    # Someone living in Minhang books a Jinshan venue.
    minhang_resident = make_user(home_estate_id=places["estates"][0].id)
    booking = book(session, minhang_resident, slot_at(session, far.spaces[0], 1, 10).id, 1)
    assert booking.reference


def test_a_repair_goes_to_its_estates_district(session, places, jinshan, make_user):
    ticket = _report(session, make_user, jinshan["estate"])
    assert ticket.company.name_zh == "金山物业" and ticket.town_id == jinshan["town"].id
    assert districts.district_of(ticket) == jinshan["district"].id
    manager = make_user("property_manager", scope=jinshan["estate"])
    assert manager.has_role(Role.PROPERTY_MANAGER, ticket)


def test_the_apis_say_which_district_a_thing_is_in(
    client, session, places, jinshan, make_venue, make_user, car_park
):
    far = make_venue(name="朱泾博物馆", town=jinshan["town"])
    park = car_park(name="朱泾停车场")
    park.town = jinshan["town"]
    session.commit()
    ticket = _report(session, make_user, jinshan["estate"])
    jinshan_ref = {"code": "310116", "name": "金山区"}

    assert client.get(f"/api/v1/carparks/{park.id}").json["district"] == jinshan_ref
    feed = {p["name"]: p["district"] for p in client.get("/api/v1/parking/feed").json}
    assert feed["朱泾停车场"] == jinshan_ref
    assert {ref["code"] for ref in feed.values()} == {"310112", "310116"}
    assert client.get(f"/api/v1/venues/{far.id}").json["district"] == jinshan_ref
    english = {
        v["name"]: v["district"]
        for v in client.get("/api/v1/venues", headers={"Accept-Language": "en"}).json
    }
    assert english["Test Museum"] == {"code": "310116", "name": "Jinshan District"}
    request = client.get(f"/open311/v2/requests/{ticket.reference}.json").json[0]
    assert request["district"] == jinshan_ref
    xml = client.get(f"/open311/v2/requests/{ticket.reference}.xml").get_data(as_text=True)
    assert "<district><code>310116</code><name>金山区</name></district>" in xml


def test_only_a_district_scoped_check_loads_the_town(app, session, places, jinshan, make_user):
    from sqlalchemy import event

    from app.accounts.models import User
    from app.extensions import db
    from repairs.models import Ticket

    ticket = _report(session, make_user, jinshan["estate"])
    manager = make_user("property_manager", scope=jinshan["estate"])
    supervisor = make_user("district_supervisor", scope=jinshan["district"])
    ids = ticket.id, manager.id, supervisor.id
    session.expunge_all()
    ticket = session.get(Ticket, ids[0])
    manager, supervisor = session.get(User, ids[1]), session.get(User, ids[2])
    manager.roles, supervisor.roles  # noqa: B018  (loaded before counting)
    sent = []
    count = lambda *args: sent.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert manager.has_role(Role.PROPERTY_MANAGER, ticket) and sent == []
        assert supervisor.has_role(Role.DISTRICT_SUPERVISOR, ticket) and sent
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_a_district_administrator_is_not_the_installations(app, client, places, make_user):
    district_admin = make_user("administrator", scope=places["towns"][0].district)
    login(client, district_admin.username)
    assert client.get("/admin/deliveries").status_code == 403
    assert "/admin/deliveries" not in client.get("/").get_data(as_text=True)
    other = app.test_client()
    login(other, make_user("administrator").username)
    assert other.get("/admin/deliveries").status_code == 200
