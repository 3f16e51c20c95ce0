"""The capacity engine's tables: resources, their capacity per time bucket, and bookings."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import UTCDateTime, str_enum, utcnow
from app.extensions import db


class Resource(db.Model):
    """Something whose capacity is sold over time: a museum hall, a court, a car park's pool.

    The engine knows nothing else about it; the owning service links its own row to it.
    """

    __tablename__ = "resource"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "venue", "carpark", ...
    label: Mapped[str] = mapped_column(String(160))


class CapacityBucket(db.Model):
    """Capacity of one resource for one span of time, and how much of it is taken.

    `taken` only ever changes through guarded updates in `bookings.services`; the CHECK is the
    database's own guarantee that no race can oversell it.
    """

    __tablename__ = "capacity_bucket"
    __table_args__ = (
        UniqueConstraint("resource_id", "starts_at"),
        CheckConstraint("taken >= 0 AND taken <= capacity", name="taken_within_capacity"),
        CheckConstraint("ends_at > starts_at", name="positive_span"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int] = mapped_column(Integer)
    taken: Mapped[int] = mapped_column(Integer, default=0)

    resource: Mapped[Resource] = relationship()

    @property
    def remaining(self) -> int:
        return self.capacity - self.taken


class BookingStatus(enum.StrEnum):
    PENDING = "pending"  # holds capacity, waiting for staff approval
    OFFERED = "offered"  # a waitlist offer: holds capacity until accepted or expired
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    NO_SHOW = "no_show"
    EXPIRED = "expired"  # an offer nobody accepted in time


# Statuses whose units are held in the buckets. Everything else has released them.
HOLDING = (
    BookingStatus.PENDING,
    BookingStatus.OFFERED,
    BookingStatus.CONFIRMED,
    BookingStatus.CHECKED_IN,
)


class Booking(db.Model):
    __tablename__ = "booking"
    __table_args__ = (
        UniqueConstraint("holder_id", "idempotency_key"),
        CheckConstraint("quantity > 0", name="positive_quantity"),
        Index("ix_booking_resource_span", "resource_id", "starts_at"),
        Index("ix_booking_holder_start", "holder_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"))
    holder_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    # Who pressed the button: the holder, or a community helper acting for them.
    booked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[BookingStatus] = mapped_column(str_enum(BookingStatus, 16), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    # Short numeric code shown at the door (and inside the QR code).
    door_code: Mapped[str] = mapped_column(String(8), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_reason: Mapped[str | None] = mapped_column(String(255))

    resource: Mapped[Resource] = relationship()
    holder = relationship("User", foreign_keys=[holder_id])
    booked_by = relationship("User", foreign_keys=[booked_by_id])

    @property
    def holds_capacity(self) -> bool:
        return self.status in HOLDING


class WaitlistStatus(enum.StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"  # passed over when places came free: the person could not book them


class WaitlistEntry(db.Model):
    """A person waiting for places in one bucket (a full general slot), first come first served.

    When places free up, the first entry that fits gets an offer: a booking in status OFFERED that
    holds the places until `offer_expires_at`.
    """

    __tablename__ = "waitlist_entry"
    __table_args__ = (Index("ix_waitlist_entry_bucket_status", "bucket_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bucket_id: Mapped[int] = mapped_column(ForeignKey("capacity_bucket.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[WaitlistStatus] = mapped_column(str_enum(WaitlistStatus, 16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("booking.id", ondelete="SET NULL"))

    bucket: Mapped[CapacityBucket] = relationship()
    booking: Mapped[Booking | None] = relationship()


class BookingSuspension(db.Model):
    """A person may not book (kind "venue") or reserve (kind "parking") until `until`."""

    __tablename__ = "booking_suspension"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CalendarFeed(db.Model):
    """The secret address of a person's calendar feed (.ics) of their bookings."""

    __tablename__ = "calendar_feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), unique=True
    )
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
