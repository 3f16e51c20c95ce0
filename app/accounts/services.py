"""Account operations: registration, authentication, profiles, roles and API tokens (helper
consent: app/accounts/consents.py; sign-in by SMS code: app/accounts/signin.py). Every function
that writes opens its own unit of work (`app.db.unit_of_work`), which joins the caller's when
there is one: called alone it commits, called from another service it commits (or rolls back)
with it."""

from __future__ import annotations

from datetime import datetime, timedelta

import phonenumbers
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, or_, select, update

from app.accounts import tokens
from app.accounts.models import (
    SCOPE_REQUIRED,
    ApiToken,
    DisplayMode,
    Role,
    RoleAssignment,
    TokenScope,
    User,
)
from app.accounts.passwords import check_new_password
from app.accounts.tokens import InvalidToken  # noqa: F401  (the booking paths raise it)
from app.db import connection_of, in_unit_of_work, unit_of_work, utcnow
from app.errors import Conflict, DomainError, NotFound
from app.scopes import resolve_scope

# How often a token's last use is written down: a write per request would make every API call a
# write transaction for a figure nobody needs to the second.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


def normalize_phone(raw: str) -> str:
    """A mainland mobile number as its 11 digits, from any common way of writing it
    (spaces, dashes, full-width digits, +86). Raises DomainError if it is not one."""
    try:
        number = phonenumbers.parse(raw or "", "CN")
    except phonenumbers.NumberParseException:
        number = None
    if (
        number is None
        or number.country_code != 86
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number)
        not in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        )
    ):
        raise DomainError(
            _l("Enter a mainland China mobile number with 11 digits, like 139 1234 5678"),
            field="phone",
            code="invalid_phone",
        )
    return str(number.national_number)


def can_confirm_online(user) -> bool:
    """Can `user` prove it is them on a page (a password of their own, or a mobile number for a
    code)? A resident the desk registered with a card only cannot: the desk acts for them."""
    return bool(user.password_set or user.phone)


def mask_phone(phone: str | None) -> str:
    """138****5678: enough for a person to recognise their number, not enough to call it."""
    if not phone:
        return ""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


def find_by_login(session, login: str) -> User | None:
    """The user with this phone number (however written) or username."""
    login = (login or "").strip()
    candidates = [login]
    try:
        candidates.append(normalize_phone(login))
    except DomainError:
        pass
    return session.scalar(
        select(User).where(or_(User.phone.in_(candidates), User.username == login))
    )


def register_resident(
    session,
    *,
    phone: str,
    name: str,
    password: str,
    locale: str = "zh_CN",
    display_mode: DisplayMode = DisplayMode.STANDARD,
) -> User:
    """Create a resident account with a password (committed with the caller's unit, or at
    once): demo data, tests and the desk. The phone number must be a valid mobile and not yet
    registered; the password must pass app.accounts.passwords. Residents registering
    themselves go through app.accounts.signin (an SMS code and consent)."""
    phone = normalize_phone(phone)
    check_new_password(password, phone=phone)
    with unit_of_work(session):
        return _add_resident(session, phone, name, password, locale, display_mode)


def _add_resident(session, phone, name, password, locale, display_mode) -> User:
    if session.scalar(select(User.id).where(User.phone == phone)) is not None:
        raise Conflict(
            _l(
                "This mobile number is already registered. Sign in instead, or reset your "
                "password at the service desk."
            ),
            field="phone",
            code="phone_taken",
        )
    user = User(phone=phone, name=name.strip(), locale=locale, display_mode=display_mode)
    user.set_password(password)
    user.roles.append(RoleAssignment(role=Role.RESIDENT))
    session.add(user)
    session.flush()
    return user


def create_user(
    session,
    *,
    username: str | None,
    password: str,
    name: str | None = None,
    phone: str | None = None,
    roles: list[tuple[Role, str | None]] = (),
) -> User:
    """Create a user (staff accounts, from the CLI and demo data) with roles.

    `roles` is a list of (role, scope) where scope is "kind:id" or None. One unit of work: the
    user exists with all their roles, or not at all.
    """
    if not username and not phone:
        raise DomainError(_l("A user needs a username or a mobile number"))
    if phone:
        phone = normalize_phone(phone)
    check_new_password(password, phone=phone, username=username)
    with unit_of_work(session):
        return _add_user(session, username, password, name, phone, roles)


def _add_user(session, username, password, name, phone, roles) -> User:
    if username and session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(_l("The username %(name)s is taken"), code="username_taken", name=username)
    if phone and session.scalar(select(User.id).where(User.phone == phone)):
        raise Conflict(
            _l(
                "This mobile number is already registered. Sign in instead, or reset your "
                "password at the service desk."
            ),
            code="phone_taken",
        )
    user = User(username=username, phone=phone, name=name or username or phone)
    user.set_password(password)
    session.add(user)
    for role, scope in roles:
        assign_role(session, user, role, scope)
    session.flush()
    return user


