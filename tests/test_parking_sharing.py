"""错峰共享: sharing windows, monthly contracts through the capacity engine (signing, cancelling,
renewing or lapsing), stays covered by a contract, and a race for the last spaces."""

from datetime import date

import pytest
from sqlalchemy import func, select

from app import clock
from app.errors import DomainError
from app.notifications.models import Notification
from bookings.models import BookingStatus, CapacityBucket
from bookings.services import SoldOut, ledger_mismatches
from parking.models import CarParkKind, Charge, DayPattern, GateDirection, SharingContract
from parking.services import gate, sharing, vehicles
from tests.conftest import login, parking_settings, submit, verified_vehicle
from tests.race import race


@pytest.fixture
def estate_park(car_park):
    return car_park(
        name="莘城苑共享车位", kind=CarParkKind.RESIDENTIAL, total=60, occupied=10, reservable=0
    )


@pytest.fixture
def office_window(session, estate_park):
    return sharing.create_window(
        session,
        estate_park,
        name_zh="工作日白天",
        name_en="Working days, daytime",
        days=DayPattern.WORKDAYS,
        start_minute=8 * 60,
        end_minute=18 * 60,
        spaces=2,
        monthly_fee_fen=30000,
    )


@pytest.fixture
def night_window(session, estate_park):
    return sharing.create_window(
        session,
        estate_park,
        name_zh="夜间",
        name_en="Nights",
        days=DayPattern.EVERY_DAY,
        start_minute=19 * 60,
        end_minute=7 * 60 + 30,
        spaces=10,
        monthly_fee_fen=20000,
    )


def paid(session, contract):
    """Pay the contract's charge from the holder's demo wallet: only then is it honoured."""
    from parking.models import DemoWalletAccount
    from parking.services import payments

    charge = session.scalar(select(Charge).where(Charge.contract_id == contract.id))
    payments.default_provider(parking_settings()).open_method(session, contract.booking.holder)
    account = session.scalar(
        select(DemoWalletAccount).where(DemoWalletAccount.user_id == contract.holder_id)
    )
    account.balance_fen += charge.amount_fen  # topped up: the demo wallet opens with ¥500
    session.commit()
    payments.pay_online(session, charge, contract.booking.holder, settings=parking_settings())
    session.refresh(contract.booking)
    assert contract.booking.status == BookingStatus.CONFIRMED
    return contract


def driver_with(make_user, session, plate, **attrs):
    user = make_user(**attrs)
    vehicles.register(session, user, plate)
    return user


def test_sign_in_the_browser_see_it_and_cancel(
    client, session, estate_park, office_window, make_user
):
    driver = driver_with(make_user, session, "沪A12345", phone="13911112222", locale="en")
    zh = client.get(f"/parking/{estate_park.id}").get_data(as_text=True)
    assert "，每月 ¥300.00" in zh and "18:00, " not in zh  # Chinese punctuation in Chinese text
    login(client, "13911112222")
    page = client.get(f"/parking/{estate_park.id}/share").get_data(as_text=True)
    assert (
        "Working days, daytime" in page
        and "Monday to Friday 08:00–18:00" in page
        and "¥300.00" in page
    )
    response = submit(
        client,
        f"/parking/{estate_park.id}/share",
        {
            "window": office_window.id,
            "plate": "沪A12345",
            "month": "2027-01-01",
            "renew": "y",
            "idempotency_key": "k",
            "confirm": "1",  # from the summary page (tests/test_parking_traps.py)
        },
    )
    assert response.status_code == 302
    contract = session.scalar(select(SharingContract))
    assert contract.month == date(2027, 1, 1) and contract.renew and contract.holder_id == driver.id
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Waiting for payment" in html and "沪A12345" in html and "¥300.00" in html
    paid(session, contract)
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Starts Fri 1 Jan 2027" in html  # the human day: with its year (not this year)
    assert (
        session.scalar(select(Charge.amount_fen).where(Charge.contract_id == contract.id)) == 30000
    )
    assert sharing.spaces_left(session, office_window, date(2027, 1, 1)) == 1
    assert "Working days, daytime" in client.get("/parking/mine").get_data(as_text=True)
    submit(
        client,
        f"/parking/contracts/{contract.id}/cancel",
        {},
        form_url=f"/parking/contracts/{contract.id}",
    )
    session.rollback()
    assert contract.booking.status == BookingStatus.CANCELLED
    assert sharing.spaces_left(session, office_window, date(2027, 1, 1)) == 2
    assert ledger_mismatches(session) == []


