"""物业百事通: property companies, repair tickets, their timeline and photos."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from app.db import UTCDateTime, str_enum, utcnow
from app.extensions import db
from app.i18n import Localized


class Category(enum.StrEnum):
    WATER = "water"
    ELECTRICITY = "electricity"
    LIFT = "lift"
    DOORS = "doors"
    PUBLIC_AREA = "public_area"
    GREENING = "greening"
    OTHER = "other"

    @property
    def label(self):
        return CATEGORY_LABELS[self]


CATEGORY_LABELS = {
    Category.WATER: _l("Water and plumbing"),
    Category.ELECTRICITY: _l("Electricity"),
    Category.LIFT: _l("Lift"),
    Category.DOORS: _l("Doors and locks"),
    Category.PUBLIC_AREA: _l("Public areas"),
    Category.GREENING: _l("Greening"),
    Category.OTHER: _l("Other"),
}


class State(enum.StrEnum):
    SUBMITTED = "submitted"
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    DUPLICATE = "duplicate"
    CANCELLED = "cancelled"

    @property
    def label(self):
        return STATE_LABELS[self]

    @property
    def is_open(self) -> bool:
        return self in OPEN_STATES


STATE_LABELS = {
    State.SUBMITTED: _l("Submitted"),
    State.ACKNOWLEDGED: _l("Acknowledged"),
    State.ASSIGNED: _l("Assigned to a technician"),
    State.IN_PROGRESS: _l("In progress"),
    State.RESOLVED: _l("Resolved"),
    State.CLOSED: lazy_pgettext("repair report state", "Closed"),
    State.REOPENED: _l("Reopened"),
    State.DUPLICATE: _l("Duplicate"),
    State.CANCELLED: _l("Cancelled by the resident"),
}
OPEN_STATES = (
    State.SUBMITTED,
    State.ACKNOWLEDGED,
    State.ASSIGNED,
    State.IN_PROGRESS,
    State.REOPENED,
)


# OPEN_STATES as SQL, for the partial indexes over open tickets.
OPEN_STATES_SQL = "state IN (" + ",".join(f"'{state.value}'" for state in OPEN_STATES) + ")"


class PropertyCompany(db.Model):
    """A property management company (物业企业); it manages estates and is rated on them. Staff
    may hold the property-manager role for a company (`scope_kind`): they cover the estates it
    manages on the day asked and the reports made to it."""

    __tablename__ = "property_company"
    scope_kind = "company"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(96), unique=True)
    name_en: Mapped[str] = mapped_column(String(160))
    # The response window, fixed on each ticket at submission.
    response_minutes: Mapped[int] = mapped_column(Integer, default=30)
    # Optional working-hours calendar: when set, the window only runs inside these local hours
    # on these weekdays ("0123456" = every day). Unset means 24x7.
    work_starts: Mapped[int | None] = mapped_column(Integer)  # minutes after midnight
    work_ends: Mapped[int | None] = mapped_column(Integer)
    work_days: Mapped[str] = mapped_column(String(7), default="0123456")
    reopen_days: Mapped[int] = mapped_column(Integer, default=7)
    auto_close_days: Mapped[int] = mapped_column(Integer, default=7)
    # Archived companies keep their tickets and ratings but take no estates (issue 15).
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    name = Localized("name_zh", "name_en")

    @property
    def scope_chain(self) -> list[tuple[str, int]]:
        """Who may act for the company: its own staff, and the administrators of its district
        when every estate it manages today lies in one district. A company working in several
        districts (or managing none) names no district: only an installation-wide administrator
        gives its roles, so no district's administrator can open another district's reports."""
        from repairs.services.management import company_districts

        districts = company_districts(object_session(self), self.id)
        return [("company", self.id), *(("district", d) for d in districts if len(districts) == 1)]


# The start of the history for companies on record before it was kept (migration 0026): "since
# before the portal"; a row built without a date (the demo, tests) starts there too.
MANAGED_SINCE_EVER = date(2000, 1, 1)


class EstateManagement(db.Model):
    """Which company manages an estate, as a history: one row per period [valid_from, valid_to)
    in local dates; valid_to NULL is the open period, and an estate has at most one open row
    (a partial unique index, on both databases). Who manages an estate on a day is the row whose
    period holds that day (repairs.services.management.current_management); a change of company
    goes through repairs.services.management.assign_company, which closes the open row at the
    change date. Tickets keep the company they were submitted with (Ticket.company_id)."""

    __tablename__ = "estate_management"
    __table_args__ = (
        Index(
            "uq_estate_management_open",
            "estate_id",
            unique=True,
            sqlite_where=text("valid_to IS NULL"),
            postgresql_where=text("valid_to IS NULL"),
        ),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="period_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("property_company.id"), index=True)
    valid_from: Mapped[date] = mapped_column(Date, default=MANAGED_SINCE_EVER)
    valid_to: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    estate = relationship("Estate")
    company: Mapped[PropertyCompany] = relationship()


class Ticket(db.Model):
    """A repair report (报修单). `respond_by` is fixed at submission; whether it is at risk or
    breached is derived from timestamps whenever it is read."""

    __tablename__ = "repair_ticket"
    __table_args__ = (
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_range"),
        Index("ix_repair_ticket_estate_state", "estate_id", "state", "respond_by"),
        Index("ix_repair_ticket_company_submitted", "company_id", "submitted_at"),
        Index("ix_repair_ticket_town_submitted", "town_id", "submitted_at"),
        # The sweep and the dashboards look only at tickets still waiting for a response.
        Index(
            "ix_repair_ticket_unanswered",
            "respond_by",
            postgresql_where=text("responded_at IS NULL"),
            sqlite_where=text("responded_at IS NULL"),
        ),
        Index(
            "ix_repair_ticket_open",
            "state",
            "estate_id",
            postgresql_where=text(OPEN_STATES_SQL),
            sqlite_where=text(OPEN_STATES_SQL),
        ),
        # The supervisors' dashboards count the open tickets by estate and company, with the
        # deadline readings, from this index alone (an index-only scan on PostgreSQL): a town's
        # by its first column, the district's by reading it whole.
        Index(
            "ix_repair_ticket_open_live",
            "town_id",
            "estate_id",
            "company_id",
            "respond_by",
            "responded_at",
            postgresql_where=text(OPEN_STATES_SQL),
            sqlite_where=text(OPEN_STATES_SQL),
        ),
        # The monthly rating reads one month of the district's tickets.
        Index("ix_repair_ticket_submitted", "submitted_at"),
        # The same report form sent twice (Back and submit) is one report (tickets.report).
        UniqueConstraint("reporter_id", "idempotency_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"))
    # Snapshots at submission, so reports and ratings stay true if an estate changes hands.
    company_id: Mapped[int] = mapped_column(ForeignKey("property_company.id"))
    town_id: Mapped[int] = mapped_column(ForeignKey("town.id"))
    reporter_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    reported_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    category: Mapped[Category] = mapped_column(str_enum(Category, 16))
    description: Mapped[str] = mapped_column(Text)
    public_area: Mapped[bool] = mapped_column(Boolean, default=False)
    # Home address (building/unit/room) or, for a public area, where in the estate.
    location: Mapped[str] = mapped_column(String(120))
    # A home report's household, and the reporter's claim to it when they reported: while that
    # claim is pending the manager sees "home not yet verified" and can confirm it in one click.
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("household.id", ondelete="SET NULL"), index=True
    )
    home_claim_id: Mapped[int | None] = mapped_column(
        ForeignKey("home_claim.id", ondelete="SET NULL")
    )
    preferred_time: Mapped[str] = mapped_column(String(80), default="")
    # The report form's one-off key (a hidden field): unique per reporter.
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[State] = mapped_column(str_enum(State, 16))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    respond_by: Mapped[datetime] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responder_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    technician_name: Mapped[str | None] = mapped_column(String(64))
    technician_phone: Mapped[str | None] = mapped_column(String(20))
    visit_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("repair_ticket.id"))
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(String(500))
    # When each alert went out (each is sent once; the sweep claims them with guarded updates).
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_district_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    estate = relationship("Estate")
    household = relationship("Household")
    home_claim = relationship("HomeClaim")
    company: Mapped[PropertyCompany] = relationship()
    reporter = relationship("User", foreign_keys=[reporter_id])
    reported_by = relationship("User", foreign_keys=[reported_by_id])
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )
    photos: Mapped[list[TicketPhoto]] = relationship(
        back_populates="ticket", order_by="TicketPhoto.id", cascade="all, delete-orphan"
    )

    @property
    def scope_chain(self) -> list[tuple[str, int]]:
        return [*self.local_scope_chain, ("district", self.estate.town.district_id)]

    @property
    def local_scope_chain(self) -> list[tuple[str, int]]:
        """Without the district: from the ticket's own columns (no statement). The company is
        the one the report was made to (it keeps it after a change of company), so a company's
        staff finish their reports and the new company's start with the new ones."""
        return [("estate", self.estate_id), ("town", self.town_id), ("company", self.company_id)]

    @property
    def home_unverified(self) -> bool:
        """A home report whose reporter's claim to the home is still waiting for the manager."""
        return self.home_claim is not None and self.home_claim.status == "pending"


