"""Consent for helpers (帮办代办): who may act for a resident, in which services, and until when.

A consent grants something only while it is live: not revoked, and today (local, Asia/Shanghai)
between its first and last day, both included. Every check goes through `_live_consent`, so a
consent that ends stops working at once on every page, API call and service that asks
`can_act_for` or `consented_services` (app.acting asks the latter on each request).

Residents grant and revoke their own consents online; the service desk records a written consent
on the resident's behalf (app/desk/services), naming the clerk and keeping the scanned slip.
Every function that writes opens its own unit of work (`app.db.unit_of_work`), joining the
caller's when there is one."""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import clock
from app.accounts.models import ConsentRelation, HelperConsent, HelpService, Role, User
from app.accounts.services import find_by_login
from app.db import unit_of_work, utcnow
from app.errors import DomainError, NotFound

# The longest a consent may run: a year (366 days covers a leap year). A longer arrangement is
# renewed, so that the resident is asked again at least once a year.
MAX_CONSENT_DAYS = 366
# What an online consent runs for when the resident names no end.
DEFAULT_CONSENT_DAYS = 365


def is_live(consent: HelperConsent | None, today: date | None = None) -> bool:
    """Does `consent` grant anything today? Not revoked, and today within its days."""
    if consent is None or consent.revoked_at is not None:
        return False
    today = today or clock.today()
    return consent.starts_on <= today <= consent.ends_on


def _live_consent(session, actor: User, resident: User) -> HelperConsent | None:
    today = clock.today()
    return session.scalar(
        select(HelperConsent).where(
            HelperConsent.resident_id == resident.id,
            HelperConsent.helper_id == actor.id,
            HelperConsent.revoked_at.is_(None),
            HelperConsent.starts_on <= today,
            HelperConsent.ends_on >= today,
        )
    )


def can_act_for(session, actor: User, resident: User, service: HelpService | str) -> bool:
    """The person themself, or someone the person has given a live consent to (帮办代办) for
    `service` (a HelpService: "venues", "parking", "repairs"). Consent for one service grants
    nothing in another; an ended, revoked or not yet started consent grants nothing."""
    if actor.id == resident.id:
        return True
    consent = _live_consent(session, actor, resident)
    return consent is not None and getattr(consent, HelpService(service).value)


def consented_services(session, actor: User, resident: User) -> list[HelpService]:
    """The services `resident` lets `actor` act in today (all of them for the person themself)."""
    if actor.id == resident.id:
        return list(HelpService)
    consent = _live_consent(session, actor, resident)
    return consent.services if consent is not None else []


def check_period(starts_on: date, ends_on: date | None) -> None:
    """Refuse a consent period that has no end, ends before it starts or before today, or runs
    longer than MAX_CONSENT_DAYS (DomainError on the field to correct)."""
    if ends_on is None:
        raise DomainError(
            _l("Enter the last day the consent is valid."), field="ends_on", code="no_end"
        )
    if ends_on < starts_on or ends_on < clock.today():
        raise DomainError(
            _l("The last day must be after the first day, and not in the past."),
            field="ends_on",
            code="ends_before_start",
        )
    if (ends_on - starts_on).days >= MAX_CONSENT_DAYS:
        raise DomainError(
            _l("A consent can run for at most a year. Enter an earlier last day."),
            field="ends_on",
            code="too_long",
        )


def _find_helper(session, resident: User, helper_login: str, relation: ConsentRelation) -> User:
    helper = find_by_login(session, helper_login)
    eligible = (
        helper is not None
        and helper.id != resident.id
        and helper.active
        and helper.deleted_at is None
        and (relation == ConsentRelation.FAMILY or helper.has_role(Role.COMMUNITY_HELPER))
    )
    if not eligible:
        if relation == ConsentRelation.FAMILY:
            raise NotFound(_l("There is no account with that username or number"), field="helper")
        raise NotFound(
            _l("There is no community helper with that username or number"), field="helper"
        )
    return helper


def grant_consent(
    session,
    resident: User,
    helper_login: str,
    services,
    *,
    starts_on: date | None = None,
    ends_on: date | None = None,
    relation: ConsentRelation = ConsentRelation.HELPER,
    recorded_by: User | None = None,
    slip_filename: str | None = None,
) -> HelperConsent:
    """Let the person with this login act for `resident` in `services` (at least one) from
    `starts_on` (default today) to `ends_on` (default a year on; at most MAX_CONSENT_DAYS),
    replacing what an earlier consent to the same person named. A community helper (the role)
    unless `relation` is FAMILY, when any other active account will do. `recorded_by` is the
    desk clerk recording a written consent, with its scanned slip. One unit of work."""
    services = {HelpService(s) for s in services or ()}
    if not services:
        raise DomainError(
            _l("Choose at least one service the helper may act in."),
            field="services",
            code="no_service",
        )
    starts_on = starts_on or clock.today()
    if ends_on is None and recorded_by is None:
        ends_on = starts_on + timedelta(days=DEFAULT_CONSENT_DAYS)
    check_period(starts_on, ends_on)
    with unit_of_work(session):
        helper = _find_helper(session, resident, helper_login, ConsentRelation(relation))
        consent = session.scalar(
            select(HelperConsent).where(
                HelperConsent.resident_id == resident.id, HelperConsent.helper_id == helper.id
            )
        )
        recorded_by_id = recorded_by.id if recorded_by is not None else None
        if consent is None:  # added once complete: a half-made row must never be flushed
            consent = HelperConsent(resident_id=resident.id, helper=helper)
        consent.revoked_at, consent.granted_at = None, utcnow()
        consent.starts_on, consent.ends_on = starts_on, ends_on
        consent.relation = ConsentRelation(relation)
        consent.recorded_by_id = recorded_by_id
        consent.slip_filename = slip_filename
        for service in HelpService:
            setattr(consent, service.value, service in services)
        session.add(consent)
    return consent


def revoke_consent(session, resident: User, consent_id: int) -> HelperConsent:
    """End one of `resident`'s consents (one unit of work); anyone else's answers as missing."""
    with unit_of_work(session):
        consent = session.get(HelperConsent, consent_id)
        if consent is None or consent.resident_id != resident.id:
            raise NotFound(_l("No such consent."))
        consent.revoked_at = utcnow()
    return consent


def live_consents_query(*where):
    """The statement for live consents matching `where` (the helper's or the resident's), for
    the pages that list them."""
    today = clock.today()
    return select(HelperConsent).where(
        HelperConsent.revoked_at.is_(None),
        HelperConsent.starts_on <= today,
        HelperConsent.ends_on >= today,
        *where,
    )
