"""The parking issue's story in a real browser: a driver registers a plate with 无感支付,
reserves a space, the gates report the car coming and going, the fee is charged automatically
and the receipt arrives; another driver signs an off-peak contract; the operator sees it all and
the open data feed shows the vacancies. Standard mode in Chinese, elderly mode in English; every
page passes the accessibility audit. Plus every operator and driver form page in both modes."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import MODES, assert_accessible
from tests.browser.test_parking_reserve_steps import walk_to_a_time

TEXT = {
    "zh_CN": {"reserved": "已预约车位", "arrived": "已入场", "paid": "已支付", "receipt": "收据"},
    "en": {
        "reserved": "Space reserved",
        "arrived": "Arrived",
        "paid": "Paid",
        "receipt": "Receipt",
    },
}


def _ids(live_server):
    def find(session):
        from sqlalchemy import select

        from parking.models import CarPark

        parks = {p.name_zh: p for p in session.scalars(select(CarPark))}
        return parks["莘庄地铁站P+R停车场"].id, parks["莘城苑小区共享车位"].id

    return live_server.run(find)


def _gate(live_server, token, park_id, plate, direction, at):
    import json
    import urllib.request

    request = urllib.request.Request(
        f"{live_server.url}/api/v1/parking/events",
        method="POST",
        data=json.dumps(
            {
                "carpark_id": park_id,
                "plate": plate,
                "direction": direction,
                "occurred_at": at.isoformat(),
            }
        ).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


@pytest.mark.parametrize(
    "mode, locale, plate, other_plate",
    [("standard", "zh_CN", "沪A7A001", "沪A7B001"), ("elderly", "en", "沪A7A002", "沪A7B002")],
)
def test_reserve_arrive_leave_pay_share_and_operate(
    open_page, live_server, mode, locale, plate, other_plate
):
    words = TEXT[locale]
    park_id, estate_park_id = _ids(live_server)
    driver, neighbour = live_server.create_user(), live_server.create_user()
    operator = live_server.create_user("carpark_operator", f"carpark:{park_id}")
    estate_operator = live_server.create_user("carpark_operator", f"carpark:{estate_park_id}")

    # The driver adds the plate, typed loosely; once a verifier has seen the vehicle licence
    # (the browser flow is tests/browser/test_parking_plates.py), turns on automatic payment.
    page = open_page("/parking/vehicles", mode=mode, locale=locale, user=driver)
    assert_accessible(page, mode)
    page.fill("#plate", plate[0] + " " + plate[1:].lower())
    page.locator("form:has(#plate) button[type=submit]").click()
    page.wait_for_url("**/licence")

    def verify(session):
        from app.accounts.services import find_by_login
        from tests.conftest import verified_vehicle

        verified_vehicle(session, find_by_login(session, driver), plate)

    live_server.run(verify)
    page.goto(f"{live_server.url}/parking/vehicles")
    expect(page.locator("main h2", has_text=plate)).to_be_visible()
    page.locator("form[action$='/autopay'] button").click()
    assert_accessible(page, mode)
    page.locator("main a[href$='/remove']").first.click()  # the question: nothing removed yet
    assert plate in page.locator("h1").inner_text()
    assert_accessible(page, mode)

    # ... and reserves a space for the first arrival time offered.
    page.goto(f"{live_server.url}/parking/{park_id}/reserve")
    assert_accessible(page, mode)
    if mode == "elderly":  # one short question a page (test_parking_reserve_steps.py)
        walk_to_a_time(page)
    else:
        page.select_option("#time", index=1)
        page.locator("main form button.button:not(.button-secondary)").click()
    assert "new=1" in page.url and words["reserved"] in page.locator(".panel").inner_text()
    assert_accessible(page, mode)
    reservation_url = page.url.split("?")[0]
    page.goto(reservation_url + "/cancel")  # the question saying what cancelling costs
    expect(page.locator("main form button.button-warning")).to_be_visible()
    assert_accessible(page, mode)

    # The gates: in now (within the hour before arrival), out 40 minutes later. (The plate was
    # verified just now, and a stay is charged to whoever verifiably held the plate when it began.)
    def token_for(session):
        from app.accounts.services import find_by_login, issue_token

        return issue_token(session, find_by_login(session, operator))

    token = live_server.run(token_for)
    from app import clock

    now = clock.now().replace(microsecond=0)
    entry = _gate(live_server, token, park_id, plate, "entry", now)
    assert entry["outcome"] == "entered"
    leaving = _gate(live_server, token, park_id, plate, "exit", now + timedelta(minutes=40))
    assert leaving["fee_fen"] > 0 and leaving["charge_status"] == "paid"
    assert leaving["occupied"] == entry["occupied"] - 1

    page.goto(reservation_url)
    assert words["arrived"] in page.locator(".status").inner_text()
    page.goto(f"{live_server.url}/parking/mine")
    assert_accessible(page, mode)
    assert words["paid"] in page.locator("main table").inner_text()
    page.goto(f"{live_server.url}/inbox")
    assert words["receipt"] in page.locator("main").inner_text()
    page.locator("main a", has_text=words["receipt"]).first.click()
    assert_accessible(page, mode)

    # A neighbour signs an off-peak contract for this month at the estate's car park.
    page = open_page("/parking/vehicles", mode=mode, locale=locale, user=neighbour)
    page.fill("#plate", other_plate)
    page.locator("form:has(#plate) button[type=submit]").click()
    page.goto(f"{live_server.url}/parking/{estate_park_id}")
    assert_accessible(page, mode)
    page.goto(f"{live_server.url}/parking/{estate_park_id}/share")
    assert_accessible(page, mode)
    page.locator("input[name=window]").first.check()
    page.locator("input[name=month]").first.check()
    page.locator("main form button[type=submit]").click()
    # The summary before signing: the amount, the period and the renewal (off unless chosen).
    assert_accessible(page, mode)
    page.locator("main form button[name=confirm]").click()
    assert "/parking/contracts/" in page.url
    assert other_plate in page.locator("main").inner_text()
    assert_accessible(page, mode)
    contract_url = page.url.split("?")[0]
    page.locator("main a.button-warning").click()  # the question before cancelling
    assert_accessible(page, mode)
    page.goto(contract_url)
    page.locator("main a[href*='/parking/charges/']").click()
    assert_accessible(page, mode)
    page.locator("main form button[type=submit]").click()
    assert words["paid"] in page.locator(".status").inner_text()

    # The operators see it: the reservation (plate masked), the fee, the signed contract.
    page = open_page(f"/parking/operate/{park_id}", mode=mode, locale=locale, user=operator)
    assert_accessible(page, mode)
    main = page.locator("main").inner_text()
    masked = plate[:3] + "*" * (len(plate) - 5) + plate[-2:]
    assert masked in main and plate not in main
    page = open_page(
        f"/parking/operate/{estate_park_id}", mode=mode, locale=locale, user=estate_operator
    )
    assert_accessible(page, mode)

    def signed(session):
        from sqlalchemy import func, select

        from app import clock
        from bookings.models import Booking, BookingStatus
        from parking.models import SharingContract, SharingWindow

        window = session.scalar(
            select(SharingWindow)
            .where(SharingWindow.car_park_id == estate_park_id)
            .order_by(SharingWindow.id)
        )
        return window.spaces, session.scalar(
            select(func.count(SharingContract.id))
            .join(Booking)
            .where(
                SharingContract.window_id == window.id,
                SharingContract.month == clock.today().replace(day=1),
                Booking.status == BookingStatus.CONFIRMED,
            )
        )

    spaces, count = live_server.run(signed)
    assert count >= 1
    shown = f"{count} of {spaces}" if locale == "en" else f"{count} / {spaces}"
    assert page.locator("main table tr", has_text=shown).count() == 1

    # The feed shows the vacancies and never a plate.
    feed = page.request.get(f"{live_server.url}/api/v1/parking/feed").json()
    mine = next(p for p in feed if p["id"] == park_id)
    assert mine["free"] == mine["total"] - leaving["occupied"] and plate not in str(feed)


@pytest.mark.parametrize("mode", MODES)
def test_operator_and_driver_form_pages(open_page, live_server, mode):
    park_id, estate_park_id = _ids(live_server)
    operator = live_server.create_user("carpark_operator", f"carpark:{estate_park_id}")

    def first_window(session):
        from sqlalchemy import select

        from parking.models import SharingWindow

        return session.scalar(
            select(SharingWindow.id).where(SharingWindow.car_park_id == estate_park_id)
        )

    window_id = live_server.run(first_window)
    for path in (
        "/parking/operate",
        f"/parking/operate/{estate_park_id}/capacity",
        f"/parking/operate/{estate_park_id}/tariff",
        f"/parking/operate/{estate_park_id}/windows/new",
        f"/parking/operate/{estate_park_id}/windows/{window_id}",
    ):
        page = open_page(path, mode=mode, user=operator)
        assert_accessible(page, mode)
    # a refused capacity change shows its error summary, audited too
    page.goto(f"{live_server.url}/parking/operate/{estate_park_id}/capacity")
    page.fill("#reservable_spaces", "100000")
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".error-summary")).to_be_visible()
    assert_accessible(page, mode)
    page.goto(f"{live_server.url}/parking/operate/{estate_park_id}")
    page.locator("form[action$='/token'] button").click()
    assert page.locator(".token-text").inner_text().startswith("cp_")
    assert_accessible(page, mode)

    driver = live_server.create_user()
    page = open_page("/parking/mine", mode=mode, user=driver)
    assert_accessible(page, mode)
    for path in (f"/parking/{park_id}/reserve", f"/parking/{estate_park_id}/share"):
        page.goto(live_server.url + path)
        assert_accessible(page, mode)
    page.goto(f"{live_server.url}/parking/vehicles")
    page.fill("#plate", "ABC")
    page.locator("form:has(#plate) button[type=submit]").click()
    expect(page.locator(".error-summary")).to_be_visible()
    assert_accessible(page, mode)
