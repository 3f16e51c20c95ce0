"""The venue service as a person uses it: pages, forms, errors, staff, admin, helpers."""

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from app.accounts.models import HelperConsent
from bookings.models import Booking, BookingStatus
from tests.conftest import login, slot_at, submit
from venues.models import VenuePhoto


@pytest.fixture
def venue(make_venue):
    return make_venue(capacity=3)


def english(client):
    client.set_cookie("locale", "en")
    return client


def book_through_pages(client, slot_id, party="2"):
    response = submit(client, f"/venues/slots/{slot_id}/book", {"party_size": party})
    assert response.status_code == 302
    check_url = response.headers["Location"]
    html = client.get(check_url).get_data(as_text=True)
    action = (
        re.search(r'<form method="post" action="(/venues/slots/[^"]+)"', html)
        .group(1)
        .replace("&amp;", "&")
    )
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', html).group(1)
    return submit(client, action, {"idempotency_key": key}, form_url=check_url)


def test_search_filters(client, session, make_venue, places):
    make_venue(name="莘庄博物馆")
    make_venue(name="七宝博物馆", town=places["towns"][1])
    html = client.get(f"/venues?town={places['towns'][1].id}").get_data(as_text=True)
    assert "七宝博物馆" in html and "莘庄博物馆" not in html
    html = client.get("/venues?q=莘庄").get_data(as_text=True)
    assert "莘庄博物馆" in html and "七宝博物馆" not in html
    assert "七宝博物馆" not in client.get("/venues?type=library").get_data(as_text=True)
    html = client.get("/venues?places=99").get_data(as_text=True)  # nobody has 99 free in a slot
    assert "莘庄博物馆" not in html
    html = client.get("/venues?places=abc").get_data(as_text=True)
    assert "<title>错误：" in html and 'href="#places"' in html


def test_venue_page_shows_fourteen_days_as_a_table(client, venue):
    html = english(client).get(f"/venues/{venue.id}").get_data(as_text=True)
    assert "Availability of" in html and html.count('<th scope="row">') >= 28 + 7
    assert "Step-free access" in html