def assign_role(session, user: User, role: Role, scope: str | None = None) -> RoleAssignment:
    """Give `user` a role, for the object named by `scope` ("estate:12") where the role needs
    one. Adds to the caller's unit of work (an assignment is written with its user)."""
    scope_kind = scope_id = None
    if scope:
        obj = resolve_scope(session, scope)
        scope_kind, scope_id = obj.scope_kind, obj.id
        if scope_kind not in role.scope_kinds:
            raise DomainError(
                _l("The role %(role)s cannot be scoped to a %(kind)s"),
                role=role.value,
                kind=scope_kind,
            )
    elif role in SCOPE_REQUIRED:
        raise DomainError(
            _l("The role %(role)s needs a scope such as %(kind)s:ID"),
            role=role.value,
            kind=role.scope_kind,
        )
    for existing in user.roles:
        if (existing.role, existing.scope_kind, existing.scope_id) == (role, scope_kind, scope_id):
            return existing
    assignment = RoleAssignment(role=role, scope_kind=scope_kind, scope_id=scope_id)
    user.roles.append(assignment)
    return assignment


def update_profile(
    session,
    user: User,
    *,
    name: str,
    locale: str,
    display_mode: DisplayMode,
    home_estate_id: int | None,
    home_building: str,
    home_unit: str,
    home_room: str,
    register_phone_match: bool = False,
) -> User:
    """Save the profile form as one unit of work: the details and the home claim together, or
    nothing. The mobile number is changed only with a code sent to the new one
    (app.accounts.signin.change_phone). A changed home is a new claim (app/places/services.py
    `set_home`): the old one's access ends."""
    with unit_of_work(session):
        return _save_profile(
            session,
            user,
            name=name,
            locale=locale,
            display_mode=display_mode,
            home=(home_estate_id, home_building, home_unit, home_room),
            register_phone_match=register_phone_match,
        )


def _save_profile(session, user, *, name, locale, display_mode, home, register_phone_match) -> User:
    home_estate_id, home_building, home_unit, home_room = home
    if home_estate_id is not None:
        resolve_scope(session, f"estate:{home_estate_id}")
    from app.places.services import set_home

    set_home(
        session,
        user,
        home_estate_id,
        home_building,
        home_unit,
        home_room,
        register_phone_match=register_phone_match,
    )
    user.name = name.strip()
    user.locale = locale
    user.display_mode = display_mode
    return user


def issue_token(
    session,
    user: User,
    name: str = "cli",
    *,
    scope: TokenScope = TokenScope.PERSONAL,
    scope_id: int | None = None,
    days: int | None = None,
) -> str:
    """Create an API token for `user` (personal unless `scope` says otherwise; see
    app/accounts/tokens.py) and return it (committed with the caller's unit, or at once); only
    its digest is kept. It expires after `days`, API_TOKEN_DAYS by default."""
    return tokens.issue(session, user, name, scope=scope, scope_id=scope_id, days=days)[1]


def authenticate_api_token(
    session, token: str, scopes=(TokenScope.PERSONAL,), now: datetime | None = None
) -> ApiToken | None:
    """The valid token (unrevoked, unexpired, of one of `scopes`) whose owner is active, else
    None. Its last use is written down at most once per TOKEN_TOUCH_INTERVAL, in a small unit
    of its own that keeps what the request loaded (the caller goes on using the token)."""
    now = now or utcnow()
    api_token = ApiToken.lookup(session, token, scopes, now)
    if api_token is None or not api_token.user.active:
        return None
    if api_token.last_used_at is None or now - api_token.last_used_at > TOKEN_TOUCH_INTERVAL:
        with unit_of_work(session, keep_loaded=True):
            api_token.last_used_at = now
    return api_token


def authenticate_token(session, token: str, now: datetime | None = None) -> User | None:
    """The active owner of this valid personal API token, else None (`authenticate_api_token`)."""
    api_token = authenticate_api_token(session, token, now=now)
    return None if api_token is None else api_token.user


_tokens, _users = ApiToken.__table__, User.__table__
# The token owner's id, for a service's own join conditions in `token_owner_statement`.
TOKEN_OWNER_ID = _users.c.id


