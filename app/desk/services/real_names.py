"""Real names verified in person: a desk clerk who saw the resident's ID card records the name
and number at the `verified_in_person` level (app.identity keeps them sealed and masked)."""

from __future__ import annotations

from app.accounts.models import User
from app.db import unit_of_work
from app.desk.services import record_desk_action
from app.identity import services as identity
from app.identity.models import RealName, RealNameLevel


def verify_in_person(
    session,
    clerk: User,
    resident: User,
    *,
    name: str,
    id_number: str,
    settings: identity.IdentitySettings,
) -> RealName:
    """Record `resident`'s real name as verified in person by `clerk` (app.identity's rules: a
    well-formed number, one account per number), with the desk's audit entry, in one unit of
    work. DomainError (on the form's fields) when identity refuses."""
    with unit_of_work(session):
        record = identity.record_real_name(
            session,
            resident,
            name,
            id_number,
            level=RealNameLevel.VERIFIED_IN_PERSON,
            verified_by=clerk,
            settings=settings,
        )
        record_desk_action(session, clerk, "real_name", resident, id_number=record.id_number_masked)
    return record


def summary(session, resident: User) -> str | None:
    """What the desk sees of a resident's real name: its level and the masked number."""
    record = identity.real_name_of(session, resident)
    if record is None:
        return None
    return f"{record.level.label} · {record.id_number_masked}"
