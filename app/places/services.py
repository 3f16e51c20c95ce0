"""Households and home claims: who may see what about a home.

Guarantees:
- A person's home is a *claim* until verified by the estate's property manager (from the claims
  queue, or in the same click from a repair report marked "home not yet verified") or by the
  household register (a register row that carries the claimant's mobile number, when the
  portal trusts sign-in numbers: HOUSEHOLD_REGISTER_TRUSTS_PHONE). An address alone proves
  nothing (anyone can read a neighbour's door), so a register without phones only confirms that
  a household exists. Only a verified
  claim counts in `is_verified_member` / `is_verified_resident`, which every service asks before
  showing or listing anything about a household.
- A person has at most one current claim (a partial unique index backs this). Changing one's home
  ends the old claim in the same transaction, and with it every report the person followed
  through that household or estate (`on_claim_ended` hooks).
- In an estate that has a register, a claim for an address that is not in it is refused at once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from app import clock
from app.accounts.models import Role, User
from app.audit.services import record
from app.db import unit_of_work
from app.errors import Conflict, DomainError, Forbidden, NotFound
from app.i18n import N_
from app.notifications.params import localized
from app.notifications.services import notify
from app.places.models import (
    CURRENT_CLAIM_STATES,
    ClaimStatus,
    Estate,
    HomeClaim,
    Household,
    HouseholdContact,
)

# Services that keep per-person state about a household or estate (repairs: followers) register
# a hook here, so ending a claim ends it everywhere without the frame importing them.
_on_claim_ended: list[Callable] = []


def on_claim_ended(hook: Callable) -> Callable:
    """Register `hook(session, claim)`, called in the transaction that ends or refuses a claim."""
    if hook not in _on_claim_ended:
        _on_claim_ended.append(hook)
    return hook


# --- Addresses ----------------------------------------------------------------------------

_SUFFIXES = {
    "building": ("号楼", "幢", "栋", "号", "楼"),
    "unit": ("单元",),
    "room": ("室", "号"),
}
_PART_RE = re.compile(r"^[0-9A-Z\-]{1,16}$")
PART_LABELS = {"building": _l("Building"), "unit": _l("Unit"), "room": _l("Room")}


def normalise_part(value: str | None, kind: str) -> str:
    """ "５号楼", "5 号楼" and "5" are the same building: full-width folded (NFKC), spaces and the
    usual suffix dropped, letters upper-cased."""
    text_ = unicodedata.normalize("NFKC", value or "").strip().upper().replace(" ", "")
    for suffix in _SUFFIXES[kind]:
        if text_.endswith(suffix) and len(text_) > len(suffix):
            text_ = text_[: -len(suffix)]
            break
    return text_


def clean_address(building: str | None, unit: str | None, room: str | None) -> tuple[str, str, str]:
    """Normalised (building, unit, room), or a DomainError on the field that is wrong. Building
    and room are needed; the unit is optional (many estates have none)."""
    parts = {
        "building": normalise_part(building, "building"),
        "unit": normalise_part(unit, "unit"),
        "room": normalise_part(room, "room"),
    }
    for kind in ("building", "room"):
        if not parts[kind]:
            raise DomainError(
                _l("Enter the %(part)s number of your home"),
                field=f"home_{kind}",
                part=PART_LABELS[kind],
            )
    for kind, value in parts.items():
        if value and not _PART_RE.match(value):
            raise DomainError(
                _l("Write the %(part)s as numbers or letters, for example 5 or 12A"),
                field=f"home_{kind}",
                part=PART_LABELS[kind],
            )
    return parts["building"], parts["unit"], parts["room"]


def find_household(
    session, estate_id: int, building: str, unit: str, room: str
) -> Household | None:
    return session.scalar(
        select(Household).where(
            Household.estate_id == estate_id,
            Household.building == building,
            Household.unit == unit,
            Household.room == room,
        )
    )


def _household(session, estate_id: int, building: str, unit: str, room: str) -> Household:
    household = find_household(session, estate_id, building, unit, room)
    if household is None:
        household = Household(estate_id=estate_id, building=building, unit=unit, room=room)
        session.add(household)
        session.flush()
    return household


def estate_has_register(session, estate_id: int) -> bool:
    return (
        session.scalar(
            select(Household.id)
            .where(Household.estate_id == estate_id, Household.registered.is_(True))
            .limit(1)
        )
        is not None
    )


# --- Named decisions ------------------------------------------------------------------------


def is_verified_member(session, user: User, household_id: int | None) -> bool:
    """Does `user` verifiably live in this household now?"""
    if household_id is None or user is None or not getattr(user, "id", None):
        return False
    return (
        session.scalar(
            select(HomeClaim.id).where(
                HomeClaim.user_id == user.id,
                HomeClaim.household_id == household_id,
                HomeClaim.status == ClaimStatus.VERIFIED,
            )
        )
        is not None
    )


def is_verified_resident(session, user: User, estate_id: int | None) -> bool:
    """Does `user` verifiably live somewhere in this estate now?"""
    if estate_id is None or user is None or not getattr(user, "id", None):
        return False
    return (
        session.scalar(
            select(HomeClaim.id).where(
                HomeClaim.user_id == user.id,
                HomeClaim.estate_id == estate_id,
                HomeClaim.status == ClaimStatus.VERIFIED,
            )
        )
        is not None
    )


def can_end(user: User, claim: HomeClaim) -> bool:
    """May `user` end a confirmed resident's access to their home ("moved out"): one of the
    estate's managers, while the claim is verified (the question page and its button)."""
    return claim.status == ClaimStatus.VERIFIED and can_decide(user, claim)


