"""错峰共享: residential car parks offer spaces in set windows; drivers sign monthly contracts.

Each window is an engine resource with one bucket per calendar month whose capacity is the
window's spaces. A contract month is an engine booking of one unit of that month's bucket, so
the same guarded updates that protect venue slots keep a window from being oversold. A contract
renews by booking next month (idempotency key `share:<window>:<month>:<plate>`, so twice-run
sweeps renew once) or lapses when the window is full or closed; cancelling frees the space at
once.

A contract with a fee is honoured only once paid. Signed (or renewed), its booking is PENDING: it
holds the space but the gate does not treat stays as covered. With 无感支付 bound to the plate it is
charged at once; otherwise it must be paid by `pay_by` (PARKING_SHARING_PAY_MINUTES after signing;
a renewal, signed by the sweep from the 25th, until the renewed month starts) or the sweep lapses
it and frees the space. Paying confirms it (`parking.payments`); cancelling an unpaid contract
cancels its charge, which can then no longer be paid. A charge and its contract's hold change
together in one transaction each way, guarded, so a payment racing a lapse or a cancellation
either confirms the contract or is refunded.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import clock
from app.accounts.consents import can_act_for
from app.accounts.models import HelpService
from app.audit.services import record
from app.clock import month_bounds, month_start, next_month
from app.db import unit_of_work
from app.errors import Conflict, DomainError, Forbidden, NotFound
from app.i18n import N_
from app.notifications.params import localized, when
from app.notifications.services import notify
from bookings import services as engine
from bookings.models import HOLDING, Booking, BookingStatus, CapacityBucket
from bookings.services import SoldOut
from parking.models import CarPark, Charge, ChargeStatus, DayPattern, SharingContract, SharingWindow
from parking.services import SHARING_KIND, ParkingSettings
from parking.services.payments import (
    autopay_vehicle,
    cancel_unpaid,
    collect_automatically,
    new_charge,
    yuan,
)
from parking.services.plates import normalize_plate
from parking.services.vehicles import claimed_plate

RENEW_FROM_DAY = 25  # the renewal sweep signs next month from this day of the month


def month_words(month: date) -> dict:
    """A contract's month for a stored message, in the reader's language ("2027年1月",
    "January 2027")."""
    return localized(
        f"{month.year}年{month.month}月", f"{calendar.month_name[month.month]} {month.year}"
    )


def _signed_message(renewal: bool, fee: int, autopay: bool) -> tuple[str, str]:
    """(subject, body) of the message a signed month sends: each one whole sentence in the
    catalogue, so the reader's language renders all of it; a renewal says it is one; the
    amount is stated, and with 无感支付 that it is taken automatically."""
    subject = (
        N_("Off-peak contract at %(park)s renewed for %(month)s")
        if renewal
        else N_("Off-peak contract signed at %(park)s")
    )
    if fee <= 0:
        return subject, N_("%(plate)s, %(window)s, %(month)s.")
    if autopay:
        return subject, N_(
            "%(plate)s, %(window)s, %(month)s. %(amount)s is paid by automatic payment."
        )
    return subject, N_(
        "%(plate)s, %(window)s, %(month)s. Pay %(amount)s by %(until)s on the contract's page, "
        "or the space goes back to others."
    )


def describe(window: SharingWindow) -> str:
    """The window's days and hours in the reader's language ("Working days 08:00–18:00")."""
    end = (
        clock.hhmm(window.end_minute)
        if window.end_minute > window.start_minute
        else _l("%(time)s next day", time=clock.hhmm(window.end_minute))
    )
    return f"{window.days.label} {clock.hhmm(window.start_minute)}–{end}"


def _check_window(park: CarPark, start_minute: int, end_minute: int, spaces: int) -> None:
    if start_minute == end_minute:
        raise DomainError(_l("The window must start and end at different times."), field="end_time")
    if spaces < 0 or spaces > park.total_spaces:
        raise DomainError(
            _l("Offer between 0 and %(n)d spaces."), field="spaces", n=park.total_spaces
        )


def create_window(
    session,
    park: CarPark,
    *,
    name_zh: str,
    name_en: str,
    days: DayPattern,
    start_minute: int,
    end_minute: int,
    spaces: int,
    monthly_fee_fen: int,
    active: bool = True,
) -> SharingWindow:
    """Offer `spaces` of the car park in a window (its own engine resource). One unit of work.
    A window starts and ends at different times (past midnight when it ends earlier) and offers
    between 0 and the car park's spaces."""
    _check_window(park, start_minute, end_minute, spaces)
    with unit_of_work(session):
        resource = engine.create_resource(session, SHARING_KIND, f"{park.name_zh} {name_zh}"[:160])
        window = SharingWindow(
            car_park_id=park.id,
            resource_id=resource.id,
            name_zh=name_zh,
            name_en=name_en,
            days=days,
            start_minute=start_minute,
            end_minute=end_minute,
            spaces=spaces,
            monthly_fee_fen=monthly_fee_fen,
            active=active,
        )
        session.add(window)
        session.flush()  # its id, also when this unit joins a caller's
    return window


