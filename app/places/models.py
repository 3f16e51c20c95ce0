from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import UTCDateTime, str_enum, utcnow
from app.extensions import db
from app.i18n import Localized


class District(db.Model):
    """A district (区) of the city: the level above towns (city → district → town → estate).
    One installation may serve several; each carries what used to be configuration (its name,
    hotline, the local name of the booking service, the footer's identity), so nothing
    district-specific lives in templates or translations (issue 15)."""

    __tablename__ = "district"
    scope_kind = "district"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The administrative code (行政区划代码), e.g. "310112" for Minhang: the natural key.
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name_zh: Mapped[str] = mapped_column(String(32))
    name_en: Mapped[str] = mapped_column(String(64))
    hotline: Mapped[str] = mapped_column(String(32), default="12345")
    # The local name of venue booking ("全闵预约" in Minhang); empty: the generic name.
    booking_name_zh: Mapped[str] = mapped_column(String(32), default="")
    booking_name_en: Mapped[str] = mapped_column(String(64), default="")
    # Who runs the portal for this district, for the footer ("闵行区人民政府办公室").
    footer_zh: Mapped[str] = mapped_column(String(200), default="")
    footer_en: Mapped[str] = mapped_column(String(240), default="")
    # Archived districts keep their history but are offered nowhere.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    towns: Mapped[list[Town]] = relationship(back_populates="district", order_by="Town.name_zh")

    name = Localized("name_zh", "name_en")
    booking_name = Localized("booking_name_zh", "booking_name_en")
    footer = Localized("footer_zh", "footer_en")

    @property
    def scope_chain(self) -> list[tuple[str, int]]:
        return [("district", self.id)]


class Town(db.Model):
    """A town or subdistrict (街镇) of a district; supervisors and searches are per town."""

    __tablename__ = "town"
    scope_kind = "town"

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(96))
    # Archived towns keep their history but are offered nowhere (app/places/admin.py).
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    district: Mapped[District] = relationship(back_populates="towns")
    estates: Mapped[list[Estate]] = relationship(back_populates="town", order_by="Estate.name_zh")

    name = Localized("name_zh", "name_en")

    @property
    def scope_chain(self) -> list[tuple[str, int]]:
        """Who may act on the town: its supervisors, and its district's."""
        return [("town", self.id), ("district", self.district_id)]


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

    # Archived estates keep their homes, tickets and history but are offered nowhere.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    town: Mapped[Town] = relationship(back_populates="estates")

    name = Localized("name_zh", "name_en")

    address = Localized("address_zh", "address_en")

    @property
    def scope_chain(self) -> list[tuple[str, int]]:
        """Who may act on this estate: its own staff, its town's supervisors and its district's
        (the town is loaded once per session: the identity map answers the next estate's)."""
        return [*self.local_scope_chain, ("district", self.town.district_id)]

    @property
    def local_scope_chain(self) -> list[tuple[str, int]]:
        """The chain without the district, from the row's own columns: what a check asks when
        the person holds no district-scoped role (no statement; User.has_role)."""
        return [("estate", self.id), ("town", self.town_id)]


class ClaimStatus(enum.StrEnum):
    PENDING = "pending"  # said by the resident, waiting for the estate's manager
    VERIFIED = "verified"  # confirmed: by the manager, or by the household register
    REFUSED = "refused"  # the manager said no
    ENDED = "ended"  # the resident moved or left, or the manager removed them

    @property
    def label(self):
        return CLAIM_STATUS_LABELS[self]


CLAIM_STATUS_LABELS = {
    ClaimStatus.PENDING: _l("Waiting for your property manager to confirm"),
    ClaimStatus.VERIFIED: _l("Confirmed"),
    ClaimStatus.REFUSED: _l("Not confirmed by your property manager"),
    ClaimStatus.ENDED: _l("Removed by your property manager"),
}
CURRENT_CLAIM_STATES = (ClaimStatus.PENDING, ClaimStatus.VERIFIED)


class Household(db.Model):
    """A home (户): estate + building + unit + room, as written in the estate's register or first
    claimed by a resident. Building, unit and room are stored normalised ("" where an estate has
    no units), so one home is one row however it was typed."""

    __tablename__ = "household"
    __table_args__ = (
        UniqueConstraint("estate_id", "building", "unit", "room", name="uq_household_address"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id", ondelete="CASCADE"))
    building: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(32), default="")
    room: Mapped[str] = mapped_column(String(32))
    # In the household register the estate's company provided (flask import households).
    registered: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    estate: Mapped[Estate] = relationship()

    @property
    def scope_chain(self) -> list[tuple[str, int]]:
        return self.estate.scope_chain

    @property
    def local_scope_chain(self) -> list[tuple[str, int]]:
        return self.estate.local_scope_chain

    @property
    def label(self) -> str:
        """The address inside the estate as the estate's staff write it ("5号楼 2单元 301室"):
        what a home report's location records."""
        parts = [
            f"{self.building}号楼" if self.building else "",
            f"{self.unit}单元" if self.unit else "",
            f"{self.room}室" if self.room else "",
        ]
        return " ".join(p for p in parts if p)

    @property
    def address(self) -> str:
        """The address inside the estate in the reader's language."""
        from flask_babel import gettext

        if self.unit:
            return gettext(
                "Building %(building)s, unit %(unit)s, room %(room)s",
                building=self.building,
                unit=self.unit,
                room=self.room,
            )
        return gettext(
            "Building %(building)s, room %(room)s", building=self.building, room=self.room
        )


class HouseholdContact(db.Model):
    """A contact mobile number the household register gives for a household (optional column
    `phone`); a claim from an account with that number can be confirmed without the manager."""

    __tablename__ = "household_contact"
    __table_args__ = (UniqueConstraint("household_id", "phone", name="uq_household_contact"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(20))


class HomeClaim(db.Model):
    """A resident's statement that they live in a household. Only a VERIFIED claim gives access
    to anything about the household (its private repair reports); a person has at most one
    current (pending or verified) claim, enforced by a partial unique index."""

    __tablename__ = "home_claim"
    __table_args__ = (
        Index(
            "uq_home_claim_current_per_user",
            "user_id",
            unique=True,
            sqlite_where=text("status IN ('pending', 'verified')"),
            postgresql_where=text("status IN ('pending', 'verified')"),
        ),
        Index("ix_home_claim_household_status", "household_id", "status"),
        Index("ix_home_claim_estate_status", "estate_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id", ondelete="CASCADE"))
    # Copied from the household so a manager's queue is one indexed query.
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id", ondelete="CASCADE"))
    status: Mapped[ClaimStatus] = mapped_column(
        str_enum(ClaimStatus, 16), default=ClaimStatus.PENDING
    )
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # How it was verified ("manager" or "register"), or why it was refused or ended.
    decision_note: Mapped[str] = mapped_column(String(200), default="")
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    household: Mapped[Household] = relationship()
    user = relationship("User", foreign_keys=[user_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])

    @property
    def scope_chain(self) -> list[tuple[str, int]]:
        return self.household.scope_chain

    @property
    def local_scope_chain(self) -> list[tuple[str, int]]:
        return self.household.local_scope_chain

    @property
    def is_current(self) -> bool:
        return self.status in CURRENT_CLAIM_STATES
