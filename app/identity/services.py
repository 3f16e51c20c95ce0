"""Real names (实名): declaring one, recording a check, reading the level later features need.

Guarantees:
- An ID number is stored only sealed (app.identity.crypto) and masked; the whole number is in
  no page, export, audit entry or log line, and leaves this module only through `reveal`.
- One ID number belongs to one account at most: the unique keyed digest refuses a second one,
  whatever the race. A verified check takes a number from an account that only declared it
  (that account is told); a number verified on an account stays there.
- A level never drops by the person's own doing: once verified, a resident's declaration is
  refused (a desk or the provider changes it).
- Every change is in the audit log, with the masked number, in the caller's unit of work.

Later features read `real_name_level(session, user)` (None, or a RealNameLevel whose `meets`
compares levels) or ask the predicate `has_real_name(session, user, required)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app import clock
from app.audit.services import record as audit
from app.db import unit_of_work, utcnow
from app.errors import Conflict, DomainError
from app.i18n import N_
from app.identity import crypto, idnumber
from app.identity.crypto import IdentityKeys
from app.identity.models import ExternalIdentity, RealName, RealNameLevel
from app.identity.providers import CheckResult

NAME_MAX = 64


@dataclass(frozen=True)
class IdentitySettings:
    """What the services need from the configuration (built by `settings_from_config`)."""

    keys: IdentityKeys
    provider: object = field(default=None, compare=False)  # app.identity.providers


def settings_from_config(config) -> IdentitySettings:
    from app.identity.providers import provider_from_config

    return IdentitySettings(
        keys=crypto.keys_from_config(config), provider=provider_from_config(config)
    )


# --- reading -----------------------------------------------------------------------------------


def real_name_of(session, user) -> RealName | None:
    """The account's real name (sealed name and number, masked number, level, who checked it
    and when), or None."""
    return session.scalar(select(RealName).where(RealName.user_id == user.id))


def real_name_level(session, user) -> RealNameLevel | None:
    """The level of the account's real name, None without one: what later features read."""
    return session.scalar(select(RealName.level).where(RealName.user_id == user.id))


def has_real_name(session, user, required: RealNameLevel = RealNameLevel.SELF_DECLARED) -> bool:
    """The account's real name is at least `required` (both verified levels count alike)."""
    level = real_name_level(session, user)
    return level is not None and level.meets(required)


def reveal(record: RealName, settings: IdentitySettings) -> tuple[str, str]:
    """(name, whole ID number) of a record: for a check against a card or an official
    service, never for display."""
    keys = settings.keys
    return (
        crypto.open_sealed(keys, record.name_encrypted, purpose="name", owner_id=record.user_id),
        crypto.open_sealed(
            keys, record.id_number_encrypted, purpose="id_number", owner_id=record.user_id
        ),
    )


def name_of(record: RealName, settings: IdentitySettings) -> str:
    """The real name of a record (its owner's pages show it, with the masked number)."""
    return reveal(record, settings)[0]


# --- writing -----------------------------------------------------------------------------------


def declare_real_name(
    session, user, name: str, id_number: str, *, settings: IdentitySettings
) -> tuple[RealName, CheckResult]:
    """The resident's own declaration, checked by the configured provider: recorded at the
    level it answers (self_declared for the default checksum check). Refused, with the reason,
    when the provider refuses, when the account's real name is already verified (a desk or the
    provider changes it, not the person), or when the number is on another account."""
    name = _clean_name(name)
    number = idnumber.check(id_number, clock.today())
    current = real_name_of(session, user)
    if current is not None and current.level.verified:
        raise DomainError(
            _l("Your real name is verified. To change it, bring your ID card to a service desk."),
            code="real_name_verified",
        )
    result = settings.provider.check(name, number)
    if result.refused:
        raise DomainError(result.message, field="id_number", code="real_name_refused")
    record = record_real_name(
        session,
        user,
        name,
        number,
        level=result.level,
        provider=result.provider if result.level == RealNameLevel.VERIFIED_BY_PROVIDER else None,
        settings=settings,
    )
    return record, result


def record_real_name(
    session,
    user,
    name: str,
    id_number: str,
    *,
    level: RealNameLevel,
    verified_by=None,
    provider: str | None = None,
    settings: IdentitySettings,
) -> RealName:
    """Record `user`'s real name at `level` (committed with the caller's unit, or at once):
    `verified_in_person` needs the clerk who saw the card (`verified_by`), and
    `verified_by_provider` the provider's name or issuer. The number must be well formed
    (InvalidIdNumber otherwise). A number on another account is refused (Conflict), unless
    that account only declared it and this record is verified: then it is taken from there,
    and the other account is told."""
    level = RealNameLevel(level)
    name = _clean_name(name)
    number = idnumber.check(id_number, clock.today())
    if level == RealNameLevel.VERIFIED_IN_PERSON and verified_by is None:
        raise ValueError("an in-person verification names the clerk who saw the card")
    if level == RealNameLevel.VERIFIED_BY_PROVIDER and not provider:
        raise ValueError("a provider's verification names the provider")
    keys = settings.keys
    digest = crypto.digest(keys, number)
    masked = idnumber.mask(number)
    with unit_of_work(session):
        _take_number(session, user, digest, masked, level, verified_by)
        record = real_name_of(session, user)
        if record is None:
            record = RealName(user_id=user.id)
            session.add(record)
        record.name_encrypted = crypto.seal(keys, name, purpose="name", owner_id=user.id)
        record.id_number_encrypted = crypto.seal(
            keys, number, purpose="id_number", owner_id=user.id
        )
        record.id_number_digest, record.id_number_masked = digest, masked
        record.level, record.recorded_at = level, utcnow()
        record.verified_by_id = getattr(verified_by, "id", None) if level.verified else None
        record.provider = provider if level == RealNameLevel.VERIFIED_BY_PROVIDER else None
        record.verified_at = record.recorded_at if level.verified else None
        try:
            with session.begin_nested():  # a concurrent record of the same number
                session.flush()
        except IntegrityError:
            raise _number_taken() from None
        audit(
            session,
            verified_by or user,
            f"real_name.{level.value}",
            record,
            id_number=masked,
            provider=record.provider,
            on_behalf_of=user if verified_by is not None else None,
        )
    return record


