"""车位预约: reserving a space in a car park's pool through the capacity engine, the rules around
it (grace, cut-off, no-shows, suspension), the API, and races for the last spaces."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.accounts.services import issue_token
from app.errors import DomainError
from app.notifications.models import Notification
from bookings.models import Booking, BookingStatus, BookingSuspension, CapacityBucket
from bookings.services import SoldOut, ledger_mismatches
from parking.models import ParkingReservation
from parking.services import reservations, vehicles
from tests.conftest import login, parking_settings, submit
from tests.race import race


def auth(session, user):
    token = issue_token(session, user)
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def taken(session, park, hhmm: str, day_offset: int = 0) -> int:
    hours, minutes = map(int, hhmm.split(":"))
    start = clock.at(clock.today() + timedelta(days=day_offset), hours * 60 + minutes)
    session.rollback()
    return session.scalar(
        select(CapacityBucket.taken).where(
            CapacityBucket.resource_id == park.resource_id, CapacityBucket.starts_at == start
        )
    )


def test_reserving_in_the_browser_holds_a_space_from_arrival_for_the_grace(
    client, session, car_park, make_user
):
    park = car_park.default
    driver = make_user(phone="13911112222", locale="en")
    vehicles.register(session, driver, "沪a 12345")
    login(client, "13911112222")
    client.set_cookie("locale", "en")
    page = client.get(f"/parking/{park.id}/reserve").get_data(as_text=True)
    assert (
        "沪A12345" in page
        and "09:15" in page
        and "held from your arrival time for 30 minutes" in page
    )
    response = submit(
        client,
        f"/parking/{park.id}/reserve",
        {"plate": "沪A12345", "day": "2026-12-01", "time": "10:00", "idempotency_key": "click-1"},
    )
    assert response.status_code == 302 and "new=1" in response.headers["Location"]
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Space reserved" in html and "沪A12345" in html
    assert (
        taken(session, park, "10:00") == 1
        and taken(session, park, "10:15") == 1
        and taken(session, park, "10:30") == 0
    )
    # the same click again (double submit) is the same reservation
    again = submit(
        client,
        f"/parking/{park.id}/reserve",
        {"plate": "沪A12345", "day": "2026-12-01", "time": "10:00", "idempotency_key": "click-1"},
        form_url=f"/parking/{park.id}/reserve",
    )
    assert again.headers["Location"] == response.headers["Location"]
    assert session.scalar(select(func.count(ParkingReservation.id))) == 1
    mine = client.get("/parking/mine").get_data(as_text=True)
    assert "Test Car Park" in mine and "沪A12345" in mine
    assert (
        session.scalar(select(Notification.subject).where(Notification.user_id == driver.id))
        == "Space reserved at %(park)s"
    )


def test_reserve_form_refuses_bad_input_and_keeps_answers(client, session, car_park, make_user):
    park = car_park.default
    driver = make_user(phone="13911112222", locale="en")
    vehicles.register(session, driver, "沪A12345")
    login(client, "13911112222")
    client.set_cookie("locale", "en")
    html = submit(
        client,
        f"/parking/{park.id}/reserve",
        {"plate": "沪A12345", "day": "2026-12-01", "time": ""},
    ).get_data(as_text=True)
    assert (
        'href="#time">Choose the arrival time' in html
        and '<input checked class="radio-input" id="plate-0"' in html
    )
    html = submit(
        client,
        f"/parking/{park.id}/reserve",
        {"plate": "沪B99999", "day": "2026-12-01", "time": "10:00"},
    ).get_data(as_text=True)
    assert "Choose an answer for" in html or "Register" in html
    assert session.scalar(select(func.count(ParkingReservation.id))) == 0


def test_rules_quarter_hours_past_ahead_and_limits(session, car_park, make_user, app):
    park = car_park.default
    driver = make_user()
    vehicles.register(session, driver, "沪A12345")
    with pytest.raises(DomainError) as error:
        reservations.reserve(
            session,
            driver,
            driver,
            park,
            "沪A12345",
            clock.at(clock.today(), 10 * 60 + 5),
            settings=parking_settings(),
        )
    assert error.value.code == "not_quarter_hour"
    with pytest.raises(DomainError) as error:
        reservations.reserve(
            session,
            driver,
            driver,
            park,
            "沪A12345",
            clock.at(clock.today(), 8 * 60),
            settings=parking_settings(),
        )
    assert error.value.code == "too_late"
    with pytest.raises(DomainError) as error:
        reservations.reserve(
            session,
            driver,
            driver,
            park,
            "沪A12345",
            clock.at(clock.today() + timedelta(days=3), 600),
            settings=parking_settings(),
        )
    assert error.value.code == "too_early"
    for hour in (10, 12, 14):
        reservations.reserve(
            session,
            driver,
            driver,
            park,
            "沪A12345",
            clock.at(clock.today(), hour * 60),
            settings=parking_settings(),
        )
    with pytest.raises(DomainError) as error:
        reservations.reserve(
            session,
            driver,
            driver,
            park,
            "沪A12345",
            clock.at(clock.today(), 16 * 60),
            settings=parking_settings(),
        )
    assert error.value.code == "too_many"


def test_same_plate_cannot_hold_two_overlapping_spaces(session, car_park, make_user):
    park, other = car_park.default, car_park(name="第二停车场")
    driver = make_user()
    vehicles.register(session, driver, "沪A12345")
    reservations.reserve(
        session,
        driver,
        driver,
        park,
        "沪A12345",
        clock.at(clock.today(), 10 * 60),
        settings=parking_settings(),
    )
    with pytest.raises(DomainError) as error:
        reservations.reserve(
            session,
            driver,
            driver,
            other,
            "沪A12345",
            clock.at(clock.today(), 10 * 60 + 15),
            settings=parking_settings(),
        )
    assert error.value.code == "plate_busy"


def test_cancel_before_cut_off_is_free_after_it_counts(session, car_park, make_user, frozen):
    park = car_park.default
    driver = make_user()
    vehicles.register(session, driver, "沪A12345")
    early = reservations.reserve(
        session,
        driver,
        driver,
        park,
        "沪A12345",
        clock.at(clock.today(), 11 * 60),
        settings=parking_settings(),
    )
    assert reservations.cancel(session, early, driver, settings=parking_settings()) is True
    assert taken(session, park, "11:00") == 0
    on_the_minute = reservations.reserve(
        session,
        driver,
        driver,
        park,
        "沪A12345",
        clock.at(clock.today(), 9 * 60 + 30),
        settings=parking_settings(),
    )
    assert (
        reservations.cancel(session, on_the_minute, driver, settings=parking_settings()) is True
    )  # cut-off 09:00 is now: still free
    late = reservations.reserve(
        session,
        driver,
        driver,
        park,
        "沪A12345",
        clock.at(clock.today(), 9 * 60 + 15),
        settings=parking_settings(),
    )
    assert reservations.cancel(session, late, driver, settings=parking_settings()) is False
    session.refresh(late.booking)
    assert late.booking.status == BookingStatus.CANCELLED and late.booking.status_reason == "late"
    assert (
        taken(session, park, "09:15") == 0
        and reservations.active_suspension(session, driver.id) is None
    )


def test_no_shows_release_the_space_and_three_suspend_reserving(
    session, car_park, make_user, frozen
):
    park = car_park.default
    driver = make_user()
    vehicles.register(session, driver, "沪A12345")
    made = [
        reservations.reserve(
            session,
            driver,
            driver,
            park,
            "沪A12345",
            clock.at(clock.today(), h * 60),
            settings=parking_settings(),
        )
        for h in (10, 12, 14)
    ]
    frozen.move_to("2026-12-01T14:29:00+08:00")
    assert (
        reservations.mark_no_shows(session, settings=parking_settings()) == 2
    )  # the 14:00 one is still in its grace
    frozen.move_to("2026-12-01T14:30:00+08:00")
    assert reservations.mark_no_shows(session, settings=parking_settings()) == 1
    assert reservations.mark_no_shows(session, settings=parking_settings()) == 0  # once only
    session.rollback()
    assert {r.booking.status for r in made} == {BookingStatus.NO_SHOW}
    assert ledger_mismatches(session) == []
    suspension = session.scalar(
        select(BookingSuspension).where(BookingSuspension.user_id == driver.id)
    )
    assert suspension.kind == "parking" and suspension.until == clock.now() + timedelta(days=7)
    with pytest.raises(DomainError) as error:
        reservations.reserve(
            session,
            driver,
            driver,
            park,
            "沪A12345",
            clock.at(clock.today(), 16 * 60),
            settings=parking_settings(),
        )
    assert error.value.code == "suspended"
    subjects = session.scalars(
        select(Notification.subject).where(Notification.user_id == driver.id)
    ).all()
    assert subjects.count("Your reserved space at %(park)s was released") == 3
    assert "Parking reservations are paused for you until %(until)s" in subjects


def test_late_cancellations_count_towards_suspension(session, car_park, make_user, frozen):
    park = car_park.default
    driver = make_user()
    vehicles.register(session, driver, "沪A12345")
    for _ in range(3):
        reservation = reservations.reserve(
            session,
            driver,
            driver,
            park,
            "沪A12345",
            clock.at(clock.today(), 9 * 60 + 15),
            settings=parking_settings(),
        )
        assert (
            reservations.cancel(session, reservation, driver, settings=parking_settings()) is False
        )
    assert reservations.active_suspension(session, driver.id) is not None


def test_api_reserve_get_cancel_idempotent_and_private(client, session, car_park, make_user):
    park = car_park.default
    driver, stranger = make_user(), make_user()
    vehicles.register(session, driver, "沪A12345")
    headers = auth(session, driver)
    body = {
        "carpark_id": park.id,
        "plate": "沪Ａ１２３４５",
        "arrive_at": "2026-12-01T10:00:00+08:00",
    }
    created = client.post(
        "/api/v1/parking/reservations", json=body, headers={**headers, "Idempotency-Key": "a1"}
    )
    assert created.status_code == 201, created.json
    data = created.json
    assert data["plate"] == "沪A12345" and data["status"] == "confirmed"
    assert (
        data["held_until"] == "2026-12-01T02:30:00+00:00"
        and data["free_cancellation_until"] == "2026-12-01T01:30:00+00:00"
    )
    repeat = client.post(
        "/api/v1/parking/reservations", json=body, headers={**headers, "Idempotency-Key": "a1"}
    )
    assert repeat.json["id"] == data["id"]
    assert (
        client.get(f"/api/v1/parking/reservations/{data['id']}", headers=headers).json["reference"]
        == data["reference"]
    )
    assert (
        client.get(
            f"/api/v1/parking/reservations/{data['id']}", headers=auth(session, stranger)
        ).status_code
        == 404
    )
    assert (
        client.delete(
            f"/api/v1/parking/reservations/{data['id']}", headers=auth(session, stranger)
        ).status_code
        == 404
    )
    cancelled = client.delete(f"/api/v1/parking/reservations/{data['id']}", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert (
        client.delete(f"/api/v1/parking/reservations/{data['id']}", headers=headers).json["error"][
            "code"
        ]
        == "not_cancellable"
    )
    bad = client.post(
        "/api/v1/parking/reservations", json={**body, "plate": "ABC"}, headers=headers
    )
    assert bad.status_code == 400 and bad.json["error"]["code"] == "invalid_plate"
    # a plate that is not among the stranger's vehicles: refused, and not registered to them
    not_theirs = client.post(
        "/api/v1/parking/reservations", json=body, headers=auth(session, stranger)
    )
    assert not_theirs.status_code == 422 and not_theirs.json["error"]["code"] == "unknown_vehicle"
    assert vehicles.my_vehicles(session, stranger.id) == []
    assert client.post("/api/v1/parking/reservations", json=body).status_code == 401


def test_api_sold_out_is_409(client, session, car_park, make_user):
    park = car_park(name="小停车场", reservable=1)
    first, second = make_user(), make_user()
    vehicles.register(session, first, "沪A11111")
    vehicles.register(session, second, "沪A22222")
    body = {"carpark_id": park.id, "arrive_at": "2026-12-01T10:15:00+08:00"}
    assert (
        client.post(
            "/api/v1/parking/reservations",
            json={**body, "plate": "沪A11111"},
            headers=auth(session, first),
        ).status_code
        == 201
    )
    refused = client.post(
        "/api/v1/parking/reservations",
        json={**body, "plate": "沪A22222"},
        headers=auth(session, second),
    )
    assert refused.status_code == 409 and refused.json["error"]["code"] == "sold_out"
    # a later arrival that overlaps 10:15-10:45 is also full; one after it is free
    overlap = client.post(
        "/api/v1/parking/reservations",
        json={**body, "plate": "沪A22222", "arrive_at": "2026-12-01T10:30:00+08:00"},
        headers=auth(session, second),
    )
    assert overlap.json["error"]["code"] == "sold_out"
    assert (
        client.post(
            "/api/v1/parking/reservations",
            json={**body, "plate": "沪A22222", "arrive_at": "2026-12-01T10:45:00+08:00"},
            headers=auth(session, second),
        ).status_code
        == 201
    )


def test_reservable_now_and_feed_follow_reservations(client, session, car_park, make_user):
    park = car_park.default
    driver = make_user()
    vehicles.register(session, driver, "沪A12345")
    assert reservations.reservable_now(session, park) == 5
    reservations.reserve(
        session,
        driver,
        driver,
        park,
        "沪A12345",
        clock.at(clock.today(), 9 * 60),
        settings=parking_settings(),
    )
    assert reservations.reservable_now(session, park) == 4
    feed = {p["id"]: p for p in client.get("/api/v1/parking/feed").json}
    assert feed[park.id]["reservable"] == 4 and "沪A12345" not in str(feed)


def test_pool_buckets_are_made_for_the_reservable_days_once(session, car_park, app):
    park = car_park.default

    def count():
        return session.scalar(
            select(func.count(CapacityBucket.id)).where(
                CapacityBucket.resource_id == park.resource_id
            )
        )

    assert count() == 3 * 96
    reservations.materialise_pool(session, park, parking_settings().pool_days)
    assert count() == 3 * 96


@pytest.mark.race
def test_sixty_http_requests_for_the_last_five_spaces(app, session, car_park, make_user):
    """60 drivers press "reserve" at once for a pool of 5: 5 x 201, 55 x 409 sold_out, the
    ledger balances, on SQLite and PostgreSQL."""
    park = car_park.default
    park_id = park.id  # threads must not touch the test's session
    drivers = [make_user() for _ in range(60)]
    for i, driver in enumerate(drivers):
        vehicles.register(session, driver, f"沪A{10000 + i}")
    headers = [auth(session, driver) for driver in drivers]

    def post(i):
        client = app.test_client()
        response = client.post(
            "/api/v1/parking/reservations",
            headers=headers[i],
            json={
                "carpark_id": park_id,
                "plate": f"沪A{10000 + i}",
                "arrive_at": "2026-12-01T12:00:00+08:00",
            },
        )
        return response.status_code, (response.json or {}).get("error", {}).get("code")

    results = race(app, 60, post)
    assert results.count((201, None)) == 5, results
    assert results.count((409, "sold_out")) == 55
    session.rollback()
    assert (
        session.scalar(
            select(func.count(Booking.id)).where(Booking.status == BookingStatus.CONFIRMED)
        )
        == 5
    )
    assert taken(session, park, "12:00") == 5 and taken(session, park, "12:15") == 5
    assert ledger_mismatches(session) == []


@pytest.mark.race
def test_overlapping_arrivals_race_without_overselling(app, session, car_park, make_user):
    park = car_park.default
    park_id = park.id
    drivers = [make_user() for _ in range(40)]
    for i, driver in enumerate(drivers):
        vehicles.register(session, driver, f"沪B{20000 + i}")
    driver_ids = [d.id for d in drivers]

    def reserve(i):
        from app.accounts.models import User
        from app.extensions import db
        from parking.models import CarPark

        driver = db.session.get(User, driver_ids[i])
        return reservations.reserve(
            db.session,
            driver,
            driver,
            db.session.get(CarPark, park_id),
            f"沪B{20000 + i}",
            clock.at(clock.today(), 13 * 60 + 15 * (i % 3)),
            settings=parking_settings(),
        )

    results = race(app, 40, reserve)
    unexpected = [r for r in results if not isinstance(r, (ParkingReservation, SoldOut))]
    assert unexpected == []
    session.rollback()
    for bucket in session.scalars(
        select(CapacityBucket).where(CapacityBucket.resource_id == park.resource_id)
    ):
        assert 0 <= bucket.taken <= 5
    assert taken(session, park, "13:15") == 5
    assert ledger_mismatches(session) == []


def test_a_reservation_is_for_a_claim_checked_in_the_transaction_that_takes_the_space(
    client, session, car_park, make_user
):
    """The plate's claim is decided inside the reservation's own unit of work (the API used to
    check it in a transaction of its own first): a plate that is not the holder's, or a claim
    removed meanwhile, takes no space."""
    park = car_park.default
    driver = make_user()
    at = clock.at(clock.today(), 10 * 60)
    with pytest.raises(DomainError) as error:
        reservations.reserve(
            session, driver, driver, park, "沪A12345", at, settings=parking_settings()
        )
    assert error.value.code == "unknown_vehicle" and error.value.field == "plate"
    claim = vehicles.register(session, driver, "沪A12345")
    vehicles.remove(session, claim)  # removed in another tab before the reservation commits
    response = client.post(
        "/api/v1/parking/reservations",
        json={"carpark_id": park.id, "plate": "沪A12345", "arrive_at": at.isoformat()},
        headers=auth(session, driver),
    )
    assert response.status_code == 422 and response.json["error"]["code"] == "unknown_vehicle"
    assert session.scalar(select(func.count(ParkingReservation.id))) == 0
    assert taken(session, park, "10:00") == 0 and ledger_mismatches(session) == []


def test_can_cancel_is_one_rule_for_page_service_and_api(client, session, car_park, make_user):
    park = car_park.default
    driver, stranger = make_user(phone="13911112222", locale="en"), make_user()
    vehicles.register(session, driver, "沪A12345")
    found = reservations.reserve(
        session,
        driver,
        driver,
        park,
        "沪A12345",
        clock.at(clock.today(), 11 * 60),
        settings=parking_settings(),
    )
    assert reservations.free_cancellation_until(found) == clock.at(clock.today(), 10 * 60 + 30)
    assert reservations.can_cancel(session, found, driver)
    assert not reservations.can_cancel(session, found, stranger)
    login(client, "13911112222")
    client.set_cookie("locale", "en")
    page = f"/parking/reservations/{found.booking.reference}"
    assert "Cancel this reservation" in client.get(page).get_data(as_text=True)
    reservations.cancel(session, found, driver, settings=parking_settings())
    session.refresh(found.booking)
    assert not reservations.can_cancel(session, found, driver)
    assert "Cancel this reservation" not in client.get(page).get_data(as_text=True)
    with pytest.raises(DomainError) as error:
        reservations.cancel(session, found, driver, settings=parking_settings())
    assert error.value.code == "not_cancellable"


def test_the_rules_read_the_settings_passed_in(app, session, car_park, make_user):
    """Services read no configuration: the limits are those of the ParkingSettings given, which
    views and the sweep build from the app's configuration."""
    from parking.services import ParkingSettings

    app.config["PARKING_MAX_UPCOMING"] = 7
    assert ParkingSettings.from_config(app.config).max_upcoming == 7
    assert app.config["SECRET_KEY"] not in repr(ParkingSettings.from_config(app.config))
    park = car_park.default
    driver = make_user()
    vehicles.register(session, driver, "沪A12345")
    one = parking_settings(max_upcoming=1)
    reservations.reserve(
        session, driver, driver, park, "沪A12345", clock.at(clock.today(), 600), settings=one
    )
    with pytest.raises(DomainError) as error:
        reservations.reserve(
            session, driver, driver, park, "沪A12345", clock.at(clock.today(), 720), settings=one
        )
    assert error.value.code == "too_many" and error.value.params["n"] == 1


