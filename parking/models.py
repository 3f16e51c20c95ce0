"""快捷停车: car parks and their tariffs."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import UTCDateTime, str_enum, utcnow
from app.extensions import db
from app.i18n import Localized


class CarParkKind(enum.StrEnum):
    PUBLIC = "public"
    HOSPITAL = "hospital"
    MALL = "mall"
    RESIDENTIAL = "residential"

    @property
    def label(self):
        return KIND_LABELS[self]


KIND_LABELS = {
    CarParkKind.PUBLIC: _l("Public car park"),
    CarParkKind.HOSPITAL: _l("Hospital car park"),
    CarParkKind.MALL: _l("Shopping centre car park"),
    CarParkKind.RESIDENTIAL: _l("Residential car park (shared spaces)"),
}


class CarPark(db.Model):
    __tablename__ = "car_park"
    __table_args__ = (
        CheckConstraint("occupied >= 0 AND occupied <= total_spaces", name="occupancy_range"),
        CheckConstraint("reservable_spaces <= total_spaces", name="reservable_within_total"),
    )
    scope_kind = "carpark"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(96))
    name_en: Mapped[str] = mapped_column(String(160))
    kind: Mapped[CarParkKind] = mapped_column(str_enum(CarParkKind, 16))
    town_id: Mapped[int] = mapped_column(ForeignKey("town.id"), index=True)
    address_zh: Mapped[str] = mapped_column(String(200))
    address_en: Mapped[str] = mapped_column(String(240))
    # WGS-84 degrees (GPS). Chinese map apps use GCJ-02; the feed says which system it uses.
    latitude: Mapped[float]
    longitude: Mapped[float]
    total_spaces: Mapped[int] = mapped_column(Integer)
    occupied: Mapped[int] = mapped_column(Integer, default=0)
    reservable_spaces: Mapped[int] = mapped_column(Integer, default=0)
    hours_zh: Mapped[str] = mapped_column(String(80), default="全天 24 小时")
    hours_en: Mapped[str] = mapped_column(String(120), default="Open 24 hours")
    open: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The reservable pool in the capacity engine: 15-minute buckets of `reservable_spaces`.
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("resource.id"), unique=True)
    # A reservation holds its space from arrival until arrival + grace; free cancellation until
    # `cancel_cutoff_minutes` before arrival.
    grace_minutes: Mapped[int] = mapped_column(Integer, default=30)
    cancel_cutoff_minutes: Mapped[int] = mapped_column(Integer, default=30)
    # Archived car parks keep their history but are offered nowhere (parking/admin_views.py).
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    town = relationship("Town")
    tariff: Mapped[Tariff] = relationship(
        back_populates="car_park", uselist=False, cascade="all, delete-orphan"
    )
    windows: Mapped[list[SharingWindow]] = relationship(
        back_populates="car_park", order_by="SharingWindow.id"
    )

    name = Localized("name_zh", "name_en")
    address = Localized("address_zh", "address_en")
    hours = Localized("hours_zh", "hours_en")

    @property
    def free_spaces(self) -> int:
        return self.total_spaces - self.occupied

    @property
    def in_service(self) -> bool:
        """Open, and not archived (an archived car park is offered nowhere, issue 15)."""
        return self.open and self.archived_at is None

    @property
    def scope_chain(self) -> list[tuple[str, int]]:
        return [("carpark", self.id), ("district", self.town.district_id)]

    @property
    def local_scope_chain(self) -> list[tuple[str, int]]:
        return [("carpark", self.id)]


class Tariff(db.Model):
    """A car park's charging rules (parking.services.tariffs says how they apply), in fen."""

    __tablename__ = "parking_tariff"
    __table_args__ = (
        CheckConstraint("period_minutes > 0", name="positive_period"),
        CheckConstraint("day_starts < day_ends", name="day_window"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    car_park_id: Mapped[int] = mapped_column(
        ForeignKey("car_park.id", ondelete="CASCADE"), unique=True
    )
    free_minutes: Mapped[int] = mapped_column(Integer, default=15)
    first_hour_fen: Mapped[int] = mapped_column(Integer)
    period_minutes: Mapped[int] = mapped_column(Integer, default=30)
    period_fen: Mapped[int] = mapped_column(Integer)
    night_unit_fen: Mapped[int] = mapped_column(Integer)
    day_starts: Mapped[int] = mapped_column(Integer, default=7 * 60)
    day_ends: Mapped[int] = mapped_column(Integer, default=19 * 60)
    daily_cap_fen: Mapped[int | None] = mapped_column(Integer)

    car_park: Mapped[CarPark] = relationship(back_populates="tariff")

    @property
    def rules(self):
        """The tariff as the fee calculation takes it (parking.services.tariffs.TariffRules)."""
        from parking.services.tariffs import TariffRules  # the services import the models

        return TariffRules(
            free_minutes=self.free_minutes,
            first_hour_fen=self.first_hour_fen,
            period_minutes=self.period_minutes,
            period_fen=self.period_fen,
            night_unit_fen=self.night_unit_fen,
            day_starts=self.day_starts,
            day_ends=self.day_ends,
            daily_cap_fen=self.daily_cap_fen,
        )


class VehicleStatus(enum.StrEnum):
    CLAIMED = "claimed"  # the driver typed the plate; no licence photo yet
    PENDING = "pending"  # the licence photo is in, waiting for a verifier
    VERIFIED = "verified"  # a verifier saw the vehicle licence (行驶证)
    REFUSED = "refused"  # a verifier said no
    DROPPED = "dropped"  # another account's claim of the plate was verified

    @property
    def label(self):
        return VEHICLE_STATUS_LABELS[self]


VEHICLE_STATUS_LABELS = {
    VehicleStatus.CLAIMED: _l("Not verified: add a photo of the vehicle licence"),
    VehicleStatus.PENDING: _l("Waiting for a check of the vehicle licence"),
    VehicleStatus.VERIFIED: _l("Verified"),
    VehicleStatus.REFUSED: _l("Not verified: the licence did not match"),
    VehicleStatus.DROPPED: _l("Verified for another account"),
}
# Claims that still stand: usable for reservations and contracts (the gate matches the plate).
LIVE_VEHICLE_STATES = (VehicleStatus.CLAIMED, VehicleStatus.PENDING, VehicleStatus.VERIFIED)


class Vehicle(db.Model):
    """A plate on an account: a *claim* until a verifier (car-park operator or service-desk
    clerk) has seen the vehicle licence. Several accounts may claim a plate; at most one holds it
    VERIFIED (a partial unique index), and only that holder gets what follows the car: its gate
    history (from `decided_at`, the verification), its fees and 无感支付."""

    __tablename__ = "vehicle"
    __table_args__ = (
        UniqueConstraint("owner_id", "plate", name="uq_vehicle_owner_plate"),
        Index(
            "uq_vehicle_verified_plate",
            "plate",
            unique=True,
            sqlite_where=text("status = 'verified'"),
            postgresql_where=text("status = 'verified'"),
        ),
        Index("ix_vehicle_plate_status", "plate", "status"),
        Index("ix_vehicle_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    plate: Mapped[str] = mapped_column(String(10))
    status: Mapped[VehicleStatus] = mapped_column(
        str_enum(VehicleStatus, 16), default=VehicleStatus.CLAIMED
    )
    # The vehicle licence photo (UPLOAD_DIR/licences/), shown to verifiers only and deleted
    # once the claim is decided or removed.
    licence_filename: Mapped[str | None] = mapped_column(String(64))
    # 无感支付: when set, fees at exit are charged to this payment method automatically
    # (a verified plate only: vehicles.can_bind_payment).
    autopay_method_id: Mapped[int | None] = mapped_column(
        ForeignKey("payment_method.id", ondelete="SET NULL")
    )
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # Why a claim was refused, or dropped; shown to the driver.
    decision_note: Mapped[str] = mapped_column(String(200), default="")

    owner = relationship("User", foreign_keys=[owner_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])
    autopay_method: Mapped[PaymentMethod | None] = relationship()

    @property
    def is_verified(self) -> bool:
        return self.status == VehicleStatus.VERIFIED

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_VEHICLE_STATES


class PaymentMethod(db.Model):
    """A way a person pays, held by a payment provider (`provider` is its key)."""

    __tablename__ = "payment_method"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(32))
    account_ref: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ParkingReservation(db.Model):
    """车位预约: a space in a car park's reservable pool, held by an engine booking over
    [arrive_at, arrive_at + grace)."""

    __tablename__ = "parking_reservation"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("booking.id", ondelete="CASCADE"), unique=True
    )
    car_park_id: Mapped[int] = mapped_column(
        ForeignKey("car_park.id", ondelete="CASCADE"), index=True
    )
    plate: Mapped[str] = mapped_column(String(10), index=True)
    arrive_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the sweep sent the reminder before the arrival time (once: a guarded update).
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    booking = relationship("Booking")
    car_park: Mapped[CarPark] = relationship()


class DayPattern(enum.StrEnum):
    WORKDAYS = "workdays"
    WEEKENDS = "weekends"
    EVERY_DAY = "every_day"

    @property
    def label(self):
        return DAY_PATTERN_LABELS[self]

    def includes(self, day: date) -> bool:
        weekend = day.weekday() >= 5
        return self is DayPattern.EVERY_DAY or (
            weekend if self is DayPattern.WEEKENDS else not weekend
        )


DAY_PATTERN_LABELS = {
    DayPattern.WORKDAYS: _l("Monday to Friday"),
    DayPattern.WEEKENDS: _l("Saturdays and Sundays"),
    DayPattern.EVERY_DAY: _l("Every day"),
}


class SharingWindow(db.Model):
    """错峰共享: `spaces` spaces of a (residential) car park offered in a set window, signed for
    by the month. Its capacity is an engine resource with one bucket per calendar month. A window
    may run past midnight (19:00-07:30): it then belongs to the day it starts on."""

    __tablename__ = "sharing_window"
    __table_args__ = (
        CheckConstraint("spaces >= 0", name="spaces_not_negative"),
        CheckConstraint("start_minute <> end_minute", name="window_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    car_park_id: Mapped[int] = mapped_column(
        ForeignKey("car_park.id", ondelete="CASCADE"), index=True
    )
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"), unique=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(120))
    days: Mapped[DayPattern] = mapped_column(str_enum(DayPattern, 16))
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)
    spaces: Mapped[int] = mapped_column(Integer)
    monthly_fee_fen: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    car_park: Mapped[CarPark] = relationship(back_populates="windows")
    name = Localized("name_zh", "name_en")


class SharingContract(db.Model):
    """One calendar month of a driver's contract for a sharing window; renewing adds the next
    month's row (its engine booking has the idempotency key `share:<window>:<month>:<plate>`, so a
    renewal happens once however many sweeps run)."""

    __tablename__ = "sharing_contract"

    id: Mapped[int] = mapped_column(primary_key=True)
    window_id: Mapped[int] = mapped_column(
        ForeignKey("sharing_window.id", ondelete="CASCADE"), index=True
    )
    holder_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("booking.id", ondelete="CASCADE"), unique=True
    )
    plate: Mapped[str] = mapped_column(String(10), index=True)
    month: Mapped[date] = mapped_column(Date)
    renew: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set by the renewal sweep when next month could not be signed (full, or the window closed).
    lapsed_reason: Mapped[str | None] = mapped_column(String(64))
    # While its charge is unpaid the contract holds its space (engine status PENDING) only until
    # `pay_by`; paid, it is CONFIRMED and honoured at the gate. None when nothing was to pay.
    pay_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    window: Mapped[SharingWindow] = relationship()
    booking = relationship("Booking")


class SessionStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    EXIT_UNMATCHED = "exit_unmatched"  # an exit with no entry on record: kept for the operator


class ParkingSession(db.Model):
    """A car's stay, from its entry event to its exit event."""

    __tablename__ = "parking_session"
    __table_args__ = (
        Index("ix_parking_session_open", "car_park_id", "plate", "status"),
        # stays still holding a plate, for the retention sweep (parking.services.retention)
        Index(
            "ix_parking_session_identifying_exit",
            "exited_at",
            postgresql_where=text("substr(plate, 1, 1) <> '#'"),
            sqlite_where=text("substr(plate, 1, 1) <> '#'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    car_park_id: Mapped[int] = mapped_column(ForeignKey("car_park.id", ondelete="CASCADE"))
    plate: Mapped[str] = mapped_column(String(10), index=True)
    entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    status: Mapped[SessionStatus] = mapped_column(str_enum(SessionStatus, 16))
    reservation_id: Mapped[int | None] = mapped_column(
        ForeignKey("parking_reservation.id", ondelete="SET NULL")
    )
    contract_id: Mapped[int | None] = mapped_column(
        ForeignKey("sharing_contract.id", ondelete="SET NULL")
    )
    fee_fen: Mapped[int | None] = mapped_column(Integer)

    car_park: Mapped[CarPark] = relationship()
    charge: Mapped[Charge | None] = relationship(back_populates="parking_session", uselist=False)


class GateDirection(enum.StrEnum):
    ENTRY = "entry"
    EXIT = "exit"


class GateOutcome(enum.StrEnum):
    ENTERED = "entered"
    EXITED = "exited"
    REPEATED_ENTRY = "repeated_entry"  # entry while the plate is already inside: not counted twice
    UNMATCHED_EXIT = "unmatched_exit"  # exit without an entry: recorded, occupancy unchanged


class GateEvent(db.Model):
    """What a car park's gate reported. The same (car park, plate, direction, time) twice is one
    event: the unique constraint makes a resent event a no-op."""

    __tablename__ = "gate_event"
    __table_args__ = (
        UniqueConstraint("car_park_id", "plate", "direction", "occurred_at"),
        Index("ix_gate_event_park_time", "car_park_id", "occurred_at"),
        # events still holding a plate, for the retention sweep (parking.services.retention)
        Index(
            "ix_gate_event_identifying_time",
            "occurred_at",
            postgresql_where=text("substr(plate, 1, 1) <> '#'"),
            sqlite_where=text("substr(plate, 1, 1) <> '#'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    car_park_id: Mapped[int] = mapped_column(ForeignKey("car_park.id", ondelete="CASCADE"))
    plate: Mapped[str] = mapped_column(String(10))
    direction: Mapped[GateDirection] = mapped_column(str_enum(GateDirection, 8))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[GateOutcome] = mapped_column(str_enum(GateOutcome, 16))
    occupied_after: Mapped[int] = mapped_column(Integer)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("parking_session.id", ondelete="SET NULL")
    )


class ChargeStatus(enum.StrEnum):
    DUE = "due"  # to be paid online from the parking history
    PAID = "paid"
    FAILED = "failed"  # an automatic payment was refused; payable online like a due one
    CANCELLED = "cancelled"  # what it was for was cancelled or lapsed unpaid: nothing to pay


class Charge(db.Model):
    """Money owed for a stay or a sharing contract, in fen. Becomes PAID exactly once: the
    change is a guarded UPDATE from an unpaid status, so repeated callbacks cannot pay twice."""

    __tablename__ = "parking_charge"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="positive_amount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    car_park_id: Mapped[int] = mapped_column(
        ForeignKey("car_park.id", ondelete="CASCADE"), index=True
    )
    plate: Mapped[str] = mapped_column(String(10))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("parking_session.id", ondelete="SET NULL"), unique=True
    )
    contract_id: Mapped[int | None] = mapped_column(
        ForeignKey("sharing_contract.id", ondelete="SET NULL"), unique=True
    )
    amount_fen: Mapped[int] = mapped_column(Integer)
    status: Mapped[ChargeStatus] = mapped_column(str_enum(ChargeStatus, 16), index=True)
    provider: Mapped[str | None] = mapped_column(String(32))
    provider_ref: Mapped[str | None] = mapped_column(String(64))
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    car_park: Mapped[CarPark] = relationship()
    parking_session: Mapped[ParkingSession | None] = relationship(back_populates="charge")
    contract: Mapped[SharingContract | None] = relationship()


class DemoWalletAccount(db.Model):
    """The built-in demo wallet provider's books (演示钱包: not real money)."""

    __tablename__ = "demo_wallet_account"
    __table_args__ = (CheckConstraint("balance_fen >= 0", name="balance_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), unique=True
    )
    balance_fen: Mapped[int] = mapped_column(Integer)


class DemoWalletPayment(db.Model):
    """A debit of the demo wallet; one per charge reference, so a retried payment debits once."""

    __tablename__ = "demo_wallet_payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("demo_wallet_account.id", ondelete="CASCADE")
    )
    charge_reference: Mapped[str] = mapped_column(String(16), unique=True)
    amount_fen: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
