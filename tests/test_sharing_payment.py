"""错峰共享 contracts are honoured only once paid: charged at signing with 无感支付,
otherwise payable within PARKING_SHARING_PAY_MINUTES or lapsing and freeing the space;
cancelling an unpaid contract cancels its charge; renewals are charged the same way; a payment
racing the lapse either confirms the contract or is given back. On SQLite and PostgreSQL."""

import json
from datetime import date, timedelta

import pytest
from flask import current_app
from sqlalchemy import select

from app import clock
from app.errors import DomainError
from app.notifications.models import Notification
from bookings.models import BookingStatus
from bookings.services import impossible_states, ledger_mismatches, state_checks
from parking.models import CarParkKind, Charge, ChargeStatus, DayPattern, GateDirection
from parking.services import gate, payments, sharing, vehicles
from tests.conftest import parking_settings, verified_vehicle
from tests.race import race


@pytest.fixture
def park(car_park):
    return car_park(
        name="莘城苑共享车位", kind=CarParkKind.RESIDENTIAL, total=60, occupied=10, reservable=0
    )


@pytest.fixture
def nights(session, park):
    return sharing.create_window(
        session,
        park,
        name_zh="夜间",
        name_en="Nights",
        days=DayPattern.EVERY_DAY,
        start_minute=19 * 60,
        end_minute=7 * 60 + 30,
        spaces=2,
        monthly_fee_fen=20000,
    )


def charge_of(session, contract) -> Charge:
    session.rollback()
    return session.scalar(select(Charge).where(Charge.contract_id == contract.id))


def wallet(session, user):
    return payments.DemoWallet().balance(session, user.id)


def stay(session, park, plate, entered, exited):
    def moment(text):
        return clock.local(
            clock.at(date.fromisoformat(text[:10]), int(text[11:13]) * 60 + int(text[14:16]))
        )

    gate.record_event(
        session, park, plate, GateDirection.ENTRY, moment(entered), settings=parking_settings()
    )
    return gate.record_event(
        session,
        park,
        plate,
        GateDirection.EXIT,
        moment(exited),
        collect=False,
        settings=parking_settings(),
    )


def test_an_unpaid_contract_is_not_honoured_at_the_gate(session, park, nights, make_user):
    driver = make_user()
    verified_vehicle(session, driver, "沪A12345")
    contract = sharing.sign(
        session, driver, nights, "沪A12345", date(2026, 12, 1), settings=parking_settings()
    )
    assert contract.booking.status == BookingStatus.PENDING and sharing.state(contract) == "unpaid"
    assert contract.pay_by == clock.now() + timedelta(minutes=30)
    unpaid_night = stay(session, park, "沪A12345", "2026-12-01T20:00", "2026-12-02T07:00")
    assert unpaid_night.session.contract_id is None and unpaid_night.session.fee_fen > 0
    payments.pay_online(session, charge_of(session, contract), driver, settings=parking_settings())
    session.refresh(contract.booking)
    assert (
        contract.booking.status == BookingStatus.CONFIRMED and sharing.state(contract) == "running"
    )
    paid_night = stay(session, park, "沪A12345", "2026-12-02T20:00", "2026-12-03T07:00")
    assert paid_night.session.contract_id == contract.id and paid_night.session.fee_fen == 0


def test_with_autopay_the_contract_is_charged_and_honoured_at_signing(
    session, park, nights, make_user
):
    driver = make_user()
    vehicle = verified_vehicle(session, driver, "沪A12345")
    vehicles.set_autopay(
        session, vehicle, payments.default_provider(parking_settings()).open_method(session, driver)
    )
    before = wallet(session, driver)
    contract = sharing.sign(
        session, driver, nights, "沪A12345", date(2026, 12, 1), settings=parking_settings()
    )
    charge = charge_of(session, contract)
    assert charge.status == ChargeStatus.PAID and charge.automatic
    assert wallet(session, driver) == before - charge.amount_fen
    assert contract.booking.status == BookingStatus.CONFIRMED