def test_the_answer_is_built_without_reading_anything_again(session, car_park, make_user):
    """What a reservation answers with (reference, status, held until, free cancellation until)
    comes from the values its unit of work wrote: reading it sends no query (the API and the
    page used to reload the reservation, its booking and the car park after the commit)."""
    from sqlalchemy import event

    park = car_park.default
    driver = make_user()
    vehicles.register(session, driver, "沪A12345")
    reservation = reservations.reserve(
        session,
        driver,
        driver,
        park,
        "沪A12345",
        clock.at(clock.today(), 10 * 60),
        settings=parking_settings(),
    )
    sent = []
    engine = session.get_bind()
    listener = lambda *args: sent.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        answer = (
            reservation.id,
            reservation.plate,
            reservation.booking.reference,
            reservation.booking.status,
            reservation.booking.ends_at,
            reservations.free_cancellation_until(reservation),
        )
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert sent == []
    session.expire_all()  # ... and it is what the database holds
    assert answer == (
        reservation.id,
        reservation.plate,
        reservation.booking.reference,
        reservation.booking.status,
        reservation.booking.ends_at,
        reservations.free_cancellation_until(reservation),
    )


def test_a_day_without_buckets_is_made_when_a_reservation_needs_it(session, car_park, make_user):
    """The pool's buckets are made ahead by the sweep; a stay on a day that has none (a pool
    made before the day came into reach) makes them and is reserved; a refused reservation
    makes none."""
    from sqlalchemy import delete

    park = car_park.default
    driver = make_user()
    day = clock.today() + timedelta(days=1)
    start, end = clock.day_bounds(day)
    session.execute(
        delete(CapacityBucket).where(
            CapacityBucket.resource_id == park.resource_id,
            CapacityBucket.starts_at >= start,
            CapacityBucket.starts_at < end,
        )
    )
    session.commit()
    at = clock.at(day, 10 * 60)
    with pytest.raises(DomainError) as error:  # not their plate: refused before any bucket
        reservations.reserve(
            session, driver, driver, park, "沪A12345", at, settings=parking_settings()
        )
    assert error.value.code == "unknown_vehicle"
    assert taken(session, park, "10:00", day_offset=1) is None
    vehicles.register(session, driver, "沪A12345")
    reservation = reservations.reserve(
        session, driver, driver, park, "沪A12345", at, settings=parking_settings()
    )
    assert reservation.booking.status == BookingStatus.CONFIRMED
    assert taken(session, park, "10:00", day_offset=1) == 1
    assert taken(session, park, "10:15", day_offset=1) == 1
    assert taken(session, park, "10:30", day_offset=1) == 0
    assert ledger_mismatches(session) == []


