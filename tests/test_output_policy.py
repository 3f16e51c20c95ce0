"""Issue 10, point 3: outputs publish only what they should.

One input policy for every text field (every field of every form, every string argument of the
JSON API; Open311's are in tests/test_open311.py), CSV cells that cannot run as formulas on every
CSV route, `private, no-store` on every private answer that is not a page, HSTS in production.
"""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from app.accounts.services import issue_token
from app.text import CONTROL, CONTROL_MESSAGE, LINE, mask_contacts, xml_text
from tests.conftest import login, slot_at, submit

CONTROL_VALUES = ["x\x1b[31m", "x\x00y", "\x0b", "a\rb", "\x85"]


# --- One input policy: every form ---------------------------------------------------------


def _form_cases():
    from tests.test_fuzz import all_form_classes, form_fields

    return [
        (name, field, cls)
        for name, cls in sorted(all_form_classes().items())
        for field, field_class in form_fields(cls).items()
        if "File" not in field_class.__name__
    ]


@pytest.mark.parametrize("value", CONTROL_VALUES)
def test_every_field_of_every_form_refuses_control_characters(app, value):
    """Whatever form and field, a control character (NUL included, which the request drops
    before anyone reads it) is refused on that field with the policy's message; a hidden
    field, which nobody types into, loses it."""
    from accessibility.forms import DatePartsField

    cases = _form_cases()
    assert len({name for name, _, _ in cases}) >= 30
    missed = []
    for name, field, cls in cases:
        is_date = issubclass(getattr(cls, field).field_class, DatePartsField)
        data = (
            {f"{field}-year": "2026" + value, f"{field}-month": "1", f"{field}-day": "1"}
            if is_date
            else {field: value}
        )
        with app.test_request_context("/", method="POST", data=data):
            form = cls(meta={"csrf": False})
            for other in form:  # choices a view fills in
                if getattr(other, "choices", ()) is None:
                    other.choices = [("1", "1")]
            form.validate()
            bound = getattr(form, field)
            if bound.type == "HiddenField":  # the page's own value: the characters are removed
                if bound.data is not None and not CONTROL.search(bound.data) and not bound.errors:
                    continue
            if str(CONTROL_MESSAGE) not in bound.errors:
                missed.append(f"{name}.{field}: {bound.errors} {bound.data!r}")
    assert missed == []


def test_tabs_and_line_breaks_pass_and_crlf_becomes_lf(app):
    from repairs.forms import ReportForm

    with app.test_request_context(
        "/", method="POST", data={"category": "water", "description": "第一行\r\n第二行\t完"}
    ):
        form = ReportForm(meta={"csrf": False})
        assert form.validate(), form.errors
        assert form.description.data == "第一行\n第二行\t完"


def test_a_text_field_without_its_own_limit_gets_the_policy_default(app):
    from app.accounts.forms import LoginForm

    with app.test_request_context(
        "/", method="POST", data={"login": "x" * (LINE + 1), "password": "p"}
    ):
        form = LoginForm(meta={"csrf": False})
        assert not form.validate()
        assert form.login.errors == ["最多 200 个字。"]


