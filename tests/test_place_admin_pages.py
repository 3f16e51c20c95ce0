"""The places administration in the browser's terms (test client): districts, towns, estates,
property companies (with the change of company from a date, confirmed first) and car parks are
created, edited, searched and archived; errors keep the answers; residents are refused."""

from datetime import timedelta

from sqlalchemy import select

from app import clock
from app.places.models import District, Estate, Town
from parking.models import CarPark
from repairs.models import EstateManagement, PropertyCompany
from tests.conftest import login, submit, two_managed_estates


def english(client):
    from app.i18n import LOCALE_COOKIE

    client.set_cookie(LOCALE_COOKIE, "en")
    return client


def _admin(client, make_user):
    admin = make_user("administrator")
    login(english(client), admin.username)
    return admin


def test_a_district_town_and_estate_are_created_searched_and_archived(
    client, session, places, make_user
):
    _admin(client, make_user)
    r = submit(
        client,
        "/admin/districts/new",
        {"code": "310116", "name_zh": "金山区", "name_en": "Jinshan District", "hotline": ""},
    )
    district = session.scalar(select(District).filter_by(code="310116"))
    assert r.status_code == 302 and district.hotline == "12345"
    r = submit(
        client,
        "/admin/towns/new",
        {"district_id": district.id, "code": "zhujing", "name_zh": "朱泾镇", "name_en": "Zhujing"},
    )
    town = session.scalar(select(Town).filter_by(code="zhujing"))
    assert r.status_code == 302 and town.district_id == district.id
    # A swapped pair of coordinates is caught, with the answers kept.
    data = {
        "town_id": town.id,
        "name_zh": "金山新村",
        "name_en": "Jinshan New Village",
        "address_zh": "朱泾镇1号",
        "address_en": "1 Zhujing",
        "latitude": "121.33",
        "longitude": "30.89",
    }
    html = submit(client, "/admin/estates/new", data).get_data(as_text=True)
    assert "look swapped" in html and 'href="#latitude"' in html and "金山新村" in html
    r = submit(client, "/admin/estates/new", {**data, "latitude": "30.89", "longitude": "121.33"})
    estate = session.scalar(select(Estate).filter_by(name_zh="金山新村"))
    assert r.status_code == 302 and estate.latitude == 30.89
    page = client.get("/admin/estates?q=新村").get_data(as_text=True)
    assert "Jinshan New Village" in page and "Xincheng Garden" not in page
    # Archive: a confirmation first, then the estate is marked, not deleted.
    assert "Yes, archive it" in client.get(f"/admin/estates/{estate.id}/archive").get_data(
        as_text=True
    )
    submit(client, f"/admin/estates/{estate.id}/archive", {})
    session.expire_all()
    assert session.get(Estate, estate.id).archived_at is not None


def test_change_of_company_is_confirmed_then_kept_in_the_history(
    client, session, places, make_user, frozen
):
    company, other, estate, _b = two_managed_estates(session, places)
    _admin(client, make_user)
    url = f"/admin/estates/{estate.id}/company"
    day = (clock.today() + timedelta(days=1)).isoformat()
    html = submit(client, url, {"company_id": other.id, "from_date": day}).get_data(as_text=True)
    assert "Yes, change the company" in html and "stay with Test Property" in html
    assert (
        session.scalars(select(EstateManagement).filter_by(estate_id=estate.id)).all()[0].valid_to
        is None
    )  # nothing changed before the confirmation
    r = submit(
        client, url, {"company_id": other.id, "from_date": day, "confirmed": "yes"}, form_url=url
    )
    assert r.status_code == 302
    page = client.get(f"/admin/estates/{estate.id}").get_data(as_text=True)
    assert "Other Property" in page and "Test Property" in page
    # A date in the past is refused on its field.
    past = (clock.today() - timedelta(days=3)).isoformat()
    html = submit(client, url, {"company_id": company.id, "from_date": past}).get_data(as_text=True)
    assert 'href="#from_date"' in html


