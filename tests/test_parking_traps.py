"""Issue 14, no commitment traps in parking: the cost is said before the commitment (times past
their free cancellation are marked; cancelling, ending a contract and removing a plate are
asked first, saying what they cost), and elderly mode reserves without a "show the times" step."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app import clock
from bookings.models import BookingStatus
from bookings.noshows import LATE
from parking.models import CarParkKind, DayPattern, Vehicle
from parking.services import costs, reservations, sharing, vehicles
from tests.conftest import login, parking_settings, submit
from tests.test_parking_sharing import paid


@pytest.fixture
def driver(session, make_user):
    user = make_user(phone="13911112222")
    vehicles.register(session, user, "沪A12345")
    return user


def reserve(session, driver, park, hhmm):
    hours, minutes = map(int, hhmm.split(":"))
    return reservations.reserve(
        session,
        driver,
        driver,
        park,
        "沪A12345",
        clock.at(clock.today(), hours * 60 + minutes),
        settings=parking_settings(),
    )


def test_times_past_their_free_cancellation_are_marked(client, session, car_park, driver):
    park = car_park.default  # cut-off 30 minutes; it is 09:00
    assert costs.late_from_the_start(park, clock.at(clock.today(), 9 * 60 + 15))
    assert not costs.late_from_the_start(park, clock.at(clock.today(), 9 * 60 + 30))
    login(client, "13911112222")
    page = client.get(f"/parking/{park.id}/reserve").get_data(as_text=True)
    assert ">09:15 （取消将计为爽约）</option>" in page
    assert ">09:30</option>" in page
    found = reserve(session, driver, park, "09:15")
    page = client.get(f"/parking/reservations/{found.booking.reference}").get_data(as_text=True)
    assert "预约时已过免费取消时间" in page


def test_a_late_cancellation_is_asked_first_and_says_it_counts(client, session, car_park, driver):
    park = car_park.default
    found = reserve(session, driver, park, "09:15")
    reference = found.booking.reference
    login(client, "13911112222")
    question = client.get(f"/parking/reservations/{reference}/cancel").get_data(as_text=True)
    assert "已过免费取消时间：现在取消将计为爽约" in question
    assert "爽约和逾时取消：0 次" in question
    assert "button-warning" in question and "取消并计为爽约" in question
    session.rollback()
    assert found.booking.status == BookingStatus.CONFIRMED  # asking cancels nothing
    submit(client, f"/parking/reservations/{reference}/cancel", {})
    session.rollback()
    assert found.booking.status == BookingStatus.CANCELLED
    assert found.booking.status_reason == LATE
    # Nothing left to cancel: the question sends back to the reservation.
    again = client.get(f"/parking/reservations/{reference}/cancel")
    assert again.status_code == 302


def test_a_free_cancellation_says_so(client, session, car_park, driver):
    found = reserve(session, driver, car_park.default, "11:00")
    client.set_cookie("locale", "en")
    login(client, "13911112222")
    page = client.get(f"/parking/reservations/{found.booking.reference}/cancel")
    html = page.get_data(as_text=True)
    assert "Cancelling now is free" in html and "Yes, cancel the reservation" in html


def test_cancel_terms_say_when_a_late_cancellation_pauses_reserving(
    session, car_park, driver, frozen
):
    park, settings = car_park.default, parking_settings()
    limit = settings.no_shows.limit
    for n in range(limit - 1):  # late cancellations, one short of the limit
        found = reserve(session, driver, park, f"{10 + n}:00")
        frozen.move_to(found.arrive_at - timedelta(minutes=10))
        reservations.cancel(session, found, driver, settings=settings)
    last = reserve(session, driver, park, f"{10 + limit - 1}:00")
    frozen.move_to(last.arrive_at - timedelta(minutes=40))
    assert costs.cancel_terms(session, last, settings).free
    frozen.move_to(last.arrive_at - timedelta(minutes=10))
    terms = costs.cancel_terms(session, last, settings)
    assert not terms.free and terms.counted == limit - 1 and terms.pauses


@pytest.fixture
def window(session, car_park):
    park = car_park(name="共享车位", kind=CarParkKind.RESIDENTIAL, total=60, reservable=0)
    return sharing.create_window(
        session,
        park,
        name_zh="工作日白天",
        name_en="Working days, daytime",
        days=DayPattern.WORKDAYS,
        start_minute=8 * 60,
        end_minute=18 * 60,
        spaces=2,
        monthly_fee_fen=30000,
    )


def test_ending_a_contract_is_asked_first_saying_what_it_costs(client, session, window, driver):
    contract = sharing.sign(
        session, driver, window, "沪A12345", date(2027, 1, 1), settings=parking_settings()
    )
    paid(session, contract)
    login(client, "13911112222")
    base = f"/parking/contracts/{contract.id}"
    page = client.get(base).get_data(as_text=True)
    assert f'href="{base}/cancel"' in page and f'href="{base}/stop"' in page
    cancel = client.get(f"{base}/cancel").get_data(as_text=True)
    assert "本月已付 ¥300.00，不予退还" in cancel and "button-warning" in cancel
    stop = client.get(f"{base}/stop").get_data(as_text=True)
    assert "下个月不会续签，也不会收费" in stop
    session.rollback()
    assert contract.booking.status == BookingStatus.CONFIRMED and contract.renew
    submit(client, f"{base}/stop", {})
    session.rollback()
    assert not contract.renew
    assert "¥300.00" in client.get(f"{base}/renew").get_data(as_text=True)


def test_removing_a_plate_is_asked_first(client, session, car_park, driver):
    reserve(session, driver, car_park.default, "11:00")
    vehicle_id = session.scalar(select(Vehicle.id).where(Vehicle.owner_id == driver.id))
    login(client, "13911112222")
    page = client.get(f"/parking/vehicles/{vehicle_id}/remove").get_data(as_text=True)
    assert "确定要从您的车辆中删除 沪A12345 吗" in page and "即将到来的预约会保留" in page
    assert "不，保留这辆车" in page and "保留预约" not in page  # keeps the vehicle
    session.rollback()
    assert session.get(Vehicle, vehicle_id) is not None
    submit(client, f"/parking/vehicles/{vehicle_id}/remove", {})
    session.rollback()
    assert session.scalar(select(Vehicle.id).where(Vehicle.id == vehicle_id)) is None


def _radios(html: str) -> list[str]:
    """The values of the page's radios, in order."""
    return re.findall(r'type="radio"[^>]*value="([^"]*)"', html) or re.findall(
        r'value="([^"]*)"[^>]*type="radio"', html
    )