def test_form_refuses_missing_answers_and_someone_elses_plate(
    client, session, estate_park, office_window, make_user
):
    driver_with(make_user, session, "沪A12345", phone="13911112222", locale="en")
    driver_with(make_user, session, "沪B88888")
    login(client, "13911112222")
    html = submit(
        client, f"/parking/{estate_park.id}/share", {"plate": "沪A12345", "month": "2026-12-01"}
    ).get_data(as_text=True)
    assert 'href="#window">Choose a window' in html
    html = submit(
        client,
        f"/parking/{estate_park.id}/share",
        {"window": office_window.id, "plate": "沪B88888", "month": "2026-12-01"},
    ).get_data(as_text=True)
    assert "There is a problem" in html
    assert session.scalar(select(func.count(SharingContract.id))) == 0


def test_part_month_is_charged_pro_rata(session, office_window, make_user, frozen):
    frozen.move_to("2026-12-16T10:00:00+08:00")
    driver = driver_with(make_user, session, "沪A12345")
    contract = sharing.sign(
        session, driver, office_window, "沪A12345", date(2026, 12, 1), settings=parking_settings()
    )
    fee = session.scalar(select(Charge.amount_fen).where(Charge.contract_id == contract.id))
    assert fee == -(-30000 * 16 // 31) == 15484  # 16 of December's 31 days, rounded up to the fen
    with pytest.raises(DomainError):
        sharing.sign(
            session,
            driver,
            office_window,
            "沪A12345",
            date(2027, 2, 1),
            settings=parking_settings(),
        )  # only this month or next


def test_full_window_refuses_and_closed_window_refuses(session, office_window, make_user):
    for i in range(2):
        sharing.sign(
            session,
            driver_with(make_user, session, f"沪A1000{i}"),
            office_window,
            f"沪A1000{i}",
            date(2026, 12, 1),
            settings=parking_settings(),
        )
    with pytest.raises(SoldOut):
        sharing.sign(
            session,
            driver_with(make_user, session, "沪A20000"),
            office_window,
            "沪A20000",
            date(2026, 12, 1),
            settings=parking_settings(),
        )
    sharing.update_window(session, office_window, active=False)
    with pytest.raises(DomainError) as error:
        sharing.sign(
            session,
            driver_with(make_user, session, "沪A30000"),
            office_window,
            "沪A30000",
            date(2027, 1, 1),
            settings=parking_settings(),
        )
    assert error.value.code == "window_closed"


def test_renewal_signs_next_month_once_and_lapses_when_full(
    session, office_window, make_user, frozen
):
    keeps = driver_with(make_user, session, "沪A11111")
    stops = driver_with(make_user, session, "沪A22222")
    first = paid(
        session,
        sharing.sign(
            session,
            keeps,
            office_window,
            "沪A11111",
            date(2026, 12, 1),
            settings=parking_settings(),
        ),
    )
    second = paid(
        session,
        sharing.sign(
            session,
            stops,
            office_window,
            "沪A22222",
            date(2026, 12, 1),
            renew=False,
            settings=parking_settings(),
        ),
    )
    assert sharing.renew_contracts(session, settings=parking_settings()) == {
        "renewed": 0,
        "lapsed": 0,
    }  # not before the 25th
    frozen.move_to("2026-12-25T03:00:00+08:00")
    assert sharing.renew_contracts(session, settings=parking_settings()) == {
        "renewed": 1,
        "lapsed": 0,
    }
    assert sharing.renew_contracts(session, settings=parking_settings()) == {
        "renewed": 0,
        "lapsed": 0,
    }  # the next sweep changes nothing
    january = session.scalars(
        select(SharingContract).where(SharingContract.month == date(2027, 1, 1))
    ).all()
    assert [c.plate for c in january] == ["沪A11111"] and january[0].renew
    assert sharing.state(first) == "running" and sharing.state(second) == "ending"
    assert sharing.state(january[0]) == "unpaid"  # a renewal is charged like a signature
    assert january[0].pay_by == clock.at(date(2027, 1, 1), 0)  # payable until its month starts
    paid(session, january[0])
    frozen.move_to("2027-01-01T00:00:00+08:00")
    assert sharing.state(first) == "ended" and sharing.state(january[0]) == "running"
    # the window shrinks to nothing: January's contract cannot renew into February and lapses
    sharing.update_window(session, office_window, spaces=0)
    frozen.move_to("2027-01-26T03:00:00+08:00")
    assert sharing.renew_contracts(session, settings=parking_settings()) == {
        "renewed": 0,
        "lapsed": 1,
    }
    session.rollback()
    assert january[0].lapsed_reason == "window_closed"
    assert (
        session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == keeps.id, Notification.kind == "parking.contract_lapsed"
            )
        )
        == 1
    )
    assert sharing.renew_contracts(session, settings=parking_settings()) == {
        "renewed": 0,
        "lapsed": 0,
    }