def token_owner_statement(*columns, outer_joins=()):
    """The statement that finds an API token's active owner and locks their row FOR UPDATE
    (`owner_id`, with `token_id` and `token_last_used_at`), the token's rule stated once:
    digest matches, not revoked, owner active. A service may read what it needs in the same
    round trip: `columns`, from `outer_joins` ((table, on clause) pairs, LEFT JOINed; their
    rows are read, not locked). Parameters: digest, now (a personal token, unexpired then).
    Built once by its caller; run it with
    `find_token_owner`."""
    found = _tokens.join(_users, _users.c.id == _tokens.c.user_id)
    for table, on in outer_joins:
        found = found.outerjoin(table, on)
    return (
        select(
            _users.c.id.label("owner_id"),
            _tokens.c.id.label("token_id"),
            _tokens.c.last_used_at.label("token_last_used_at"),
            *columns,
        )
        .select_from(found)
        .where(
            _tokens.c.digest == bindparam("digest"),
            _tokens.c.revoked_at.is_(None),
            _tokens.c.expires_at > bindparam("now"),
            _tokens.c.scope == TokenScope.PERSONAL.value,
            _users.c.active.is_(True),
        )
        .with_for_update(of=_users)
    )


_TOKEN_OWNER = token_owner_statement()
_TOUCH = (
    update(_tokens).where(_tokens.c.id == bindparam("token")).values(last_used_at=bindparam("now"))
)


def find_token_owner(session, statement, token: str, parameters=None, now: datetime | None = None):
    """Inside the caller's unit of work: run `statement` (a `token_owner_statement`) for
    `token`: its row (`owner_id`, and the service's columns), the owner's row locked until the
    unit ends, so that one person's requests are decided one after the other; None if the token
    is not valid. The token's last use is written down as `authenticate_token` does, at most
    once per TOKEN_TOUCH_INTERVAL: in the caller's unit, and, if that unit rolls back (a
    refused booking), in a small unit of its own after it.

    What the service reads in this statement is read as of the statement's start, before any
    wait for the lock (PostgreSQL, READ COMMITTED): anything another request of the same
    person may have changed meanwhile is read again after it (per-person counts), or checked
    by a constraint (an idempotency key)."""
    if not in_unit_of_work(session):
        raise RuntimeError("find_token_owner runs inside its caller's unit of work")
    connection = connection_of(session)
    now = now or utcnow()
    row = connection.execute(
        # The token's expiry is compared with the service's own `now` when it passes one.
        statement,
        {"now": now, **(parameters or {}), "digest": ApiToken.digest_of(token)},
    ).first()
    if row is None:
        return None
    if row.token_last_used_at is None or now - row.token_last_used_at > TOKEN_TOUCH_INTERVAL:
        connection.execute(_TOUCH, {"token": row.token_id, "now": now})
        with unit_of_work(session) as unit:  # the caller's
            unit.after_rollback(lambda: _touch(session, row.token_id, now))
    return row


def lock_token_owner(session, token: str, now: datetime | None = None) -> int | None:
    """Inside the caller's unit of work: the id of the active owner of this unrevoked API token
    (as `authenticate_token` decides: personal, unexpired, owner active), their row locked FOR
    UPDATE until the unit ends; None if the token is not valid. One statement, no ORM object
    (`find_token_owner`)."""
    row = find_token_owner(session, _TOKEN_OWNER, token, now=now)
    return None if row is None else row.owner_id


def _touch(session, token_id: int, now: datetime) -> None:
    with unit_of_work(session, keep_loaded=True):
        session.execute(_TOUCH, {"token": token_id, "now": now})


def set_locale(session, user: User, locale: str) -> None:
    """Remember `user`'s language (one of the portal's locales, checked by the caller)."""
    with unit_of_work(session):
        user.locale = locale


def set_display_mode(session, user: User, mode: DisplayMode) -> None:
    """Remember `user`'s display mode (standard, large text, elderly)."""
    with unit_of_work(session):
        user.display_mode = DisplayMode(mode)


def adopt_visitor_choices(
    session, user: User, *, locale: str | None, display_mode: DisplayMode
) -> None:
    """At sign-in, keep the language and display mode chosen before signing in, where the
    account still has the defaults (zh_CN, standard). `locale` is the visitor's choice if it is
    one of the portal's locales, else None. Writes only when something changes."""
    keep_locale = locale and user.locale == "zh_CN" and locale != user.locale
    keep_mode = display_mode != DisplayMode.STANDARD and user.display_mode == DisplayMode.STANDARD
    if not (keep_locale or keep_mode):
        return
    with unit_of_work(session):
        if keep_locale:
            user.locale = locale
        if keep_mode:
            user.display_mode = display_mode


def get_user(session, login: str) -> User:
    user = find_by_login(session, login)
    if user is None:
        raise NotFound(_l("No user %(login)s"), login=login)
    return user