def test_elderly_mode_asks_the_time_in_short_steps(client, session, car_park, driver):
    """Issue 14: no list of ~88 times, no "show the times" step: day, part of the day, hour and
    quarter, each at most 6 radios on its own page (plain GETs carrying the answers), a Back link
    to the step before with its answer chosen, answers kept after an error; late times marked."""
    park = car_park.default  # it is 09:00; free cancellation until 30 minutes before arrival
    vehicles.register(session, driver, "沪B67890")
    driver.display_mode = "elderly"
    session.commit()
    login(client, "13911112222")
    base = f"/parking/{park.id}/reserve"
    page = client.get(base).get_data(as_text=True)
    assert "<option" not in page and 'value="change_day"' not in page
    assert '<h1 class="legend-heading">哪辆车？</h1>' in page
    assert _radios(page) == ["沪A12345", "沪B67890"]
    # Continue without choosing: asked again with an error linked to the question.
    page = client.get(base, query_string={"answered": "plate"}).get_data(as_text=True)
    assert 'href="#plate">请选择车辆</a>' in page and "错误" in page
    page = client.get(base, query_string={"answered": "plate", "plate": "沪B67890"})
    page = page.get_data(as_text=True)
    tomorrow = (clock.today() + timedelta(days=1)).isoformat()
    assert _radios(page) == [(clock.today() + timedelta(days=n)).isoformat() for n in range(3)]
    assert "今天，" in page and "明天，" in page and "后天，" in page and "沪B67890" in page
    query = {"plate": "沪B67890", "day": clock.today().isoformat(), "answered": "day"}
    page = client.get(base, query_string=query).get_data(as_text=True)
    assert _radios(page) == ["morning", "afternoon", "evening"]  # 00:00-06:00 has gone by
    query |= {"part": "morning", "answered": "part"}
    page = client.get(base, query_string=query).get_data(as_text=True)
    assert _radios(page) == ["9", "10", "11"]
    query |= {"hour": "9", "answered": "hour"}
    page = client.get(base, query_string=query).get_data(as_text=True)
    assert _radios(page) == ["09:15", "09:30", "09:45"]
    assert "09:15 （取消将计为爽约）" in page and "09:30 （" not in page
    assert 'method="post"' in page and 'name="idempotency_key"' in page
    # Back: the hour step, 9 still chosen.
    back = re.search(r'<a href="([^"]+)">返回</a>', page).group(1).replace("&amp;", "&")
    assert "step=hour" in back
    page = client.get(back).get_data(as_text=True)
    assert re.search(r'<input checked[^>]*value="9"|value="9"[^>]*checked', page)

    # Hand-made answers that are not possible are asked again, never a server error.
    for junk in ({"day": "9999-12-31"}, {"part": "x", "hour": "abc"}, {"step": "time"}):
        page = client.get(base, query_string={"plate": "沪A12345", "answered": "day"} | junk)
        assert page.status_code == 200
    # Every step of tomorrow has at most 6 options.
    query = {"plate": "沪A12345", "day": tomorrow, "answered": "day"}
    assert len(_radios(client.get(base, query_string=query).get_data(as_text=True))) == 4
    for part in ("night", "morning", "afternoon", "evening"):
        query |= {"part": part, "answered": "part"}
        assert len(_radios(client.get(base, query_string=query).get_data(as_text=True))) == 6

    # The last step without a time: asked again, the earlier answers kept.
    form = {"plate": "沪A12345", "day": tomorrow, "part": "morning", "hour": "10", "step": "time"}
    refused = submit(client, base, form | {"idempotency_key": "e1"}, form_url=base)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 200 and 'href="#time">请选择到达时间</a>' in html
    assert _radios(html) == ["10:00", "10:15", "10:30", "10:45"] and "10:00–11:00" in html
    done = submit(client, base, form | {"time": "10:15", "idempotency_key": "e1"})
    assert done.status_code == 302 and "new=1" in done.headers["Location"]
    session.rollback()
    (found,) = reservations.my_reservations(session, driver.id)
    assert found.plate == "沪A12345"
    assert clock.local(found.arrive_at).strftime("%H:%M") == "10:15"


