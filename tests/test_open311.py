"""Open311 GeoReport v2 conformance: the spec's field lists in JSON and XML, its errors, filing
with an api_key, and an independent client library (georeport) reading it over real HTTP."""

import threading
import xml.etree.ElementTree as ET

import pytest
import requests
from werkzeug.serving import make_server

from app.accounts.services import issue_token
from repairs.models import Category
from repairs.services import tickets

# Field lists from http://wiki.open311.org/GeoReport_v2
SERVICE_FIELDS = {
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
}
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "district",  # an extension: the estate's district's code and name (issue 15)
    "zipcode",
    "lat",
    "long",
    "media_url",
}
ATTRIBUTE_FIELDS = {
    "variable",
    "code",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
    "values",
}


@pytest.fixture
def setup(session, places, repair_company, make_user, frozen):
    resident = make_user(home_estate_id=places["estates"][0].id, home_building="1", home_room="101")
    token = issue_token(session, resident)
    session.commit()
    ticket = tickets.report(
        session, resident, resident, category=Category.WATER, description="漏水"
    )
    return {"resident": resident, "token": token, "ticket": ticket, "estates": places["estates"]}


def test_services_and_definition_in_both_formats(client, setup):
    services = client.get("/open311/v2/services.json").json
    assert {s["service_code"] for s in services} == {c.value for c in Category}
    assert all(set(s) == SERVICE_FIELDS for s in services)
    root = ET.fromstring(client.get("/open311/v2/services.xml").data)
    assert root.tag == "services" and {el.tag for el in root[0]} == SERVICE_FIELDS
    definition = client.get("/open311/v2/services/lift.json").json
    assert definition["service_code"] == "lift"
    assert all(set(a) == ATTRIBUTE_FIELDS for a in definition["attributes"])
    xml = ET.fromstring(client.get("/open311/v2/services/lift.xml").data)
    assert (
        xml.tag == "service_definition"
        and xml.find("attributes/attribute/values/value/key") is not None
    )


def test_requests_fields_statuses_and_filters(client, setup):
    listing = client.get("/open311/v2/requests.json").json
    [item] = listing
    assert set(item) == REQUEST_FIELDS
    assert item["service_request_id"] == setup["ticket"].reference and isinstance(
        item["service_request_id"], str
    )
    assert item["status"] == "open" and item["expected_datetime"].endswith("+08:00")
    assert item["expected_datetime"] == "2026-12-01T09:30:00+08:00"
    assert "101" not in item["address"]  # a home's room number is never published
    assert client.get("/open311/v2/requests.json?status=closed").json == []
    assert client.get("/open311/v2/requests.json?service_code=lift").json == []
    assert (
        len(client.get("/open311/v2/requests.json?start_date=2026-12-01T00:00:00%2B08:00").json)
        == 1
    )
    root = ET.fromstring(client.get(f"/open311/v2/requests/{item['service_request_id']}.xml").data)
    assert root.tag == "service_requests" and {el.tag for el in root[0]} == REQUEST_FIELDS
    token = client.get(f"/open311/v2/tokens/{item['service_request_id']}.json").json
    assert token == [
        {"service_request_id": item["service_request_id"], "token": item["service_request_id"]}
    ]


@pytest.mark.parametrize(
    "url, status",
    [
        ("/open311/v2/requests/NOPE.json", 404),
        ("/open311/v2/services/nope.json", 404),
        ("/open311/v2/requests.json?status=maybe", 400),
        ("/open311/v2/requests.json?start_date=yesterday", 400),
    ],
)
def test_errors_follow_the_spec(client, setup, url, status):
    response = client.get(url)
    assert response.status_code == status
    [error] = response.json
    assert error["code"] == status and error["description"]
    xml = ET.fromstring(client.get(url.replace(".json", ".xml")).data)
    assert xml.tag == "errors" and xml.find("error/code").text == str(status)


def test_post_with_address_from_get_and_with_lat_long(client, session, setup):
    address = client.get("/open311/v2/requests.json").json[0]["address"]
    response = client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": setup["token"],
            "service_code": "lift",
            "address_string": address,
            "description": "电梯停在 3 楼不动",
            "attribute[public_area]": "true",
        },
    )
    assert response.status_code == 201, response.json
    [created] = response.json
    ticket = tickets.get(session, created["service_request_id"])
    assert ticket.estate_id == setup["estates"][0].id and ticket.reporter_id == setup["resident"].id
    assert ticket.public_area
    other = setup["estates"][1]
    response = client.post(
        "/open311/v2/requests.xml",
        data={
            "api_key": setup["token"],
            "service_code": "greening",
            "lat": str(other.latitude + 0.001),
            "long": str(other.longitude),
            "description": "树枝挡路",
        },
    )
    root = ET.fromstring(response.data)
    assert response.status_code == 201 and root.find("request/service_request_id").text.startswith(
        "BX"
    )
    assert tickets.get(session, root.find("request/service_request_id").text).estate_id == other.id


