from __future__ import annotations

import enum
import functools
import hashlib
from datetime import date, datetime, timedelta

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    and_,
    bindparam,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship, scoped_session
from werkzeug.security import check_password_hash, generate_password_hash

from app.db import UTCDateTime, str_enum, utcnow
from app.extensions import db
from app.scopes import chain_stages, full_chain


class Role(enum.StrEnum):
    RESIDENT = "resident"
    VENUE_STAFF = "venue_staff"
    VENUE_ADMIN = "venue_admin"
    CARPARK_OPERATOR = "carpark_operator"
    PROPERTY_MANAGER = "property_manager"
    TOWN_SUPERVISOR = "town_supervisor"
    DISTRICT_SUPERVISOR = "district_supervisor"
    COMMUNITY_HELPER = "community_helper"
    SERVICE_DESK = "service_desk"  # district-wide: verifies what people show at a desk
    ADMINISTRATOR = "administrator"

    @property
    def label(self):
        return ROLE_LABELS[self]

    @property
    def scope_kinds(self) -> tuple[str, ...]:
        """The kinds of object this role may be held for (the first is the usual one); empty
        for a role only ever held without a scope."""
        return ROLE_SCOPES.get(self, ())

    @property
    def scope_kind(self) -> str | None:
        """The usual kind of object this role is held for, or None for an unscoped role."""
        return next(iter(self.scope_kinds), None)


ROLE_LABELS = {
    Role.RESIDENT: _l("Resident"),
    Role.VENUE_STAFF: _l("Venue staff"),
    Role.VENUE_ADMIN: _l("Venue administrator"),
    Role.CARPARK_OPERATOR: _l("Car-park operator"),
    Role.PROPERTY_MANAGER: _l("Property manager"),
    Role.TOWN_SUPERVISOR: _l("Town supervisor"),
    Role.DISTRICT_SUPERVISOR: _l("District supervisor"),
    Role.COMMUNITY_HELPER: _l("Community helper"),
    Role.SERVICE_DESK: _l("Service desk clerk"),
    Role.ADMINISTRATOR: _l("Administrator"),
}

# The kind of object each scoped role is held for. A venue administrator may be scoped to a venue
# or, without a scope, administer every venue. An administrator may be scoped to a district (a
# district administrator: that district's places, staff and settings) or, without a scope,
# administer the whole installation (every district). A district supervisor is held for a
# district (that district's towns, estates, tickets, venues and car parks); held without a scope
# it oversees every district of the installation (a city-level supervisor). Migration 0027
# scoped the unscoped ones of a one-district installation to its district, so adding a second
# district shows them nothing new. A property manager is held for one estate, or for a property
# company: then it covers every estate the company manages on the day asked (repairs/__init__.py
# registers how an estate names its company) and every report made to the company.
ROLE_SCOPES = {
    Role.VENUE_STAFF: ("venue",),
    Role.VENUE_ADMIN: ("venue",),
    Role.CARPARK_OPERATOR: ("carpark",),
    Role.PROPERTY_MANAGER: ("estate", "company"),
    Role.TOWN_SUPERVISOR: ("town",),
    Role.DISTRICT_SUPERVISOR: ("district",),
    Role.ADMINISTRATOR: ("district",),
}
SCOPE_REQUIRED = {
    Role.VENUE_STAFF,
    Role.CARPARK_OPERATOR,
    Role.PROPERTY_MANAGER,
    Role.TOWN_SUPERVISOR,
}


class DisplayMode(enum.StrEnum):
    STANDARD = "standard"
    LARGE_TEXT = "large"
    ELDERLY = "elderly"