def test_general_booking_end_to_end(client, session, venue, make_user):
    user = make_user()
    login(english(client), user.phone)
    slot = slot_at(session, venue.spaces[0], 1, 10)
    response = book_through_pages(client, slot.id)
    assert response.status_code == 302
    booking = session.scalar(select(Booking).where(Booking.holder_id == user.id))
    assert (
        booking.quantity == 2
        and response.headers["Location"] == f"/bookings/{booking.reference}?new=1"
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Booking confirmed" in page and booking.reference in page
    assert f"{booking.door_code[:4]} {booking.door_code[4:]}" in page and "<svg" in page
    session.refresh(slot)
    assert slot.taken == 2
    assert booking.reference in client.get("/bookings").get_data(as_text=True)
    ics = client.get(f"/bookings/{booking.reference}.ics")
    assert (
        ics.mimetype == "text/calendar"
        and b"BEGIN:VEVENT" in ics.data
        and booking.reference.encode() in ics.data
    )
    assert client.get(f"/bookings/{booking.reference}/qr.svg").mimetype == "image/svg+xml"


def test_double_submitted_confirm_makes_one_booking(client, session, venue, make_user):
    user = make_user()
    login(client, user.phone)
    slot = slot_at(session, venue.spaces[0], 1, 10)
    check_url = f"/venues/slots/{slot.id}/check?party_size=1"
    html = client.get(check_url).get_data(as_text=True)
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', html).group(1)
    for _ in range(2):
        assert (
            submit(
                client,
                f"/venues/slots/{slot.id}/confirm?party_size=1",
                {"idempotency_key": key},
                form_url=check_url,
            ).status_code
            == 302
        )
    assert len(session.scalars(select(Booking).where(Booking.holder_id == user.id)).all()) == 1


def test_sold_out_page_offers_the_waitlist_and_keeps_answers(client, session, venue, make_user):
    slot = slot_at(session, venue.spaces[0], 1, 10)
    first, second = make_user(), make_user()
    login(client, first.phone)
    book_through_pages(client, slot.id, party="3")
    other = client.application.test_client()
    login(english(other), second.phone)
    response = book_through_pages(other, slot.id, party="2")
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and "Error:" in html and "not enough places" in html
    assert "Join the waitlist" in html and "<dd>2" in html
    assert (
        submit(
            other, f"/venues/slots/{slot.id}/waitlist", {"party_size": "2"}, form_url="/bookings"
        ).status_code
        == 302
    )
    assert "Number 1 in line" in other.get("/bookings").get_data(as_text=True)


def test_cancel_flow_and_other_people_cannot_see_a_booking(client, session, venue, make_user):
    owner, stranger = make_user(), make_user()
    login(client, owner.phone)
    book_through_pages(client, slot_at(session, venue.spaces[0], 1, 10).id)
    booking = session.scalar(select(Booking))
    other = client.application.test_client()
    login(other, stranger.phone)
    for url in (
        f"/bookings/{booking.reference}",
        f"/bookings/{booking.reference}.ics",
        f"/bookings/{booking.reference}/cancel",
    ):
        assert other.get(url).status_code == 404
    assert submit(client, f"/bookings/{booking.reference}/cancel", {}).status_code == 302
    session.refresh(booking)
    assert booking.status == BookingStatus.CANCELLED


def test_personalised_booking_pages(client, session, make_venue, make_user):
    venue = make_venue(approval=True)
    user = make_user()
    login(english(client), user.phone)
    court = venue.spaces[1]
    day = "2026-12-02"
    start = slot_at(session, court, 1, 14).starts_at.isoformat()
    response = submit(
        client, f"/venues/{venue.id}/spaces/{court.id}/{day}/book", {"start": start, "steps": "2"}
    )
    check_url = response.headers["Location"]
    html = client.get(check_url).get_data(as_text=True)
    assert "120 minutes" in html and "Staff approve" in html
    action = (
        re.search(r'<form method="post" action="(/venues/spaces/[^"]+)"', html)
        .group(1)
        .replace("&amp;", "&")
    )
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', html).group(1)
    response = submit(client, action, {"idempotency_key": key}, form_url=check_url)
    booking = session.scalar(select(Booking).where(Booking.holder_id == user.id))
    assert booking.status == BookingStatus.PENDING
    assert "Booking received" in client.get(response.headers["Location"]).get_data(as_text=True)
    # Staff approve it from the day's list.
    staff = make_user("venue_staff", scope=venue)
    staff_client = client.application.test_client()
    login(staff_client, staff.username)
    day_url = f"/staff/venues/{venue.id}/bookings?date={day}"
    assert booking.reference in staff_client.get(day_url).get_data(as_text=True)
    submit(
        staff_client,
        f"/staff/venues/{venue.id}/bookings/{booking.reference}/decide",
        {"decision": "approve", "reason": ""},
        form_url=day_url,
    )
    session.refresh(booking)
    assert booking.status == BookingStatus.CONFIRMED


def test_door_page_checks_in_and_other_venues_staff_are_refused(
    client, session, make_venue, make_user, frozen
):
    venue, other_venue = make_venue(), make_venue(name="别的馆")
    user = make_user()
    staff, other_staff = (
        make_user("venue_staff", scope=venue),
        make_user("venue_staff", scope=other_venue),
    )
    from venues import current_settings
    from venues.services.booking import book_general

    booking = book_general(
        session,
        user,
        user,
        slot_at(session, venue.spaces[0], 0, 10).id,
        1,
        settings=current_settings(),
    )
    login(english(client), staff.username)
    html = submit(client, f"/staff/venues/{venue.id}/door", {"code": booking.door_code}).get_data(
        as_text=True
    )
    assert "Valid: checked in" in html
    html = submit(client, f"/staff/venues/{venue.id}/door", {"code": booking.door_code}).get_data(
        as_text=True
    )
    assert "Already used" in html
    other = client.application.test_client()
    login(other, other_staff.username)
    assert other.get(f"/staff/venues/{venue.id}/door").status_code == 403
    resident = client.application.test_client()
    login(resident, user.phone)
    assert resident.get(f"/staff/venues/{venue.id}/bookings").status_code == 403
    csv_text = client.get(f"/staff/venues/{venue.id}/bookings.csv?date=2026-12-01").get_data(
        as_text=True
    )
    assert (
        booking.reference in csv_text
        and user.phone not in csv_text
        and user.phone[:3] + "****" in csv_text
    )


def test_crowd_overview_for_district_supervisors(client, venue, make_user):
    login(english(client), make_user("district_supervisor").username)
    html = client.get("/staff/venues/crowd").get_data(as_text=True)
    assert (
        "Crowd levels in the district" in html and "Test Museum" in html
    )  # names follow the language
    assert "0 of 24 (0%)" in html  # today's places: 09:00-17:00, 3 per slot


def test_helper_acts_for_a_consenting_resident(client, session, venue, make_user):
    resident, helper = make_user(), make_user("community_helper")
    resident_client = client.application.test_client()
    login(resident_client, resident.phone)
    submit(resident_client, "/bookings/helpers", {"helper": helper.username, "services": "venues"})
    assert session.scalar(select(HelperConsent).where(HelperConsent.helper_id == helper.id))
    login(english(client), helper.username)
    submit(client, "/bookings/helping", {"resident_id": str(resident.id)})
    acting = f'You are acting for <span lang="zh-CN">{resident.name}</span>'  # a Chinese name
    assert acting in client.get("/venues").get_data(as_text=True)
    book_through_pages(client, slot_at(session, venue.spaces[0], 1, 10).id, party="1")
    booking = session.scalar(select(Booking))
    assert (booking.holder_id, booking.booked_by_id) == (resident.id, helper.id)
    page = resident_client.get(f"/bookings/{booking.reference}").get_data(as_text=True)
    assert helper.name in page  # the resident sees who booked for them
    helped = resident_client.get("/bookings/helpers").get_data(as_text=True)
    assert booking.reference in helped and "booking.create" not in helped  # words, not codes


def test_admin_creates_venue_space_hours_and_photo(
    client, session, make_user, places, frozen, tmp_path, app
):
    app.config["UPLOAD_DIR"] = str(tmp_path)
    admin = make_user("venue_admin")
    login(english(client), admin.username)
    response = submit(
        client,
        "/staff/venues/admin/new",
        {
            "name_zh": "新图书馆",
            "name_en": "New Library",
            "type": "library",
            "town_id": str(places["towns"][0].id),
            "address_zh": "新路 1 号",
            "address_en": "1 New Road",
            "opens_days_ahead": "7",
            "opens_at": "08:00",
            "max_per_day": "2",
            "max_per_week": "5",
            "cancel_cutoff_minutes": "60",
            "checkin_grace_minutes": "15",
            "crowd_warning_percent": "80",
            "waitlist_offer_minutes": "30",
            "active": "y",
            "step_free": "y",
        },
        form_url="/staff/venues/admin/new",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    venue_id = int(response.headers["Location"].split("/")[3])
    submit(
        client,
        f"/staff/venues/{venue_id}/spaces/new",
        {
            "name_zh": "自习室",
            "name_en": "Study room",
            "mode": "general",
            "capacity": "30",
            "slot_minutes": "120",
            "max_party_size": "2",
            "max_steps": "1",
            "active": "y",
        },
    )
    hours = {f"opens_{d}": "09:00" for d in range(5)} | {f"closes_{d}": "17:00" for d in range(5)}
    submit(client, f"/staff/venues/{venue_id}/hours", hours)
    page = client.get(f"/venues/{venue_id}").get_data(as_text=True)
    assert "Study room" in page and "30 places per slot" in page.replace(",", "")
    # Bad hours are refused with the field named
    html = submit(
        client, f"/staff/venues/{venue_id}/hours", {"opens_0": "9am", "closes_0": "17:00"}
    ).get_data(as_text=True)
    assert 'href="#opens_0"' in html
    # Photo: content-checked, metadata stripped
    image = Image.new("RGB", (50, 40), "red")
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    buf = io.BytesIO()
    image.save(buf, "JPEG", exif=exif)
    response = client.post(
        f"/staff/venues/{venue_id}/photos",
        data={
            "csrf_token": re.search(
                r'name="csrf_token"[^>]*value="([^"]+)"',
                client.get(f"/staff/venues/{venue_id}/photos").get_data(as_text=True),
            ).group(1),
            "alt_zh": "阅览室全景",
            "alt_en": "The reading room",
            "photo": (io.BytesIO(buf.getvalue()), "p.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    photo = session.scalar(select(VenuePhoto))
    stored = (tmp_path / "venues" / photo.filename).read_bytes()
    assert b"SecretCam" not in stored and Image.open(io.BytesIO(stored)).format == "JPEG"
    html = client.post(
        f"/staff/venues/{venue_id}/photos",
        data={
            "csrf_token": re.search(
                r'name="csrf_token"[^>]*value="([^"]+)"',
                client.get(f"/staff/venues/{venue_id}/photos").get_data(as_text=True),
            ).group(1),
            "alt_zh": "假的",
            "alt_en": "Fake",
            "photo": (io.BytesIO(b"<?php echo 1; ?>"), "x.jpg"),
        },
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "must be a JPEG, PNG, WebP or HEIC" in html


def test_staff_cannot_administer_and_residents_cannot_staff(client, venue, make_user):
    login(client, make_user("venue_staff", scope=venue).username)
    assert client.get(f"/staff/venues/{venue.id}/edit").status_code == 403
    assert client.get("/staff/venues/admin/new").status_code == 403
    scoped_admin = client.application.test_client()
    login(scoped_admin, make_user("venue_admin", scope=venue).username)
    assert scoped_admin.get(f"/staff/venues/{venue.id}/edit").status_code == 200
    assert scoped_admin.get("/staff/venues/admin/new").status_code == 403


def test_calendar_feed_with_secret_token(client, session, venue, make_user):
    user = make_user()
    login(client, user.phone)
    book_through_pages(client, slot_at(session, venue.spaces[0], 1, 10).id)
    html = client.get("/bookings/calendar").get_data(as_text=True)
    url = re.search(r'value="(http://[^"]+\.ics)"', html).group(1)
    path = url.split("localhost", 1)[-1]
    anonymous = client.application.test_client()
    feed = anonymous.get(path)
    assert feed.status_code == 200 and feed.data.count(b"BEGIN:VEVENT") == 1
    submit(client, "/bookings/calendar", {})
    assert anonymous.get(path).status_code == 404  # the old address stops working


def test_closure_form_through_the_page(client, session, venue, make_user):
    from bookings.models import BookingStatus
    from venues import current_settings
    from venues.services.booking import book_general

    user = make_user()
    booking = book_general(
        session,
        user,
        user,
        slot_at(session, venue.spaces[0], 2, 10).id,
        1,
        settings=current_settings(),
    )
    login(english(client), make_user("venue_admin").username)
    url = f"/staff/venues/{venue.id}/closures"
    html = submit(client, url, {"starts_on-year": "2026", "reason": "检修"}).get_data(as_text=True)
    assert "Error:" in html and 'href="#starts_on"' in html
    response = submit(
        client,
        url,
        {
            "starts_on-year": "2026",
            "starts_on-month": "12",
            "starts_on-day": "3",
            "ends_on-year": "2026",
            "ends_on-month": "12",
            "ends_on-day": "3",
            "reason": "检修",
        },
    )
    assert response.status_code == 302
    session.refresh(booking)
    assert booking.status == BookingStatus.CANCELLED and booking.status_reason == "检修"


# --- What the pages read, and how many statements it takes (issue 11, part 3) ---------------


@pytest.fixture
def statements(app):
    """Every SELECT sent while the test runs (each request's too)."""
    from sqlalchemy import event

    from app.extensions import db

    sent = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    yield sent
    event.remove(db.engine, "before_cursor_execute", count)


@pytest.mark.now("2026-12-01T12:30:00+08:00")  # a Tuesday: the 12:00 slot has started
def test_the_fortnight_counts_slots_to_come_and_free_places_and_closed_days(session, venue, frozen):
    from datetime import date, timedelta

    from venues.models import Closure, OpeningHours
    from venues.services.catalogue import venue_page

    slot_at(session, venue.spaces[0], 1, 10).taken = 2
    session.add(Closure(venue=venue, starts_on=date(2026, 12, 4), ends_on=date(2026, 12, 5),
                        reason="检修"))  # fmt: skip
    sunday = session.scalar(
        select(OpeningHours).where(OpeningHours.venue_id == venue.id, OpeningHours.weekday == 6)
    )
    session.delete(sunday)
    session.commit()
    page = venue_page(session, venue.id)
    (hall, days), (court, court_days) = page.spaces
    assert hall.id == venue.spaces[0].id and court.id == venue.spaces[1].id
    assert [d.day for d in days] == [date(2026, 12, 1) + timedelta(days=i) for i in range(14)]
    today, tomorrow = days[0], days[1]
    assert (today.slots, today.free_places) == (4, 4 * 3)  # 13:00 to 16:00 are still to come
    assert (tomorrow.slots, tomorrow.free_places) == (8, 8 * 3 - 2)
    closed = [d.day for d in days if d.closed]
    assert closed == [date(2026, 12, 4), date(2026, 12, 5), date(2026, 12, 6), date(2026, 12, 13)]
    assert [d.slots for d in court_days[1:3]] == [8, 8] and court_days[1].free_places == 8
    assert [(c.starts_on, c.reason) for c in page.closures] == [(date(2026, 12, 4), "检修")]
    assert sorted(page.hours) == [0, 1, 2, 3, 4, 5] and page.hours[0].opens == 9 * 60


def test_the_venue_page_reads_as_much_whatever_its_spaces(client, session, venue, statements):
    from bookings.services import create_resource
    from venues.models import BookingMode, Space
    from venues.services.catalogue import materialise

    path = f"/venues/{venue.id}"
    client.get(path)
    before = len(statements)
    assert client.get(path).status_code == 200
    two_spaces = len(statements) - before
    resource = create_resource(session, "venue", "studio")
    venue.spaces.append(Space(resource_id=resource.id, name_zh="舞蹈室", name_en="Studio",
                              mode=BookingMode.GENERAL, capacity=9, slot_minutes=60))  # fmt: skip
    session.commit()
    materialise(session, venue)
    before = len(statements)
    html = client.get(path).get_data(as_text=True)
    # The venue with its spaces, their fortnight, their next free times (no closure, no photo).
    assert "舞蹈室" in html and len(statements) - before == two_spaces <= 3


def test_the_search_page_reads_as_much_whatever_the_number_of_venues(
    client, make_venue, places, statements
):
    make_venue(name="莘庄博物馆")
    client.get("/venues")
    before = len(statements)
    client.get("/venues")
    one = len(statements) - before
    for i, town in enumerate(places["towns"]):
        make_venue(name=f"博物馆{i}", town=town)
    before = len(statements)
    html = client.get("/venues").get_data(as_text=True)
    assert html.count('class="venue-item"') == 1 + len(places["towns"])
    assert len(statements) - before == one <= 3  # towns, venues with theirs, free places


def test_the_signed_in_user_comes_with_their_roles_in_one_statement(
    app, session, make_user, statements
):
    from app.accounts.models import Role, signed_in_user

    staff_id = make_user("venue_admin").id
    session.expunge_all()
    before = len(statements)
    user = signed_in_user(session, staff_id)
    assert user.has_role(Role.VENUE_ADMIN) and len(statements) - before == 1
    assert signed_in_user(session, 10**6) is None


def test_the_search_form_shows_each_query_the_towns_as_they_are_and_the_language(
    client, session, places
):
    """The form is rendered once per query, language and list of towns
    (app.templating.render_fragment): each of them still shows as it is."""
    assert 'value="莘庄"' in client.get("/venues?q=莘庄").get_data(as_text=True)
    html = client.get("/venues?q=七宝").get_data(as_text=True)
    assert 'value="七宝"' in html and 'value="莘庄"' not in html
    places["towns"][0].name_zh = "新名镇"
    session.commit()
    assert "新名镇" in client.get("/venues?q=七宝").get_data(as_text=True)
    html = english(client).get("/venues?q=七宝").get_data(as_text=True)
    assert "Name or address" in html and 'value="七宝"' in html


def test_the_venue_page_shows_each_change_at_once(client, session, venue):
    """What the venue page shows is rendered once per content (app.templating.render_fragment,
    content_key): a change to anything on it is a new content, shown at once."""
    from datetime import date

    from venues.models import Closure

    path = f"/venues/{venue.id}"
    hall = venue.spaces[0]
    assert "剩余 24 个名额" in client.get(path).get_data(as_text=True)  # tomorrow: 8 slots x 3
    slot_at(session, hall, 1, 10).taken = 2
    session.commit()
    assert "剩余 22 个名额" in client.get(path).get_data(as_text=True)
    hall.name_zh, venue.phone = "新展厅", "021-12345678"
    session.add(Closure(venue=venue, starts_on=date(2026, 12, 3), ends_on=date(2026, 12, 3),
                        reason="布展"))  # fmt: skip
    session.commit()
    html = client.get(path).get_data(as_text=True)
    assert "新展厅" in html and "021-12345678" in html and "布展" in html


def _results(html: str) -> list[str]:
    return re.findall(r'<h2><a href="/venues/\d+">([^<]+)</a></h2>', html)


def test_search_results_come_before_the_folded_filters_and_days_are_one_tap(
    client, make_venue, frozen
):
    make_venue(name="莘庄博物馆")
    html = client.get("/venues").get_data(as_text=True)
    # The filters fold behind one button (<details>), closed until there is an error.
    assert '<details class="filters">' in html
    assert html.index('class="day-links"') < html.index('id="results"')
    day_links = html.split('class="day-links"', 1)[1].split("</ul>", 1)[0]
    days = re.findall(r'<a class="button [^"]*" href="([^"]+)"[^>]*>([^<]+)<', day_links)
    assert [words for _url, words in days[:3]] == ["今天", "明天", "后天"]
    tomorrow = client.get(days[1][0].replace("&amp;", "&").split("#")[0])
    html = tomorrow.get_data(as_text=True)
    assert 'aria-current="true">明天' in html and _results(html) == ["莘庄博物馆"]
    # The date field shows the day chosen (standard mode).
    assert re.search(r'name="day-day" type="text" inputmode="numeric" value="2"', html)
    client.set_cookie("display_mode", "elderly")
    html = client.get("/venues").get_data(as_text=True)
    assert 'name="day-day"' not in html  # elderly: the buttons instead of the date field
    assert "今天" in html and "后天" in html
    assert '<span class="day-date">12月1日</span>' in html
    english(client)  # "1 Dec", as in "Tue 1 Dec, 10:00–11:00" (it said "Dec 1")
    html = client.get("/venues").get_data(as_text=True)
    assert '<span class="day-date">1 Dec</span>' in html and "Dec 1" not in html


def test_a_day_the_search_cannot_answer_is_explained(client, make_venue, frozen):
    make_venue(name="莘庄博物馆")
    past = client.get("/venues?day-year=2026&day-month=11&day-day=20").get_data(as_text=True)
    assert "<title>错误：" in past and "这一天已经过去" in past and 'href="#day"' in past
    assert '<details class="filters" open>' in past and _results(past) == []
    far = client.get("/venues?day-year=2027&day-month=1&day-day=20").get_data(as_text=True)
    assert "场馆最多可提前 14 天预约" in far and "12月14日" in far
    client.set_cookie("display_mode", "elderly")  # the date field shows again, with its error
    html = client.get("/venues?day-year=2026&day-month=11&day-day=20").get_data(as_text=True)
    assert 'name="day-year"' in html and "这一天已经过去" in html


def test_elderly_mode_shows_six_venues_a_screen_with_previous_and_next(
    client, make_venue, places, frozen
):
    for i in range(8):
        make_venue(name=f"博物馆{i}", town=places["towns"][0])
    html = client.get("/venues").get_data(as_text=True)
    assert len(_results(html)) == 8 and 'class="pagination"' not in html  # standard: 20
    client.set_cookie("display_mode", "elderly")
    first = client.get("/venues?q=博物馆").get_data(as_text=True)
    assert len(_results(first)) == 6 and "第 1 页，共 2 页" in first
    nxt = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "q=" in nxt and "page=2" in nxt  # the search is kept
    second = client.get(nxt).get_data(as_text=True)
    assert len(_results(second)) == 2 and 'rel="prev"' in second and 'rel="next"' not in second
    assert set(_results(first)).isdisjoint(_results(second))
    beyond = client.get("/venues?q=博物馆&page=9").get_data(as_text=True)
    assert "没有第 9 页" in beyond and _results(beyond) == _results(second)


def test_the_venue_page_starts_with_the_next_free_times_and_marks_days_not_open(
    client, session, make_venue, make_user, frozen
):
    """Tuesday 1 December 09:00: booking is open up to 8 December (7 days ahead, from 08:00)."""
    venue = make_venue(capacity=2)
    hall, court = venue.spaces
    full = slot_at(session, hall, 0, 10)
    full.taken = full.capacity  # 10:00 in the hall is taken: the page offers the next ones
    session.commit()
    html = client.get(f"/venues/{venue.id}").get_data(as_text=True)
    times = html.split('id="next-times-title"', 1)[1].split("</section>", 1)[0]
    links = re.findall(r'<a class="next-time" href="([^"]+)">', times)
    assert links == [
        f"/venues/{venue.id}/spaces/{court.id}/2026-12-01/book",  # the court at 10:00
        f"/venues/slots/{slot_at(session, hall, 0, 11).id}/book",
        f"/venues/{venue.id}/spaces/{court.id}/2026-12-01/book",
        f"/venues/slots/{slot_at(session, hall, 0, 12).id}/book",
    ]
    assert "10:00–11:00" in times and "剩余 2 个名额" in times
    # The standard span: "12月1日（周二）10:00–11:00" / "Tue 1 Dec, 10:00–11:00".
    assert '12月1日（周二）<span class="nowrap">10:00–11:00</span>' in times
    english_times = english(client).get(f"/venues/{venue.id}").get_data(as_text=True)
    assert 'Tue 1 Dec, <span class="nowrap">10:00–11:00</span>' in english_times
    assert html.index('id="next-times-title"') < html.index('class="summary-list"')
    assert client.get(links[1]).status_code in (200, 302)  # a tap from booking (or signing in)
    # The days whose booking has not opened say when it opens; open days show their places.
    assert "12月2日（周三）08:00 开放预约" in html  # for 9 December
    assert html.count('class="opens-later"') == 2 * 6  # 9 to 14 December, in both spaces


def test_facilities_are_listed_as_the_readers_language_writes_a_list(client, venue):
    """English pages said "Step-free access、Lift" (the Chinese list mark)."""
    english(client)
    for path in (f"/venues/{venue.id}", "/venues"):
        page = client.get(path).get_data(as_text=True)
        assert "Accessible toilet, Lift, and Hearing loop" in page and "、" not in page, path


def test_numbers_of_people_use_plural_forms(client, session, venue, make_user):
    """English pages say "1 person", "2 people" (they said "2 person(s)")."""
    login(english(client), make_user().phone)
    slot = slot_at(session, venue.spaces[0], 1, 10)
    party = client.get(f"/venues/slots/{slot.id}/book").get_data(as_text=True)
    assert "1 person" in party and "2 people" in party and "(s)" not in party
    book_through_pages(client, slot.id)
    assert "2 people" in client.get("/bookings").get_data(as_text=True)
