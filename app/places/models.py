from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.i18n import Localized


class Town(db.Model):
    """A town or subdistrict (街镇) of the district; supervisors and searches are per town."""

    __tablename__ = "town"
    scope_kind = "town"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(96))

    estates: Mapped[list["Estate"]] = relationship(back_populates="town", order_by="Estate.name_zh")

    name = Localized("name_zh", "name_en")

    @property
    def scope_chain(self) -> list[tuple[str, int]]:
        return [("town", self.id)]


class Estate(db.Model):
    """A residential estate (住宅小区): where residents live and repairs are reported."""

    __tablename__ = "estate"
    scope_kind = "estate"

    id: Mapped[int] = mapped_column(primary_key=True)
    town_id: Mapped[int] = mapped_column(ForeignKey("town.id"), index=True)
    name_zh: Mapped[str] = mapped_column(String(96))
    name_en: Mapped[str] = mapped_column(String(160))
    address_zh: Mapped[str] = mapped_column(String(200))
    address_en: Mapped[str] = mapped_column(String(240))
    # WGS-84 degrees; None where not surveyed.
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]

    town: Mapped[Town] = relationship(back_populates="estates")

    name = Localized("name_zh", "name_en")

    address = Localized("address_zh", "address_en")

    @property
    def scope_chain(self) -> list[tuple[str, int]]:
        """Who may act on this estate: its own staff, and its town's supervisors."""
        return [("estate", self.id), ("town", self.town_id)]
