"""Districts (区): which towns a district-scoped person sees, and which districts are offered.

An installation may serve several districts (issue 15). A district supervisor or a district
administrator holds their role for a district (app/accounts/models.py ROLE_SCOPES); the lists
they see (repair dashboards, ratings, the audit log, crowd levels) are narrowed to the towns of
that district here, in one query, rather than by asking every row's scope chain.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import current_app, g, has_request_context, request
from marshmallow import Schema, fields
from sqlalchemy import and_, event, or_, select
from sqlalchemy.orm import Session

from app.accounts.models import Role, RoleAssignment, User
from app.extensions import db
from app.i18n import is_english, localized
from app.places.models import ClaimStatus, District, Estate, HomeClaim, Household, Town


def offered(session) -> list[District]:
    """The districts residents may choose between (not archived), by code (the order the city
    numbers them in)."""
    return list(
        session.scalars(
            select(District).where(District.archived_at.is_(None)).order_by(District.code)
        )
    )


def town_ids_of(session, district_ids) -> list[int]:
    """The ids of the towns of the districts named."""
    district_ids = list(district_ids)
    if not district_ids:
        return []
    return list(session.scalars(select(Town.id).where(Town.district_id.in_(district_ids))))


def supervised_town_ids(session, user: User) -> list[int] | None:
    """The towns a supervisor oversees: their towns (town supervisor) and every town of their
    districts (district supervisor). None: the whole installation (an unscoped,
    city-level district supervisor)."""
    if user.holds_everywhere(Role.DISTRICT_SUPERVISOR):
        return None
    towns = set(user.scopes(Role.TOWN_SUPERVISOR))
    towns.update(town_ids_of(session, user.scopes(Role.DISTRICT_SUPERVISOR, "district")))
    return sorted(towns)


def supervisors_of(session, district_id: int) -> set[int]:
    """The accounts that supervise the district: its district supervisors and the city-level
    (unscoped) ones. Who a repair's late escalation goes to."""
    return set(
        session.scalars(
            select(RoleAssignment.user_id).where(
                RoleAssignment.role == Role.DISTRICT_SUPERVISOR,
                or_(
                    RoleAssignment.scope_kind.is_(None),
                    and_(
                        RoleAssignment.scope_kind == "district",
                        RoleAssignment.scope_id == district_id,
                    ),
                ),
            )
        )
    )


def overseen_district_ids(user: User, *roles: Role) -> list[int] | None:
    """The districts whose records (the audit log, lists of places) `user` may read through
    `roles` (by default: district supervisor and administrator); None: every district."""
    return user.district_ids(*(roles or (Role.DISTRICT_SUPERVISOR, Role.ADMINISTRATOR)))


def district_of(obj) -> int | None:
    """The district an object (anything with a scope chain) belongs to, or None."""
    chain = getattr(obj, "scope_chain", None)
    if chain is None:
        return None
    return next((scope_id for kind, scope_id in chain if kind == "district"), None)


# --- The district a page is about (the frame's identity, the residents' lists) --------------------

DISTRICT_COOKIE = "district"  # the chooser's answer, kept on the device (app.security)


@dataclass(frozen=True)
class Identity:
    """What the frame shows of a district (its name, hotline, the local name of venue booking,
    the footer's identity), copied from its row so a kept snapshot is safe to share between
    requests and threads. `id` is None for the configured stand-in used before any district
    exists (a new installation: PORTAL_DISTRICT_* in app/config.py)."""

    id: int | None
    code: str
    name_zh: str
    name_en: str
    hotline: str
    booking_name_zh: str = ""
    booking_name_en: str = ""
    footer_zh: str = ""
    footer_en: str = ""

    @property
    def name(self) -> str:
        return localized(self.name_zh, self.name_en)

    @property
    def booking_name(self) -> str:
        """The district's own name for venue booking ("全闵预约"), or "" for the generic one.
        English falls back to the generic name, not to the Chinese brand."""
        return self.booking_name_en if is_english() else self.booking_name_zh

    @property
    def footer(self) -> str:
        return self.footer_en if is_english() else self.footer_zh

    @classmethod
    def of(cls, district: District) -> Identity:
        return cls(
            district.id,
            district.code,
            district.name_zh,
            district.name_en,
            district.hotline,
            district.booking_name_zh,
            district.booking_name_en,
            district.footer_zh,
            district.footer_en,
        )


# Bumped when a transaction that wrote a district commits in this process, so the snapshot is
# read again at once here; other processes read it again within DISTRICT_CACHE_SECONDS.
_generation = 0