def update_window(session, window: SharingWindow, **values) -> None:
    """Change a window (one unit of work); months already made get the new number of spaces,
    never fewer than are signed (`bookings.services.set_capacity`). The same rules as
    `create_window`."""
    _check_window(
        window.car_park,
        values.get("start_minute", window.start_minute),
        values.get("end_minute", window.end_minute),
        values.get("spaces", window.spaces),
    )
    with unit_of_work(session):
        for key, value in values.items():
            setattr(window, key, value)
        engine.set_capacity(
            session, window.spaces, CapacityBucket.resource_id == window.resource_id
        )


def ensure_month(session, window: SharingWindow, month: date) -> CapacityBucket:
    """The window's bucket for `month`, made if missing (ON CONFLICT DO NOTHING: race-safe)."""
    starts, ends = month_bounds(month)
    with unit_of_work(session):
        engine.insert_missing_buckets(
            session,
            [
                {
                    "resource_id": window.resource_id,
                    "starts_at": starts,
                    "ends_at": ends,
                    "capacity": window.spaces,
                    "taken": 0,
                }
            ],
        )
    return session.scalar(
        select(CapacityBucket).where(
            CapacityBucket.resource_id == window.resource_id, CapacityBucket.starts_at == starts
        )
    )


def spaces_left(session, window: SharingWindow, month: date) -> int:
    """Spaces of the window still free in `month` (all of them before anyone signed)."""
    starts, _ = month_bounds(month)
    bucket = session.scalar(
        select(CapacityBucket).where(
            CapacityBucket.resource_id == window.resource_id, CapacityBucket.starts_at == starts
        )
    )
    return bucket.remaining if bucket is not None else window.spaces


def price_for(window: SharingWindow, month: date, from_day: date) -> int:
    """The month's fee, pro rata for the days left when signing part-way through it."""
    days_in_month = calendar.monthrange(month.year, month.month)[1]
    days = days_in_month - (from_day.day - 1) if month_start(from_day) == month else days_in_month
    return (window.monthly_fee_fen * days + days_in_month - 1) // days_in_month


def pay_by(month: date, *, renewal: bool, pay_minutes: int) -> datetime:
    """Until when a contract signed now may stay unpaid: `pay_minutes` from now, and for a
    renewal at least until its month starts."""
    soon = clock.now() + timedelta(minutes=pay_minutes)
    return max(soon, month_bounds(month)[0]) if renewal else soon