@pytest.mark.parametrize(
    "data, status",
    [
        ({"service_code": "lift", "description": "x", "address_string": "莘城苑"}, 403),
        (
            {
                "api_key": "wrong",
                "service_code": "lift",
                "description": "x",
                "address_string": "莘城苑",
            },
            403,
        ),
        (
            {
                "api_key": "TOKEN",
                "service_code": "rocket",
                "description": "x",
                "address_string": "莘城苑",
            },
            400,
        ),
        (
            {
                "api_key": "TOKEN",
                "service_code": "lift",
                "description": "x",
                "address_string": "火星",
            },
            400,
        ),
        ({"api_key": "TOKEN", "service_code": "lift", "description": "x"}, 400),
    ],
)
def test_post_refusals(client, setup, data, status):
    data = {k: (setup["token"] if v == "TOKEN" else v) for k, v in data.items()}
    response = client.post("/open311/v2/requests.json", data=data)
    assert response.status_code == status and response.json[0]["code"] == status


@pytest.fixture
def server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/open311/v2"
    server.shutdown()


@pytest.mark.parametrize("output_format", ["json", "xml"])
def test_an_independent_client_lists_services_and_reads_requests(
    server, session, setup, output_format
):
    from georeport import GeoReport

    estate_name, token = setup["estates"][0].name_zh, setup["token"]
    session.commit()  # the test must not hold a transaction (SQLite's write lock) during real HTTP
    client = GeoReport(server, output_format=output_format)
    codes = {s["service_code"] for s in client.get_service_list()}
    assert codes == {c.value for c in Category}
    assert client.get_service_definition("water")["service_code"] == "water"
    # Filing: georeport has no POST call, so the request goes as the spec describes it.
    filed = requests.post(
        f"{server}/requests.json",
        data={
            "api_key": token,
            "service_code": "doors",
            "description": "门禁坏了",
            "address_string": estate_name,
        },
        timeout=10,
    ).json()[0]
    request = client.get_service_request(filed["service_request_id"])
    assert request["service_code"] == "doors" and request["status"] == "open"
    listed = client.get_service_requests(status="open")
    assert filed["service_request_id"] in {r["service_request_id"] for r in listed}


def test_a_report_about_a_home_is_published_without_the_residents_words(client, session, setup):
    resident = setup["resident"]
    home = tickets.report(
        session,
        resident,
        resident,
        category=Category.WATER,
        description="我家卫生间漏水，家里只有老人",
    )
    public = tickets.report(
        session,
        resident,
        resident,
        category=Category.LIFT,
        description="电梯停在 3 楼不动",
        public_area=True,
        area="5号楼电梯",
    )
    listing = {r["service_request_id"]: r for r in client.get("/open311/v2/requests.json").json}
    assert listing[home.reference]["description"] == "" and "老人" not in str(listing)
    assert listing[public.reference]["description"] == "电梯停在 3 楼不动"


# --- Issue 10, point 3: Open311 publishes only what it should -----------------------------


@pytest.fixture
def manager(make_user, setup):
    return make_user("property_manager", scope=setup["estates"][0])


def _listing(client) -> dict:
    return {r["service_request_id"]: r for r in client.get("/open311/v2/requests.json").json}


def test_status_notes_never_carry_the_residents_words(client, session, setup, manager):
    """A resident's added information, reopening reason and rating comment once became the
    public, anonymous status_notes; now only the staff's notes do, and only on public-area
    reports (a home report publishes category, estate, status and dates only)."""
    resident = setup["resident"]

    def report(public):
        where = {"public_area": True, "area": "5号楼"} if public else {}
        return tickets.report(
            session, resident, resident, category=Category.LIFT, description="坏了", **where
        )

    words = {
        "info": "我家只有老人，电话13912345678",
        "reason": "还在漏，我儿子沪A12345的车堵着",
        "comment": "王师傅态度很差",
    }
    made = {}
    for public in (False, True):
        replied, reopened, rated = report(public), report(public), report(public)
        tickets.act(session, manager, replied, "reply", message="明天上午来修，请联系13812345678")
        tickets.add_info(session, resident, replied, words["info"])
        for ticket in (reopened, rated):
            tickets.act(session, manager, ticket, "resolve")
        tickets.reopen(session, resident, reopened, words["reason"])
        tickets.confirm_fixed(session, resident, rated)
        tickets.rate(session, resident, rated, 1, words["comment"])
        made[public] = (replied, reopened, rated)
    listing = _listing(client)
    xml = client.get("/open311/v2/requests.xml").get_data(as_text=True)
    for word in words.values():
        assert word not in str(listing) and word not in xml
    home_replied, home_reopened, home_rated = (listing[t.reference] for t in made[False])
    # the state's name (a reply acknowledges the report), not the reply about a home
    assert home_replied["status_notes"] == "已受理"
    assert "明天" not in str([listing[t.reference] for t in made[False]])
    assert home_reopened["status_notes"] == "已重新打开" and home_rated["status_notes"] == "已关闭"
    public_replied, public_reopened, public_rated = (listing[t.reference] for t in made[True])
    assert public_replied["status_notes"] == "明天上午来修，请联系138******78"
    assert (
        public_reopened["status_notes"] == "已重新打开" and public_rated["status_notes"] == "已关闭"
    )