def share_form(client, park_id, window_id, **extra):
    return submit(
        client,
        f"/parking/{park_id}/share",
        {"window": window_id, "plate": "沪A12345", "month": "2027-01-01", "idempotency_key": "s1"}
        | extra,
    )


def test_signing_shows_a_summary_first_and_does_not_renew_unless_chosen(
    client, session, window, driver, frozen
):
    park_id = window.car_park_id
    login(client, "13911112222")
    form = client.get(f"/parking/{park_id}/share").get_data(as_text=True)
    assert 'name="renew" type="checkbox" value="y">' in form  # not ticked
    summary = share_form(client, park_id, window.id)
    html = summary.get_data(as_text=True)
    assert summary.status_code == 200 and "签约前请核对" in html
    assert "¥300.00" in html and "2027年1月1日" in html and "2027年1月31日" in html
    assert "不续签：协议于 2027年1月31日（周日） 结束" in html
    # This year's month without its year, as every date of the portal (app/i18n.human_day).
    december = share_form(client, park_id, window.id, month="2026-12-01").get_data(as_text=True)
    assert "12月1日（周二）</span> – <span" in december and "2026年" not in december
    assert session.scalar(select(sharing.SharingContract.id)) is None  # nothing signed yet
    back = share_form(client, park_id, window.id, action="change").get_data(as_text=True)
    assert '<input checked class="radio-input" id="month-1"' in back  # answers kept
    done = share_form(client, park_id, window.id, confirm="1")
    assert done.status_code == 302
    contract = session.scalar(select(sharing.SharingContract))
    assert contract is not None and not contract.renew
    # The contract's page: the human day, the year only when it is not this year.
    page = client.get(f"/parking/contracts/{contract.id}").get_data(as_text=True)
    assert "2027年1月1日（周五） – 2027年1月31日（周日）" in page
    december = sharing.sign(
        session, driver, window, "沪A12345", date(2026, 12, 1), settings=parking_settings()
    )
    page = client.get(f"/parking/contracts/{december.id}").get_data(as_text=True)
    assert "12月1日（周二） – 12月31日（周四）" in page and "2026年" not in page
    english = client.application.test_client()
    english.set_cookie("locale", "en")
    login(english, "13911112222")
    html = share_form(english, park_id, window.id, renew="y", idempotency_key="s2").get_data(
        as_text=True
    )
    assert "Renews automatically" in html and "无感支付" not in html
    for path in (f"/parking/{park_id}", f"/parking/{park_id}/share", "/parking/vehicles"):
        english_page = english.get(path).get_data(as_text=True)
        assert "错峰" not in english_page and "无感" not in english_page, path


