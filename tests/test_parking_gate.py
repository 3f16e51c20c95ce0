"""Gate events keep occupancy and sessions; exits are priced and, with 无感支付, paid through
the provider with signed, idempotent callbacks; receipts arrive in the inbox."""

import json

import pytest
from sqlalchemy import func, select

from app import clock
from app.accounts.services import issue_token
from app.notifications.models import Notification
from bookings.models import BookingStatus
from parking.models import (
    Charge,
    ChargeStatus,
    DemoWalletAccount,
    DemoWalletPayment,
    GateEvent,
    ParkingSession,
    SessionStatus,
)
from parking.services import payments, reservations, vehicles
from tests.conftest import login, parking_settings, submit, verified_vehicle
from tests.race import race


def auth(session, user):
    token = issue_token(session, user)
    session.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def gate(client, session, car_park, make_user):
    park = car_park.default
    headers = auth(session, make_user("carpark_operator", scope=park))

    def send(plate, direction, at, expect=201):
        response = client.post(
            "/api/v1/parking/events",
            headers=headers,
            json={"carpark_id": park.id, "plate": plate, "direction": direction, "occurred_at": at},
        )
        assert response.status_code == expect, response.json
        return response.json

    send.park = park
    return send


def occupied(session, park):
    session.rollback()
    session.refresh(park)
    return park.occupied


def receipts(session, user):
    session.rollback()
    return session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.kind == "parking.receipt"
        )
    )


def test_events_need_an_operator_token_for_that_car_park(client, session, car_park, make_user):
    park, other = car_park.default, car_park(name="别的停车场")
    body = {
        "carpark_id": park.id,
        "plate": "沪A12345",
        "direction": "entry",
        "occurred_at": "2026-12-01T09:00:00+08:00",
    }
    assert client.post("/api/v1/parking/events", json=body).status_code == 401
    assert (
        client.post(
            "/api/v1/parking/events", json=body, headers=auth(session, make_user())
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/v1/parking/events",
            json=body,
            headers=auth(session, make_user("carpark_operator", scope=other)),
        ).status_code
        == 403
    )
    bad = client.post(
        "/api/v1/parking/events",
        json={**body, "direction": "sideways"},
        headers=auth(session, make_user("carpark_operator", scope=park)),
    )
    assert bad.status_code == 422
    assert occupied(session, park) == 20


def test_entry_and_exit_move_occupancy_once_and_price_the_stay(gate, session):
    park = gate.park
    entry = gate("沪A12345", "entry", "2026-12-01T09:00:00+08:00")
    assert entry["outcome"] == "entered" and entry["occupied"] == 21 and entry["free"] == 79
    # the same event resent: nothing changes
    again = gate("沪A12345", "entry", "2026-12-01T09:00:00+08:00", expect=200)
    assert (
        again["duplicate"] is True and again["id"] == entry["id"] and occupied(session, park) == 21
    )
    # an entry while already inside (a missed exit, a second camera): recorded, not counted
    repeated = gate("沪A12345", "entry", "2026-12-01T09:05:00+08:00")
    assert repeated["outcome"] == "repeated_entry" and repeated["occupied"] == 21
    leaving = gate("沪A12345", "exit", "2026-12-01T11:30:00+08:00")
    assert leaving["outcome"] == "exited" and leaving["occupied"] == 20
    assert (
        leaving["fee_fen"] == 1000 + 3 * 500
    )  # 150 minutes by day: first hour, then three half hours
    assert leaving["charge_status"] is None  # nobody registered this plate: paid at the gate's till
    stay = session.scalar(select(ParkingSession).where(ParkingSession.plate == "沪A12345"))
    assert stay.status == SessionStatus.CLOSED and stay.fee_fen == 2500
    # an exit with no entry: recorded for the operator, occupancy unchanged
    stray = gate("沪B54321", "exit", "2026-12-01T11:40:00+08:00")
    assert stray["outcome"] == "unmatched_exit" and stray["occupied"] == 20
    gate("沪B54321", "exit", "2026-12-01T11:40:00+08:00", expect=200)
    assert session.scalar(select(func.count(GateEvent.id))) == 4
    assert session.scalar(select(func.count(Charge.id))) == 0


def test_plates_are_normalised_and_checked(gate, session):
    gate("沪ａ 12345", "entry", "2026-12-01T09:00:00+08:00")
    assert (
        gate("沪A12345", "exit", "2026-12-01T09:10:00+08:00")["fee_fen"] == 0
    )  # within the free 15 minutes
    assert (
        gate("XYZ", "entry", "2026-12-01T09:00:00+08:00", expect=400)["error"]["code"]
        == "invalid_plate"
    )