def test_a_company_and_a_car_park_are_created(client, session, places, make_user, frozen):
    _admin(client, make_user)
    r = submit(
        client,
        "/admin/companies/new",
        {
            "name_zh": "新物业",
            "name_en": "New Property",
            "response_minutes": "45",
            "work_starts": "08:00",
            "work_ends": "",
            "work_days": ["0", "1"],
        },
    )
    assert "Give both the start and the end" in r.get_data(as_text=True)
    r = submit(
        client,
        "/admin/companies/new",
        {"name_zh": "新物业", "name_en": "New Property", "response_minutes": "45"},
    )
    company = session.scalar(select(PropertyCompany).filter_by(name_zh="新物业"))
    assert r.status_code == 302 and company.response_minutes == 45
    town = places["towns"][0]
    r = submit(
        client,
        "/admin/carparks/new",
        {
            "town_id": town.id,
            "kind": "public",
            "name_zh": "新停车场",
            "name_en": "New Car Park",
            "address_zh": "莘庄路1号",
            "address_en": "1 Xinzhuang Road",
            "latitude": "31.11",
            "longitude": "121.38",
            "total_spaces": "50",
            "reservable_spaces": "60",
        },
    )
    assert "cannot be larger than the car park" in r.get_data(as_text=True)
    assert session.scalar(select(CarPark).filter_by(name_zh="新停车场")) is None
    r = submit(
        client,
        "/admin/carparks/new",
        {
            "town_id": town.id,
            "kind": "public",
            "name_zh": "新停车场",
            "name_en": "New Car Park",
            "address_zh": "莘庄路1号",
            "address_en": "1 Xinzhuang Road",
            "latitude": "31.11",
            "longitude": "121.38",
            "total_spaces": "50",
            "reservable_spaces": "10",
        },
    )
    park = session.scalar(select(CarPark).filter_by(name_zh="新停车场"))
    assert r.status_code == 302 and (park.total_spaces, park.reservable_spaces) == (50, 10)
    assert park.resource_id is not None  # the reservable pool is in the engine
    assert "New Car Park" in client.get(f"/admin/carparks/{park.id}").get_data(as_text=True)


def test_residents_are_refused(client, make_user):
    resident = make_user()
    login(client, resident.phone)
    for url in ("/admin/places", "/admin/estates", "/admin/companies", "/admin/carparks"):
        assert client.get(url).status_code == 403


def test_a_district_administrator_sees_and_changes_only_their_district(
    client, session, places, make_user
):
    mine = places["towns"][0].district
    other = District(code="310116", name_zh="金山区", name_en="Jinshan District")
    town = Town(district=other, code="zhujing", name_zh="朱泾镇", name_en="Zhujing Town")
    far = Estate(
        town=town, name_zh="远方小区", name_en="Far Estate", address_zh="朱泾", address_en="Zhujing"
    )
    session.add_all([other, town, far])
    session.commit()
    admin = make_user("administrator", scope=mine)
    login(english(client), admin.username)
    listed = client.get("/admin/estates").get_data(as_text=True)
    assert "Xincheng Garden" in listed and "Far Estate" not in listed
    assert client.get(f"/admin/estates/{far.id}").status_code == 403
    assert client.get(f"/admin/estates/{places['estates'][0].id}").status_code == 200
    assert client.get("/admin/districts/new").status_code == 403
    # A town of another district cannot be chosen for a new estate.
    html = submit(
        client,
        "/admin/estates/new",
        {
            "town_id": town.id,
            "name_zh": "越界小区",
            "name_en": "Trespass",
            "address_zh": "朱泾",
            "address_en": "Zhujing",
        },
    ).get_data(as_text=True)
    assert 'href="#town_id"' in html
    assert session.scalar(select(Estate).filter_by(name_zh="越界小区")) is None
