"""Server-side sessions: a row per signed-in browser (`UserSession`), so that signing out ends a
session for good and a person can see and end their other sessions.

What it guarantees:
- The browser's signed session cookie holds a random secret (`SESSION_KEY`); the table keeps
  only its SHA-256 digest. The user loader (`load`) accepts a cookie only while its row is live:
  not ended, not idle longer than the account's idle limit, not older than its absolute limit,
  the account active. Staff accounts (any role but resident) have shorter limits than
  residents (app/config.py: SESSION_IDLE_MINUTES, SESSION_ABSOLUTE_HOURS, STAFF_SESSION_*).
- Signing out (`end`) ends the row: a copy of the cookie taken before is worth nothing after.
  Flask-Login's remember-me cookie is never set; "remember me" (`begin(remember=True)`) only
  keeps the session cookie across browser restarts, within the row's limits.
- Cheap: the row is checked in the loader's one statement (`signed_in_user` joins it), and its
  last use is written at most once per `TOUCH_INTERVAL` by a guarded UPDATE, not per request.

`begin`, `end` and `load` are the web layer's (they read Flask's request and session);
`live_sessions`, `end_session`, `end_others` and `end_all` are services taking a database
session, each one unit of work.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from datetime import datetime, timedelta

from flask import current_app, flash, g, has_request_context, request
from flask import session as cookie
from flask_babel import lazy_gettext as _l
from flask_login import login_user, logout_user
from sqlalchemy import and_, bindparam, delete, or_, select, update

from app.accounts.models import User, UserSession, signed_in_user
from app.db import unit_of_work, utcnow
from app.errors import NotFound
from app.extensions import db

SESSION_KEY = "_sid"  # in Flask's signed session cookie: the secret whose digest is the row's
# A session's last use is written down at most this often: the idle limit is counted in
# minutes, and a write per page would make every page a write transaction.
TOUCH_INTERVAL = timedelta(minutes=1)

_sessions = UserSession.__table__
_TOUCH = (
    update(_sessions)
    .where(
        _sessions.c.id == bindparam("row"),
        _sessions.c.ended_at.is_(None),
        _sessions.c.last_used_at < bindparam("before"),
    )
    .values(last_used_at=bindparam("now"))
)


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def limits(user: User, config=None) -> tuple[timedelta, timedelta]:
    """(idle, absolute) lifetime of `user`'s sessions: staff's shorter than residents'."""
    config = config or current_app.config
    if user.is_staff:
        return (
            timedelta(minutes=config["STAFF_SESSION_IDLE_MINUTES"]),
            timedelta(hours=config["STAFF_SESSION_ABSOLUTE_HOURS"]),
        )
    return (
        timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
        timedelta(hours=config["SESSION_ABSOLUTE_HOURS"]),
    )


def _lapsed(created_at: datetime, last_used_at: datetime, now: datetime, user: User, config=None):
    """Why a session is over by its limits ("idle", "expired"), or None while it lives."""
    idle, absolute = limits(user, config)
    if now - created_at > absolute:
        return "expired"
    if now - last_used_at > idle:
        return "idle"
    return None


# --- the web layer -----------------------------------------------------------------------------


def begin(user: User, *, remember: bool = False) -> UserSession | None:
    """Sign `user` in on this browser (instead of Flask-Login's `login_user`): a new session
    row, its secret in the session cookie, and Flask-Login's sign-in. A session this browser
    still had is ended first. `remember` keeps the cookie after the browser closes (within
    the row's limits). None, and nobody signed in, for an inactive account."""
    if not user.is_active:
        return None
    secret, now = secrets.token_urlsafe(32), utcnow()
    row = UserSession(
        user_id=user.id,
        digest=digest_of(secret),
        created_at=now,
        last_used_at=now,
        user_agent=describe_agent(request.user_agent.string),
        network=network_of(request.remote_addr),
    )
    with unit_of_work(db.session, keep_loaded=True):
        _end_current(db.session, "replaced", now)
        db.session.add(row)
    cookie[SESSION_KEY] = secret
    cookie.permanent = remember
    login_user(user, remember=False)  # never Flask-Login's remember cookie: it has no row
    return row


def end(reason: str = "signed_out") -> None:
    """Sign this browser out (instead of `logout_user`): its session row is ended for good, so
    the cookie, or any copy of it, signs nobody in again."""
    if cookie.get(SESSION_KEY):
        with unit_of_work(db.session, keep_loaded=True):
            _end_current(db.session, reason, utcnow())
    logout_user()
    cookie.pop(SESSION_KEY, None)


