"""Payments for parking: charges, the provider interface, the built-in demo wallet, and signed,
idempotent callbacks.

A provider collects money for a charge and reports the result in a *callback*: a JSON body
`{"charge": ref, "status": "succeeded"|"failed", "amount_fen": n, "provider_ref": ...}` signed
with HMAC-SHA256 (header `X-Payment-Signature`, hex). `apply_callback` is the one place a charge
becomes paid: a guarded UPDATE from an unpaid status, so a repeated or concurrent callback never
pays (or sends a receipt) twice.

The demo wallet (演示钱包) is the embedded default's provider: not real money, labelled so on every
page that shows it. It debits its own books once per charge reference and delivers its callback
in process, through the same `apply_callback` a real provider's HTTP callback reaches.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from app.codes import idempotency_key, new_reference
from app.db import unit_of_work, utcnow
from app.errors import DomainError
from app.i18n import N_, format_fen
from app.notifications.params import localized
from app.notifications.services import notify
from bookings import services as engine
from parking.models import (
    Charge,
    ChargeStatus,
    DemoWalletAccount,
    DemoWalletPayment,
    PaymentMethod,
    SharingContract,
    Vehicle,
    VehicleStatus,
)
from parking.services import ParkingSettings

UNPAID = (ChargeStatus.DUE, ChargeStatus.FAILED)
DEMO_OPENING_BALANCE_FEN = 50000


class CallbackRefused(DomainError):
    status = 400
    code = "bad_callback"


def new_charge(
    session,
    *,
    user_id: int | None,
    car_park_id: int,
    plate: str,
    amount_fen: int,
    session_id: int | None = None,
    contract_id: int | None = None,
) -> Charge:
    """A charge due (a stay's fee or a contract month), inside the caller's unit of work."""
    charge = Charge(
        reference="C" + new_reference(9),
        user_id=user_id,
        car_park_id=car_park_id,
        plate=plate,
        amount_fen=amount_fen,
        session_id=session_id,
        contract_id=contract_id,
        status=ChargeStatus.DUE,
    )
    session.add(charge)
    session.flush()
    return charge


def callback_secret(settings: ParkingSettings, provider: str) -> bytes:
    """The provider's configured secret (PAYMENT_CALLBACK_SECRETS), else one derived from
    SECRET_KEY."""
    configured = settings.callback_secrets.get(provider)
    if configured:
        return configured.encode()
    return hmac.new(
        settings.secret_key.encode(), f"payments:{provider}".encode(), hashlib.sha256
    ).digest()


def sign(settings: ParkingSettings, provider: str, body: bytes) -> str:
    """The hex HMAC-SHA256 a callback from `provider` carries."""
    return hmac.new(callback_secret(settings, provider), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class CallbackResult:
    charge: Charge
    outcome: str  # "paid", "already_paid", "failed", "ignored", "cancelled" (money given back)


def apply_callback(
    session, provider: str, body: bytes, signature: str, settings: ParkingSettings
) -> CallbackResult:
    """Verify and apply a provider's callback in one unit of work. Safe to repeat: the charge
    becomes paid by a guarded UPDATE from an unpaid status, so a repeated or concurrent
    callback never pays (or sends a receipt) twice; money collected for a charge cancelled
    meanwhile is refunded."""
    if provider not in PROVIDERS:
        raise CallbackRefused(_l("Unknown payment provider."), code="unknown_provider")
    # Compared as bytes: compare_digest refuses str with non-ASCII characters (TypeError, a 500
    # for any header a client cared to send), and a non-hex signature simply does not match.
    if not hmac.compare_digest(
        sign(settings, provider, body).encode(), (signature or "").strip().lower().encode()
    ):
        raise CallbackRefused(_l("The callback's signature does not match."), code="bad_signature")
    try:
        data = json.loads(body)
        reference, status, amount = (
            str(data["charge"]),
            str(data["status"]),
            int(data["amount_fen"]),
        )
    except (ValueError, KeyError, TypeError):
        raise CallbackRefused(_l("The callback is not in the expected format.")) from None
    with unit_of_work(session):
        charge = session.scalar(select(Charge).where(Charge.reference == reference))
        if charge is None:
            raise CallbackRefused(_l("No such charge."), code="unknown_charge")
        if amount != charge.amount_fen:
            raise CallbackRefused(
                _l("The amount does not match the charge."), code="amount_mismatch"
            )
        if status == "succeeded":
            outcome = _succeeded(session, charge, provider, data.get("provider_ref"))
        elif status == "failed":
            outcome = _failed(session, charge)
        else:
            outcome = "ignored"
    session.refresh(charge)
    return CallbackResult(charge, outcome)


def _succeeded(session, charge: Charge, provider: str, provider_ref) -> str:
    moved = session.execute(
        update(Charge)
        .where(Charge.id == charge.id, Charge.status.in_(UNPAID))
        .values(
            status=ChargeStatus.PAID,
            provider=provider,
            paid_at=utcnow(),
            # The provider's own reference, kept as a key is (trimmed, cut to the column).
            provider_ref=idempotency_key(str(provider_ref or "")),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(charge)
    if moved:
        if charge.user_id:
            _receipt(session, charge)
        if charge.contract_id:
            _contract_paid(session, charge)
        return "paid"
    if charge.status == ChargeStatus.CANCELLED:
        # Collected after its contract was cancelled or lapsed: nothing is owed.
        PROVIDERS[provider].refund(session, charge)
        return "cancelled"
    return "already_paid"


def _failed(session, charge: Charge) -> str:
    moved = session.execute(
        update(Charge)
        .where(Charge.id == charge.id, Charge.status == ChargeStatus.DUE)
        .values(status=ChargeStatus.FAILED)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved and charge.user_id:
        notify(
            session,
            charge.user_id,
            kind="parking.payment_failed",
            subject=N_("Payment of %(amount)s for %(plate)s did not go through"),
            body=N_("Pay it online from your parking history: %(ref)s."),
            params={
                "amount": yuan(charge.amount_fen),
                "plate": charge.plate,
                "ref": charge.reference,
            },
            link="/parking/mine",
        )
    return "failed" if moved else "ignored"


def _contract_paid(session, charge: Charge) -> None:
    """A sharing contract is honoured once its charge is paid: its hold (PENDING) is confirmed in
    the transaction that records the payment. The contract's lapse cancels the charge first, in
    its own transaction, so a charge paid here always finds its hold still pending."""
    contract = session.get(SharingContract, charge.contract_id)
    if contract is not None:
        engine.transition(session, contract.booking, "pay")


def cancel_unpaid(session, contract_id: int) -> bool:
    """Inside the caller's transaction: the contract's charge, if still unpaid, becomes CANCELLED
    (a guarded UPDATE, so a payment and a cancellation never both win) and can no longer be
    paid. False if it was paid meanwhile; True if cancelled or there was nothing to pay."""
    charge_id = session.scalar(select(Charge.id).where(Charge.contract_id == contract_id))
    if charge_id is None:
        return True
    return (
        session.execute(
            update(Charge)
            .where(Charge.id == charge_id, Charge.status.in_(UNPAID))
            .values(status=ChargeStatus.CANCELLED)
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )


def _receipt(session, charge: Charge) -> None:
    what = (
        N_("Parking at %(park)s, %(plate)s")
        if charge.session_id
        else N_("Off-peak sharing contract at %(park)s, %(plate)s")
    )
    notify(
        session,
        charge.user_id,
        kind="parking.receipt",
        subject=N_("Receipt %(ref)s: %(amount)s paid"),
        body=what,
        params={
            "ref": charge.reference,
            "amount": yuan(charge.amount_fen),
            "park": localized(charge.car_park.name_zh, charge.car_park.name_en),
            "plate": charge.plate,
        },
        link=f"/parking/charges/{charge.reference}",
    )


class DemoWallet:
    """演示钱包: the embedded default's payment provider. Not real money."""

    key = "demo_wallet"
    label = _l("Demo wallet (not real money)")

    def _method(self, session, user_id: int) -> PaymentMethod | None:
        return session.scalar(
            select(PaymentMethod)
            .where(PaymentMethod.user_id == user_id, PaymentMethod.provider == self.key)
            .order_by(PaymentMethod.id)
        )

    def open_method(self, session, user) -> PaymentMethod:
        """The person's demo wallet payment method, opened with a demo balance on first use.
        Safe when several first payments open it at once: the account goes in with ON CONFLICT
        DO NOTHING on its unique user, and its row lock (PostgreSQL; SQLite's write transactions
        are serial) lets one of them add the method while the others wait, then find it."""
        method = self._method(session, user.id)
        if method is not None:
            return method
        with unit_of_work(session):
            dialect = session.get_bind().dialect.name
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            session.execute(
                insert(DemoWalletAccount)
                .values(user_id=user.id, balance_fen=DEMO_OPENING_BALANCE_FEN)
                .on_conflict_do_nothing(index_elements=["user_id"])
            )
            account = session.scalar(
                select(DemoWalletAccount)
                .where(DemoWalletAccount.user_id == user.id)
                .with_for_update()
            )
            method = self._method(session, user.id)
            if method is None:
                method = PaymentMethod(
                    user_id=user.id, provider=self.key, account_ref=f"demo-{account.id}"
                )
                session.add(method)
                session.flush()  # its id, also when this unit joins a caller's
        return method

    def balance(self, session, user_id: int) -> int | None:
        """The wallet's balance in fen; None before it is opened."""
        return session.scalar(
            select(DemoWalletAccount.balance_fen).where(DemoWalletAccount.user_id == user_id)
        )

    def refund(self, session, charge: Charge) -> None:
        """Inside the caller's transaction: give back what was debited for `charge`, once
        (removing its payment row is the guard)."""
        payment = session.scalar(
            select(DemoWalletPayment).where(DemoWalletPayment.charge_reference == charge.reference)
        )
        if payment is None:
            return
        if session.execute(
            delete(DemoWalletPayment)
            .where(DemoWalletPayment.id == payment.id)
            .execution_options(synchronize_session=False)
        ).rowcount:
            session.execute(
                update(DemoWalletAccount)
                .where(DemoWalletAccount.id == payment.account_id)
                .values(balance_fen=DemoWalletAccount.balance_fen + payment.amount_fen)
                .execution_options(synchronize_session=False)
            )

    def pay(
        self, session, method: PaymentMethod, charge: Charge, settings: ParkingSettings
    ) -> CallbackResult:
        """Debit the wallet once for this charge (one unit of work) and deliver the signed
        callback (`apply_callback`, its own unit). A cancelled charge is not debited. Not inside
        another unit: a concurrent payment of the same charge is told apart by the failed
        insert of its payment row, which ends the transaction."""
        try:
            with unit_of_work(session):
                status = self._debit(session, method, charge)
        except IntegrityError:  # a concurrent payment of the same charge debited first
            status = "succeeded"
        if status == "cancelled":
            session.refresh(charge)
            return CallbackResult(charge, "cancelled")
        body = json.dumps(
            {
                "charge": charge.reference,
                "status": status,
                "amount_fen": charge.amount_fen,
                "provider_ref": f"demo-{charge.reference}",
            }
        ).encode()
        return apply_callback(session, self.key, body, sign(settings, self.key, body), settings)

    def _debit(self, session, method: PaymentMethod, charge: Charge) -> str:
        if (
            session.scalar(select(Charge.status).where(Charge.id == charge.id))
            == ChargeStatus.CANCELLED
        ):
            return "cancelled"
        account = session.scalar(
            select(DemoWalletAccount).where(DemoWalletAccount.user_id == method.user_id)
        )
        already = session.scalar(
            select(DemoWalletPayment).where(DemoWalletPayment.charge_reference == charge.reference)
        )
        if already is not None:
            return "succeeded"
        debited = session.execute(
            update(DemoWalletAccount)
            .where(
                DemoWalletAccount.id == account.id,
                DemoWalletAccount.balance_fen >= charge.amount_fen,
            )
            .values(balance_fen=DemoWalletAccount.balance_fen - charge.amount_fen)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not debited:
            return "failed"
        session.add(
            DemoWalletPayment(
                account_id=account.id,
                charge_reference=charge.reference,
                amount_fen=charge.amount_fen,
            )
        )
        return "succeeded"


PROVIDERS = {DemoWallet.key: DemoWallet()}


def provider_for(method: PaymentMethod):
    """The provider that holds this payment method."""
    return PROVIDERS[method.provider]


def default_provider(settings: ParkingSettings):
    """The provider that collects fees paid online (PARKING_PAYMENT_PROVIDER)."""
    return PROVIDERS[settings.payment_provider]


def is_payable(charge: Charge) -> bool:
    """The charge can be paid now: due, or its automatic payment failed. The pages show the
    pay button by it; `pay_online` refuses by it."""
    return charge.status in UNPAID


def autopay_vehicle(session, user_id: int, plate: str) -> Vehicle | None:
    """The vehicle whose 无感支付 pays `user_id`'s charges for `plate`: their verified claim with
    a payment method bound (a mere claim cannot bind: vehicles.can_bind_payment); else None.
    What `collect_automatically` charges, and what a contract's summary promises."""
    vehicle = session.scalar(
        select(Vehicle).where(Vehicle.plate == plate, Vehicle.status == VehicleStatus.VERIFIED)
    )
    if vehicle is None or vehicle.autopay_method is None or vehicle.owner_id != user_id:
        return None
    return vehicle


def collect_automatically(
    session, charge: Charge, settings: ParkingSettings
) -> CallbackResult | None:
    """无感支付: charge the payment method bound to the plate, if there is one
    (`autopay_vehicle`). Marks the charge automatic (its own unit of work), then pays it
    (`DemoWallet.pay`)."""
    vehicle = autopay_vehicle(session, charge.user_id, charge.plate)
    if vehicle is None:
        return None
    with unit_of_work(session):
        charge.automatic = True
    method = vehicle.autopay_method
    return provider_for(method).pay(session, method, charge, settings)


def pay_online(session, charge: Charge, user, settings: ParkingSettings) -> CallbackResult:
    """Pay an unpaid charge (`is_payable`) from the person's parking history with the default
    provider. DomainError when it is paid, cancelled, or the payment is refused."""
    if not is_payable(charge):
        if charge.status == ChargeStatus.PAID:
            raise DomainError(_l("This has already been paid."), code="already_paid")
        raise DomainError(
            _l("This charge is cancelled: there is nothing to pay."), code="charge_cancelled"
        )
    provider = default_provider(settings)
    method = provider.open_method(session, user)
    result = provider.pay(session, method, charge, settings)
    if result.outcome == "cancelled":
        raise DomainError(
            _l("This charge is cancelled: there is nothing to pay."), code="charge_cancelled"
        )
    if result.outcome == "failed" or result.charge.status != ChargeStatus.PAID:
        raise DomainError(
            _l("The payment was refused: there is not enough in the wallet."), code="payment_failed"
        )
    return result


def yuan(fen: int) -> str:
    """Money in stored inbox messages, readable in either language: the pages' one format."""
    return format_fen(fen)