def sign(
    session,
    user,
    window: SharingWindow,
    plate: str,
    month: date,
    renew: bool = True,
    *,
    settings: ParkingSettings,
    idempotency_key: str | None = None,
    renewal: bool = False,
    actor=None,
) -> SharingContract:
    """Sign `month` of a contract for `window` for `user`'s vehicle `plate` (by them, or by
    `actor`, a helper with parking consent). One unit of work takes the space, writes the
    contract, its charge and the message; SoldOut when the window is full. A new contract is
    for one of the holder's live claims, checked in that unit (UnknownVehicle otherwise); a
    renewal continues the contract's plate. With a fee the contract waits for payment (see the
    module docstring): charged at once when the plate has 无感支付, else payable until `pay_by`."""
    actor = actor or user
    if not renewal:
        plate = normalize_plate(plate)
    if not can_act_for(session, actor, user, HelpService.PARKING):
        raise Forbidden(
            _l("You can only sign contracts for residents who have given you consent for parking.")
        )
    month = month_start(month)
    this_month = month_start(clock.today())
    if not window.active or window.spaces <= 0:
        raise DomainError(_l("This window is not open for contracts."), code="window_closed")
    if month not in (this_month, next_month(this_month)):
        raise DomainError(_l("Contracts start this month or next month."), field="month")
    ensure_month(session, window, month)
    starts, ends = month_bounds(month)
    fee = price_for(window, month, clock.today())

    def check(s, request):
        if not renewal:
            claimed_plate(s, user.id, plate)
        clash = s.scalar(
            select(SharingContract.id)
            .join(Booking, Booking.id == SharingContract.booking_id)
            .where(
                SharingContract.window_id == window.id,
                SharingContract.month == month,
                SharingContract.plate == plate,
                Booking.status.in_(HOLDING),
            )
        )
        if clash is not None:
            raise Conflict(
                _l("%(plate)s already has a contract for this window that month."),
                code="already_signed",
                plate=plate,
            )

    deadline = None
    if fee > 0:
        deadline = pay_by(month, renewal=renewal, pay_minutes=settings.sharing_pay_minutes)

    def created(s, booking):
        contract = SharingContract(
            window_id=window.id,
            holder_id=user.id,
            booking_id=booking.id,
            plate=plate,
            month=month,
            renew=renew,
            pay_by=deadline,
        )
        s.add(contract)
        s.flush()
        charge = (
            new_charge(
                s,
                user_id=user.id,
                car_park_id=window.car_park_id,
                plate=plate,
                amount_fen=fee,
                contract_id=contract.id,
            )
            if fee > 0
            else None
        )
        subject, body = _signed_message(
            renewal, fee, charge is not None and autopay_vehicle(s, user.id, plate) is not None
        )
        notify(
            s,
            user.id,
            kind="parking.contract",
            subject=subject,
            body=body,
            params={
                "park": localized(window.car_park.name_zh, window.car_park.name_en),
                "plate": plate,
                "window": localized(window.name_zh, window.name_en),
                "month": month_words(month),
                "amount": yuan(fee),
                "ref": charge.reference if charge else "",
                "until": when(deadline),
            },
            link=f"/parking/contracts/{contract.id}",
        )
        if actor.id != user.id:
            record(
                s,
                actor,
                "parking.contract_sign",
                booking,
                on_behalf_of=user,
                reference=booking.reference,
            )

    booking = engine.reserve(
        session,
        engine.Reservation(
            resource_id=window.resource_id,
            starts_at=starts,
            ends_at=ends,
            quantity=1,
            holder_id=user.id,
            idempotency_key=idempotency_key,
            booked_by_id=actor.id,
            status=BookingStatus.PENDING if fee > 0 else BookingStatus.CONFIRMED,
        ),
        check=check,
        on_created=created,
    )
    contract = session.scalar(
        select(SharingContract).where(SharingContract.booking_id == booking.id)
    )
    charge = session.scalar(select(Charge).where(Charge.contract_id == contract.id))
    if charge is not None and charge.status == ChargeStatus.DUE and not charge.automatic:
        # 无感支付: paid (and confirmed) at once when bound
        collect_automatically(session, charge, settings)
        session.refresh(contract.booking)
    return contract


def get_for_holder(session, user_id: int, contract_id: int) -> SharingContract:
    """The holder's contract; anyone else's answers as missing."""
    contract = session.get(SharingContract, contract_id)
    if contract is None or contract.holder_id != user_id:
        raise NotFound(_l("No such contract."))
    return contract


def state(contract: SharingContract) -> str:
    """ "cancelled", "lapsed" (not paid in time), "unpaid" (waiting for payment), "ended",
    "upcoming", "running" (renewing) or "ending" (will lapse)."""
    if contract.booking.status == BookingStatus.EXPIRED:
        return "lapsed"
    if contract.booking.status not in HOLDING:
        return "cancelled"
    if contract.booking.status == BookingStatus.PENDING:
        return "unpaid"
    _, ends = month_bounds(contract.month)
    if ends <= clock.now():
        return "ended"
    if month_bounds(contract.month)[0] > clock.now():
        return "upcoming"
    return "running" if contract.renew else "ending"


LIVE_STATES = ("running", "ending", "upcoming", "unpaid")


def is_live(contract: SharingContract) -> bool:
    """The contract holds its space for a month not over yet (paid or waiting for payment)."""
    return state(contract) in LIVE_STATES


def can_cancel(session, contract: SharingContract, user) -> bool:
    """May `user` cancel the contract now: it is live and they are its holder or a helper with
    the holder's parking consent. The page shows the button by it; `cancel` refuses by it."""
    return is_live(contract) and can_act_for(
        session, user, contract.booking.holder, HelpService.PARKING
    )


def can_renew(contract: SharingContract) -> bool:
    """May the contract be set to renew every month: live, and its renewal has not already
    failed (a full or closed window; the sweep does not try again)."""
    return is_live(contract) and not contract.lapsed_reason


def can_stop_renewing(contract: SharingContract) -> bool:
    """May the contract be set to end with its month: while it is live."""
    return is_live(contract)


def _not_live(contract: SharingContract) -> Conflict:
    if state(contract) in ("cancelled", "lapsed"):
        return Conflict(_l("This contract is already cancelled."), code="not_cancellable")
    return Conflict(
        _l("This contract has ended or is cancelled: it cannot be changed."), code="not_live"
    )