def test_unpaid_in_time_it_lapses_and_frees_the_space(session, park, nights, make_user, frozen):
    driver = make_user()
    vehicles.register(session, driver, "沪A12345")
    contract = sharing.sign(
        session, driver, nights, "沪A12345", date(2026, 12, 1), settings=parking_settings()
    )
    assert sharing.spaces_left(session, nights, date(2026, 12, 1)) == 1
    frozen.shift(timedelta(minutes=29))
    assert sharing.lapse_unpaid(session) == 0
    frozen.shift(timedelta(minutes=1))
    assert sharing.lapse_unpaid(session) == 1
    assert sharing.lapse_unpaid(session) == 0  # once
    session.rollback()
    assert contract.booking.status == BookingStatus.EXPIRED and sharing.state(contract) == "lapsed"
    assert sharing.spaces_left(session, nights, date(2026, 12, 1)) == 2
    charge = charge_of(session, contract)
    assert charge.status == ChargeStatus.CANCELLED
    with pytest.raises(DomainError) as refused:
        payments.pay_online(session, charge, driver, settings=parking_settings())
    assert refused.value.code == "charge_cancelled"
    assert (
        session.scalar(
            select(Notification.id).where(
                Notification.user_id == driver.id, Notification.kind == "parking.contract_lapsed"
            )
        )
        is not None
    )
    assert (
        ledger_mismatches(session) == []
        and impossible_states(session, state_checks(current_app)) == []
    )


def test_cancelling_an_unpaid_contract_cancels_its_charge(session, park, nights, make_user):
    driver = make_user()
    vehicles.register(session, driver, "沪A12345")
    contract = sharing.sign(
        session, driver, nights, "沪A12345", date(2026, 12, 1), settings=parking_settings()
    )
    sharing.cancel(session, contract)
    charge = charge_of(session, contract)
    assert (
        charge.status == ChargeStatus.CANCELLED
        and contract.booking.status == BookingStatus.CANCELLED
    )
    method = payments.default_provider(parking_settings()).open_method(session, driver)
    before = wallet(session, driver)
    assert (
        payments.DemoWallet().pay(session, method, charge, settings=parking_settings()).outcome
        == "cancelled"
    )
    assert wallet(session, driver) == before
    with pytest.raises(DomainError):
        payments.pay_online(session, charge, driver, settings=parking_settings())


def test_money_collected_for_a_cancelled_charge_is_given_back(session, park, nights, make_user):
    """A provider that took the money just before the contract was cancelled: its callback does
    not revive the contract; the money goes back."""
    from parking.models import DemoWalletAccount, DemoWalletPayment

    driver = make_user()
    vehicles.register(session, driver, "沪A12345")
    contract = sharing.sign(
        session, driver, nights, "沪A12345", date(2026, 12, 1), settings=parking_settings()
    )
    charge = charge_of(session, contract)
    payments.default_provider(parking_settings()).open_method(session, driver)
    account = session.scalar(
        select(DemoWalletAccount).where(DemoWalletAccount.user_id == driver.id)
    )
    before = account.balance_fen
    account.balance_fen -= charge.amount_fen  # the provider's debit...
    session.add(
        DemoWalletPayment(
            account_id=account.id, charge_reference=charge.reference, amount_fen=charge.amount_fen
        )
    )
    session.commit()
    sharing.cancel(session, contract)  # ... then the cancellation, then the callback
    body = json.dumps(
        {"charge": charge.reference, "status": "succeeded", "amount_fen": charge.amount_fen}
    ).encode()
    result = payments.apply_callback(
        session,
        "demo_wallet",
        body,
        payments.sign(parking_settings(), "demo_wallet", body),
        settings=parking_settings(),
    )
    assert result.outcome == "cancelled" and result.charge.status == ChargeStatus.CANCELLED
    assert wallet(session, driver) == before
    session.refresh(contract.booking)
    assert contract.booking.status == BookingStatus.CANCELLED


def test_a_renewal_is_charged_at_signing_with_autopay(session, park, nights, make_user, frozen):
    driver = make_user()
    vehicle = verified_vehicle(session, driver, "沪A12345")
    vehicles.set_autopay(
        session, vehicle, payments.default_provider(parking_settings()).open_method(session, driver)
    )
    contract = sharing.sign(
        session, driver, nights, "沪A12345", date(2026, 12, 1), settings=parking_settings()
    )
    assert contract.booking.status == BookingStatus.CONFIRMED
    frozen.move_to("2026-12-25T03:00:00+08:00")
    assert sharing.renew_contracts(session, settings=parking_settings())["renewed"] == 1
    january = session.scalar(
        select(sharing.SharingContract).where(sharing.SharingContract.month == date(2027, 1, 1))
    )
    assert january.booking.status == BookingStatus.CONFIRMED
    assert charge_of(session, january).status == ChargeStatus.PAID


ROUNDS = 20