@event.listens_for(Session, "after_flush")
def _note_district_writes(session, _context):
    if any(isinstance(o, District) for o in (*session.new, *session.dirty, *session.deleted)):
        session.info["districts_written"] = True


@event.listens_for(Session, "after_commit")
def _forget_on_commit(session):
    global _generation
    if session.info.pop("districts_written", False):
        _generation += 1


@event.listens_for(Session, "after_rollback")
def _nothing_written(session):
    session.info.pop("districts_written", None)


def snapshot(session, app) -> tuple[Identity, ...]:
    """Every district not archived, in the order they were created (the first is the default),
    read at most once per DISTRICT_CACHE_SECONDS per process (and again at once after this
    process wrote one): the frame of every page needs it, and it changes a few times a year."""
    kept = app.extensions.get("district_snapshot")
    now = time.monotonic()
    if (
        kept is None
        or kept[0] != _generation
        or now - kept[1] > app.config.get("DISTRICT_CACHE_SECONDS", 30)
    ):
        generation = _generation
        rows = session.scalars(
            select(District).where(District.archived_at.is_(None)).order_by(District.id)
        )
        kept = (generation, now, tuple(Identity.of(d) for d in rows))
        app.extensions["district_snapshot"] = kept
    return kept[2]


def configured(config) -> Identity:
    """The stand-in before any district exists: the PORTAL_DISTRICT_* settings."""
    return Identity(
        None,
        config["PORTAL_DISTRICT_ADCODE"],
        config["PORTAL_DISTRICT_NAME"],
        config["PORTAL_DISTRICT_NAME_EN"],
        config["PORTAL_HOTLINE"],
    )


def home_district_id(session, user_id: int) -> int | None:
    """The district of the person's confirmed home, or None (one statement)."""
    return session.scalar(
        select(Town.district_id)
        .join(Estate, Estate.town_id == Town.id)
        .join(Household, Household.estate_id == Estate.id)
        .join(HomeClaim, HomeClaim.household_id == Household.id)
        .where(HomeClaim.user_id == user_id, HomeClaim.status == ClaimStatus.VERIFIED)
    )


def choose(districts: tuple[Identity, ...], cookie: str | None, home_id) -> Identity | None:
    """The district a visitor browses: the one they chose on this device (`cookie`, a code),
    else their confirmed home's (`home_id`: a callable, asked only when needed), else the first.
    """
    if not districts:
        return None
    if len(districts) == 1:
        return districts[0]
    by_code = {d.code: d for d in districts}
    if cookie in by_code:
        return by_code[cookie]
    home = home_id()
    return next((d for d in districts if d.id == home), districts[0])


def current() -> Identity:
    """The district this request's pages are about (once per request): the visitor's choice on
    this device, else their confirmed home's district (a district-scoped staff member's: that
    district's), else the first; before any district exists (or while the database is down),
    the configured stand-in."""
    if "portal_district" in g:
        return g.portal_district
    app = current_app._get_current_object()
    found = None
    if not g.get("database_down"):
        from flask_login import current_user

        in_request = has_request_context()  # (a message rendered by a command has no visitor)

        def home():
            user = current_user if in_request else None
            if user and user.is_authenticated:
                found = home_district_id(db.session, user.id)
                if found is None:  # staff scoped to a district wear its identity (walk15)
                    scoped = (a.scope_id for a in user.roles if a.scope_kind == "district")
                    found = next(scoped, None)
                return found
            return None

        cookie = request.cookies.get(DISTRICT_COOKIE) if in_request else None
        found = choose(snapshot(db.session, app), cookie, home)
    g.portal_district = found or configured(app.config)
    return g.portal_district


def several() -> bool:
    """Are there districts to choose between (for the lists' "choose another district")?"""
    if g.get("database_down"):
        return False
    return len(snapshot(db.session, current_app._get_current_object())) > 1


# --- A thing's district in the APIs (JSON API, the parking feed, Open311) -------------------------


class DistrictRefSchema(Schema):
    """The district a place belongs to, as the APIs name it."""

    code = fields.String(
        required=True, metadata={"description": "行政区划代码", "example": "310112"}
    )
    name = fields.String(required=True, metadata={"example": "闵行区"})


def reference(district_id: int) -> dict:
    """{"code", "name"} of the district (the name in the reader's language), from the kept
    snapshot (no statement per row of a list), else its row (an archived district)."""
    found = next(
        (d for d in snapshot(db.session, current_app._get_current_object()) if d.id == district_id),
        None,
    )
    if found is None:
        row = db.session.get(District, district_id)
        return {"code": row.code, "name": row.name}
    return {"code": found.code, "name": found.name}
