"""The parking service's part of "my data" and of closing an account (注销): what it holds
about a person (plates, reservations, sharing contracts, charges, payment methods, the demo
wallet), and how it lets go of them. Registered with the frame in parking/__init__.py
(app.registry.PersonalData)."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from app import clock
from app.accounts.models import User
from app.db import unit_of_work
from app.uploads import remove_image
from bookings.models import Booking, BookingStatus
from parking.models import (
    Charge,
    DemoWalletAccount,
    GateEvent,
    ParkingReservation,
    ParkingSession,
    PaymentMethod,
    SharingContract,
    Vehicle,
    VehicleStatus,
)
from parking.services import ParkingSettings, reservations, retention, sharing
from parking.services.vehicles import LICENCE_FOLDER


def _iso(moment):
    return moment.isoformat() if moment is not None else None


def export(session, user: User) -> dict:
    """Everything parking holds about `user`: plates (with their verification state),
    reservations, sharing contracts, charges, payment methods (provider only) and the demo
    wallet's balance. Not the gate history of their plates: it is the car parks' record, kept
    for the retention period and shown on the plate's own page to its verified holder."""
    vehicles = session.scalars(select(Vehicle).where(Vehicle.owner_id == user.id))
    held = session.execute(
        select(ParkingReservation, Booking)
        .join(Booking, Booking.id == ParkingReservation.booking_id)
        .where(Booking.holder_id == user.id)
        .order_by(ParkingReservation.arrive_at)
    ).all()
    contracts = session.scalars(
        select(SharingContract).where(SharingContract.holder_id == user.id)
    ).all()
    charges = session.scalars(select(Charge).where(Charge.user_id == user.id))
    methods = session.scalars(select(PaymentMethod).where(PaymentMethod.user_id == user.id))
    wallet = session.scalar(
        select(DemoWalletAccount.balance_fen).where(DemoWalletAccount.user_id == user.id)
    )
    return {
        "plates": [
            {"plate": v.plate, "status": v.status.value, "claimed_at": _iso(v.claimed_at)}
            for v in vehicles
        ],
        "reservations": [
            {
                "reference": b.reference,
                "car_park": r.car_park.name_zh,
                "plate": r.plate,
                "arrive_at": _iso(r.arrive_at),
                "status": b.status.value,
            }
            for r, b in held
        ],
        "contracts": [
            {
                "reference": c.booking.reference,
                "car_park": c.window.car_park.name_zh,
                "window": c.window.name_zh,
                "plate": c.plate,
                "month": c.month.isoformat(),
                "state": sharing.state(c),
            }
            for c in contracts
        ],
        "charges": [
            {
                "reference": c.reference,
                "plate": c.plate,
                "amount_fen": c.amount_fen,
                "status": c.status.value,
                "created_at": _iso(c.created_at),
                "paid_at": _iso(c.paid_at),
            }
            for c in charges
        ],
        "payment_methods": [{"provider": m.provider} for m in methods],
        "demo_wallet_balance_fen": wallet,
    }


def erase(session, user: User, settings: ParkingSettings) -> dict:
    """Inside the caller's unit of work: cancel `user`'s reservations that still hold a space
    (`reservations.cancel`: the space is freed) and their live sharing contracts
    (`sharing.cancel`), remove their plates (and licence photos), payment methods and demo
    wallet. Charges stay with their amounts, times and car park (the car parks' accounts), the
    plate and the person taken off them."""
    with unit_of_work(session) as unit:
        now = clock.now()
        held = session.scalars(
            select(ParkingReservation)
            .join(Booking, Booking.id == ParkingReservation.booking_id)
            .where(
                Booking.holder_id == user.id,
                Booking.status == BookingStatus.CONFIRMED,
                Booking.ends_at > now,
            )
        ).all()
        for reservation in held:
            reservations.cancel(session, reservation, user, settings=settings)
        contracts = session.scalars(
            select(SharingContract).where(SharingContract.holder_id == user.id)
        ).all()
        live = [c for c in contracts if sharing.is_live(c)]
        for contract in live:
            sharing.cancel(session, contract, user)
        vehicles = session.scalars(select(Vehicle).where(Vehicle.owner_id == user.id)).all()
        for vehicle in vehicles:
            if vehicle.licence_filename:
                unit.after_commit(
                    lambda name=vehicle.licence_filename: remove_image(LICENCE_FOLDER, name)
                )
        session.execute(delete(Vehicle).where(Vehicle.owner_id == user.id))
        session.execute(delete(PaymentMethod).where(PaymentMethod.user_id == user.id))
        session.execute(delete(DemoWalletAccount).where(DemoWalletAccount.user_id == user.id))
        # Plates give way to the retention sweep's anonymous markers (`retention`), so counts
        # and fees still add up; where the person's verified plates were seen goes the same way.
        verified = [v.plate for v in vehicles if v.status == VehicleStatus.VERIFIED]
        holder_bookings = select(Booking.id).where(Booking.holder_id == user.id)
        charges = _anonymise(session, Charge, Charge.user_id == user.id)
        session.execute(
            update(Charge)
            .where(Charge.user_id == user.id)
            .values(user_id=None)
            .execution_options(synchronize_session=False)
        )
        _anonymise(session, ParkingReservation, ParkingReservation.booking_id.in_(holder_bookings))
        _anonymise(
            session,
            SharingContract,
            SharingContract.holder_id == user.id,
            then=retention._forget_contract_keys,
        )
        if verified:
            _anonymise(session, GateEvent, GateEvent.plate.in_(verified))
            _anonymise(session, ParkingSession, ParkingSession.plate.in_(verified))
    return {
        "parking_reservations_cancelled": len(held),
        "sharing_contracts_cancelled": len(live),
        "charges_anonymised": charges,
    }


def _anonymise(session, model, *conditions, then=None) -> int:
    """Replace the plate of every `model` row matching `conditions` with its retention marker
    (`retention.anonymous_plate`); how many rows changed."""
    ids = list(session.scalars(select(model.id).where(*conditions, retention.identifying(model))))
    if ids:
        session.execute(
            update(model), [{"id": i, "plate": retention.anonymous_plate(i)} for i in ids]
        )
        if then is not None:
            then(session, ids)
    return len(ids)