class EventKind(enum.StrEnum):
    SUBMITTED = "submitted"
    ACKNOWLEDGED = "acknowledged"
    ACKNOWLEDGED_BY_SMS = "acknowledged_sms"  # the manager replied "1" to an SMS alert
    ASSIGNED = "assigned"
    REPLY = "reply"
    VISIT = "visit"
    STARTED = "started"
    RESOLVED = "resolved"
    CONFIRMED = "confirmed"
    REOPENED = "reopened"
    AUTO_CLOSED = "auto_closed"
    CANCELLED = "cancelled"
    DUPLICATE = "duplicate"
    RESIDENT_INFO = "resident_info"
    JOINED = "joined"
    RATED = "rated"
    SUPERVISOR_NOTE = "supervisor_note"
    WARNING = "warning"
    ESCALATED = "escalated"
    ESCALATED_DISTRICT = "escalated_district"


class TicketEvent(db.Model):
    """One line of a ticket's timeline."""

    __tablename__ = "repair_ticket_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("repair_ticket.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind, 24))
    body: Mapped[str] = mapped_column(Text, default="")
    # Supervisory notes and alerts are for staff; everything else the resident sees too.
    public: Mapped[bool] = mapped_column(Boolean, default=True)

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    actor = relationship("User")


class TicketPhoto(db.Model):
    __tablename__ = "repair_ticket_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("repair_ticket.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    thumb: Mapped[str] = mapped_column(String(64))

    ticket: Mapped[Ticket] = relationship(back_populates="photos")


class TicketFollower(db.Model):
    """A resident who joined an existing report instead of filing a duplicate; they get its
    updates."""

    __tablename__ = "repair_ticket_follower"
    __table_args__ = (UniqueConstraint("ticket_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("repair_ticket.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