def test_a_form_page_shows_the_refusal_on_the_field(client, session):
    from app.accounts.models import User

    assert submit(client, "/register", {"phone": "13712345678"}).status_code == 302
    page = submit(
        client,
        "/register/details",
        {"code": "123456", "name": "张\x1b[31m三", "consent": "y"},
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'class="error-summary"' in html and 'href="#name"' in html
    assert str(CONTROL_MESSAGE) in html
    assert session.query(User).filter_by(phone="13712345678").count() == 0
    page = submit(
        client, "/register/details", {"code": "123456", "name": "张三\x00", "consent": "y"}
    )
    assert page.status_code == 200 and 'href="#name"' in page.get_data(as_text=True)


# --- One input policy: the JSON API -------------------------------------------------------


def _string_arguments(spec):
    """(method, path, location, name) of every string argument the API document declares."""
    found = []
    schemas = spec.get("components", {}).get("schemas", {})
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            for parameter in operation.get("parameters", []):
                if (
                    parameter.get("in") == "query"
                    and parameter.get("schema", {}).get("type") == "string"
                ):
                    found.append((method, path, "query", parameter["name"]))
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            schema = body.get("schema", {})
            if "$ref" in schema:
                schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
            for name, prop in schema.get("properties", {}).items():
                if prop.get("type") == "string":
                    found.append((method, path, "json", name))
    return found


@pytest.mark.parametrize("value", ["x\x1b[31m", "\x07", "y" * 2001])
def test_every_string_argument_of_the_api_is_held_to_the_policy(
    app, client, session, make_user, value
):
    resident = make_user()
    headers = {"Authorization": f"Bearer {issue_token(session, resident)}"}
    session.commit()
    arguments = _string_arguments(client.get("/api/v1/openapi.json").json)
    assert len(arguments) >= 5
    for method, path, location, name in arguments:
        url = re.sub(r"\{[^}]+\}", "1", path)  # path parameters: a 404 at worst
        url = url if url.startswith("/api/v1") else "/api/v1" + url
        if location == "query":
            response = client.open(
                url, method=method.upper(), headers=headers, query_string={name: value}
            )
        else:
            response = client.open(url, method=method.upper(), headers=headers, json={name: value})
        if response.status_code in (
            401,
            403,
            404,
        ):  # refused before the arguments (signature, token)
            continue
        assert response.status_code == 422, (method, path, name, response.status_code)
        assert response.json["error"]["fields"][location][name], (path, name)


def test_a_search_has_the_same_limit_on_the_page_and_in_the_api(client):
    from app.text import SEARCH

    for url in ("/api/v1/venues", "/api/v1/carparks"):
        assert client.get(url, query_string={"q": "馆" * SEARCH}).status_code == 200
        refused = client.get(url, query_string={"q": "馆" * (SEARCH + 1)})
        assert refused.status_code == 422 and refused.json["error"]["fields"]["query"]["q"]
    page = client.get("/venues", query_string={"q": "馆" * (SEARCH + 1)}).get_data(as_text=True)
    assert 'class="error-summary"' in page and 'href="#q"' in page


def test_a_nul_in_an_api_query_is_refused_not_dropped(client):
    refused = client.get("/api/v1/venues?q=%E5%8D%9A%00")
    assert refused.status_code == 422
    assert refused.json["error"]["fields"]["query"]["q"] == [str(CONTROL_MESSAGE)]


# --- Output helpers -------------------------------------------------------------------------


def test_xml_text_keeps_only_what_xml_can_hold():
    assert xml_text("a\x0bb\x00c\td\ne\ufffe") == "abc\td\ne"


@pytest.mark.parametrize(
    "text, masked",
    [
        ("电话13812345678", "电话138******78"),
        ("call 138 1234 5678", "call 138 **** **78"),
        ("+86 138-1234-5678 找我", "+86 1**-****-**78 找我"),
        ("物业 021-6412 3456", "物业 021-**** **56"),
        ("沪A12345 堵住消防通道", "沪A1**45 堵住消防通道"),
        ("新能源车 沪AD12345", "新能源车 沪AD***45"),
        ("京Ａ１２３４５", "京Ａ１**４５"),
        ("2026-12-01 起, 3号楼 1201室, 12345 热线", "2026-12-01 起, 3号楼 1201室, 12345 热线"),
    ],
)
def test_mask_contacts(text, masked):
    assert mask_contacts(text) == masked


# --- CSV: every CSV route neutralises formulas --------------------------------------------

FORMULA = '=HYPERLINK("http://evil.example","点这里")'


def _venue_bookings_csv(app, session, make_user, make_venue, **_):
    from venues import current_settings
    from venues.services.booking import book_general

    venue = make_venue()
    holder = make_user(name=FORMULA)
    book_general(
        session,
        holder,
        holder,
        slot_at(session, venue.spaces[0], 0, 10).id,
        1,
        settings=current_settings(),
    )
    staff = make_user("venue_staff", scope=venue)
    client = app.test_client()
    login(client, staff.username)
    return client, f"/staff/venues/{venue.id}/bookings.csv?date=2026-12-01"


def _rating_csv(app, session, make_user, places, repair_company, **_):
    from repairs.models import Category
    from repairs.services import tickets

    repair_company.name_zh = repair_company.name_en = FORMULA
    resident = make_user(home_estate_id=places["estates"][0].id)
    tickets.report(session, resident, resident, category=Category.WATER, description="漏水")
    district = make_user("district_supervisor")
    client = app.test_client()
    login(client, district.username)
    return client, "/repairs/rating.csv?month=2026-12"


def _import_results_csv(app, session, make_user, **_):
    """An import's answers quote an unknown column as the file wrote it."""
    admin = make_user("administrator")
    client = app.test_client()
    login(client, admin.username)
    quoted = '"' + FORMULA.replace('"', '""') + '"'
    data = f"district,name,{quoted}\n闵行区,新镇,x\n".encode()
    response = submit(
        client,
        "/admin/imports",
        {"kind": "towns", "file": (io.BytesIO(data), "towns.csv")},
        content_type="multipart/form-data",
    )
    return client, response.headers["Location"] + "/results.csv"


# Every CSV route of the URL map, with a way to put a formula into it.
CSV_ROUTES = {
    "/staff/venues/<int:venue_id>/bookings.csv": _venue_bookings_csv,
    "/repairs/rating.csv": _rating_csv,
    "/admin/imports/<token>/results.csv": _import_results_csv,
}


def test_every_csv_route_is_covered(app):
    routes = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.endswith(".csv")}
    assert routes == set(CSV_ROUTES), (
        "a CSV route must use app.csvexport.csv_response and be listed here"
    )