def cancel(session, contract: SharingContract, actor=None) -> None:
    """Cancel now (by the holder, or `actor`, a helper with parking consent; `can_cancel`): the
    space is freed for others, in one unit of work. No refund of a paid month; an unpaid one's
    charge is cancelled with it (and can no longer be paid). A contract whose month is over
    or that is no longer live is refused (409)."""
    holder = contract.booking.holder
    actor = actor or holder
    if not can_act_for(session, actor, holder, HelpService.PARKING):
        raise NotFound(_l("No such contract."))
    if not is_live(contract):
        raise _not_live(contract)
    with unit_of_work(session):
        # The charge's row first, then the hold's, in the order a payment (`_succeeded` then
        # `_contract_paid`) and a lapse take them: in the opposite order a cancellation racing
        # either could deadlock on PostgreSQL. A paid charge stays paid (no refund).
        cancel_unpaid(session, contract.id)
        if not engine.transition(session, contract.booking, "cancel"):
            raise Conflict(_l("This contract is already cancelled."), code="not_cancellable")
        contract.renew = False
        if actor.id != holder.id:
            record(
                session,
                actor,
                "parking.contract_cancel",
                contract.booking,
                on_behalf_of=holder,
                reference=contract.booking.reference,
            )


def set_renew(session, contract: SharingContract, renew: bool) -> None:
    """Renew every month, or end with the month (`can_renew`, `can_stop_renewing`; asking for
    what it already does changes nothing). One unit of work."""
    if not (can_renew(contract) if renew else can_stop_renewing(contract)):
        raise _not_live(contract)
    with unit_of_work(session):
        contract.renew = renew


def renew_contracts(session, settings: ParkingSettings) -> dict:
    """From the 25th, sign next month for every running contract that renews; a full or closed
    window lapses it (with a message). Each contract in its own unit of work. Idempotent across
    sweeps and nodes."""
    today = clock.today()
    if today.day < RENEW_FROM_DAY:
        return {"renewed": 0, "lapsed": 0}
    month, following = month_start(today), next_month(month_start(today))
    due = list(
        session.scalars(
            select(SharingContract)
            .join(Booking, Booking.id == SharingContract.booking_id)
            .where(
                SharingContract.month == month,
                SharingContract.renew.is_(True),
                SharingContract.lapsed_reason.is_(None),
                Booking.status == BookingStatus.CONFIRMED,
            )
        )
    )
    renewed = lapsed = 0
    for contract in due:
        window, holder = contract.window, contract.booking.holder
        already = session.scalar(
            select(SharingContract.id).where(
                SharingContract.window_id == window.id,
                SharingContract.holder_id == holder.id,
                SharingContract.plate == contract.plate,
                SharingContract.month == following,
            )
        )
        if already is not None:
            continue
        try:
            sign(
                session,
                holder,
                window,
                contract.plate,
                following,
                renew=True,
                renewal=True,
                settings=settings,
                idempotency_key=f"share:{window.id}:{following.isoformat()}:{contract.plate}",
            )
            renewed += 1
        except (SoldOut, DomainError) as error:  # signing's unit has rolled back
            _lapse_renewal(session, contract, following, full=isinstance(error, SoldOut))
            lapsed += 1
    return {"renewed": renewed, "lapsed": lapsed}


def _lapse_renewal(session, contract: SharingContract, following: date, *, full: bool) -> None:
    with unit_of_work(session):
        contract.lapsed_reason = "full" if full else "window_closed"
        notify(
            session,
            contract.holder_id,
            kind="parking.contract_lapsed",
            subject=N_("Your off-peak contract at %(park)s ends this month"),
            body=N_(
                "It could not be renewed for %(month)s: the window has no space left or has closed."
            ),
            params={
                "park": localized(
                    contract.window.car_park.name_zh, contract.window.car_park.name_en
                ),
                "month": f"{following.year}-{following.month:02d}",
            },
            link=f"/parking/contracts/{contract.id}",
        )


def lapse_unpaid(session) -> int:
    """Contracts still unpaid at their `pay_by` lapse: the charge is cancelled and the space
    freed, with a message. A contract paid at that moment is left alone (the guarded charge
    update decides). Safe on several nodes at once."""
    due = list(
        session.scalars(
            select(SharingContract)
            .join(Booking, Booking.id == SharingContract.booking_id)
            .where(Booking.status == BookingStatus.PENDING, SharingContract.pay_by <= clock.now())
        )
    )
    return sum(lapse(session, contract) for contract in due)