def test_public_area_descriptions_are_published_with_contacts_masked(client, session, setup):
    resident = setup["resident"]
    ticket = tickets.report(
        session,
        resident,
        resident,
        category=Category.PUBLIC_AREA,
        public_area=True,
        description="沪A12345 停在消防通道，车主电话 138 1234 5678",
        area="3号楼沪B54321旁",
    )
    published = _listing(client)[ticket.reference]
    assert published["description"] == "沪A1**45 停在消防通道，车主电话 138 **** **78"
    assert published["address"].endswith("3号楼沪B5**21旁")


def test_xml_stays_well_formed_whatever_old_rows_hold(client, session, setup, manager):
    from sqlalchemy import update

    from repairs.models import Ticket, TicketEvent

    resident = setup["resident"]
    ticket = tickets.report(
        session,
        resident,
        resident,
        category=Category.LIFT,
        description="电梯",
        public_area=True,
        area="5号楼",
    )
    tickets.act(session, manager, ticket, "reply", message="好的")
    # Stored before the input policy existed (or by anything that bypasses it).
    session.execute(
        update(Ticket).where(Ticket.id == ticket.id).values(description="电梯\x0b坏了\x01")
    )
    session.execute(
        update(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.body == "好的")
        .values(body="好\x0b的")
    )
    session.commit()
    for url in ("/open311/v2/requests.xml", f"/open311/v2/requests/{ticket.reference}.xml"):
        root = ET.fromstring(client.get(url).data)  # raised "not well-formed" before
        item = [r for r in root if r.find("service_request_id").text == ticket.reference][0]
        assert (
            item.find("description").text == "电梯坏了" and item.find("status_notes").text == "好的"
        )


def _post(client, **kwargs):
    return client.post("/open311/v2/requests.json", **kwargs)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(lambda token: {"json": [{"api_key": token}]}, id="json-list"),
        pytest.param(lambda token: {"json": "text"}, id="json-string"),
        pytest.param(
            lambda token: {
                "json": {
                    "api_key": token,
                    "service_code": "lift",
                    "description": 5,
                    "address_string": "莘城苑",
                }
            },
            id="number-description",
        ),
        pytest.param(
            lambda token: {
                "json": {
                    "api_key": token,
                    "service_code": ["lift"],
                    "description": "坏了",
                    "address_string": "莘城苑",
                }
            },
            id="list-code",
        ),
        pytest.param(
            lambda token: {"json": {"api_key": {"k": token}, "service_code": "lift"}},
            id="object-key",
        ),
        pytest.param(
            lambda token: {
                "json": {
                    "api_key": token,
                    "service_code": "lift",
                    "description": "坏了",
                    "address_id": 2**63,
                }
            },
            id="address-id-number-2^63",
        ),
        pytest.param(
            lambda token: {
                "data": {
                    "api_key": token,
                    "service_code": "lift",
                    "description": "坏了",
                    "address_id": str(2**63),
                }
            },
            id="address-id-2^63",
        ),
        pytest.param(
            lambda token: {
                "data": {
                    "api_key": token,
                    "service_code": "lift",
                    "description": "坏了",
                    "address_id": "9" * 40,
                }
            },
            id="address-id-40-digits",
        ),
        pytest.param(
            lambda token: {
                "data": {
                    "api_key": token,
                    "service_code": "lift",
                    "description": "坏了",
                    "lat": "nan",
                    "long": "121.37",
                }
            },
            id="lat-nan",
        ),
        pytest.param(
            lambda token: {
                "data": {
                    "api_key": token,
                    "service_code": "lift",
                    "description": "坏\x1b[31m了",
                    "address_string": "莘城苑",
                }
            },
            id="control-character",
        ),
        pytest.param(
            lambda token: {
                "data": {
                    "api_key": token,
                    "service_code": "lift",
                    "description": "坏了\x00",
                    "address_string": "莘城苑",
                }
            },
            id="nul",
        ),
        pytest.param(
            lambda token: {
                "json": {
                    "api_key": token,
                    "service_code": "lift",
                    "description": "x" * 5_000_000,
                    "address_string": "莘城苑",
                }
            },
            id="5MB-json-description",
        ),
        pytest.param(
            lambda token: {
                "data": {
                    "api_key": token,
                    "service_code": "lift",
                    "description": "漏" * 1001,
                    "address_string": "莘城苑",
                }
            },
            id="over-the-form-limit",
        ),
        pytest.param(
            lambda token: {
                "data": {
                    "api_key": token,
                    "service_code": "lift",
                    "description": "漏",
                    "address_string": "莘城苑",
                    "attribute[public_area]": "true",
                    "attribute[preferred_time]": "晚" * 81,
                }
            },
            id="preferred-time-too-long",
        ),
    ],
)
def test_post_refuses_malformed_filings_with_a_clear_400(client, session, setup, body):
    """Each was a 500 (or, for the long ones, a report that bloated every page showing it)."""
    from repairs.models import Ticket

    before = session.query(Ticket).count()
    response = _post(client, **body(setup["token"]))
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    [error] = response.json
    assert error["code"] == 400 and error["description"]
    assert session.query(Ticket).count() == before