def test_renewal_lapses_when_the_next_month_is_full(session, office_window, make_user, frozen):
    keeps = driver_with(make_user, session, "沪A11111")
    paid(
        session,
        sharing.sign(
            session,
            keeps,
            office_window,
            "沪A11111",
            date(2026, 12, 1),
            settings=parking_settings(),
        ),
    )
    for i in range(2):
        sharing.sign(
            session,
            driver_with(make_user, session, f"沪C0000{i}"),
            office_window,
            f"沪C0000{i}",
            date(2027, 1, 1),
            settings=parking_settings(),
        )
    frozen.move_to("2026-12-27T03:00:00+08:00")
    assert sharing.renew_contracts(session, settings=parking_settings()) == {
        "renewed": 0,
        "lapsed": 1,
    }
    assert (
        session.scalar(
            select(SharingContract.lapsed_reason).where(SharingContract.plate == "沪A11111")
        )
        == "full"
    )


def test_stays_inside_the_window_cost_nothing(
    session, estate_park, office_window, night_window, make_user
):
    driver = make_user()
    verified_vehicle(session, driver, "沪A12345")  # the stay outside the window is charged to them
    paid(
        session,
        sharing.sign(
            session,
            driver,
            night_window,
            "沪A12345",
            date(2026, 12, 1),
            settings=parking_settings(),
        ),
    )

    def moment(text):
        return clock.local(
            clock.at(date.fromisoformat(text[:10]), int(text[11:13]) * 60 + int(text[14:16]))
        )

    gate.record_event(
        session,
        estate_park,
        "沪A12345",
        GateDirection.ENTRY,
        moment("2026-12-01T20:00"),
        settings=parking_settings(),
    )
    covered = gate.record_event(
        session,
        estate_park,
        "沪A12345",
        GateDirection.EXIT,
        moment("2026-12-02T07:00"),
        settings=parking_settings(),
    )
    assert (
        covered.session.fee_fen == 0
        and covered.session.contract_id is not None
        and covered.charge is None
    )
    # past the end of the window (07:30) the whole stay is charged at the tariff
    gate.record_event(
        session,
        estate_park,
        "沪A12345",
        GateDirection.ENTRY,
        moment("2026-12-02T20:00"),
        settings=parking_settings(),
    )
    late = gate.record_event(
        session,
        estate_park,
        "沪A12345",
        GateDirection.EXIT,
        moment("2026-12-03T09:00"),
        settings=parking_settings(),
    )
    assert (
        late.session.contract_id is None
        and late.session.fee_fen > 0
        and late.charge.user_id == driver.id
    )
    # the office window covers a working day, not a Saturday
    assert sharing._in_window(office_window, moment("2026-12-04T09:00"))  # a Friday
    assert not sharing._in_window(office_window, moment("2026-12-05T09:00"))
    assert sharing._in_window(night_window, moment("2026-12-05T06:00"))