class User(UserMixin, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Residents sign in with their mobile number, staff accounts may use a username; one of the
    # two is always present (checked by the services that create users).
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(8), default="zh_CN")
    display_mode: Mapped[DisplayMode] = mapped_column(
        str_enum(DisplayMode, 16), default=DisplayMode.STANDARD
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the person closed the account (注销, app/accounts/mydata.py): the row stays, emptied
    # of personal data, so anonymised records that refer to it (statistics, paid charges) hold.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the number in `phone` was last proven by an SMS code sent to it (registration, a
    # code sign-in, a change of number); None: the number is only what the person typed.
    phone_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The version of the privacy notice the person consented to, and when (个人信息保护法).
    privacy_notice_version: Mapped[str | None] = mapped_column(String(16))
    privacy_consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # False for a resident who registered with an SMS code and chose no password: the stored
    # hash is of a random secret nobody knows, so password sign-in cannot succeed.
    password_set: Mapped[bool] = mapped_column(Boolean, default=True)
    # An e-mail address for messages (optional), and when a link sent to it was opened; only a
    # confirmed address receives anything (app/notifications).
    email: Mapped[str | None] = mapped_column(String(254))
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Quiet hours, minutes after local midnight (default 22:00-07:00): messages that are not
    # urgent wait until they end. Off when `quiet_hours` is False.
    quiet_hours: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    quiet_from: Mapped[int] = mapped_column(Integer, default=22 * 60, server_default="1320")
    quiet_until: Mapped[int] = mapped_column(Integer, default=7 * 60, server_default="420")

    # The home the person says is theirs (a claim until the estate's manager or register
    # confirms it: app/places/services.py). Pending or verified; never more than one.
    home_claim = relationship(
        "HomeClaim",
        uselist=False,
        viewonly=True,
        primaryjoin=(
            "and_(User.id == HomeClaim.user_id, HomeClaim.status.in_(['pending', 'verified']))"
        ),
    )
    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    # The claimed home, read through the current claim (pages prefill forms and addresses
    # from these; access to a household's data asks `home_verified`).
    @property
    def home_household(self):
        return self.home_claim.household if self.home_claim is not None else None

    @property
    def home_verified(self) -> bool:
        return self.home_claim is not None and self.home_claim.status == "verified"

    @property
    def home_estate(self):
        return self.home_household.estate if self.home_household is not None else None

    @property
    def home_estate_id(self) -> int | None:
        return self.home_claim.estate_id if self.home_claim is not None else None

    @property
    def home_building(self) -> str | None:
        return self.home_household.building if self.home_household is not None else None

    @property
    def home_unit(self) -> str | None:
        return (self.home_household.unit or None) if self.home_household is not None else None

    @property
    def home_room(self) -> str | None:
        return self.home_household.room if self.home_household is not None else None

    @property
    def login_name(self) -> str:
        return self.phone or self.username or ""

    def set_password(self, password: str) -> None:
        method = (
            current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
            if has_app_context()
            else "scrypt"
        )
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def has_role(self, role: Role, obj=None) -> bool:
        """True if the user holds `role`, for `obj` when given.

        An object names who may act on it through its scope chain (e.g. an estate answers
        [("estate", 7), ("town", 2), ("district", 1), ("company", 4)]), so a town supervisor
        covers every estate of the town and a district supervisor every estate of the district.
        An unscoped assignment (an installation-wide administrator) covers every object.

        The chain is read in stages (`app.scopes.chain_stages`): the object's own columns
        first, then what needs a statement (its district, the company managing an estate), and
        a stage is read only while some held scope is of a kind not yet seen. A resident's, an
        unscoped holder's or an estate manager's check costs no query.
        """
        held = [a for a in self.roles if a.role == role]
        if not held:
            return False
        if obj is None or any(a.scope_kind is None for a in held):
            return True
        wanted = {(a.scope_kind, a.scope_id) for a in held}
        kinds = {kind for kind, _id in wanted}
        seen: set[str] = set()
        for stage in chain_stages(obj):
            if wanted.intersection(stage):
                return True
            seen.update(kind for kind, _id in stage)
            if kinds <= seen:
                return False
        return False

    def scopes(self, role: Role, kind: str | None = None) -> list[int]:
        """Ids of the objects the user holds `role` for (scoped assignments only; of `kind`
        when given)."""
        return [
            a.scope_id
            for a in self.roles
            if a.role == role and a.scope_id is not None and kind in (None, a.scope_kind)
        ]

    def holds_everywhere(self, role: Role) -> bool:
        """Does the user hold `role` without a scope (for the whole installation)? An
        installation-wide administrator does; a district administrator does not."""
        return any(a.role == role and a.scope_kind is None for a in self.roles)

    def district_ids(self, *roles: Role) -> list[int] | None:
        """The districts the user holds any of `roles` for; None: the whole installation (an
        unscoped assignment of one of them). What district-scoped lists filter by."""
        if any(self.holds_everywhere(role) for role in roles):
            return None
        return sorted({i for role in roles for i in self.scopes(role, "district")})

    @property
    def role_set(self) -> set[Role]:
        return {a.role for a in self.roles}

    @property
    def is_staff(self) -> bool:
        return bool(self.role_set - {Role.RESIDENT})


class RoleAssignment(db.Model):
    """One role held by one user, optionally for one object (a venue, car park, estate, town)."""

    __tablename__ = "role_assignment"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "scope_kind", "scope_id"),
        Index("ix_role_assignment_scope", "scope_kind", "scope_id", "role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(str_enum(Role, 32))
    scope_kind: Mapped[str | None] = mapped_column(String(16))
    scope_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="roles")


