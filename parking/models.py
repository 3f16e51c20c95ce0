"""快捷停车: car parks and their tariffs."""
from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import UTCDateTime, str_enum, utcnow
from app.extensions import db
from app.i18n import Localized
from parking.tariffs import TariffRules


class CarParkKind(enum.StrEnum):
    PUBLIC = "public"
    HOSPITAL = "hospital"
    MALL = "mall"
    RESIDENTIAL = "residential"

    @property
    def label(self):
        return KIND_LABELS[self]


KIND_LABELS = {CarParkKind.PUBLIC: _l("Public car park"), CarParkKind.HOSPITAL: _l("Hospital car park"),
               CarParkKind.MALL: _l("Shopping centre car park"),
               CarParkKind.RESIDENTIAL: _l("Residential car park (shared spaces)")}


class CarPark(db.Model):
    __tablename__ = "car_park"
    __table_args__ = (CheckConstraint("occupied >= 0 AND occupied <= total_spaces", name="occupancy_range"),
                      CheckConstraint("reservable_spaces <= total_spaces", name="reservable_within_total"))
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

    town = relationship("Town")
    tariff: Mapped["Tariff"] = relationship(back_populates="car_park", uselist=False,
                                            cascade="all, delete-orphan")

    name = Localized("name_zh", "name_en")
    address = Localized("address_zh", "address_en")
    hours = Localized("hours_zh", "hours_en")

    @property
    def free_spaces(self) -> int:
        return self.total_spaces - self.occupied

    @property
    def scope_chain(self) -> list[tuple[str, int]]:
        return [("carpark", self.id)]


class Tariff(db.Model):
    """A car park's charging rules (see parking.tariffs for how they apply). Money in fen."""

    __tablename__ = "parking_tariff"
    __table_args__ = (CheckConstraint("period_minutes > 0", name="positive_period"),
                      CheckConstraint("day_starts < day_ends", name="day_window"))

    id: Mapped[int] = mapped_column(primary_key=True)
    car_park_id: Mapped[int] = mapped_column(ForeignKey("car_park.id", ondelete="CASCADE"), unique=True)
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
    def rules(self) -> TariffRules:
        return TariffRules(free_minutes=self.free_minutes, first_hour_fen=self.first_hour_fen,
                           period_minutes=self.period_minutes, period_fen=self.period_fen,
                           night_unit_fen=self.night_unit_fen, day_starts=self.day_starts,
                           day_ends=self.day_ends, daily_cap_fen=self.daily_cap_fen)
