"""全闵预约: venues, their bookable spaces, opening hours, closures and photos."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import UTCDateTime, str_enum, utcnow
from app.extensions import db
from app.i18n import Localized


class VenueType(enum.StrEnum):
    MUSEUM = "museum"
    LIBRARY = "library"
    CULTURE_CENTRE = "culture_centre"
    SPORTS_HALL = "sports_hall"
    COURT = "court"
    COMMUNITY_CENTRE = "community_centre"

    @property
    def label(self):
        return VENUE_TYPE_LABELS[self]


VENUE_TYPE_LABELS = {
    VenueType.MUSEUM: _l("Museum"),
    VenueType.LIBRARY: _l("Library"),
    VenueType.CULTURE_CENTRE: _l("Culture centre"),
    VenueType.SPORTS_HALL: _l("Sports hall"),
    VenueType.COURT: _l("Court"),
    VenueType.COMMUNITY_CENTRE: _l("Community centre"),
}

FACILITIES = {
    "step_free": _l("Step-free access"),
    "accessible_toilet": _l("Accessible toilet"),
    "lift": _l("Lift"),
    "hearing_loop": _l("Hearing loop"),
}


class BookingMode(enum.StrEnum):
    GENERAL = "general"  # 通用预约: a slot with N places, book a party
    PERSONALISED = "personalised"  # 个性化预约: the whole space for a chosen span

    @property
    def label(self):
        return _l("General booking") if self is BookingMode.GENERAL else _l("Personalised booking")


class Venue(db.Model):
    __tablename__ = "venue"
    scope_kind = "venue"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(96))
    name_en: Mapped[str] = mapped_column(String(160))
    type: Mapped[VenueType] = mapped_column(str_enum(VenueType), index=True)
    town_id: Mapped[int] = mapped_column(ForeignKey("town.id"), index=True)
    address_zh: Mapped[str] = mapped_column(String(200))
    address_en: Mapped[str] = mapped_column(String(240))
    description_zh: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    rules_zh: Mapped[str] = mapped_column(Text, default="")
    rules_en: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    step_free: Mapped[bool] = mapped_column(Boolean, default=False)
    accessible_toilet: Mapped[bool] = mapped_column(Boolean, default=False)
    lift: Mapped[bool] = mapped_column(Boolean, default=False)
    hearing_loop: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The first of its photos (venues.services.photos keeps it), for the search results: a
    # column, so a kept rendering of the results changes when it does. No foreign key: the two
    # tables would point at each other.
    cover_photo_id: Mapped[int | None] = mapped_column(Integer)

    # Booking rules the venue sets.
    opens_days_ahead: Mapped[int] = mapped_column(Integer, default=7)
    opens_at_minutes: Mapped[int] = mapped_column(Integer, default=8 * 60)  # local time of day
    max_per_day: Mapped[int] = mapped_column(Integer, default=2)
    max_per_week: Mapped[int] = mapped_column(Integer, default=5)
    cancel_cutoff_minutes: Mapped[int] = mapped_column(Integer, default=120)
    checkin_grace_minutes: Mapped[int] = mapped_column(Integer, default=30)
    crowd_warning_percent: Mapped[int] = mapped_column(Integer, default=80)
    waitlist_offer_minutes: Mapped[int] = mapped_column(Integer, default=60)

    town = relationship("Town")
    spaces: Mapped[list[Space]] = relationship(
        back_populates="venue", order_by="Space.id", cascade="all, delete-orphan"
    )
    hours: Mapped[list[OpeningHours]] = relationship(
        back_populates="venue", order_by="OpeningHours.weekday", cascade="all, delete-orphan"
    )
    closures: Mapped[list[Closure]] = relationship(
        back_populates="venue", order_by="Closure.starts_on", cascade="all, delete-orphan"
    )
    photos: Mapped[list[VenuePhoto]] = relationship(
        back_populates="venue",
        order_by="(VenuePhoto.position, VenuePhoto.id)",
        cascade="all, delete-orphan",
    )

    cover_photo: Mapped[VenuePhoto | None] = relationship(
        primaryjoin="foreign(Venue.cover_photo_id) == VenuePhoto.id", viewonly=True
    )

    name = Localized("name_zh", "name_en")

    address = Localized("address_zh", "address_en")

    description = Localized("description_zh", "description_en")

    rules = Localized("rules_zh", "rules_en")

    @property
    def facilities(self) -> list:
        return [label for key, label in FACILITIES.items() if getattr(self, key)]

    @property
    def scope_chain(self) -> list[tuple[str, int]]:
        return [("venue", self.id), ("district", self.town.district_id)]

    @property
    def local_scope_chain(self) -> list[tuple[str, int]]:
        return [("venue", self.id)]


class Space(db.Model):
    """A bookable part of a venue: a hall with timed entry, a court, a meeting room."""

    __tablename__ = "venue_space"
    __table_args__ = (
        CheckConstraint("capacity > 0", name="positive_capacity"),
        CheckConstraint("slot_minutes IN (15, 30, 60, 90, 120, 180, 240)", name="slot_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venue.id", ondelete="CASCADE"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"), unique=True)
    name_zh: Mapped[str] = mapped_column(String(96))
    name_en: Mapped[str] = mapped_column(String(160))
    mode: Mapped[BookingMode] = mapped_column(str_enum(BookingMode))
    # General: places per slot. Personalised: 1 (the whole space).
    capacity: Mapped[int] = mapped_column(Integer)
    # General: slot length. Personalised: the step a span is chosen in.
    slot_minutes: Mapped[int] = mapped_column(Integer, default=60)
    max_party_size: Mapped[int] = mapped_column(Integer, default=4)
    max_steps: Mapped[int] = mapped_column(Integer, default=4)  # personalised: longest span
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    venue: Mapped[Venue] = relationship(back_populates="spaces")

    name = Localized("name_zh", "name_en")

    @property
    def scope_chain(self) -> list[tuple[str, int]]:
        return self.venue.scope_chain

    @property
    def local_scope_chain(self) -> list[tuple[str, int]]:
        return [("venue", self.venue_id)]


class OpeningHours(db.Model):
    __tablename__ = "opening_hours"
    __table_args__ = (
        UniqueConstraint("venue_id", "weekday"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("opens < closes AND opens >= 0 AND closes <= 1440", name="open_span"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venue.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday
    opens: Mapped[int] = mapped_column(Integer)  # minutes after local midnight
    closes: Mapped[int] = mapped_column(Integer)

    venue: Mapped[Venue] = relationship(back_populates="hours")


class Closure(db.Model):
    """Days a venue is closed (holidays, maintenance); bookings in them are cancelled."""

    __tablename__ = "venue_closure"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="closure_span"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venue.id", ondelete="CASCADE"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    venue: Mapped[Venue] = relationship(back_populates="closures")


class VenuePhoto(db.Model):
    __tablename__ = "venue_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venue.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(64))
    alt_zh: Mapped[str] = mapped_column(String(200))
    alt_en: Mapped[str] = mapped_column(String(200), default="")
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    # The venue's order (lowest first; the first is the one on the search results) and a
    # thumbnail made from the same upload (None for photos from before it existed: the photo is
    # shown scaled instead).
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    thumb: Mapped[str | None] = mapped_column(String(64))

    venue: Mapped[Venue] = relationship(back_populates="photos")

    alt = Localized("alt_zh", "alt_en")