def test_the_contract_message_is_whole_in_the_readers_language_with_the_amount(
    client, session, window, driver
):
    sharing.sign(session, driver, window, "沪A12345", date(2027, 1, 1), settings=parking_settings())
    from app.notifications.models import Notification

    note = session.scalar(select(Notification).where(Notification.kind == "parking.contract"))
    with client.application.test_request_context(headers={"Accept-Language": "zh-CN"}):
        from flask_babel import force_locale

        with force_locale("zh_Hans_CN"):
            body = note.body_text
        with force_locale("en"):
            english = note.body_text
    assert "请在" in body and "¥300.00" in body and "2027年1月" in body and "Pay" not in body
    assert "Pay ¥300.00 by" in english and "January 2027" in english


def test_with_automatic_payment_the_contract_is_paid_and_says_so(
    client, session, window, make_user, frozen
):
    from app.notifications.models import Notification
    from parking.models import ChargeStatus
    from parking.services import payments
    from tests.conftest import verified_vehicle

    owner = make_user(phone="13911113333")
    vehicle = verified_vehicle(session, owner, "沪A54321")
    method = payments.default_provider(parking_settings()).open_method(session, owner)
    vehicles.set_autopay(session, vehicle, method)
    terms = costs.sign_terms(
        session,
        owner.id,
        window,
        "沪A54321",
        date(2027, 1, 1),
        renew=True,
        settings=parking_settings(),
    )
    assert terms.autopay and terms.renews_on == date(2027, 1, 25)
    contract = sharing.sign(
        session, owner, window, "沪A54321", date(2026, 12, 1), settings=parking_settings()
    )
    from parking.models import Charge

    charge = session.scalar(select(Charge).where(Charge.contract_id == contract.id))
    assert charge.status == ChargeStatus.PAID and charge.automatic
    note = session.scalar(select(Notification).where(Notification.kind == "parking.contract"))
    assert note.body == "%(plate)s, %(window)s, %(month)s. %(amount)s is paid by automatic payment."
    # The renewal from the 25th: titled as one on its page and in the inbox, paid the same way.
    frozen.move_to("2026-12-25T03:00:00+08:00")
    assert sharing.renew_contracts(session, settings=parking_settings())["renewed"] == 1
    january = session.scalar(
        select(sharing.SharingContract).where(sharing.SharingContract.month == date(2027, 1, 1))
    )
    assert costs.is_renewal(january) and not costs.is_renewal(contract)
    subjects = session.scalars(
        select(Notification.subject).where(Notification.kind == "parking.contract")
    ).all()
    assert "Off-peak contract at %(park)s renewed for %(month)s" in subjects
    login(client, "13911113333")
    page = client.get(f"/parking/contracts/{january.id}").get_data(as_text=True)
    assert "错峰共享协议续签" in page


def test_a_car_park_page_links_to_amap_and_baidu_at_its_coordinates(client, car_park):
    from urllib.parse import parse_qs, urlparse

    from parking.services import maps

    park = car_park.default
    with client.application.test_request_context():
        amap, baidu = maps.navigation_links(park)
    assert parse_qs(urlparse(amap.url).query) == {
        "position": ["121.380000,31.110000"],
        "name": ["测试停车场"],
        "coordinate": ["wgs84"],
        "callnative": ["1"],
        "src": [maps.SOURCE],
    }
    query = parse_qs(urlparse(baidu.url).query)
    assert query["location"] == ["31.110000,121.380000"] and query["coord_type"] == ["wgs84"]
    assert query["content"] == ["测试路 9 号"]
    page = client.get(f"/parking/{park.id}").get_data(as_text=True)
    assert "在高德地图中打开" in page and amap.url.replace("&", "&amp;") in page
    client.set_cookie("locale", "en")
    assert "Open in Baidu Maps" in client.get(f"/parking/{park.id}").get_data(as_text=True)