class _Unchanged(Exception):
    """Raised inside a unit of work to roll back what it did so far."""


def lapse(session, contract: SharingContract) -> bool:
    """Lapse one unpaid contract in its own unit of work: its charge cancelled (guarded: not if
    paid meanwhile), its hold expired, the holder told. False, changing nothing, otherwise."""
    try:
        with unit_of_work(session):
            if not (
                cancel_unpaid(session, contract.id)
                and engine.transition(session, contract.booking, "lapse")
            ):
                raise _Unchanged
            contract.renew, contract.lapsed_reason = False, "unpaid"
            notify(
                session,
                contract.holder_id,
                kind="parking.contract_lapsed",
                subject=N_("Your off-peak contract at %(park)s was not paid in time"),
                body=N_(
                    "%(plate)s, %(month)s: the space has gone back to others. "
                    "You can sign again if one is free."
                ),
                params={
                    "park": localized(
                        contract.window.car_park.name_zh, contract.window.car_park.name_en
                    ),
                    "plate": contract.plate,
                    "month": f"{contract.month.year}-{contract.month.month:02d}",
                },
                link=f"/parking/contracts/{contract.id}",
            )
    except _Unchanged:
        return False
    return True


def impossible_states(session) -> list[tuple[int, str]]:
    """For `flask bookings check`: contracts whose hold and charge disagree (honoured while
    unpaid, paid but still waiting, waiting without a deadline)."""
    found = []
    for booking_id, status, charge_status, contract_id in session.execute(
        select(Booking.id, Booking.status, Charge.status, SharingContract.id)
        .join(SharingContract, SharingContract.booking_id == Booking.id)
        .join(Charge, Charge.contract_id == SharingContract.id)
        .where(
            ((Booking.status == BookingStatus.CONFIRMED) & (Charge.status != ChargeStatus.PAID))
            | (
                (Booking.status == BookingStatus.PENDING)
                & (Charge.status.in_((ChargeStatus.PAID, ChargeStatus.CANCELLED)))
            )
        )
    ):
        found.append(
            (
                booking_id,
                f"sharing contract {contract_id} {status.value} "
                f"but its charge is {charge_status.value}",
            )
        )
    for booking_id, contract_id in session.execute(
        select(Booking.id, SharingContract.id)
        .join(SharingContract, SharingContract.booking_id == Booking.id)
        .where(Booking.status == BookingStatus.PENDING, SharingContract.pay_by.is_(None))
    ):
        found.append(
            (booking_id, f"sharing contract {contract_id} waiting for payment without a deadline")
        )
    return found


def _in_window(window: SharingWindow, moment: datetime) -> bool:
    local = clock.local(moment)
    minute = local.hour * 60 + local.minute
    if window.start_minute < window.end_minute:
        return (
            window.days.includes(local.date()) and window.start_minute <= minute < window.end_minute
        )
    # past midnight: the evening part belongs to today, the morning part to the day before
    if minute >= window.start_minute:
        return window.days.includes(local.date())
    return minute < window.end_minute and window.days.includes(local.date() - timedelta(days=1))


def covering_contract(
    session, car_park_id: int, plate: str, entered: datetime, exited: datetime
) -> SharingContract | None:
    """The plate's contract at this car park that covers the whole stay (checked every 5
    minutes and at the exit), if any: such a stay costs nothing."""
    contracts = session.scalars(
        select(SharingContract)
        .join(SharingWindow, SharingWindow.id == SharingContract.window_id)
        .join(Booking, Booking.id == SharingContract.booking_id)
        .where(
            SharingWindow.car_park_id == car_park_id,
            SharingContract.plate == plate,
            Booking.status == BookingStatus.CONFIRMED,  # honoured once paid
            Booking.starts_at <= entered,
            Booking.ends_at >= exited,
        )
    )
    for contract in contracts:
        moments, t = [], entered
        while t < exited:
            moments.append(t)
            t += timedelta(minutes=5)
        moments.append(exited - timedelta(seconds=1) if exited > entered else exited)
        if all(_in_window(contract.window, m) for m in moments):
            return contract
    return None


def my_contracts(session, user_id: int) -> list[SharingContract]:
    """The person's latest 50 contracts, newest month first."""
    return list(
        session.scalars(
            select(SharingContract)
            .where(SharingContract.holder_id == user_id)
            .order_by(SharingContract.month.desc(), SharingContract.id.desc())
            .limit(50)
            .options(
                selectinload(SharingContract.booking),
                selectinload(SharingContract.window).selectinload(SharingWindow.car_park),
            )
        )
    )