def test_post_takes_the_same_limits_as_the_form_and_numbers_in_json(client, session, setup):
    estate = setup["estates"][0]
    response = _post(
        client,
        json={
            "api_key": setup["token"],
            "service_code": "lift",
            "description": "漏" * 1000,
            "lat": estate.latitude,
            "long": estate.longitude,
            "attribute[public_area]": "true",
        },
    )
    assert response.status_code == 201, response.json
    ticket = tickets.get(session, response.json[0]["service_request_id"])
    assert len(ticket.description) == 1000 and ticket.location == "31.110000,121.370000"
    long = _post(
        client,
        data={
            "api_key": setup["token"],
            "service_code": "lift",
            "description": "漏" * 2_000_000,
            "address_string": "莘城苑",
        },
    )
    assert long.status_code == 400 and long.json[0]["description"].startswith("description")
    huge = _post(
        client,
        data={
            "api_key": setup["token"],
            "service_code": "lift",
            "description": "x" * 21_000_000,
            "address_string": "莘城苑",
        },
    )
    assert huge.status_code == 413 and huge.json[0]["code"] == 413  # the spec's format, not a page


def test_post_is_rate_limited_per_account_and_per_address(app, client, session, setup, make_user):
    app.config.update(
        OPEN311_POSTS_PER_ACCOUNT="2 per hour", OPEN311_POSTS_PER_ADDRESS="3 per hour"
    )
    other, third = issue_token(session, make_user()), issue_token(session, make_user())
    session.commit()

    # Different words each time: the same words again would be answered by the first request.
    words = iter(["电梯坏了", "门禁坏了", "路灯不亮", "水管漏水", "井盖松动", "绿化带倒树"])

    def file(token, address="127.0.0.1"):
        return _post(
            client,
            data={
                "api_key": token,
                "service_code": "lift",
                "description": next(words),
                "address_string": "莘城苑",
                "attribute[public_area]": "true",
            },
            environ_base={"REMOTE_ADDR": address},
        )

    assert [file(setup["token"]).status_code for _ in range(2)] == [201, 201]
    refused = file(setup["token"], "10.0.0.9")  # the account's limit, from anywhere
    assert refused.status_code == 429 and refused.json[0]["code"] == 429
    assert file(other).status_code == 201  # another account: the address's third
    assert file(other).status_code == 429  # the address's limit
    assert file(third, "10.0.0.9").status_code == 201  # another account, another address


def test_who_files_and_where_are_the_services_rules(session, setup):
    """Open311's own rules live in repairs/services/open311.py, which the API calls: the
    api_key's owner files while active, a point is the nearest estate (app.geo's distance), an
    address is matched ignoring spaces and case, and a filing outside the reporter's home
    estate is about a public area."""
    from repairs.services import open311

    home, other = setup["estates"]
    resident = setup["resident"]
    assert open311.nearest_estate(session, 31.12, 121.37) == home  # 1.1 km from it
    assert open311.nearest_estate(session, 31.14, 121.36) == other
    assert open311.estate_named(session, "lane 200 , QIXIN road") == other
    assert open311.api_key_owner(session, setup["token"]) == resident
    assert open311.may_file(resident)
    assert open311.api_key_owner(session, "not-a-token") is None and not open311.may_file(None)
    resident.active = False
    assert not open311.may_file(resident)
    assert not open311.about_public_area(resident, home, said_public=False)
    assert open311.about_public_area(resident, home, said_public=True)
    assert open311.about_public_area(resident, other, said_public=False)