def held_for(session, role: Role, obj) -> list[User]:
    """The accounts holding `role` for exactly `obj` (a car park's operators, the managers held
    for a whole company), oldest first: what an object's administration page lists."""
    return list(
        session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(
                RoleAssignment.role == role,
                RoleAssignment.scope_kind == obj.scope_kind,
                RoleAssignment.scope_id == obj.id,
            )
            .order_by(User.id)
        )
    )


def holders(session, role: Role, obj) -> set[int]:
    """The accounts holding `role` for a scope that covers `obj` (every stage of its chain, of
    the kinds the role is held for; unscoped holders are not counted): who is told about the
    object, e.g. the managers of a new repair report's estate and of its company."""
    chain = [(kind, i) for kind, i in full_chain(obj) if kind in role.scope_kinds]
    if not chain:
        return set()
    return set(
        session.scalars(
            select(RoleAssignment.user_id).where(
                RoleAssignment.role == role,
                or_(
                    *(
                        and_(RoleAssignment.scope_kind == kind, RoleAssignment.scope_id == i)
                        for kind, i in chain
                    )
                ),
            )
        )
    )


def signed_in_user(session, user_id: int, session_digest: str | None = None) -> User | None:
    """The account behind a signed-in session (Flask-Login's user loader): the user with their
    roles and the number of inbox messages they have not read, in one statement. Every
    signed-in page needs all three (role checks, the header's inbox badge); they were three
    round trips. The count is kept on the user with the transaction that read it
    (`unread_kept`): it holds for this request only while that transaction is the session's
    (see app.templating.unread_messages). None for an unknown id.

    With `session_digest` (app/accounts/sessions.py), the same statement joins the browser's
    server-side session: None unless that row belongs to the user, is not ended and the account
    is active; the row's (id, created_at, last_used_at) is kept on the user as
    `signed_in_session` for the idle and age limits."""
    if session_digest is None:
        statement, parameters = _signed_in_statement(), {"user_id": user_id}
    else:
        statement = _signed_in_session_statement()
        parameters = {"user_id": user_id, "digest": session_digest}
    found = session.execute(statement, parameters).unique().one_or_none()
    if found is None:
        return None
    user, unread, *row = found
    real = session() if isinstance(session, scoped_session) else session
    user.unread_kept = (unread, real.get_transaction())
    user.signed_in_session = tuple(row) if row else None
    return user