def unpaid_contracts(session, park, make_user, series: str, *, wallets: bool = False):
    """ROUNDS drivers, each with an unpaid contract of a day window of ROUNDS spaces for
    December (plates 沪<series>10000...), for the race tests; with a demo wallet each if asked."""
    window = sharing.create_window(
        session,
        park,
        name_zh="白天",
        name_en="Days",
        days=DayPattern.EVERY_DAY,
        start_minute=8 * 60,
        end_minute=18 * 60,
        spaces=ROUNDS,
        monthly_fee_fen=100,
    )
    drivers = [make_user() for _ in range(ROUNDS)]
    contracts = []
    for i, driver in enumerate(drivers):
        plate = f"沪{series}{10000 + i}"
        vehicles.register(session, driver, plate)
        if wallets:
            payments.default_provider(parking_settings()).open_method(session, driver)
        contracts.append(
            sharing.sign(
                session, driver, window, plate, date(2026, 12, 1), settings=parking_settings()
            )
        )
    return drivers, contracts


def test_payment_racing_the_lapse_never_does_both(app, session, park, make_user, frozen):
    """ROUNDS times, the driver pays at the very moment the sweep lapses the unpaid contract:
    either it is paid and honoured, or it lapsed, its charge cancelled and the wallet untouched."""
    drivers, contracts = unpaid_contracts(session, park, make_user, "E", wallets=True)
    frozen.shift(timedelta(minutes=31))
    ids = [(c.id, d.id) for c, d in zip(contracts, drivers, strict=True)]

    def act(round_, i):
        from app.accounts.models import User
        from app.extensions import db

        contract_id, driver_id = ids[round_]
        if i == 0:
            charge = db.session.scalar(select(Charge).where(Charge.contract_id == contract_id))
            try:
                payments.pay_online(
                    db.session, charge, db.session.get(User, driver_id), settings=parking_settings()
                )
            except DomainError as error:
                return error.code
            return "paid"
        return sharing.lapse(db.session, db.session.get(sharing.SharingContract, contract_id))

    for round_ in range(ROUNDS):
        race(app, 2, lambda i, r=round_: act(r, i))
    session.rollback()
    for contract, driver in zip(contracts, drivers, strict=True):
        session.refresh(contract)
        session.refresh(contract.booking)
        charge = charge_of(session, contract)
        if contract.booking.status == BookingStatus.CONFIRMED:
            assert charge.status == ChargeStatus.PAID
            assert wallet(session, driver) == payments.DEMO_OPENING_BALANCE_FEN - charge.amount_fen
        else:
            assert (
                contract.booking.status == BookingStatus.EXPIRED
                and charge.status == ChargeStatus.CANCELLED
            )
            assert wallet(session, driver) == payments.DEMO_OPENING_BALANCE_FEN
    assert (
        ledger_mismatches(session) == []
        and impossible_states(session, state_checks(current_app)) == []
    )


def test_bookings_check_reports_a_contract_honoured_unpaid(
    session, runner, park, nights, make_user
):
    from sqlalchemy import update

    from bookings.models import Booking

    driver = make_user()
    vehicles.register(session, driver, "沪A12345")
    contract = sharing.sign(
        session, driver, nights, "沪A12345", date(2026, 12, 1), settings=parking_settings()
    )
    assert runner.invoke(args=["bookings", "check"]).exit_code == 0
    # What the old code did: a contract honoured at the gate with its charge unpaid.
    session.execute(
        update(Booking)
        .where(Booking.id == contract.booking_id)
        .values(status=BookingStatus.CONFIRMED)
    )
    session.commit()
    result = runner.invoke(args=["bookings", "check"])
    assert result.exit_code == 1
    assert f"sharing contract {contract.id} confirmed but its charge is due" in result.output


def test_cancelling_racing_the_lapse_never_deadlocks(app, session, park, make_user, frozen):
    """ROUNDS times, the holder cancels an unpaid contract at the moment the sweep lapses it.
    Both take the charge's row before the hold's (as a payment does), so one of them wins and
    the other is refused or changes nothing: never a deadlock, never both."""
    _drivers, contracts = unpaid_contracts(session, park, make_user, "F")
    frozen.shift(timedelta(minutes=31))
    ids = [c.id for c in contracts]

    def act(round_, i):
        from app.extensions import db

        contract = db.session.get(sharing.SharingContract, ids[round_])
        if i == 0:
            try:
                sharing.cancel(db.session, contract)
            except DomainError as error:
                return error.code
            return "cancelled"
        return sharing.lapse(db.session, contract)

    for round_ in range(ROUNDS):
        outcomes = race(app, 2, lambda i, r=round_: act(r, i))
        assert not any(
            isinstance(o, Exception) and not isinstance(o, DomainError) for o in outcomes
        ), outcomes
    session.rollback()
    for contract in contracts:
        session.refresh(contract.booking)
        assert contract.booking.status in (BookingStatus.CANCELLED, BookingStatus.EXPIRED)
        assert charge_of(session, contract).status == ChargeStatus.CANCELLED
    assert (
        ledger_mismatches(session) == []
        and impossible_states(session, state_checks(current_app)) == []
    )
