"""快捷停车 foundations: car parks, their live figures, fee quotes, and the open data feed."""

import pytest

from parking.demo import seed_parking


@pytest.fixture
def parks(session, runner):
    from app.demo import seed_frame

    seed_frame(session)
    seed_parking(session)
    from parking.models import CarPark

    return {p.name_zh: p for p in session.query(CarPark)}


def english(client):
    client.set_cookie("locale", "en")
    return client


def test_list_sorted_by_free_spaces_and_filtered_by_town(client, parks):
    html = english(client).get("/parking").get_data(as_text=True)
    order = [
        name
        for name in (
            "Hongqiao Paradise Walk Car Park",
            "Zhongsheng World Mall Car Park",
            "Minhang Central Hospital Car Park",
        )
        if name in html
    ]
    assert order and html.index("Hongqiao Paradise Walk") < html.index("Minhang Central Hospital")
    qibao = parks["七宝古镇公共停车场"].town_id
    html = client.get(f"/parking?town={qibao}").get_data(as_text=True)
    assert "Qibao Old Town" in html and "Zhongsheng" not in html
    assert "<svg" in html and 'role="img"' in html


def test_car_park_page_says_the_tariff_in_words(client, parks):
    park = parks["七宝古镇公共停车场"]
    html = english(client).get(f"/parking/{park.id}").get_data(as_text=True)
    assert "59 of 260 spaces free" in html
    assert "first hour ¥10.00, then ¥5.00 per 30 minutes" in html and "¥60.00 per 24 hours" in html


def test_quote_page_computes_the_fee_and_refuses_bad_times(client, parks):
    park = parks["七宝古镇公共停车场"]
    base = (
        f"/parking/quote?car_park={park.id}&entry_day-year=2026&entry_day-month=12&entry_day-day=1"
        "&entry_time=09:00&exit_day-year=2026&exit_day-month=12&exit_day-day=1"
    )
    html = english(client).get(base + "&exit_time=11:30").get_data(as_text=True)
    assert "Fee: ¥25.00" in html and "150 minutes" in html
    html = client.get(base + "&exit_time=08:00").get_data(as_text=True)
    assert "<title>Error:" in html and "Leaving must be after arrival" in html
    html = client.get(base + "&exit_time=25:99").get_data(as_text=True)
    assert 'href="#exit_time"' in html and 'value="25:99"' in html


def test_quote_api_worked_example_and_errors(client, parks):
    park = parks["七宝古镇公共停车场"]
    body = client.get(
        f"/api/v1/parking/quote?carpark_id={park.id}&entry=2026-12-01T18:30:00%2B08:00"
        "&exit=2026-12-01T20:00:00%2B08:00"
    ).json
    assert (
        body["fee_fen"] == 1000 + 200 and body["minutes"] == 90
    )  # first hour by day, then a night period
    bad = client.get(
        f"/api/v1/parking/quote?carpark_id={park.id}&entry=2026-12-01T18:30:00%2B08:00"
        "&exit=2026-12-01T17:00:00%2B08:00"
    )
    assert bad.status_code == 422 and "exit" in str(bad.json["error"]["fields"])
    naive = client.get(
        f"/api/v1/parking/quote?carpark_id={park.id}&entry=2026-12-01T18:30:00&exit=2026-12-01T20:00:00"
    )
    assert naive.status_code == 422  # times must carry their time zone
    assert (
        client.get(
            "/api/v1/parking/quote?carpark_id=999&entry=2026-12-01T18:30:00%2B08:00"
            "&exit=2026-12-01T20:00:00%2B08:00"
        ).status_code
        == 404
    )


def test_open_data_feed(client, app, parks):
    response = client.get("/api/v1/parking/feed")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "public, max-age=30"
    feed = response.json
    assert len(feed) == len(parks)
    item = next(f for f in feed if f["name"] == "七宝古镇公共停车场")
    assert (item["total"], item["free"], item["reservable"], item["status"]) == (
        260,
        59,
        30,
        "open",
    )
    assert item["coordinate_system"] == "WGS-84" and item["updated_at"].endswith("+00:00")
    assert all("plate" not in key for f in feed for key in f)


def test_feed_is_rate_limited(client, app, parks):
    app.config["PARKING_FEED_RATE"] = "3 per minute"
    statuses = [client.get("/api/v1/parking/feed").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.get("/api/v1/parking/feed").json["error"]["code"] == "too_many_requests"


def test_openapi_documents_parking(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in (
        "/api/v1/carparks",
        "/api/v1/carparks/{car_park_id}",
        "/api/v1/parking/quote",
        "/api/v1/parking/feed",
    ):
        assert path in paths


def test_search_near_a_named_place_sorts_by_distance(client, parks):
    html = english(client).get("/parking?near=七宝古镇").get_data(as_text=True)
    assert "Nearest first to Qibao Old Town Public Car Park" in html
    listing = html[html.index("Nearest first") :]
    assert (
        listing.index("Qibao Old Town Public Car Park")
        < listing.index("Qibao Vanke Plaza")
        < listing.index("Pujiang Town Public")
    )
    assert "about 0.0 km away" in listing
    missing = client.get("/parking?near=火星基地").get_data(as_text=True)
    assert "No place called" in missing and "火星基地" in missing


def test_distance_is_great_circle():
    from app.geo import distance_km

    assert distance_km(31.0, 121.0, 31.0, 121.0) == 0
    assert 111.0 < distance_km(31.0, 121.0, 32.0, 121.0) < 111.4  # a degree of latitude


def test_search_near_a_venue_found_through_the_registry(client, parks, session):
    """Parking imports no venues code: venues register their model with
    app.registry.register_named_places, and "near" finds a venue by name through it."""
    from app.registry import named_places
    from venues.demo import add_venue
    from venues.models import Venue, VenueType

    assert Venue in named_places()
    venue = add_venue(
        session,
        name_zh="七宝测试博物馆",
        name_en="Test Museum",
        town=parks["七宝古镇公共停车场"].town,
        type=VenueType.MUSEUM,
        address_zh="测试路 1 号",
        address_en="1 Test Road",
    )
    venue.latitude, venue.longitude = 31.157, 121.350  # by Qibao Old Town
    session.commit()
    html = english(client).get("/parking?near=七宝测试博物馆").get_data(as_text=True)
    assert "Nearest first to Test Museum" in html
    listing = html[html.index("Nearest first") :]
    assert listing.index("Qibao Old Town Public Car Park") < listing.index("Pujiang Town Public")
