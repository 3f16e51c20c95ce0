"""The car-park operator's side: dashboard figures from real events, settings with validation,
a gate token that works, who may see what; and the demo's day of gate events."""

import re

import pytest
from sqlalchemy import func, select

from app import clock
from app.accounts.models import ApiToken
from bookings.models import CapacityBucket
from parking.models import CarPark, GateDirection, GateEvent, SharingWindow, Tariff
from parking.services import gate, reservations, vehicles
from tests.conftest import login, parking_settings, submit


@pytest.fixture
def operator(session, car_park, make_user):
    park = car_park.default
    user = make_user("carpark_operator", scope=park, locale="en")
    return park, user


def event(session, park, plate, direction, hhmm):
    hours, minutes = map(int, hhmm.split(":"))
    return gate.record_event(
        session,
        park,
        plate,
        GateDirection(direction),
        clock.at(clock.today(), hours * 60 + minutes),
        settings=parking_settings(),
    )


def test_dashboard_shows_the_day_from_gate_events(client, session, operator, make_user, frozen):
    park, user = operator
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
    frozen.move_to("2026-12-01T06:00:00+08:00")
    event(session, park, "沪B11111", "entry", "06:10")
    frozen.move_to("2026-12-01T08:00:00+08:00")
    event(
        session, park, "沪B11111", "exit", "07:40"
    )  # 90 minutes at 06:10-07:40: a night period then the first hour
    event(session, park, "沪C22222", "exit", "07:50")  # no entry on record
    frozen.move_to("2026-12-01T09:00:00+08:00")
    login(client, user.username)
    html = client.get(f"/parking/operate/{park.id}").get_data(as_text=True)
    # Chinese inside the English page is marked lang="zh-CN" (accessibility.mark_chinese):
    # the plates are read as text.
    html = re.sub(r'<span lang="zh-CN">([^<]*)</span>', r"\1", html)
    assert "20 of 100 spaces taken (80 free)" in html and "1 exits without an entry" in html
    client.set_cookie("locale", "zh_CN")
    user.locale = "zh_CN"
    session.commit()
    zh = client.get(f"/parking/operate/{park.id}").get_data(as_text=True)
    assert "已占用 20 / 100 个车位（空余 80 个）" in zh  # Chinese brackets in Chinese text
    assert "Reservations today</dt><dd>1" in html and "沪A1**45" in html and "沪A12345" not in html
    assert (
        "06:00–07:00</td><td>21" in html and "07:00–08:00</td><td>20" in html
    )  # the chart's table, from events
    assert "Exit without an entry (not counted)" in html and "沪C2**22" in html
    # The gate events' times in the human format: 07:50, no seconds (app.i18n.human_time).
    events = html.split("Latest gate events", 1)[1]
    assert "<td>07:50</td>" in events and not re.search(r"\d\d:\d\d:\d\d", html)


def test_only_the_car_parks_own_operators_and_admins_get_in(
    client, session, operator, car_park, make_user
):
    park, user = operator
    other = car_park(name="别的停车场")
    assert client.get(f"/parking/operate/{park.id}").status_code == 302  # to sign in
    login(client, user.username)
    assert client.get(f"/parking/operate/{other.id}").status_code == 403
    assert client.get(f"/parking/operate/{other.id}/capacity").status_code == 403
    assert (
        client.get("/parking/operate").headers["Location"].endswith(f"/parking/operate/{park.id}")
    )
    resident = make_user(phone="13922223333")
    visitor = client.application.test_client()
    login(visitor, "13922223333")
    assert visitor.get(f"/parking/operate/{park.id}").status_code == 403
    admin = make_user("administrator")
    boss = client.application.test_client()
    login(boss, admin.username)
    assert boss.get(f"/parking/operate/{other.id}").status_code == 200
    assert resident


def test_capacity_form_validates_and_moves_future_pool_buckets(
    client, session, operator, make_user
):
    park, user = operator
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
    login(client, user.username)
    url = f"/parking/operate/{park.id}/capacity"
    html = submit(
        client,
        url,
        {
            "total_spaces": "10",
            "reservable_spaces": "5",
            "grace_minutes": "30",
            "cancel_cutoff_minutes": "30",
            "open": "y",
        },
    ).get_data(as_text=True)
    assert "There are 20 cars inside now" in html and 'value="10"' in html
    html = submit(
        client,
        url,
        {
            "total_spaces": "100",
            "reservable_spaces": "200",
            "grace_minutes": "30",
            "cancel_cutoff_minutes": "30",
            "open": "y",
        },
    ).get_data(as_text=True)
    assert "cannot be larger than the car park" in html
    session.rollback()
    assert session.get(CarPark, park.id).reservable_spaces == 5
    done = submit(
        client,
        url,
        {
            "total_spaces": "120",
            "reservable_spaces": "0",
            "grace_minutes": "45",
            "cancel_cutoff_minutes": "60",
            "open": "y",
        },
    )
    assert done.status_code == 302
    session.rollback()
    park = session.get(CarPark, park.id)
    assert (park.total_spaces, park.reservable_spaces, park.grace_minutes) == (120, 0, 45)
    capacities = dict(
        session.execute(
            select(CapacityBucket.starts_at, CapacityBucket.capacity).where(
                CapacityBucket.resource_id == park.resource_id
            )
        ).all()
    )
    assert capacities[clock.at(clock.today(), 10 * 60)] == 1  # never below what is reserved
    assert capacities[clock.at(clock.today(), 12 * 60)] == 0


