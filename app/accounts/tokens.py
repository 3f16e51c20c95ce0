"""API tokens: made, listed and revoked by their owners (the tokens page, the car-park page for
gate tokens), by administrators from the command line, and checked on every API call.

What it guarantees:
- A token is shown once; only its SHA-256 digest is stored. It expires `API_TOKEN_DAYS` after
  it is made (app/config.py), and a revoked one never works again.
- A token opens only what its scope names (`TokenScope`): a personal token the JSON API as its
  owner; a gate token one car park's gate events; an Open311 key Open311 filings. The check is
  in the statement that finds the token (here, `ApiToken.lookup`, and the booking path's one
  statement, `app.accounts.services.token_owner_statement`).
- A refused token gets a reason it can act on (`refusal`): unknown (401 `unauthorized`),
  expired (401 `token_expired`), revoked (401 `token_revoked`), or made for something else
  (403 `insufficient_scope`). Telling the holder of a real token why it stopped working gives
  nothing away: they hold it.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.accounts.models import ApiToken, TokenScope, User, token_expiry
from app.db import unit_of_work, utcnow
from app.errors import DomainError, NotFound

# The scopes a person manages on their own tokens page (gate tokens are the car park's).
PERSONAL_SCOPES = (TokenScope.PERSONAL, TokenScope.OPEN311)


class InvalidToken(DomainError):
    """No active owner for this API token (unknown, revoked, or its account closed)."""

    status = 401
    code = "unauthorized"

    def __init__(self, message=None, **params):
        super().__init__(
            message or _l("Sign in with a valid API token (Authorization: Bearer <token>)."),
            **params,
        )


class TokenExpired(InvalidToken):
    code = "token_expired"


class TokenRevoked(InvalidToken):
    code = "token_revoked"


class TokenScopeRefused(DomainError):
    status = 403
    code = "insufficient_scope"


def issue(
    session,
    user: User,
    name: str,
    *,
    scope: TokenScope = TokenScope.PERSONAL,
    scope_id: int | None = None,
    days: int | None = None,
) -> tuple[ApiToken, str]:
    """A new token for `user` (committed with the caller's unit, or at once): the row and the
    secret, which is never stored and so shown only this once. A gate token names its car
    park (`scope_id`); other scopes name nothing."""
    scope = TokenScope(scope)
    if (scope == TokenScope.GATE) != (scope_id is not None):
        raise ValueError("a gate token, and only a gate token, names its car park")
    secret = "cp_" + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=(name or "").strip()[:64] or scope.value,
        digest=ApiToken.digest_of(secret),
        scope=scope,
        scope_id=scope_id,
        expires_at=token_expiry(days),
    )
    with unit_of_work(session):
        session.add(row)
        session.flush()
    return row, secret


def tokens_of(session, user: User, scopes=PERSONAL_SCOPES) -> list[ApiToken]:
    """`user`'s unrevoked tokens of `scopes`, expired ones too (the page says so), newest
    first."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(
                ApiToken.user_id == user.id,
                ApiToken.revoked_at.is_(None),
                ApiToken.scope.in_(list(scopes)),
            )
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def own_token(session, user: User, token_id: int, scopes=PERSONAL_SCOPES) -> ApiToken:
    """One of `user`'s unrevoked tokens of `scopes`; anyone else's answers as missing."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        raise NotFound(_l("No such token."))
    if row.scope not in scopes:
        raise NotFound(_l("No such token."))
    return row


def revoke(session, row: ApiToken, actor: User | None = None) -> ApiToken:
    """Revoke `row` for good, on the audit log as `actor`'s (one unit of work, the caller's if
    any)."""
    with unit_of_work(session):
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            _audit(session, actor, row)
    return row


def _audit(session, actor, row: ApiToken, **details) -> None:
    from app.audit.services import record

    record(
        session,
        actor,
        "accounts.token_revoked",
        row,
        owner=row.user_id,
        name=row.name,
        scope=row.scope.value,
        **details,
    )


def revoke_named(session, user: User, name: str | None = None) -> list[ApiToken]:
    """Revoke `user`'s unrevoked tokens (every scope), only those called `name` when given (the
    command line: audited without an actor). One unit of work; the tokens revoked. NotFound
    when `name` matches none."""
    with unit_of_work(session):
        query = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        if name is not None:
            query = query.where(ApiToken.name == name)
        found = list(session.scalars(query.order_by(ApiToken.id)))
        if name is not None and not found:
            raise NotFound(
                _l("%(login)s has no token called %(name)s"), login=user.login_name, name=name
            )
        now = utcnow()
        for row in found:
            row.revoked_at = now
            _audit(session, None, row, via="command line")
    return found


def refusal(session, token: str | None, scopes, now: datetime | None = None) -> DomainError:
    """Why `token` is not valid for `scopes`, as the error to answer with (see the module
    docstring). Only called for a token already refused, so the hot paths never run it."""
    row = (
        session.scalar(select(ApiToken).where(ApiToken.digest == ApiToken.digest_of(token)))
        if token
        else None
    )
    now = now or utcnow()
    if row is None or not row.user.active:
        return InvalidToken()
    if row.revoked_at is not None:
        return TokenRevoked(_l("This API token was revoked. Make a new one on your tokens page."))
    if row.expires_at <= now:
        return TokenExpired(
            _l("This API token expired on %(day)s. Make a new one on your tokens page."),
            day=row.expires_at.date().isoformat(),
        )
    if row.scope not in scopes:
        return TokenScopeRefused(
            _l("This token is a %(scope)s and cannot be used here."), scope=row.scope.label
        )
    return InvalidToken()