@pytest.mark.race
def test_the_same_event_sent_many_times_at_once_counts_once(app, session, car_park, make_user):
    park = car_park.default
    park_id = park.id
    headers = auth(session, make_user("carpark_operator", scope=park))

    def send(i):
        response = app.test_client().post(
            "/api/v1/parking/events",
            headers=headers,
            json={
                "carpark_id": park_id,
                "plate": "沪A12345",
                "direction": "entry",
                "occurred_at": "2026-12-01T09:00:00+08:00",
            },
        )
        return response.status_code

    results = race(app, 20, send)
    assert results.count(201) == 1 and results.count(200) == 19, results
    assert occupied(session, park) == 21
    assert session.scalar(select(func.count(ParkingSession.id))) == 1


@pytest.mark.race
def test_many_cars_entering_at_once_are_all_counted(app, session, car_park, make_user):
    park = car_park(name="满场停车场", total=30, occupied=0, reservable=0)
    park_id = park.id
    headers = auth(session, make_user("carpark_operator", scope=park))

    def send(i):
        return (
            app.test_client()
            .post(
                "/api/v1/parking/events",
                headers=headers,
                json={
                    "carpark_id": park_id,
                    "plate": f"沪A{10000 + i}",
                    "direction": "entry",
                    "occurred_at": "2026-12-01T09:00:00+08:00",
                },
            )
            .status_code
        )

    assert race(app, 40, send).count(201) == 40
    assert occupied(session, park) == 30  # never past the total, even when the gate lets more in
    assert (
        session.scalar(
            select(func.count(ParkingSession.id)).where(ParkingSession.status == SessionStatus.OPEN)
        )
        == 40
    )


def test_entry_uses_the_plate_reservation(gate, session, make_user, frozen):
    park = gate.park
    driver = make_user()
    vehicles.register(session, driver, "沪A12345")  # a claim is enough: the gate reads the plate
    reservation = reservations.reserve(
        session,
        driver,
        driver,
        park,
        "沪A12345",
        clock.at(clock.today(), 10 * 60),
        settings=parking_settings(),
    )
    gate("沪A12345", "entry", "2026-12-01T10:10:00+08:00")
    session.rollback()
    assert reservation.booking.status == BookingStatus.CHECKED_IN
    frozen.move_to("2026-12-01T11:00:00+08:00")
    assert reservations.mark_no_shows(session, settings=parking_settings()) == 0


def test_autopay_charges_the_bound_wallet_once_and_sends_a_receipt(gate, session, make_user):
    driver = make_user()
    vehicle = verified_vehicle(session, driver, "沪A12345")
    method = payments.PROVIDERS["demo_wallet"].open_method(session, driver)
    vehicles.set_autopay(session, vehicle, method)
    gate("沪A12345", "entry", "2026-12-01T09:00:00+08:00")
    leaving = gate("沪A12345", "exit", "2026-12-01T10:00:00+08:00")
    assert leaving["fee_fen"] == 1000 and leaving["charge_status"] == "paid"
    charge = session.scalar(select(Charge))
    assert charge.user_id == driver.id and charge.automatic and charge.provider == "demo_wallet"
    assert (
        session.scalar(
            select(DemoWalletAccount.balance_fen).where(DemoWalletAccount.user_id == driver.id)
        )
        == 50000 - 1000
    )
    assert receipts(session, driver) == 1
    note = session.scalar(select(Notification).where(Notification.kind == "parking.receipt"))
    assert note.params["amount"] == "¥10.00" and note.link == f"/parking/charges/{charge.reference}"
    # the provider's callback delivered again, and the wallet asked to pay again: one charge,
    # one receipt
    body = json.dumps(
        {"charge": charge.reference, "status": "succeeded", "amount_fen": 1000}
    ).encode()
    assert (
        payments.apply_callback(
            session,
            "demo_wallet",
            body,
            payments.sign(parking_settings(), "demo_wallet", body),
            settings=parking_settings(),
        ).outcome
        == "already_paid"
    )
    payments.PROVIDERS["demo_wallet"].pay(session, method, charge, settings=parking_settings())
    assert session.scalar(select(func.count(DemoWalletPayment.id))) == 1
    assert (
        session.scalar(
            select(DemoWalletAccount.balance_fen).where(DemoWalletAccount.user_id == driver.id)
        )
        == 49000
    )
    assert receipts(session, driver) == 1


def test_without_a_binding_the_driver_pays_from_the_history(client, gate, session, make_user):
    driver = make_user(phone="13911112222", locale="en")
    verified_vehicle(session, driver, "沪A12345")
    gate("沪A12345", "entry", "2026-12-01T09:00:00+08:00")
    assert gate("沪A12345", "exit", "2026-12-01T11:30:00+08:00")["charge_status"] == "due"
    charge = session.scalar(select(Charge))
    assert payments.is_payable(charge)  # the rule the pages show the pay button by
    login(client, "13911112222")
    mine = client.get("/parking/mine").get_data(as_text=True)
    assert "Pay ¥25.00" in mine and f"/parking/charges/{charge.reference}" in mine
    page = client.get(f"/parking/charges/{charge.reference}").get_data(as_text=True)
    assert "Demo wallet (not real money)" in page and "pretend money" in page
    paid = submit(client, f"/parking/charges/{charge.reference}", {})
    assert paid.status_code == 302
    session.rollback()
    assert session.get(Charge, charge.id).status == ChargeStatus.PAID
    assert not payments.is_payable(session.get(Charge, charge.id))
    assert receipts(session, driver) == 1
    again = submit(client, f"/parking/charges/{charge.reference}", {})
    assert again.status_code == 200  # the button is gone; a replayed POST is refused
    assert (
        session.scalar(select(func.count(DemoWalletPayment.id))) == 1
        and receipts(session, driver) == 1
    )
    # someone else's charge is not there for them
    make_user(phone="13933334444")
    stranger = client.application.test_client()
    login(stranger, "13933334444")
    assert stranger.get(f"/parking/charges/{charge.reference}").status_code == 404