def current_digest() -> str | None:
    """The digest of this browser's session secret, or None outside a signed-in request."""
    secret = cookie.get(SESSION_KEY) if has_request_context() else None
    return digest_of(secret) if secret else None


def load(user_id: str) -> User | None:
    """Flask-Login's user loader: the user with roles and inbox count (`signed_in_user`, one
    statement joining the session row), or None unless this browser's session is live. A
    session past its limits is ended on the way; a live one's last use is written at most
    once per TOUCH_INTERVAL."""
    digest = current_digest()
    if digest is None or not str(user_id).isdecimal():
        return None
    user = signed_in_user(db.session, int(user_id), digest)
    if user is None:
        # Refused: say why when the session existed and was ended (only then: the extra
        # statement runs for refused cookies, never for live ones).
        _say_why_ended(
            db.session.scalar(
                select(UserSession.end_reason).where(
                    UserSession.digest == digest,
                    UserSession.user_id == int(user_id),
                    UserSession.ended_at.is_not(None),
                )
            )
        )
        return None
    row_id, created_at, last_used_at = user.signed_in_session
    now = utcnow()
    lapsed = _lapsed(created_at, last_used_at, now, user)
    if lapsed is not None:
        with unit_of_work(db.session, keep_loaded=True):
            _end_rows(db.session, [row_id], lapsed, now)
        _say_why_ended(lapsed)
        return None
    if now - last_used_at >= TOUCH_INTERVAL:
        # Guarded: of several requests of one browser at once, one writes, and an ended row
        # stays ended.
        with unit_of_work(db.session, keep_loaded=True):
            db.session.execute(_TOUCH, {"row": row_id, "before": now - TOUCH_INTERVAL, "now": now})
    return user


def keep_shown_once(value: str) -> None:
    """Keep `value` (a secret to show once) on this browser's session row for its next page
    (`take_shown_once`): a form that makes a secret redirects instead of showing it, so a
    reload neither makes another nor shows it again. On the server: the cookie never holds it."""
    digest = current_digest()
    with unit_of_work(db.session, keep_loaded=True):
        db.session.execute(
            update(UserSession)
            .where(UserSession.digest == digest, UserSession.ended_at.is_(None))
            .values(shown_once=value)
            .execution_options(synchronize_session=False)
        )


def take_shown_once() -> str | None:
    """The value `keep_shown_once` kept for this browser, cleared as it is read: only one
    request ever gets it (of two at once, the one whose guarded UPDATE clears it)."""
    digest = current_digest()
    if digest is None:
        return None
    with unit_of_work(db.session, keep_loaded=True):
        value = db.session.scalar(
            select(UserSession.shown_once).where(
                UserSession.digest == digest, UserSession.ended_at.is_(None)
            )
        )
        if value is None:
            return None
        cleared = db.session.execute(
            update(UserSession)
            .where(UserSession.digest == digest, UserSession.shown_once == value)
            .values(shown_once=None)
            .execution_options(synchronize_session=False)
        ).rowcount
    return value if cleared else None


# Why a browser is no longer signed in, by the row's end_reason (what the person did, or the
# limits): said once, on the first page the dead cookie asks for.
ENDED_BECAUSE = {
    "signed_out_elsewhere": _l("You were signed out of this device from another device."),
    "signed_out_everywhere": _l("You were signed out of this device from another device."),
    "password_changed": _l("Your password was changed, so this device was signed out."),
    "password_reset": _l("Your password was changed, so this device was signed out."),
    "idle": _l("For your safety, you were signed out after a long time without use."),
    "expired": _l("For your safety, you are signed out after a while. Sign in again."),
    "account_closed": _l("This account is closed."),
}


def _say_why_ended(reason: str | None) -> None:
    """Note why this browser's session ended, for `_flash_why_ended` at the end of the request,
    and forget its secret (so it is said once). Not flashed here: translating needs the locale,
    whose selector asks for the user, whose loader is this."""
    if reason in ENDED_BECAUSE:
        g.session_ended_because = reason
        cookie.pop(SESSION_KEY, None)


def _flash_why_ended(response):
    """after_request (before the session cookie is saved): flash what `_say_why_ended` noted."""
    reason = g.pop("session_ended_because", None)
    if reason is not None:
        flash(str(ENDED_BECAUSE[reason]), "info")
    return response


