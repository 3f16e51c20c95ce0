"""一网通办 (OpenID Connect) identities and the accounts they sign in to.

Guarantees:
- A sign-in request is answered once: its state is kept (as a digest) until the first answer
  takes it, by a guarded delete, so a replayed or unknown state finds nothing, also when two
  answers race; an expired one is refused.
- One identity (issuer, subject) signs in to one account (unique constraint). Linking asks
  for the signed-in account that started the request; an identity linked elsewhere is refused.
- A new identity gets a new resident account only when nothing of it is already on another
  account (its mobile number, its ID number): the person is told to sign in there and link.
- The verified name and ID level come across from the claims (app.identity.services), never
  lowering a level the account already has.
- An identity is unlinked only while the account can still sign in another way.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from app.accounts.models import Role, RoleAssignment, User
from app.audit.services import record as audit
from app.db import unit_of_work, utcnow
from app.errors import Conflict, DomainError, Forbidden, NotFound
from app.identity import crypto, services
from app.identity.models import ExternalIdentity, RealNameLevel, SignInRequest

REQUEST_LIFETIME = timedelta(minutes=10)


@dataclass(frozen=True)
class ClaimMap:
    """Which claims of the id_token carry what (configured: YWTB_OIDC_*_CLAIM)."""

    name: str = "name"
    id_number: str | None = None
    # Without a level claim, every ID number the issuer sends counts as verified by it.
    level: str | None = None
    verified_levels: frozenset[str] = field(default_factory=frozenset)
    phone: str | None = "phone_number"
    # The provider's name as people know it, from configuration (YWTB_OIDC_DISPLAY_NAME).
    display_name: str = "一网通办"


@dataclass(frozen=True)
class PendingSignIn:
    """A sign-in request taken from the table (the row itself is gone)."""

    nonce: str
    code_verifier: str
    redirect_uri: str
    link_user_id: int | None
    next_url: str | None


@dataclass(frozen=True)
class SsoOutcome:
    user: User
    created: bool
    linked: bool
    level: RealNameLevel | None
    note: object | None = None  # why the real name did not come across, when it did not


def _state_digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def begin_sign_in(
    session,
    *,
    state: str,
    nonce: str,
    code_verifier: str,
    redirect_uri: str,
    link_user=None,
    next_url: str | None = None,
    now: datetime | None = None,
) -> None:
    """Keep what the answer to this authorization request must match, for REQUEST_LIFETIME;
    requests that expired unanswered are swept in the same unit."""
    now = now or utcnow()
    with unit_of_work(session):
        session.execute(delete(SignInRequest).where(SignInRequest.expires_at < now))
        session.add(
            SignInRequest(
                state_digest=_state_digest(state),
                nonce=nonce,
                code_verifier=code_verifier,
                redirect_uri=redirect_uri,
                link_user_id=getattr(link_user, "id", None),
                next_url=next_url,
                created_at=now,
                expires_at=now + REQUEST_LIFETIME,
            )
        )


def take_sign_in_request(session, state: str | None, now: datetime | None = None):
    """The request `state` answers, removed so that it is answered once; None for a state
    that is unknown, already answered or expired."""
    if not state or len(state) > 512:
        return None
    now = now or utcnow()
    with unit_of_work(session):
        row = session.scalar(
            select(SignInRequest).where(
                SignInRequest.state_digest == _state_digest(state), SignInRequest.claims.is_(None)
            )
        )
        if row is None:
            return None
        taken = session.execute(delete(SignInRequest).where(SignInRequest.id == row.id)).rowcount
        if taken != 1 or row.expires_at < now:
            return None
        return PendingSignIn(
            row.nonce, row.code_verifier, row.redirect_uri, row.link_user_id, row.next_url
        )


def makes_new_account(session, pending: PendingSignIn, claims: dict) -> bool:
    """Signing in with these claims would create an account: nothing is linked to the identity
    and no signed-in account asked to link it. The person consents first (`hold_new_account`)."""
    if pending.link_user_id is not None:
        return False
    found = session.scalar(
        select(ExternalIdentity.id).where(
            ExternalIdentity.issuer == str(claims["iss"]),
            ExternalIdentity.subject == str(claims["sub"]),
        )
    )
    return found is None


def hold_new_account(session, claims: dict, *, settings, now: datetime | None = None) -> str:
    """Keep verified `claims` (sealed) while the person reads the privacy notice and consents
    to a new account, for REQUEST_LIFETIME: the token that takes them back, once."""
    token, now = secrets.token_urlsafe(32), now or utcnow()
    sealed = crypto.seal(settings.keys, json.dumps(claims), purpose="sso_claims", owner_id=0)
    with unit_of_work(session):
        session.add(
            SignInRequest(
                state_digest=_state_digest(token),
                nonce="",
                code_verifier="",
                redirect_uri="",
                claims=sealed,
                created_at=now,
                expires_at=now + REQUEST_LIFETIME,
            )
        )
    return token


def take_new_account(session, token: str | None, *, settings, now: datetime | None = None):
    """The claims `hold_new_account` kept under `token`, removed (taken once); None for a token
    that is unknown, used or expired."""
    if not token or len(token) > 512:
        return None
    now = now or utcnow()
    with unit_of_work(session):
        row = session.scalar(
            select(SignInRequest).where(
                SignInRequest.state_digest == _state_digest(token),
                SignInRequest.claims.is_not(None),
            )
        )
        if row is None:
            return None
        taken = session.execute(delete(SignInRequest).where(SignInRequest.id == row.id)).rowcount
        if taken != 1 or row.expires_at < now:
            return None
        sealed = row.claims
    return json.loads(crypto.open_sealed(settings.keys, sealed, purpose="sso_claims", owner_id=0))


def complete_sign_in(
    session,
    pending: PendingSignIn,
    claims: dict,
    *,
    claim_map: ClaimMap,
    settings,
    consent_version: str | None = None,
) -> SsoOutcome:
    """After the id_token was verified: the account `claims` sign in to (linked, linked now to
    the account that asked, or created, which needs the privacy notice's `consent_version` the
    person agreed to), with the real name from the claims. One unit of work: a refusal
    (DomainError) changes nothing."""
    issuer, subject = str(claims["iss"]), str(claims["sub"])
    with unit_of_work(session):
        identity = session.scalar(
            select(ExternalIdentity).where(
                ExternalIdentity.issuer == issuer, ExternalIdentity.subject == subject
            )
        )
        created = linked = False
        if pending.link_user_id is not None:
            user = session.get(User, pending.link_user_id)
            if user is None or not user.active:
                raise Forbidden(_l("This account is closed."))
            if identity is not None and identity.user_id != user.id:
                raise Conflict(
                    _l(
                        "This %(provider)s identity is already linked to another account of "
                        "this portal. Sign out and sign in with %(provider)s to use that account."
                    ),
                    code="identity_taken",
                    provider=claim_map.display_name,
                )
        elif identity is not None:
            user = identity.user
            if not user.active:
                raise Forbidden(_l("This account is closed."))
        else:
            if consent_version is None:
                raise ValueError("a new account needs the person's consent to the privacy notice")
            user = _create_resident(session, claims, claim_map, issuer, subject)
            user.privacy_notice_version, user.privacy_consented_at = consent_version, utcnow()
            created = True
        if identity is None:
            identity = ExternalIdentity(user_id=user.id, issuer=issuer, subject=subject)
            session.add(identity)
            session.flush()
            linked = True
            audit(session, user, "identity.linked", identity, issuer=issuer)
        identity.last_sign_in_at = utcnow()
        level, note = _real_name_from_claims(
            session, user, claims, claim_map, settings, issuer, strict=created
        )
    return SsoOutcome(user, created, linked, level, note)


def _create_resident(session, claims, claim_map, issuer, subject) -> User:
    from app.accounts.services import normalize_phone

    phone = None
    if claim_map.phone and claims.get(claim_map.phone) and claims.get("phone_number_verified"):
        try:
            phone = normalize_phone(str(claims[claim_map.phone]))
        except DomainError:
            phone = None
    if phone and session.scalar(select(User.id).where(User.phone == phone)) is not None:
        raise Conflict(
            _l(
                "An account of this portal already has the mobile number of your %(provider)s "
                "identity. Sign in to it, then link %(provider)s from its real-name page."
            ),
            code="phone_taken",
            provider=claim_map.display_name,
        )
    name = " ".join(str(claims.get(claim_map.name) or "").split())[: services.NAME_MAX]
    user = User(
        phone=phone,
        # Without a mobile number the account needs a login name; nobody types this one.
        username=None
        if phone
        else "ywtb-" + hashlib.sha256(f"{issuer} {subject}".encode()).hexdigest()[:16],
        name=name or claim_map.display_name,
        # Verified by the provider (phone_number_verified), so code sign-in may use it.
        phone_verified_at=utcnow() if phone else None,
        password_set=False,
    )
    user.set_password(secrets.token_urlsafe(32))  # nobody knows it: no password sign-in
    user.roles.append(RoleAssignment(role=Role.RESIDENT))
    session.add(user)
    session.flush()
    audit(session, user, "identity.account_created", user, issuer=issuer)
    return user


def _real_name_from_claims(session, user, claims, claim_map, settings, issuer, *, strict):
    current = services.real_name_level(session, user)
    number = claims.get(claim_map.id_number) if claim_map.id_number else None
    if not number:
        return current, None
    verified = claim_map.level is None or (
        str(claims.get(claim_map.level, "")) in claim_map.verified_levels
    )
    level = RealNameLevel.VERIFIED_BY_PROVIDER if verified else RealNameLevel.SELF_DECLARED
    if current is not None and (
        current.rank > level.rank or (current.verified and current.rank == level.rank)
    ):
        return current, None  # never lowered, and a check already made stays as it was
    try:
        services.record_real_name(
            session,
            user,
            str(claims.get(claim_map.name) or user.name),
            str(number),
            level=level,
            provider=issuer if verified else None,
            settings=settings,
        )
    except Conflict:
        if strict:
            raise Conflict(
                _l(
                    "Your real name is already on an account of this portal. Sign in to that "
                    "account, then link %(provider)s from its real-name page."
                ),
                code="real_name_taken",
                provider=claim_map.display_name,
            ) from None
        return current, DomainError(
            _l(
                "Your ID number from %(provider)s is on another account of this portal, so it "
                "was not recorded on this one. Bring your ID card to a service desk."
            ),
            provider=claim_map.display_name,
        )
    except DomainError:
        return current, DomainError(
            _l("%(provider)s sent an ID number that is not well formed; it was not recorded."),
            provider=claim_map.display_name,
        )
    return level, None


def linked_identities(session, user) -> list[ExternalIdentity]:
    return list(
        session.scalars(
            select(ExternalIdentity)
            .where(ExternalIdentity.user_id == user.id)
            .order_by(ExternalIdentity.linked_at)
        )
    )


def can_unlink(session, user, identity: ExternalIdentity) -> bool:
    """The account can still sign in once `identity` is gone: with a password of its own, a
    code sent to its mobile number, or another linked identity."""
    if user.password_set or user.phone:  # a password, or a code sent to the number
        return True
    others = session.scalar(
        select(func.count(ExternalIdentity.id)).where(
            ExternalIdentity.user_id == user.id, ExternalIdentity.id != identity.id
        )
    )
    return bool(others)


def unlink(session, user, identity_id: int, *, display_name: str = "一网通办") -> None:
    """Remove one of `user`'s linked identities (NotFound for anyone else's), refused while it
    is the only way to sign in."""
    with unit_of_work(session):
        identity = session.get(ExternalIdentity, identity_id)
        if identity is None or identity.user_id != user.id:
            raise NotFound(_l("No such linked identity."))
        if not can_unlink(session, user, identity):
            raise DomainError(
                _l(
                    "You sign in to this account only with %(provider)s, so it cannot be "
                    "unlinked. Set a password first, or ask at a service desk."
                ),
                code="last_sign_in_method",
                provider=display_name,
            )
        audit(session, user, "identity.unlinked", identity, issuer=identity.issuer)
        session.delete(identity)