def can_decide(user: User, claim: HomeClaim) -> bool:
    """The estate's property managers decide claims to its households."""
    return user.has_role(Role.PROPERTY_MANAGER, claim.household.estate)


def current_claim(session, user: User) -> HomeClaim | None:
    return session.scalar(
        select(HomeClaim).where(
            HomeClaim.user_id == user.id, HomeClaim.status.in_(CURRENT_CLAIM_STATES)
        )
    )


# --- Claiming and deciding ------------------------------------------------------------------


def _end(
    session, claim: HomeClaim, status: ClaimStatus, note: str = "", by: User | None = None
) -> None:
    now = clock.now()
    claim.status = status
    claim.decision_note = note[:200]
    if status == ClaimStatus.ENDED:
        claim.ended_at = now
    if by is not None:  # a manager's decision (refused, or ended: moved out)
        claim.decided_at, claim.decided_by_id = now, by.id
    session.flush()
    for hook in _on_claim_ended:
        hook(session, claim)


def set_home(
    session,
    user: User,
    estate_id: int | None,
    building: str | None = "",
    unit: str | None = "",
    room: str | None = "",
    *,
    register_phone_match: bool = False,
) -> HomeClaim | None:
    """Say where `user` lives (or, with no estate, that they no longer give a home).

    The same home as the current claim changes nothing. A different one ends the current claim
    (its access ends now) and makes a new claim: verified at once when the estate's register
    names this household with the person's mobile number and `register_phone_match` is on
    (HOUSEHOLD_REGISTER_TRUSTS_PHONE: only once sign-in numbers are verified), refused at once
    when the estate has a register without this address, otherwise pending for the estate's
    managers, who are told. One unit of work (the caller's, when it has one, as the profile
    does): the old claim ends only if the new one is made.
    """
    with unit_of_work(session):
        return _set_home(session, user, estate_id, building, unit, room, register_phone_match)


def _holds(claim, estate_id) -> bool:
    return claim is not None and claim.household.estate_id == estate_id


