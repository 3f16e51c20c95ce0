"""Consent for helpers (帮办代办): who may act for a resident, in which services. Every function
that writes opens its own unit of work (`app.db.unit_of_work`), joining the caller's when there is
one."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.accounts.models import HelperConsent, HelpService, Role, User
from app.accounts.services import find_by_login
from app.db import unit_of_work, utcnow
from app.errors import DomainError, NotFound


def _consent(session, actor: User, resident: User) -> HelperConsent | None:
    return session.scalar(
        select(HelperConsent).where(
            HelperConsent.resident_id == resident.id,
            HelperConsent.helper_id == actor.id,
            HelperConsent.revoked_at.is_(None),
        )
    )


def can_act_for(session, actor: User, resident: User, service: HelpService | str) -> bool:
    """The person themself, or a community helper the person has given consent to (帮办代办)
    for `service` (a HelpService: "venues", "parking", "repairs"). Consent for one service
    grants nothing in another."""
    if actor.id == resident.id:
        return True
    consent = _consent(session, actor, resident)
    return consent is not None and getattr(consent, HelpService(service).value)


def consented_services(session, actor: User, resident: User) -> list[HelpService]:
    """The services `resident` lets `actor` act in (all of them for the person themself)."""
    if actor.id == resident.id:
        return list(HelpService)
    consent = _consent(session, actor, resident)
    return consent.services if consent is not None else []


def grant_consent(session, resident: User, helper_login: str, services) -> HelperConsent:
    """Let the community helper with this login act for `resident` in `services` (at least
    one), replacing what an earlier consent to the same helper named. One unit of work."""
    services = {HelpService(s) for s in services or ()}
    if not services:
        raise DomainError(
            _l("Choose at least one service the helper may act in."),
            field="services",
            code="no_service",
        )
    with unit_of_work(session):
        helper = find_by_login(session, helper_login)
        if helper is None or helper.id == resident.id or not helper.has_role(Role.COMMUNITY_HELPER):
            raise NotFound(
                _l("There is no community helper with that username or number"), field="helper"
            )
        consent = session.scalar(
            select(HelperConsent).where(
                HelperConsent.resident_id == resident.id, HelperConsent.helper_id == helper.id
            )
        )
        if consent is None:
            consent = HelperConsent(resident_id=resident.id, helper_id=helper.id)
            session.add(consent)
        consent.revoked_at, consent.granted_at = None, utcnow()
        for service in HelpService:
            setattr(consent, service.value, service in services)
    return consent


def revoke_consent(session, resident: User, consent_id: int) -> HelperConsent:
    """End one of `resident`'s consents (one unit of work); anyone else's answers as missing."""
    with unit_of_work(session):
        consent = session.get(HelperConsent, consent_id)
        if consent is None or consent.resident_id != resident.id:
            raise NotFound(_l("No such consent."))
        consent.revoked_at = utcnow()
    return consent