def test_tariff_form_changes_the_fee_of_new_stays(client, session, operator):
    park, user = operator
    login(client, user.username)
    url = f"/parking/operate/{park.id}/tariff"
    form = client.get(url).get_data(as_text=True)
    assert 'value="10.00"' in form and 'value="07:00"' in form
    bad = submit(
        client,
        url,
        {
            "free_minutes": "0",
            "first_hour_yuan": "6",
            "period_minutes": "30",
            "period_yuan": "3",
            "night_unit_yuan": "1",
            "day_starts": "19:00",
            "day_ends": "07:00",
            "daily_cap_yuan": "",
        },
    )
    assert "The day rate must end after it starts." in bad.get_data(as_text=True)
    ok = submit(
        client,
        url,
        {
            "free_minutes": "0",
            "first_hour_yuan": "6.50",
            "period_minutes": "30",
            "period_yuan": "3",
            "night_unit_yuan": "1",
            "day_starts": "07:00",
            "day_ends": "19:00",
            "daily_cap_yuan": "",
        },
    )
    assert ok.status_code == 302
    session.rollback()
    tariff = session.scalar(select(Tariff).where(Tariff.car_park_id == park.id))
    assert (tariff.first_hour_fen, tariff.daily_cap_fen, tariff.free_minutes) == (650, None, 0)
    event(session, park, "沪B11111", "entry", "09:00")
    assert event(session, park, "沪B11111", "exit", "10:00").session.fee_fen == 650


def test_sharing_windows_are_added_and_changed(client, session, operator):
    park, user = operator
    login(client, user.username)
    data = {
        "name_zh": "周末",
        "name_en": "Weekends",
        "days": "weekends",
        "start_time": "09:00",
        "end_time": "09:00",
        "spaces": "5",
        "monthly_fee_yuan": "120",
        "active": "y",
    }
    html = submit(client, f"/parking/operate/{park.id}/windows/new", data).get_data(as_text=True)
    assert "must start and end at different times" in html
    assert (
        submit(
            client, f"/parking/operate/{park.id}/windows/new", {**data, "end_time": "21:00"}
        ).status_code
        == 302
    )
    window = session.scalar(select(SharingWindow))
    assert (window.start_minute, window.end_minute, window.monthly_fee_fen) == (540, 1260, 12000)
    changed = submit(
        client,
        f"/parking/operate/{park.id}/windows/{window.id}",
        {**data, "end_time": "22:00", "spaces": "8"},
    )
    assert changed.status_code == 302
    session.rollback()
    assert (window.end_minute, window.spaces) == (1320, 8)
    assert "Weekends" in client.get(f"/parking/operate/{park.id}").get_data(as_text=True)


def test_gate_token_from_the_dashboard_reports_events(client, session, operator):
    park, user = operator
    login(client, user.username)
    html = submit(
        client, f"/parking/operate/{park.id}/token", {}, form_url=f"/parking/operate/{park.id}"
    ).get_data(as_text=True)
    token = html.split('token-text">')[1].split("<")[0].strip()
    assert token.startswith("cp_") and session.scalar(select(func.count(ApiToken.id))) == 1
    response = client.post(
        "/api/v1/parking/events",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "carpark_id": park.id,
            "plate": "沪A12345",
            "direction": "entry",
            "occurred_at": "2026-12-01T09:00:00+08:00",
        },
    )
    assert response.status_code == 201 and response.json["occupied"] == 21


def test_demo_day_of_gate_events_explains_occupancy(session, runner, frozen):
    from app.demo import seed_frame
    from parking.demo import seed_parking, seed_parking_activity

    seed_frame(session)
    seed_parking(session)
    seed_parking_activity(session)
    seed_parking_activity(session)  # idempotent
    for park in session.scalars(select(CarPark)):
        last = session.scalar(
            select(GateEvent.occupied_after)
            .where(GateEvent.car_park_id == park.id)
            .order_by(GateEvent.occurred_at.desc(), GateEvent.id.desc())
            .limit(1)
        )
        assert last == park.occupied and 0 <= park.occupied <= park.total_spaces
    assert session.scalar(select(func.count(SharingWindow.id))) == 4
    from app.accounts.models import User

    assert (
        session.scalar(select(User).where(User.username == "tingche-xinzhuang-pr"))
        .roles[0]
        .scope_id
    )


def test_operator_writes_are_services_with_their_rules(session, operator, car_park, make_user):
    """The tariff and the gate token were written by the operator's views; they are services
    now, with the rules the pages and the events API share."""
    from app.audit.models import AuditEntry
    from app.errors import DomainError
    from parking.services import tariffs
    from parking.services.tariffs import TariffRules

    park, user = operator
    other = car_park(name="别的停车场")
    admin = make_user("administrator")
    with pytest.raises(DomainError) as error:
        tariffs.save_tariff(session, user, park, TariffRules(day_starts=19 * 60, day_ends=7 * 60))
    assert error.value.field == "day_ends"
    tariffs.save_tariff(session, user, park, TariffRules(first_hour_fen=800, daily_cap_fen=None))
    session.rollback()
    assert (park.tariff.first_hour_fen, park.tariff.daily_cap_fen) == (800, None)
    assert session.scalar(
        select(func.count(AuditEntry.id)).where(AuditEntry.action == "parking.tariff")
    )
    assert gate.can_report_events(user, park) and not gate.can_report_events(user, other)
    assert gate.can_report_events(admin, other)
    with pytest.raises(DomainError) as error:
        gate.issue_gate_token(session, user, other)
    assert error.value.status == 403 and session.scalar(select(func.count(ApiToken.id))) == 0
    assert gate.issue_gate_token(session, user, park).startswith("cp_")
    assert session.scalar(
        select(func.count(AuditEntry.id)).where(AuditEntry.action == "parking.gate_token")
    )