def _take_number(session, user, digest, masked, level, verified_by) -> None:
    other = session.scalar(
        select(RealName).where(RealName.id_number_digest == digest, RealName.user_id != user.id)
    )
    if other is None:
        return
    if other.level.verified or not level.verified:
        raise _number_taken()
    from app.notifications.services import notify

    audit(
        session,
        verified_by or user,
        "real_name.displaced",
        other,
        id_number=masked,
        from_user_id=other.user_id,
        to_user_id=user.id,
    )
    notify(
        session,
        other.user_id,
        kind="real_name",
        subject=N_("Your declared real name was removed"),
        body=N_(
            "The ID number %(number)s was verified on another account, so it is no longer on "
            "yours. If the number is yours, bring your ID card to a service desk."
        ),
        params={"number": masked},
        link="/identity/real-name",
    )
    session.delete(other)
    session.flush()


def _number_taken() -> Conflict:
    return Conflict(
        _l(
            "This ID number is already on another account of this portal. If it is yours, "
            "bring your ID card to a service desk."
        ),
        field="id_number",
        code="id_number_taken",
    )


def _clean_name(name: str | None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DomainError(_l("Enter your name as it is on your ID card"), field="name")
    if len(name) > NAME_MAX:
        raise DomainError(_l("Name must be %(n)d characters or fewer"), field="name", n=NAME_MAX)
    return name


def export_personal_data(session, user) -> dict:
    """What this package holds about `user`, for "my data": the number masked even here."""
    record = real_name_of(session, user)
    identities = session.scalars(
        select(ExternalIdentity).where(ExternalIdentity.user_id == user.id)
    )
    return {
        "real_name": None
        if record is None
        else {
            "id_number": record.id_number_masked,
            "level": record.level.value,
            "recorded_at": record.recorded_at.isoformat(),
            "verified_at": record.verified_at.isoformat() if record.verified_at else None,
        },
        "linked_identities": [
            {"issuer": i.issuer, "linked_at": i.linked_at.isoformat()} for i in identities
        ],
    }


def erase_personal_data(session, user) -> dict:
    """Inside the deletion's unit: the real name and linked identities go; nothing is kept."""
    with unit_of_work(session):
        names = session.execute(delete(RealName).where(RealName.user_id == user.id)).rowcount
        links = session.execute(
            delete(ExternalIdentity).where(ExternalIdentity.user_id == user.id)
        ).rowcount
    return {"real_names": names, "linked_identities": links}


def rekey(session, settings: IdentitySettings, *, batch: int = 200) -> dict:
    """After IDENTITY_ENCRYPTION_KEY changed (the old key in IDENTITY_OLD_ENCRYPTION_KEYS):
    every real name sealed under an earlier key is sealed again under the current one and its
    digest recomputed with the current digest key, so the one-number-one-account check sees it
    again. A batch per unit of work; safe to run again (records already current are skipped).
    Records no configured key opens, and numbers whose new digest another record already holds
    (declared twice while the rotation was under way), are left as they are and reported."""
    keys = settings.keys
    counts = {"resealed": 0, "current": 0, "unreadable": [], "conflicts": []}
    ids = list(session.scalars(select(RealName.id).order_by(RealName.id)))
    for start in range(0, len(ids), batch):
        with unit_of_work(session):
            chunk = select(RealName).where(RealName.id.in_(ids[start : start + batch]))
            for record in session.scalars(chunk):
                if all(
                    crypto.sealed_with_current_key(keys, value)
                    for value in (record.name_encrypted, record.id_number_encrypted)
                ):
                    counts["current"] += 1
                    continue
                try:
                    name, number = reveal(record, settings)
                except crypto.SealError:
                    counts["unreadable"].append(record.id)
                    continue
                digest = crypto.digest(keys, number)
                clash = session.scalar(
                    select(RealName.id).where(
                        RealName.id_number_digest == digest, RealName.id != record.id
                    )
                )
                if clash is not None:
                    counts["conflicts"].append((record.id, clash))
                    continue
                owner = record.user_id
                record.name_encrypted = crypto.seal(keys, name, purpose="name", owner_id=owner)
                record.id_number_encrypted = crypto.seal(
                    keys, number, purpose="id_number", owner_id=owner
                )
                record.id_number_digest = digest
                counts["resealed"] += 1
    return counts