@pytest.mark.parametrize("route", sorted(CSV_ROUTES))
def test_csv_cells_cannot_run_as_formulas(
    app, session, make_user, make_venue, places, repair_company, frozen, route
):
    import csv

    client, url = CSV_ROUTES[route](
        app=app,
        session=session,
        make_user=make_user,
        make_venue=make_venue,
        places=places,
        repair_company=repair_company,
    )
    session.commit()
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "private, no-store"
    cells = [
        cell
        for row in csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")))
        for cell in row
    ]
    assert "'" + FORMULA in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]


@pytest.mark.parametrize(
    "value, cell",
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-cmd", "'-cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\r=x", "'\r=x"),
        ("正常", "正常"),
        (-5, "-5"),
        (None, ""),
        (1.5, "1.5"),
    ],
)
def test_neutralise(value, cell):
    from app.csvexport import neutralise

    assert neutralise(value) == cell


# --- Cache-Control and HSTS -----------------------------------------------------------------


def _photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "teal").save(buffer, "PNG")
    return buffer.getvalue()


def test_private_answers_are_never_stored(
    app, client, session, make_user, make_venue, places, repair_company, car_park, frozen, tmp_path
):
    from repairs.models import Category
    from repairs.services import tickets
    from venues import current_settings
    from venues.calendar import feed_token
    from venues.services.booking import book_general

    app.config["UPLOAD_DIR"] = str(tmp_path)
    venue, resident = make_venue(), make_user(home_estate_id=places["estates"][0].id)
    booking = book_general(
        session,
        resident,
        resident,
        slot_at(session, venue.spaces[0], 1, 10).id,
        1,
        settings=current_settings(),
    )
    ticket = tickets.report(
        session, resident, resident, category=Category.WATER, description="漏水", photos=[_photo()]
    )
    token, feed = issue_token(session, resident), feed_token(session, resident.id)
    car_park.default  # noqa: B018  (a car park for the public feed)
    session.commit()
    login(client, resident.phone)
    bearer = {"Authorization": f"Bearer {token}"}
    private = [
        client.get(f"/bookings/{booking.reference}.ics"),
        client.get(f"/bookings/{booking.reference}/qr.svg"),
        client.get(f"/calendar/{feed}.ics"),
        client.get(f"/repairs/photos/{ticket.photos[0].filename}"),
        client.get(f"/repairs/photos/{ticket.photos[0].thumb}"),
        client.get("/api/v1/bookings", headers=bearer),
        client.get(f"/api/v1/bookings/{booking.id}.ics", headers=bearer),
        client.get("/api/v1/bookings"),  # a refusal too
        client.get("/api/v1/venues"),
    ]
    for response in private:
        assert response.status_code in (200, 401), response.request.path
        assert response.headers["Cache-Control"] == "private, no-store", response.request.path
    # Public data stays cacheable where its view says so; pages stay no-store.
    assert client.get("/api/v1/parking/feed").headers["Cache-Control"] == "public, max-age=30"
    assert "private" not in client.get("/static/style.css").headers.get("Cache-Control", "")
    assert client.get("/").headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in client.get("/").headers  # not outside production


def test_every_api_answer_is_private_unless_registered_public(app, client):
    public = app.extensions["public_cache_endpoints"]
    assert public == {
        "static",
        "api_parking.feed",
        "venue_media.media",
        "pwa.manifest",  # the web app's manifest and service worker (push-pwa)
        "pwa.service_worker",
        # Open data (issue 15): published statistics, no personal data, counts under 5
        # suppressed; a day's caching for finished months, 5 minutes for the current one.
        "opendata.catalogue",
        "opendata.download",
    }
    for rule in app.url_map.iter_rules():
        if (
            rule.rule.startswith("/api/v1/")
            and "GET" in rule.methods
            and not rule.arguments
            and rule.endpoint not in public
        ):
            response = client.get(rule.rule)
            assert response.headers["Cache-Control"] == "private, no-store", rule.rule


def test_production_sends_hsts(database_url):
    from app import create_app
    from app.config import ProductionConfig

    class Production(ProductionConfig):
        SECRET_KEY = "p" * 40  # nosec B105 # test-only
        SQLALCHEMY_DATABASE_URI = database_url

    response = (
        create_app(Production)
        .test_client()
        .get("/open311/v2/discovery.json", base_url="https://localhost")
    )
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert response.headers["Cache-Control"] == "private, no-store"


def test_the_car_park_search_boxes_follow_the_input_policy(client, session, car_park):
    """The parking list read `q` and `near` without a form: no length limit, control
    characters passed through. Now the same policy as every field, answered with a message."""
    assert client.get("/parking?q=" + "莘" * 61).status_code == 400
    assert client.get("/parking?near=%1b%5b31m").status_code == 400
    assert client.get("/parking?q=" + "莘" * 60).status_code == 200
    assert client.get("/parking?near=七宝").status_code == 200