@pytest.mark.race
def test_forty_drivers_race_for_two_spaces(app, session, office_window, make_user):
    drivers = [driver_with(make_user, session, f"沪D{10000 + i}").id for i in range(40)]
    window_id = office_window.id

    def sign(i):
        from app.accounts.models import User
        from app.extensions import db
        from parking.models import SharingWindow

        return sharing.sign(
            db.session,
            db.session.get(User, drivers[i]),
            db.session.get(SharingWindow, window_id),
            f"沪D{10000 + i}",
            date(2027, 1, 1),
            settings=parking_settings(),
        )

    results = race(app, 40, sign)
    assert sum(isinstance(r, SharingContract) for r in results) == 2, [
        r for r in results if not isinstance(r, (SharingContract, SoldOut))
    ][:3]
    assert sum(isinstance(r, SoldOut) for r in results) == 38
    session.rollback()
    assert (
        session.scalar(
            select(CapacityBucket.taken).where(
                CapacityBucket.resource_id == office_window.resource_id
            )
        )
        == 2
    )
    assert ledger_mismatches(session) == []


def test_contract_decisions_are_named_and_the_service_keeps_to_them(
    client, session, office_window, make_user, frozen
):
    """can_cancel, can_renew and can_stop_renewing decide the contract page's buttons and the
    service refuses by the same rules: once its month is over a contract is neither cancelled
    (which gave a past month's space back) nor set to renew."""
    driver = driver_with(make_user, session, "沪A12345", phone="13911112222", locale="en")
    stranger = make_user()
    january = clock.next_month(clock.month_start(clock.today()))
    contract = paid(
        session,
        sharing.sign(
            session, driver, office_window, "沪A12345", january, settings=parking_settings()
        ),
    )
    assert sharing.can_cancel(session, contract, driver)
    assert not sharing.can_cancel(session, contract, stranger)
    assert sharing.can_stop_renewing(contract) and sharing.can_renew(contract)
    sharing.set_renew(session, contract, False)
    sharing.set_renew(session, contract, False)  # a double click changes nothing
    assert not contract.renew
    login(client, "13911112222")
    page = f"/parking/contracts/{contract.id}"
    client.set_cookie("locale", "en")
    html = client.get(page).get_data(as_text=True)
    assert "Automatic renewal: off" in html and "Turn on automatic renewal" in html
    assert "Cancel now and free the space" in html
    frozen.move_to("2027-02-02T10:00:00+08:00")
    assert sharing.state(contract) == "ended"
    assert not sharing.can_cancel(session, contract, driver) and not sharing.can_renew(contract)
    html = client.get(page).get_data(as_text=True)
    assert "Turn on automatic renewal" not in html and "Cancel now" not in html
    for change in (
        lambda: sharing.cancel(session, contract, driver),
        lambda: sharing.set_renew(session, contract, True),
    ):
        with pytest.raises(DomainError) as error:
            change()
        assert error.value.status == 409 and error.value.code == "not_live"
    session.refresh(contract.booking)
    assert contract.booking.status == BookingStatus.CONFIRMED and not contract.renew


def test_a_new_contract_is_for_a_claim_checked_in_its_transaction(
    session, office_window, make_user
):
    driver = make_user()
    january = clock.next_month(clock.month_start(clock.today()))
    with pytest.raises(DomainError) as error:
        sharing.sign(
            session, driver, office_window, "沪a 12345", january, settings=parking_settings()
        )
    assert error.value.code == "unknown_vehicle"
    assert session.scalar(select(func.count(SharingContract.id))) == 0
    assert sharing.spaces_left(session, office_window, january) == 2


def test_window_rules_hold_for_changes_too(session, office_window, make_user):
    """The operator's window form and the service share one rule set; lowering the spaces
    never takes a signed space away (bookings.services.set_capacity)."""
    january = clock.next_month(clock.month_start(clock.today()))
    for plate in ("沪A12345", "沪B12345"):
        sharing.sign(
            session,
            driver_with(make_user, session, plate),
            office_window,
            plate,
            january,
            settings=parking_settings(),
        )
    with pytest.raises(DomainError) as error:
        sharing.update_window(session, office_window, start_minute=600, end_minute=600)
    assert error.value.field == "end_time"
    sharing.update_window(session, office_window, spaces=1)
    bucket = session.scalar(
        select(CapacityBucket).where(CapacityBucket.resource_id == office_window.resource_id)
    )
    assert (bucket.capacity, bucket.taken) == (2, 2)
    sharing.update_window(session, office_window, spaces=5)
    session.refresh(bucket)
    assert bucket.capacity == 5 and ledger_mismatches(session) == []