@pytest.mark.race
def test_a_double_submit_makes_one_reservation(app, session, car_park, make_user):
    """Eight copies of one request (same driver, plate, time and Idempotency-Key) at once: one
    reservation and one space taken; every answer is that reservation, or (a copy that waited
    for the driver's lock after the first committed) the plate's own clash, never an error."""
    park = car_park.default
    park_id = park.id
    driver = make_user()
    vehicles.register(session, driver, "沪A12345")
    headers = {**auth(session, driver), "Idempotency-Key": "double-click"}

    def post(_i):
        response = app.test_client().post(
            "/api/v1/parking/reservations",
            headers=headers,
            json={
                "carpark_id": park_id,
                "plate": "沪A12345",
                "arrive_at": "2026-12-01T11:00:00+08:00",
            },
        )
        body = response.json or {}
        return response.status_code, body.get("id") or body.get("error", {}).get("code")

    results = race(app, 8, post)
    session.rollback()
    [made] = session.scalars(select(ParkingReservation.id)).all()
    assert set(results) <= {(201, made), (409, "plate_busy")}, results
    assert (201, made) in results
    assert taken(session, park, "11:00") == 1 and ledger_mismatches(session) == []


def test_a_day_is_offered_while_its_last_quarter_hour_can_be_chosen(frozen):
    """`can_arrive_on` (the page's list of days) says what listing `arrival_choices` would."""
    from datetime import UTC

    today = clock.today()
    for local_now in ("23:29", "23:30", "23:31", "23:44", "23:45", "12:00"):
        hours, minutes = map(int, local_now.split(":"))
        frozen.move_to(clock.at(today, hours * 60 + minutes).astimezone(UTC))
        for day in (today, today + timedelta(days=1)):
            assert reservations.can_arrive_on(day) == bool(reservations.arrival_choices(day)), (
                local_now,
                day,
            )


