"""What a parking commitment costs, said before it is made (issue 14, "no commitment traps").

Named decisions the forms, the confirmation pages and the API share:
- `late_from_the_start`: an arrival time so near that its free cancellation has already passed
  when it is reserved (the form marks such times "取消将计为爽约");
- `cancel_terms`: what cancelling a reservation now costs (free, or counted like a no-show, and
  whether that pauses reserving), for the page that asks before cancelling;
- `contract_cancel_terms` / `contract_stop_terms`: what cancelling a sharing contract or ending
  its renewal means for money and the space;
- `removal_terms`: what removing a plate takes with it;
- `sign_terms`: the amount, period, renewal date and payment of a contract before it is signed;
  `is_renewal`: a month signed as the renewal of the one before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from app import clock
from bookings import noshows
from bookings.models import HOLDING, Booking, BookingStatus
from parking.models import (
    CarPark,
    Charge,
    ChargeStatus,
    ParkingReservation,
    SharingContract,
    SharingWindow,
    Vehicle,
    VehicleStatus,
)
from parking.services import ParkingSettings, payments, sharing
from parking.services.plates import normalize_plate


def free_cancellation_until(park: CarPark, arrive_at: datetime) -> datetime:
    """The last moment a reservation arriving at `arrive_at` can be cancelled free."""
    return arrive_at - timedelta(minutes=park.cancel_cutoff_minutes)


def late_from_the_start(park: CarPark, arrive_at: datetime, now: datetime | None = None) -> bool:
    """Reserved now, would cancelling it already count like a no-show (its free-cancellation
    cut-off is past)?"""
    return (now or clock.now()) > free_cancellation_until(park, arrive_at)


@dataclass(frozen=True)
class CancelTerms:
    """What cancelling a reservation now costs."""

    free: bool  # before the cut-off: nothing
    free_until: datetime
    counted: int  # no-shows and late cancellations counting against the holder now
    limit: int  # this many within `window_days` pause reserving ...
    window_days: int
    pause_days: int  # ... for this many days
    pauses: bool  # this late cancellation reaches the limit: reserving is paused


def cancel_terms(
    session, reservation: ParkingReservation, settings: ParkingSettings
) -> CancelTerms:
    """The cost of cancelling `reservation` now, as `reservations.cancel` will apply it: free
    before the cut-off; after it, one more count towards the no-show limit, which pauses
    reserving when reached (`settings.no_shows`)."""
    policy = settings.no_shows
    until = free_cancellation_until(reservation.car_park, reservation.arrive_at)
    free = clock.now() <= until
    counted = noshows.recent_no_shows(session, reservation.booking.holder_id, policy)
    return CancelTerms(
        free=free,
        free_until=until,
        counted=counted,
        limit=policy.limit,
        window_days=policy.window_days,
        pause_days=policy.suspension_days,
        pauses=not free and policy.count_late_cancellations and counted + 1 >= policy.limit,
    )


@dataclass(frozen=True)
class ContractTerms:
    """What ending a sharing contract means."""

    paid_fen: int  # paid for its month: not refunded when cancelled
    unpaid_fen: int  # due and not paid: no longer owed once cancelled
    ends_on: date  # the last day it covers when it is left to end (stop renewing)


def _contract_terms(session, contract: SharingContract) -> ContractTerms:
    charge = session.scalar(select(Charge).where(Charge.contract_id == contract.id))
    paid = charge.amount_fen if charge is not None and charge.status == ChargeStatus.PAID else 0
    unpaid = (
        charge.amount_fen
        if charge is not None and charge.status in (ChargeStatus.DUE, ChargeStatus.FAILED)
        else 0
    )
    return ContractTerms(
        paid_fen=paid,
        unpaid_fen=unpaid,
        ends_on=clock.next_month(contract.month) - timedelta(days=1),
    )


def contract_cancel_terms(session, contract: SharingContract) -> ContractTerms:
    """Cancelling now: the space goes back at once; a paid month is not refunded
    (`paid_fen`), an unpaid charge is cancelled (`unpaid_fen`), as `sharing.cancel` does."""
    return _contract_terms(session, contract)


def contract_stop_terms(session, contract: SharingContract) -> ContractTerms:
    """Stopping renewal: the contract runs to `ends_on` and next month is neither signed nor
    charged."""
    return _contract_terms(session, contract)


@dataclass(frozen=True)
class RemovalTerms:
    """What removing a plate takes with it."""

    autopay: bool  # 无感支付 bound to it stops
    verified: bool  # added again, it must be verified again
    reservations: bool  # it has upcoming reservations: they are kept
    contracts: bool  # it has live sharing contracts: they are kept


def removal_terms(session, vehicle: Vehicle) -> RemovalTerms:
    """What removing `vehicle` from its owner changes (`vehicles.remove`)."""
    now = clock.now()
    reservations = (
        session.scalar(
            select(Booking.id)
            .join(ParkingReservation, ParkingReservation.booking_id == Booking.id)
            .where(
                Booking.holder_id == vehicle.owner_id,
                ParkingReservation.plate == vehicle.plate,
                Booking.status == BookingStatus.CONFIRMED,
                Booking.ends_at > now,
            )
            .limit(1)
        )
        is not None
    )
    contracts = (
        session.scalar(
            select(Booking.id)
            .join(SharingContract, SharingContract.booking_id == Booking.id)
            .where(
                SharingContract.holder_id == vehicle.owner_id,
                SharingContract.plate == vehicle.plate,
                Booking.status.in_(HOLDING),
                Booking.ends_at > now,
            )
            .limit(1)
        )
        is not None
    )
    return RemovalTerms(
        autopay=vehicle.autopay_method is not None,
        verified=vehicle.status == VehicleStatus.VERIFIED,
        reservations=reservations,
        contracts=contracts,
    )


@dataclass(frozen=True)
class SignTerms:
    """What signing a month of a sharing contract commits to: the summary before signing."""

    amount_fen: int  # charged now for this month (pro rata part-way through it)
    starts_on: date
    ends_on: date
    renew: bool
    renews_on: date | None  # from then the next month is signed and charged ...
    next_amount_fen: int  # ... this much, each month until stopped
    autopay: bool  # charged at once through 无感支付 bound to the plate
    pay_minutes: int  # otherwise to be paid within this many minutes of signing


def sign_terms(
    session,
    user_id: int,
    window: SharingWindow,
    plate: str,
    month: date,
    *,
    renew: bool,
    settings: ParkingSettings,
) -> SignTerms:
    """The terms `sharing.sign` will apply to this contract signed now: the amount
    (`sharing.price_for`), the period, the renewal (from RENEW_FROM_DAY of the month, or the
    day of signing if later) and how it is paid (`payments.autopay_vehicle`)."""
    month = clock.month_start(month)
    today = clock.today()
    return SignTerms(
        amount_fen=sharing.price_for(window, month, today),
        starts_on=max(month, today),
        ends_on=clock.next_month(month) - timedelta(days=1),
        renew=renew,
        renews_on=max(month.replace(day=sharing.RENEW_FROM_DAY), today) if renew else None,
        next_amount_fen=window.monthly_fee_fen,
        autopay=payments.autopay_vehicle(session, user_id, normalize_plate(plate)) is not None,
        pay_minutes=settings.sharing_pay_minutes,
    )


def is_renewal(contract: SharingContract) -> bool:
    """Was this month signed by the renewal sweep (`sharing.renew_contracts`: its booking's key
    is `share:<window>:<month>:<plate>`)? Its page, charge and message are titled as a renewal.
    (The retention sweep clears old keys: a renewal long past reads as a plain month.)"""
    key = contract.booking.idempotency_key or ""
    return key == f"share:{contract.window_id}:{contract.month.isoformat()}:{contract.plate}"