def _set_home(session, user, estate_id, building, unit, room, register_phone_match):
    # One change of home at a time per person: a second save waits here and then sees the
    # first one's claim (the partial unique index is the backstop).
    session.execute(select(User.id).where(User.id == user.id).with_for_update())
    claim = current_claim(session, user)
    if estate_id is None:
        if claim is not None:
            _end(session, claim, ClaimStatus.ENDED, "left")
            session.expire(user, ["home_claim"])
        return None
    estate = session.get(Estate, estate_id)
    # An archived estate is offered nowhere (issue 15); its current residents keep their claims.
    if estate is None or (estate.archived_at is not None and not _holds(claim, estate_id)):
        raise NotFound(_l("There is no such estate"), field="home_estate_id")
    parts = clean_address(building, unit, room)
    if claim is not None:
        held = claim.household
        if (held.estate_id, held.building, held.unit, held.room) == (estate_id, *parts):
            return claim
    registered = find_household(session, estate_id, *parts)
    if registered is None and estate_has_register(session, estate_id):
        raise DomainError(
            _l(
                "This address is not in %(estate)s's household register. Check the "
                "building, unit and room, or ask your property manager."
            ),
            field="home_room",
            code="not_in_register",
            estate=estate.name,
        )
    if claim is not None:
        _end(session, claim, ClaimStatus.ENDED, "moved")
    household = registered or _household(session, estate_id, *parts)
    new = HomeClaim(
        user_id=user.id,
        household_id=household.id,
        estate_id=estate_id,
        status=ClaimStatus.PENDING,
        claimed_at=clock.now(),
    )
    session.add(new)
    session.flush()
    if (
        register_phone_match
        and user.phone
        and user.phone_verified_at is not None  # a number proven by an SMS code only
        and household.registered
        and _register_phone(session, household, user.phone)
    ):
        new.status, new.decided_at, new.decision_note = (
            ClaimStatus.VERIFIED,
            clock.now(),
            "register",
        )
    else:
        _tell_managers(session, new)
    session.expire(user, ["home_claim"])
    return new


def _tell_managers(session, claim: HomeClaim) -> None:
    """The managers of the claim's estate (held for the estate, or for the company managing it
    today) learn that a home waits for them."""
    from app.accounts.models import holders

    managers = sorted(holders(session, Role.PROPERTY_MANAGER, claim))
    for manager_id in managers:
        notify(
            session,
            manager_id,
            kind="home.claim",
            subject=N_("A resident asks to confirm their home"),
            body=N_("%(address)s is waiting in your household claims."),
            params={"address": home_address(claim.household)},
            link="/homes/claims",
        )


def home_address(household: Household) -> dict:
    """A home's address as a message parameter, read in the reader's language: the estate's
    Chinese name and the register's label ("5号楼 301室"), or the English name and words."""
    with force_locale("en"):
        english = f"{household.address}, {household.estate.name_en}"
    return localized(f"{household.estate.name_zh} {household.label}", english)


def decide(session, manager: User, claim: HomeClaim, approve: bool, reason: str = "") -> HomeClaim:
    """Approve or refuse a pending claim (or end a verified one with approve=False), telling the
    resident and recording the decision in the same unit of work.

    Only the estate's property managers may; a claim already decided by someone else a moment
    ago is refused with a message rather than decided twice (guarded update).
    """
    if not can_decide(manager, claim):
        raise Forbidden(_l("Only the estate's property managers can confirm its homes."))
    if not approve and claim.status == ClaimStatus.PENDING and not (reason or "").strip():
        raise DomainError(
            _l("Say why you refuse: the resident is told"), field="reason", code="reason_needed"
        )
    with unit_of_work(session):
        _decide(session, manager, claim, approve, reason)
    return claim