@functools.cache
def _signed_in_statement():
    # Built once, on first use (when every mapper the account relates to is known).
    from app.notifications.models import Notification

    unread = (
        select(func.count(Notification.id))
        .where(Notification.user_id == User.id, Notification.read_at.is_(None))  # as unread_count
        .scalar_subquery()
    )
    return (
        select(User, unread).options(joinedload(User.roles)).where(User.id == bindparam("user_id"))
    )


@functools.cache
def _signed_in_session_statement():
    live = UserSession
    return (
        _signed_in_statement()
        .add_columns(live.id, live.created_at, live.last_used_at)
        .join(
            live,
            and_(
                live.user_id == User.id,
                live.digest == bindparam("digest"),
                live.ended_at.is_(None),
            ),
        )
        .where(User.active.is_(True))
    )


class TokenScope(enum.StrEnum):
    """What an API token may be used for. A personal token is its owner's key to the JSON API;
    the others are machine keys that open one door each, so a key kept in a gate controller or
    a partner's server cannot read its owner's inbox or book in their name."""

    PERSONAL = "personal"
    GATE = "gate"  # one car park's gate events (scope_id: the car park), nothing else
    OPEN311 = "open311"  # Open311 GeoReport filings (the `api_key`), nothing else

    @property
    def label(self):
        return TOKEN_SCOPE_LABELS[self]


TOKEN_SCOPE_LABELS = {
    TokenScope.PERSONAL: _l("Personal API token"),
    TokenScope.GATE: _l("Gate system"),
    TokenScope.OPEN311: _l("Open311 key"),
}


def token_expiry(days: int | None = None) -> datetime:
    """When a token made now expires: in `days`, else API_TOKEN_DAYS (app/config.py)."""
    if days is None:
        days = current_app.config["API_TOKEN_DAYS"] if has_app_context() else 365
    return utcnow() + timedelta(days=days)


