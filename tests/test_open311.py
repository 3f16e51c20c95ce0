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
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name", "service_code",
                  "description", "agency_responsible", "service_notice", "requested_datetime",
                  "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat",
                  "long", "media_url"}
ATTRIBUTE_FIELDS = {"variable", "code", "datatype", "required", "datatype_description", "order",
                    "description", "values"}


@pytest.fixture
def setup(session, places, repair_company, make_user, frozen):
    resident = make_user(home_estate_id=places["estates"][0].id, home_building="1", home_room="101")
    token = issue_token(session, resident)
    session.commit()
    ticket = tickets.report(session, resident, resident, category=Category.WATER, description="漏水")
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
    assert xml.tag == "service_definition" and xml.find("attributes/attribute/values/value/key") is not None


def test_requests_fields_statuses_and_filters(client, setup):
    listing = client.get("/open311/v2/requests.json").json
    [item] = listing
    assert set(item) == REQUEST_FIELDS
    assert item["service_request_id"] == setup["ticket"].reference and isinstance(item["service_request_id"], str)
    assert item["status"] == "open" and item["expected_datetime"].endswith("+08:00")
    assert item["expected_datetime"] == "2026-12-01T09:30:00+08:00"
    assert "101" not in item["address"]  # a home's room number is never published
    assert client.get("/open311/v2/requests.json?status=closed").json == []
    assert client.get("/open311/v2/requests.json?service_code=lift").json == []
    assert len(client.get("/open311/v2/requests.json?start_date=2026-12-01T00:00:00%2B08:00").json) == 1
    root = ET.fromstring(client.get(f"/open311/v2/requests/{item['service_request_id']}.xml").data)
    assert root.tag == "service_requests" and {el.tag for el in root[0]} == REQUEST_FIELDS
    token = client.get(f"/open311/v2/tokens/{item['service_request_id']}.json").json
    assert token == [{"service_request_id": item["service_request_id"], "token": item["service_request_id"]}]


@pytest.mark.parametrize("url, status", [
    ("/open311/v2/requests/NOPE.json", 404), ("/open311/v2/services/nope.json", 404),
    ("/open311/v2/requests.json?status=maybe", 400), ("/open311/v2/requests.json?start_date=yesterday", 400)])
def test_errors_follow_the_spec(client, setup, url, status):
    response = client.get(url)
    assert response.status_code == status
    [error] = response.json
    assert error["code"] == status and error["description"]
    xml = ET.fromstring(client.get(url.replace(".json", ".xml")).data)
    assert xml.tag == "errors" and xml.find("error/code").text == str(status)


def test_post_with_address_from_get_and_with_lat_long(client, session, setup):
    address = client.get("/open311/v2/requests.json").json[0]["address"]
    response = client.post("/open311/v2/requests.json", data={
        "api_key": setup["token"], "service_code": "lift", "address_string": address,
        "description": "电梯停在 3 楼不动", "attribute[public_area]": "true"})
    assert response.status_code == 201, response.json
    [created] = response.json
    ticket = tickets.get(session, created["service_request_id"])
    assert ticket.estate_id == setup["estates"][0].id and ticket.reporter_id == setup["resident"].id
    assert ticket.public_area
    other = setup["estates"][1]
    response = client.post("/open311/v2/requests.xml", data={
        "api_key": setup["token"], "service_code": "greening", "lat": str(other.latitude + 0.001),
        "long": str(other.longitude), "description": "树枝挡路"})
    root = ET.fromstring(response.data)
    assert response.status_code == 201 and root.find("request/service_request_id").text.startswith("BX")
    assert tickets.get(session, root.find("request/service_request_id").text).estate_id == other.id


@pytest.mark.parametrize("data, status", [
    ({"service_code": "lift", "description": "x", "address_string": "莘城苑"}, 403),
    ({"api_key": "wrong", "service_code": "lift", "description": "x", "address_string": "莘城苑"}, 403),
    ({"api_key": "TOKEN", "service_code": "rocket", "description": "x", "address_string": "莘城苑"}, 400),
    ({"api_key": "TOKEN", "service_code": "lift", "description": "x", "address_string": "火星"}, 400),
    ({"api_key": "TOKEN", "service_code": "lift", "description": "x"}, 400),
])
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
def test_an_independent_client_lists_services_and_reads_requests(server, session, setup, output_format):
    from georeport import GeoReport

    estate_name, token = setup["estates"][0].name_zh, setup["token"]
    session.commit()  # the test must not hold a transaction (SQLite's write lock) during real HTTP
    client = GeoReport(server, output_format=output_format)
    codes = {s["service_code"] for s in client.get_service_list()}
    assert codes == {c.value for c in Category}
    assert client.get_service_definition("water")["service_code"] == "water"
    # Filing: georeport has no POST call, so the request goes as the spec describes it.
    filed = requests.post(f"{server}/requests.json", data={
        "api_key": token, "service_code": "doors", "description": "门禁坏了",
        "address_string": estate_name}, timeout=10).json()[0]
    request = client.get_service_request(filed["service_request_id"])
    assert request["service_code"] == "doors" and request["status"] == "open"
    listed = client.get_service_requests(status="open")
    assert filed["service_request_id"] in {r["service_request_id"] for r in listed}


def test_a_report_about_a_home_is_published_without_the_residents_words(client, session, setup):
    resident = setup["resident"]
    home = tickets.report(session, resident, resident, category=Category.WATER, description="我家卫生间漏水，家里只有老人")
    public = tickets.report(session, resident, resident, category=Category.LIFT, description="电梯停在 3 楼不动",
                            public_area=True, area="5号楼电梯")
    listing = {r["service_request_id"]: r for r in client.get("/open311/v2/requests.json").json}
    assert listing[home.reference]["description"] == "" and "老人" not in str(listing)
    assert listing[public.reference]["description"] == "电梯停在 3 楼不动"