def _decide(session, manager: User, claim: HomeClaim, approve: bool, reason: str) -> None:
    allowed = (ClaimStatus.PENDING,) if approve else CURRENT_CLAIM_STATES
    target = (
        ClaimStatus.VERIFIED
        if approve
        else (ClaimStatus.REFUSED if claim.status == ClaimStatus.PENDING else ClaimStatus.ENDED)
    )
    result = session.execute(
        update(HomeClaim)
        .where(HomeClaim.id == claim.id, HomeClaim.status.in_(allowed))
        .values(status=target)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(_l("This claim was already decided. Reload the page."), code="claim_decided")
    session.refresh(claim)
    if approve:
        claim.decided_at, claim.decided_by_id, claim.decision_note = (
            clock.now(),
            manager.id,
            "manager",
        )
        session.flush()
        subject = N_("Your home %(address)s is confirmed")
        body = N_("You can now see and join reports about your home.")
    else:
        _end(session, claim, target, (reason or "").strip(), by=manager)
        subject = (
            N_("Your home %(address)s was not confirmed")
            if target == ClaimStatus.REFUSED
            else N_("Your home %(address)s was removed by the property manager")
        )
        body = (
            N_("Reason: %(reason)s")
            if (reason or "").strip()
            else N_("Ask your property manager if this is wrong.")
        )
    notify(
        session,
        claim.user_id,
        kind="home.decision",
        subject=subject,
        body=body,
        params={
            "address": home_address(claim.household),
            "reason": (reason or "").strip()[:200],
        },
        link="/profile",
    )
    record(
        session,
        manager,
        "home.verify" if approve else f"home.{target.value}",
        claim,
        household=claim.household_id,
        claimant=claim.user_id,
    )


def last_decision(session, user: User) -> HomeClaim | None:
    """The person's latest claim that was refused or ended by a manager, when they have no
    current one: what their profile explains ("not confirmed: reason")."""
    if current_claim(session, user) is not None:
        return None
    claim = session.scalar(
        select(HomeClaim).where(HomeClaim.user_id == user.id).order_by(HomeClaim.id.desc()).limit(1)
    )
    if claim is None or (claim.status == ClaimStatus.ENDED and claim.decided_by_id is None):
        return None  # they removed it themselves
    return claim


def get_claim(session, claim_id: int) -> HomeClaim | None:
    return session.get(HomeClaim, claim_id)


def claims_queue(session, estate_ids: list[int]) -> list[HomeClaim]:
    """Pending claims in these estates, oldest first."""
    if not estate_ids:
        return []
    return list(
        session.scalars(
            select(HomeClaim)
            .where(HomeClaim.estate_id.in_(estate_ids), HomeClaim.status == ClaimStatus.PENDING)
            .order_by(HomeClaim.claimed_at, HomeClaim.id)
            .limit(500)
        )
    )


def verified_members(session, estate_ids: list[int], limit: int = 500) -> list[HomeClaim]:
    if not estate_ids:
        return []
    return list(
        session.scalars(
            select(HomeClaim)
            .join(Household)
            .where(HomeClaim.estate_id.in_(estate_ids), HomeClaim.status == ClaimStatus.VERIFIED)
            .order_by(HomeClaim.estate_id, Household.building, Household.unit, Household.room)
            .limit(limit)
        )
    )


# --- The household register -----------------------------------------------------------------


def _register_phone(session, household: Household, phone: str) -> bool:
    return (
        session.scalar(
            select(HouseholdContact.id).where(
                HouseholdContact.household_id == household.id, HouseholdContact.phone == phone
            )
        )
        is not None
    )


def import_households(
    session, data: bytes, *, dry_run: bool = False, register_phone_match: bool = False
):
    """Load a household register (CSV or XLSX: [district,]town,estate,building,unit,room[,phone];
    estates and towns by their Chinese or English name) through the import framework
    (app/imports, kind `households` in app/places/imports.py). Every row is answered; nothing
    is written when any row has an error or with `dry_run`. Re-importing the same file changes
    nothing. With `register_phone_match`, pending claims that a row's phone confirms are
    verified. Its own unit of work, never part of a caller's."""
    from app.imports.services import ImportSettings, run_import
    from app.places.imports import HOUSEHOLDS

    settings = ImportSettings(register_phone_match=register_phone_match)
    return run_import(session, None, HOUSEHOLDS, data, dry_run=dry_run, settings=settings).outcomes


def pending_count(session, estate_ids: list[int]) -> int:
    if not estate_ids:
        return 0
    return (
        session.scalar(
            select(func.count(HomeClaim.id)).where(
                HomeClaim.estate_id.in_(estate_ids), HomeClaim.status == ClaimStatus.PENDING
            )
        )
        or 0
    )