def test_the_api_checks_the_token_and_the_car_park_in_the_reservations_unit(
    client, session, car_park, make_user
):
    """The token is checked inside the reservation's transaction (reserve_with_token): a token
    that is not valid is 401 whatever the body, an unknown car park 404, and neither takes a
    space; a valid token's request is answered and its token's last use written down."""
    from app.accounts.models import ApiToken

    park = car_park.default
    driver = make_user()
    vehicles.register(session, driver, "沪A12345")
    headers = auth(session, driver)
    body = {"carpark_id": park.id, "plate": "沪A12345", "arrive_at": "2026-12-01T10:00:00+08:00"}
    wrong = {"Authorization": "Bearer cp_not-a-token"}
    refused = client.post("/api/v1/parking/reservations", json=body, headers=wrong)
    assert refused.status_code == 401 and refused.json["error"]["code"] == "unauthorized"
    assert "Bearer" in refused.headers["WWW-Authenticate"]
    assert client.post("/api/v1/parking/reservations", json={}, headers=wrong).status_code == 401
    assert client.post("/api/v1/parking/reservations", json={}, headers=headers).status_code == 422
    missing = client.post(
        "/api/v1/parking/reservations", json={**body, "carpark_id": park.id + 999}, headers=headers
    )
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    assert session.scalar(select(func.count(ParkingReservation.id))) == 0
    made = client.post("/api/v1/parking/reservations", json=body, headers=headers)
    assert made.status_code == 201, made.json
    session.rollback()
    assert session.scalar(select(ApiToken.last_used_at).where(ApiToken.user_id == driver.id))
    assert taken(session, park, "10:00") == 1 and ledger_mismatches(session) == []


def test_an_archived_car_park_takes_no_reservation(session, car_park, make_user, app, frozen):
    """Archived car parks are offered nowhere; a reservation by their id (an old link, the API)
    is refused too, and no space is taken."""
    from app.places.admin_services import set_archived

    park = car_park.default
    driver = make_user()
    vehicles.register(session, driver, "沪A12345")
    set_archived(session, make_user("administrator"), park, True)
    arrive = clock.at(clock.today() + timedelta(days=1), 10 * 60)
    with pytest.raises(DomainError) as error:
        reservations.reserve(
            session, driver, driver, park, "沪A12345", arrive, settings=parking_settings()
        )
    assert error.value.code == "not_reservable"
    assert session.scalar(select(func.count(ParkingReservation.id))) == 0