def test_callbacks_are_verified_and_idempotent_over_http(client, gate, session, make_user):
    driver = make_user()
    verified_vehicle(session, driver, "沪A12345")
    gate("沪A12345", "entry", "2026-12-01T09:00:00+08:00")
    gate("沪A12345", "exit", "2026-12-01T10:00:00+08:00")
    charge = session.scalar(select(Charge))
    body = json.dumps(
        {
            "charge": charge.reference,
            "status": "succeeded",
            "amount_fen": 1000,
            "provider_ref": "T1",
        }
    ).encode()
    url = "/api/v1/parking/payments/callback/demo_wallet"
    forged = client.post(
        url,
        data=body,
        headers={"X-Payment-Signature": "0" * 64, "Content-Type": "application/json"},
    )
    assert forged.status_code == 400 and forged.json["error"]["code"] == "bad_signature"
    wrong_amount = json.dumps(
        {"charge": charge.reference, "status": "succeeded", "amount_fen": 1}
    ).encode()
    assert (
        client.post(
            url,
            data=wrong_amount,
            headers={
                "X-Payment-Signature": payments.sign(
                    parking_settings(), "demo_wallet", wrong_amount
                )
            },
        ).json["error"]["code"]
        == "amount_mismatch"
    )
    assert (
        client.post(
            "/api/v1/parking/payments/callback/nobody",
            data=body,
            headers={"X-Payment-Signature": "x"},
        ).status_code
        == 400
    )
    signed = {"X-Payment-Signature": payments.sign(parking_settings(), "demo_wallet", body)}
    first = client.post(url, data=body, headers=signed)
    assert first.status_code == 200 and first.json == {
        "charge": charge.reference,
        "outcome": "paid",
        "status": "paid",
    }
    assert client.post(url, data=body, headers=signed).json["outcome"] == "already_paid"
    assert receipts(session, driver) == 1


@pytest.mark.race
def test_concurrent_callbacks_pay_once(app, session, gate, make_user):
    driver = make_user()
    verified_vehicle(session, driver, "沪A12345")
    gate("沪A12345", "entry", "2026-12-01T09:00:00+08:00")
    gate("沪A12345", "exit", "2026-12-01T10:00:00+08:00")
    reference = session.scalar(select(Charge.reference))
    body = json.dumps({"charge": reference, "status": "succeeded", "amount_fen": 1000}).encode()
    with app.test_request_context():
        signature = payments.sign(parking_settings(), "demo_wallet", body)

    def deliver(i):
        return (
            app.test_client()
            .post(
                "/api/v1/parking/payments/callback/demo_wallet",
                data=body,
                headers={"X-Payment-Signature": signature},
            )
            .json["outcome"]
        )

    results = race(app, 20, deliver)
    assert results.count("paid") == 1 and results.count("already_paid") == 19, results
    assert receipts(session, driver) == 1


def test_failed_automatic_payment_leaves_it_payable_online(gate, session, make_user):
    driver = make_user()
    vehicle = verified_vehicle(session, driver, "沪A12345")
    vehicles.set_autopay(
        session, vehicle, payments.PROVIDERS["demo_wallet"].open_method(session, driver)
    )
    session.execute(DemoWalletAccount.__table__.update().values(balance_fen=500))
    session.commit()
    gate("沪A12345", "entry", "2026-12-01T09:00:00+08:00")
    assert gate("沪A12345", "exit", "2026-12-01T10:00:00+08:00")["charge_status"] == "failed"
    session.rollback()
    assert session.scalar(
        select(Notification.kind).where(
            Notification.user_id == driver.id, Notification.kind == "parking.payment_failed"
        )
    )
    assert session.scalar(select(DemoWalletAccount.balance_fen)) == 500


def test_history_only_shows_stays_since_the_plate_was_verified(gate, session, make_user, frozen):
    gate("沪A12345", "entry", "2026-12-01T07:00:00+08:00")
    gate("沪A12345", "exit", "2026-12-01T08:00:00+08:00")
    driver = make_user()
    verified_vehicle(session, driver, "沪A12345")  # verified at 09:00
    from parking.services.gate import history

    assert history(session, driver.id) == []
    gate("沪A12345", "entry", "2026-12-01T09:30:00+08:00")
    assert [s.entered_at for s in history(session, driver.id)] == [
        clock.at(clock.today(), 9 * 60 + 30)
    ]