class ApiToken(db.Model):
    """An API token. Only a SHA-256 digest is stored; the token is shown once. It is valid
    until `expires_at` unless revoked, and only for its `scope` (a gate token for the car park
    `scope_id`)."""

    __tablename__ = "api_token"
    __table_args__ = (
        CheckConstraint("(scope = 'gate') = (scope_id IS NOT NULL)", name="gate_names_car_park"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[TokenScope] = mapped_column(
        str_enum(TokenScope, 16), default=TokenScope.PERSONAL, server_default="personal"
    )
    # The object a machine token is for (a gate token's car park); no foreign key: the frame
    # knows no service's tables (as RoleAssignment.scope_id).
    scope_id: Mapped[int | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, default=lambda: token_expiry())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def lookup(
        cls, session, token: str, scopes=(TokenScope.PERSONAL,), now: datetime | None = None
    ) -> ApiToken | None:
        """The valid token (unrevoked, unexpired, of one of `scopes`) with this secret."""
        return session.scalar(
            select(cls).where(
                cls.digest == cls.digest_of(token),
                cls.revoked_at.is_(None),
                cls.expires_at > (now or utcnow()),
                cls.scope.in_(list(scopes)),
            )
        )

    @property
    def expired(self) -> bool:
        return self.expires_at <= utcnow()


class HelpService(enum.StrEnum):
    """The services a resident can let a community helper act in. Each is a column of
    HelperConsent; what each lets a helper see and do is written in `HELP_SERVICE_SCOPES`."""

    VENUES = "venues"
    PARKING = "parking"
    REPAIRS = "repairs"

    @property
    def label(self):
        return HELP_SERVICE_LABELS[self]

    @property
    def scope(self):
        return HELP_SERVICE_SCOPES[self]


HELP_SERVICE_LABELS = {
    HelpService.VENUES: _l("Venue bookings"),
    HelpService.PARKING: _l("Parking"),
    HelpService.REPAIRS: _l("Repair reports"),
}
# What the consent page promises, and what the code grants: nothing else of the resident's is
# shown to the helper (no wallet balance, payments, gate history or vehicles in any case).
HELP_SERVICE_SCOPES = {
    HelpService.VENUES: _l(
        "Book, cancel and accept waitlist offers at venues; see your venue bookings."
    ),
    HelpService.PARKING: _l(
        "Reserve and cancel parking spaces and sign or cancel off-peak contracts for your "
        "registered plates; see those reservations and contracts. Not your wallet, payments or "
        "where your car has parked."
    ),
    HelpService.REPAIRS: _l(
        "Report repairs for your home and follow your reports, including private ones."
    ),
}


def _today() -> date:
    from app import clock

    return clock.today()


class ConsentRelation(enum.StrEnum):
    """Who the helper is to the resident: a community helper (a role), or a family member with
    an account of their own."""

    HELPER = "helper"
    FAMILY = "family"


class HelperConsent(db.Model):
    """A resident's consent for a community helper or a family member to act for them (帮办代办)
    in the services it names, and only those, from `starts_on` to `ends_on` (local days, both
    included): outside them it grants nothing (app/accounts/consents.py). A consent the service
    desk recorded from a signed slip names the clerk and keeps the scanned slip (a private file)."""

    __tablename__ = "helper_consent"
    __table_args__ = (
        UniqueConstraint("resident_id", "helper_id"),
        CheckConstraint("venues OR parking OR repairs", name="names_a_service"),
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    helper_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    venues: Mapped[bool] = mapped_column(Boolean, default=False)
    parking: Mapped[bool] = mapped_column(Boolean, default=False)
    repairs: Mapped[bool] = mapped_column(Boolean, default=False)
    # A consent made without dates (demo data, fixtures) runs from today for a year, as one
    # given online does (app/accounts/consents.py).
    starts_on: Mapped[date] = mapped_column(Date, default=lambda: _today())
    ends_on: Mapped[date] = mapped_column(Date, default=lambda: _today() + timedelta(days=365))
    relation: Mapped[ConsentRelation] = mapped_column(
        str_enum(ConsentRelation, 16), default=ConsentRelation.HELPER
    )
    # The desk clerk who recorded a written consent, and its scanned slip (under
    # UPLOAD_DIR/consent-slips; never public: app/desk/views.py serves it to three people).
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    slip_filename: Mapped[str | None] = mapped_column(String(64))

    resident = relationship("User", foreign_keys=[resident_id])
    helper = relationship("User", foreign_keys=[helper_id])
    recorded_by = relationship("User", foreign_keys=[recorded_by_id])

    @property
    def services(self) -> list[HelpService]:
        return [s for s in HelpService if getattr(self, s.value)]


# User.home_claim names HomeClaim: whatever imports this module may configure the mappers (a
# statement built at import time with joinedload does), and they need every class a
# relationship names. app.places.models imports nothing of this module.
from app.places import models as _places_models  # noqa: E402,F401


class UserSession(db.Model):
    """One signed-in browser (a server-side session). The browser's signed session cookie holds
    a random secret; only its digest is stored here, so a copy of this table signs nobody in.
    A session is live while `ended_at` is empty and it is neither idle nor too old for its
    account's limits (app/accounts/sessions.py); signing out ends the row for good."""

    __tablename__ = "user_session"
    __table_args__ = (Index("ix_user_session_live", "user_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What the person sees on their devices page: "Chrome 120 on Windows", and the network the
    # session began from (an address with its last part hidden; no geo-IP lookup is made).
    user_agent: Mapped[str] = mapped_column(String(128), default="")
    network: Mapped[str] = mapped_column(String(64), default="")
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(32))
    # A secret to show once, on this browser's next page (a new API token's, "token_id:secret"):
    # the form redirects (POST/redirect/GET) and the page after it takes and clears it.
    shown_once: Mapped[str | None] = mapped_column(String(256))