def describe_agent(agent: str | None) -> str:
    """ "Chrome 120 on Windows 10": the browser and system a User-Agent names (ua-parser), for
    the devices page; "" when it names neither."""
    from ua_parser import parse

    result = parse(agent or "")
    browser = result.user_agent
    system = result.os
    parts = []
    if browser is not None and browser.family != "Other":
        parts.append(" ".join(filter(None, (browser.family, browser.major))))
    if system is not None and system.family != "Other":
        parts.append(" ".join(filter(None, (system.family, system.major))))
    return " / ".join(parts)[:128]


def network_of(address: str | None) -> str:
    """The network a session began from, as much as the devices page shows: an IPv4 address
    with its last part hidden (203.0.113.*), an IPv6 address's /48. No geo-IP lookup: the
    page says it is the network, not a place."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return ""
    if ip.version == 4:
        return ".".join(str(ip).split(".")[:3]) + ".*"
    return str(ipaddress.ip_network(f"{ip}/48", strict=False))


# --- services ---------------------------------------------------------------------------------


def _end_rows(session, row_ids, reason: str, now: datetime) -> int:
    if not row_ids:
        return 0
    return session.execute(
        update(UserSession)
        .where(UserSession.id.in_(row_ids), UserSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount


def _end_current(session, reason: str, now: datetime) -> int:
    digest = current_digest()
    if digest is None:
        return 0
    return session.execute(
        update(UserSession)
        .where(UserSession.digest == digest, UserSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount


def live_sessions(session, user: User, now: datetime | None = None) -> list[UserSession]:
    """`user`'s live sessions (not ended, within their limits), the most recently used first."""
    now = now or utcnow()
    rows = session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .order_by(UserSession.last_used_at.desc(), UserSession.id.desc())
    ).all()
    return [r for r in rows if _lapsed(r.created_at, r.last_used_at, now, user) is None]


def is_current(row: UserSession) -> bool:
    """Is `row` this browser's session (the devices page's "this device")."""
    return row.digest == current_digest()


def end_session(session, user: User, session_id: int, reason: str = "signed_out_elsewhere"):
    """End one of `user`'s live sessions (one unit of work); anyone else's, or one already
    ended, answers as missing."""
    with unit_of_work(session):
        row = session.get(UserSession, session_id)
        if row is None or row.user_id != user.id or row.ended_at is not None:
            raise NotFound(_l("That session has already ended."))
        row.ended_at, row.end_reason = utcnow(), reason
    return row


def end_others(
    session, user: User, keep_current: bool = True, reason: str = "signed_out_elsewhere"
) -> int:
    """End `user`'s sessions, all but this browser's with `keep_current` (for a password
    change: the person stays signed in where they made it). One unit of work; how many ended."""
    keep = current_digest() if keep_current else None
    with unit_of_work(session):
        condition = [UserSession.user_id == user.id, UserSession.ended_at.is_(None)]
        if keep is not None:
            condition.append(UserSession.digest != keep)
        return session.execute(
            update(UserSession)
            .where(*condition)
            .values(ended_at=utcnow(), end_reason=reason)
            .execution_options(synchronize_session=False)
        ).rowcount


def end_all(session, user: User, reason: str = "signed_out_everywhere") -> int:
    """End every session of `user`, this browser's too (a password reset, "sign out
    everywhere", a closed account). One unit of work; how many ended. The caller signs this
    browser out of Flask-Login (`end`) if it was one of them."""
    return end_others(session, user, keep_current=False, reason=reason)


def purge(session, config, now: datetime | None = None) -> dict[str, int]:
    """The sweep (`flask sweep`): delete session rows nobody can use any more and nobody needs
    to see, kept SESSION_KEEP_DAYS for the devices page and questions about them: ended that
    long ago, or unused for that long past the longest idle limit (a browser that never came
    back is ended only when it does). Idempotent, and safe on several nodes at once (a plain
    DELETE). One unit of work; {"sessions_purged": n}."""
    now = now or utcnow()
    keep = timedelta(days=config["SESSION_KEEP_DAYS"])
    idle = timedelta(
        minutes=max(config["SESSION_IDLE_MINUTES"], config["STAFF_SESSION_IDLE_MINUTES"])
    )
    with unit_of_work(session):
        gone = session.execute(
            delete(UserSession)
            .where(
                or_(
                    UserSession.ended_at < now - keep,
                    and_(
                        UserSession.ended_at.is_(None),
                        UserSession.last_used_at < now - idle - keep,
                    ),
                )
            )
            .execution_options(synchronize_session=False)
        ).rowcount
    return {"sessions_purged": gone}


def init_app(app) -> None:
    """Register the purge with the sweep, and the message saying why a session ended."""
    from app.registry import register_sweeper

    register_sweeper(app, lambda session: purge(session, app.config))
    app.after_request(_flash_why_ended)
