"""Residents at the desk: finding them, registering them in person (with or without a mobile
phone), and printed sign-in cards for those without one.

A card carries the account number and a one-time code. Only the code's SHA-256 digest is kept.
The code signs in once (a guarded update claims it: two requests with the same code cannot both
sign in), until the card expires; printing a new card voids every earlier one."""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update

from app.accounts.models import DisplayMode, Role, RoleAssignment, User
from app.accounts.services import find_by_login, mask_phone, normalize_phone
from app.db import unit_of_work, utcnow
from app.desk.models import SigninCard
from app.desk.services import DeskSettings, record_desk_action
from app.errors import Conflict, DomainError, NotFound

SEARCH_LIMIT = 20
CODE_DIGITS = 8


def digest(user_id: int, code: str) -> str:
    """The stored form of a card's code: per account (two cards may print the same code),
    whatever spaces or full-width digits it was typed with."""
    typed = "".join(unicodedata.normalize("NFKC", code).split())
    return hashlib.sha256(f"{user_id}:{typed}".encode()).hexdigest()


def find_residents(session, query: str) -> list[User]:
    """Residents whose mobile number (however written), account number, or name matches
    `query` (a name matches by its start), at most SEARCH_LIMIT; closed accounts never."""
    query = (query or "").strip()
    if not query:
        return []
    exact = find_by_login(session, query)
    found = session.scalars(
        select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(
            RoleAssignment.role == Role.RESIDENT,
            User.deleted_at.is_(None),
            or_(
                User.name.startswith(query, autoescape=True), User.id == (exact.id if exact else -1)
            ),
        )
        .order_by(User.name, User.id)
        .limit(SEARCH_LIMIT)
    ).all()
    return list(found)


def masked(user: User) -> str:
    """How the desk's lists show a person's number: masked, or their account number."""
    return mask_phone(user.phone) if user.phone else (user.username or "")


def get_resident(session, resident_id: int) -> User:
    """The resident with this id (an open account with the resident role), else NotFound."""
    user = session.get(User, resident_id)
    if user is None or user.deleted_at is not None or not user.has_role(Role.RESIDENT):
        raise NotFound(_l("No such resident."))
    return user


def _account_number(session) -> str:
    # An 8-digit number starting with 8 (no mobile number starts so: they start with 1).
    while True:
        number = "8" + "".join(secrets.choice("0123456789") for _ in range(7))
        if session.scalar(select(User.id).where(User.username == number)) is None:
            return number


def register_in_person(
    session,
    clerk: User,
    *,
    name: str,
    phone: str | None,
    display_mode: DisplayMode,
    settings: DeskSettings,
) -> tuple[User, str | None]:
    """Register a resident who came to the desk (one unit of work, audited). With a mobile
    number they sign in with it (its owner sets a password or uses a code later); without one
    they get an account number and a printed card: returns (user, the card's code) then, else
    (user, None). A number already registered is refused."""
    name = (name or "").strip()
    if not name:
        raise DomainError(_l("Enter the resident's name"), field="name")
    phone = normalize_phone(phone) if phone else None
    with unit_of_work(session):
        if phone and session.scalar(select(User.id).where(User.phone == phone)) is not None:
            raise Conflict(
                _l("This mobile number already has an account. Find the resident instead."),
                field="phone",
                code="phone_taken",
            )
        user = User(
            phone=phone,
            username=None if phone else _account_number(session),
            name=name,
            display_mode=display_mode,
            password_set=False,
            # The clerk handed over the privacy notice and the resident agreed (the form asks).
            privacy_notice_version=settings.privacy_notice_version,
            privacy_consented_at=utcnow(),
        )
        user.set_password(secrets.token_urlsafe(32))  # nobody knows it: they sign in otherwise
        user.roles.append(RoleAssignment(role=Role.RESIDENT))
        session.add(user)
        session.flush()
        record_desk_action(session, clerk, "register", user, with_phone=bool(phone))
        code = None if phone else _issue_card(session, clerk, user, settings)
    return user, code


def _issue_card(session, clerk: User, user: User, settings: DeskSettings) -> str:
    now = utcnow()
    session.execute(
        update(SigninCard)
        .where(
            SigninCard.user_id == user.id,
            SigninCard.used_at.is_(None),
            SigninCard.voided_at.is_(None),
        )
        .values(voided_at=now)
        .execution_options(synchronize_session=False)
    )
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    session.add(
        SigninCard(
            user_id=user.id,
            digest=digest(user.id, code),
            issued_by_id=clerk.id,
            created_at=now,
            expires_at=now + timedelta(days=settings.card_valid_days),
        )
    )
    record_desk_action(session, clerk, "card", user)
    return code


def issue_card(session, clerk: User, resident: User, settings: DeskSettings) -> str:
    """Print a new sign-in card for `resident` (one unit of work, audited): its code, shown
    once, works once until `settings.card_valid_days` have passed; every earlier card is void."""
    with unit_of_work(session):
        return _issue_card(session, clerk, resident, settings)


def card_expiry(session, resident: User):
    """When the resident's live card stops working, or None."""
    return session.scalar(
        select(SigninCard.expires_at).where(
            SigninCard.user_id == resident.id,
            SigninCard.used_at.is_(None),
            SigninCard.voided_at.is_(None),
        )
    )


def sign_in_with_card(session, account: str, code: str) -> User | None:
    """The account whose live card has this code, its card used up in the same unit of work;
    None (without saying why) for a wrong, used, void or expired code or an unknown account."""
    user = find_by_login(session, account)
    if user is None or not user.active or user.deleted_at is not None or not code:
        return None
    with unit_of_work(session, keep_loaded=True):
        now = utcnow()
        claimed = session.execute(
            update(SigninCard)
            .where(
                SigninCard.user_id == user.id,
                SigninCard.digest == digest(user.id, code),
                SigninCard.used_at.is_(None),
                SigninCard.voided_at.is_(None),
                SigninCard.expires_at > now,
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
    return user if claimed == 1 else None
