"""Open data (issue 15): the monthly tables count right on seeded data, small counts are
suppressed (and cannot be recovered by subtraction), no personal data leaves, the catalogue is
DCAT, and the files are cached by HTTP. The clock is frozen on 1 December 2026, so November is
the last finished month."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pytest

from app import clock
from bookings.models import Booking, BookingStatus
from opendata.services.suppression import suppress_parts
from parking.models import GateDirection
from repairs.models import Category, State, Ticket

NOVEMBER = "2026-11"
PHONE = "13800138000"


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=clock.LOCAL_TZ)


def _bookings(session, space, holder, day, statuses, quantity=2):
    start = _at(day, 10)
    for status in statuses:
        n = session.info.setdefault("n", 0) + 1
        session.info["n"] = n
        session.add(
            Booking(
                resource_id=space.resource_id,
                holder_id=holder.id,
                starts_at=start,
                ends_at=start + timedelta(hours=1),
                quantity=quantity,
                status=status,
                reference=f"OD{n:06d}",
                door_code=f"{n:06d}",
            )
        )
    session.commit()


def _tickets(session, estate, company, reporter, category, minutes_list, *, unanswered=0):
    """Reports on 5 November answered after each of `minutes_list` minutes (respond_by at 30
    minutes), and `unanswered` more never answered."""
    submitted = _at(5, 9)
    for i, minutes in enumerate([*minutes_list, *[None] * unanswered]):
        session.add(
            Ticket(
                reference=f"R{category}{len(minutes_list)}{i:04d}"[:16],
                estate_id=estate.id,
                company_id=company.id,
                town_id=estate.town_id,
                reporter_id=reporter.id,
                category=category,
                description="漏水 " + PHONE,
                location="厨房",
                state=State.ACKNOWLEDGED if minutes is not None else State.SUBMITTED,
                submitted_at=submitted,
                respond_by=submitted + timedelta(minutes=30),
                responded_at=None if minutes is None else submitted + timedelta(minutes=minutes),
            )
        )
    session.commit()


@pytest.fixture
def seeded(session, make_venue, make_user, repair_company, places, car_park):
    from parking.services.gate import record_event
    from tests.conftest import parking_settings

    holder = make_user("resident", name="张三", phone=PHONE)
    venue = make_venue(capacity=50)
    hall = venue.spaces[0]
    # 10 Nov: 6 attended, 2 missed (8 bookings: the 2 hide the 6 too, or 8 - 6 would show it)
    _bookings(
        session, hall, holder, 10, [BookingStatus.CHECKED_IN] * 6 + [BookingStatus.NO_SHOW] * 2
    )
    # 11 Nov: 3 bookings: all hidden
    _bookings(session, hall, holder, 11, [BookingStatus.CONFIRMED] * 3)
    # 12 Nov: 7 attended, 5 missed, 1 cancelled: all shown but the cancellation
    _bookings(
        session,
        hall,
        holder,
        12,
        [BookingStatus.CHECKED_IN] * 7 + [BookingStatus.NO_SHOW] * 5 + [BookingStatus.CANCELLED],
    )
    # December: not in November's file
    _bookings(session, hall, holder, 10, [BookingStatus.CHECKED_IN] * 6)
    session.execute(
        Booking.__table__.update()
        .where(Booking.reference.in_([f"OD{n:06d}" for n in range(25, 31)]))
        .values(starts_at=_at(10, 10) + timedelta(days=30))
    )
    session.commit()

    estate_a, estate_b = places["estates"]
    # water at A: 12 reports, 10 answered (7 on time, 3 late), 2 not answered
    _tickets(
        session, estate_a, repair_company, holder, Category.WATER,
        [5, 10, 12, 15, 20, 25, 30, 40, 60, 90], unanswered=2,
    )  # fmt: skip
    # lift at B: 3 reports: all hidden, no median
    _tickets(session, estate_b, repair_company, holder, Category.LIFT, [10, 20, 30])

    park = car_park.default  # 100 spaces, 20 inside
    settings = parking_settings()
    for i in range(6):  # 6 in between 08:00 and 09:00 on 3 November
        record_event(
            session, park, f"沪A1000{i}", GateDirection.ENTRY, _at(3, 8, i), settings=settings
        )
    for i in range(2):  # 2 out between 18:00 and 19:00
        record_event(
            session, park, f"沪A1000{i}", GateDirection.EXIT, _at(3, 18, i), settings=settings
        )
    return {
        "venue": venue,
        "park": park,
        "estates": (estate_a, estate_b),
        "company": repair_company,
    }


def test_suppression_hides_small_counts_and_their_complements():
    assert suppress_parts(3, {"a": 2, "b": 1}) == (None, {"a": None, "b": None})
    assert suppress_parts(8, {"a": 6, "b": 2}) == (8, {"a": None, "b": None})
    assert suppress_parts(12, {"a": 7, "b": 5}) == (12, {"a": 7, "b": 5})
    assert suppress_parts(9, {"a": 9, "b": 0}) == (9, {"a": 9, "b": 0})
    # one hidden part takes the smallest other one with it, not the largest
    assert suppress_parts(20, {"a": 3, "b": 6, "c": 11}) == (20, {"a": None, "b": None, "c": 11})


def _csv(client, key, month=NOVEMBER):
    response = client.get(f"/open-data/{key}/{month}.csv")
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_venue_bookings_by_day(client, seeded):
    rows = {row["date"]: row for row in _csv(client, "venue-bookings")}
    assert set(rows) == {"2026-11-10", "2026-11-11", "2026-11-12"}  # December left out
    tenth, eleventh, twelfth = rows["2026-11-10"], rows["2026-11-11"], rows["2026-11-12"]
    assert (tenth["bookings"], tenth["places"], tenth["attended"], tenth["not_attended"]) == (
        "8", "16", "<5", "<5",
    )  # fmt: skip
    assert {eleventh[c] for c in ("bookings", "places", "attended", "not_attended")} == {"<5"}
    assert (twelfth["bookings"], twelfth["attended"], twelfth["not_attended"]) == ("12", "7", "5")
    assert twelfth["cancelled"] == "<5"
    assert twelfth["district_code"] == "310112" and twelfth["district_name"] == "闵行区"
    assert twelfth["district_name_en"] == "Minhang District"
    assert twelfth["venue_id"] == str(seeded["venue"].id)


def test_repair_tickets_with_response_times(client, seeded):
    estate_a, estate_b = seeded["estates"]
    rows = {row["estate_id"]: row for row in _csv(client, "repair-tickets")}
    water, lift = rows[str(estate_a.id)], rows[str(estate_b.id)]
    assert (water["category"], water["tickets"], water["responded_on_time"]) == ("water", "12", "7")
    # 3 late and 2 not answered: both hidden (and 7 stays: 12 - 7 = 5 reveals only their sum)
    assert (water["responded_late"], water["not_responded"]) == ("<5", "<5")
    assert water["median_response_minutes"] == "20.0"  # nearest rank of 10: the 5th
    assert water["p90_response_minutes"] == "60.0"  # the 9th of 10
    assert water["company_name"] == "测试物业" and water["month"] == NOVEMBER
    assert lift["tickets"] == "<5" and lift["median_response_minutes"] == ""


def test_carpark_occupancy_by_hour(client, seeded):
    rows = {(row["date"], row["hour"]): row for row in _csv(client, "carpark-occupancy")}
    morning, evening = rows[("2026-11-03", "8")], rows[("2026-11-03", "18")]
    assert (morning["entries"], morning["exits"], morning["peak_occupied"]) == ("6", "0", "26")
    assert morning["peak_occupancy_percent"] == "26.0"
    assert (evening["entries"], evening["exits"], evening["peak_occupied"]) == ("0", "<5", "25")
    assert morning["car_park_id"] == str(seeded["park"].id) and morning["total_spaces"] == "100"


def test_no_personal_data_in_any_file(client, seeded, session):
    from opendata.datasets import DATASETS

    for data in DATASETS:
        for ext in ("csv", "json"):
            text = client.get(f"/open-data/{data.key}/{NOVEMBER}.{ext}").get_data(as_text=True)
            for personal in ("张三", PHONE, "沪A1000", "OD0000", "漏水", "厨房"):
                assert personal not in text, (data.key, ext, personal)
        header = set(data.column_names)
        assert not header & {"plate", "phone", "name", "holder_id", "reference", "description"}


def test_json_download_has_nulls_for_suppressed_counts(client, seeded):
    response = client.get(f"/open-data/venue-bookings/{NOVEMBER}.json")
    document = response.get_json()
    assert document["dataset"] == "venue-bookings" and document["month"] == NOVEMBER
    eleventh = next(r for r in document["rows"] if r["date"] == "2026-11-11")
    assert eleventh["bookings"] is None and eleventh["places"] is None
    assert list(eleventh) == document["columns"]


def test_dcat_catalogue(client, seeded):
    response = client.get("/open-data/catalog.json")
    assert response.mimetype == "application/ld+json"
    catalogue = json.loads(response.get_data(as_text=True))
    assert catalogue["@type"] == "dcat:Catalog"
    assert catalogue["@context"]["dcat"] == "http://www.w3.org/ns/dcat#"
    assert {"dcterms:title", "dcterms:description", "dcterms:license"} <= set(catalogue)
    by_type = {}
    for item in catalogue["dcat:dataset"]:
        by_type.setdefault(item["@type"], []).append(item)
    series = {s["dcterms:identifier"]: s for s in by_type["dcat:DatasetSeries"]}
    assert set(series) == {"venue-bookings", "repair-tickets", "carpark-occupancy"}
    for item in series.values():
        assert item["dcterms:accrualPeriodicity"]["@id"].endswith("/frequency/MONTHLY")
    november = {d["dcterms:identifier"]: d for d in by_type["dcat:Dataset"]}
    member = november[f"repair-tickets/{NOVEMBER}"]  # only finished months are listed
    assert set(november) == {f"{key}/{NOVEMBER}" for key in series}
    assert member["dcat:inSeries"]["@id"] == series["repair-tickets"]["@id"]
    assert member["dcterms:temporal"]["dcat:startDate"]["@value"] == "2026-11-01"
    assert member["dcterms:temporal"]["dcat:endDate"]["@value"] == "2026-11-30"
    media = {}
    for distribution in member["dcat:distribution"]:
        assert distribution["@type"] == "dcat:Distribution"
        media[distribution["dcat:mediaType"]["@id"].rsplit("/", 2)[-2:][1]] = distribution
    assert set(media) == {"csv", "json"}
    url = media["csv"]["dcat:downloadURL"]["@id"]
    assert url.endswith(f"/open-data/repair-tickets/{NOVEMBER}.csv")
    assert client.get(url.split("localhost", 1)[-1]).status_code == 200


def test_page_lists_the_datasets_in_both_languages(client, seeded):
    page = client.get("/open-data").get_data(as_text=True)
    assert f"/open-data/venue-bookings/{NOVEMBER}.csv" in page
    assert "median_response_minutes" in page and "CC BY 4.0" in page
    client.set_cookie("locale", "en")
    english = client.get("/open-data").get_data(as_text=True)
    assert "Car-park occupancy by hour" in english and "November 2026" in english


def test_http_caching_and_unknown_months(client, seeded):
    past = client.get(f"/open-data/venue-bookings/{NOVEMBER}.csv")
    assert past.headers["Cache-Control"] == "public, max-age=86400"
    again = client.get(
        f"/open-data/venue-bookings/{NOVEMBER}.csv", headers={"If-None-Match": past.headers["ETag"]}
    )
    assert again.status_code == 304
    current = client.get("/open-data/venue-bookings/2026-12.csv")
    assert current.headers["Cache-Control"] == "public, max-age=300"
    for bad in ("2027-01.csv", "2026-13.csv", "2026-11.xml", "november.csv"):
        assert client.get(f"/open-data/venue-bookings/{bad}").status_code == 404
    assert client.get(f"/open-data/nothing/{NOVEMBER}.csv").status_code == 404


def test_csv_cells_cannot_run_as_formulas(client, seeded, session):
    """Names come from staff and imports: a name a spreadsheet would run is quoted (as
    app.csvexport does for every CSV of the portal)."""
    seeded["venue"].name_zh = '=HYPERLINK("http://evil.example","x")'
    session.commit()
    rows = _csv(client, "venue-bookings")
    assert {row["venue_name"] for row in rows} == {"'" + '=HYPERLINK("http://evil.example","x")'}
