"""Verification codes sent by SMS (验证码): issued, rate-limited and checked.

Guarantees:
- A code is 6 digits from `secrets`, valid SMS_CODE_MINUTES (5), for one number and one
  purpose. Only an HMAC of it (keyed from SECRET_KEY) is stored.
- The newest code for a number and purpose is the only one that works: asking again replaces
  the code before it.
- A code works once, within SMS_CODE_TRIES (5) tries, and never after it expired; compared in
  constant time. A try is counted even when the caller's unit of work rolls back afterwards
  (a wrong code that makes the caller raise still uses up a try), and a used or exhausted code
  never works again: the counting and the use are guarded updates, so two concurrent checks
  of the right code use it once.
- Sending is rate-limited per number (one per SMS_CODE_INTERVAL_SECONDS, SMS_CODES_PER_NUMBER_HOUR
  an hour, whatever the purpose) and per client address (SMS_CODES_PER_ADDRESS_HOUR), counted
  from the code rows themselves, so the limits hold across processes and nodes. Concurrent
  requests for one number or address are serialised (SQLite's write lock; advisory locks on
  PostgreSQL), so they cannot both slip under a limit. A refusal (`TooManyCodes`) says when
  to ask again.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import unicodedata
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, text, update

from app.accounts.services import normalize_phone
from app.clock import local
from app.db import unit_of_work, utcnow
from app.errors import DomainError
from app.sms.models import CodePurpose, VerificationCode
from app.sms.services.outbox import send
from app.sms.settings import SmsSettings

CODE_KIND = "verification_code"  # the SMS_TEMPLATES kind that carries the code
ADDRESS_LENGTH = 64
HOUR = timedelta(hours=1)


class TooManyCodes(DomainError):
    """A code was refused by a rate limit. `retry_after`: seconds until one may be asked for."""

    status = 429
    code = "too_many_codes"

    def __init__(self, message, *, retry_after: int, field: str | None = None, **params):
        super().__init__(message, field=field, **params)
        self.retry_after = retry_after


def issue_code(
    session,
    phone: str,
    purpose: CodePurpose | str,
    *,
    address: str,
    settings: SmsSettings,
    message_kind: str = CODE_KIND,
) -> VerificationCode:
    """Make a new code for `phone` and `purpose`, asked for from client `address`, and send it
    by SMS with the message `message_kind` after the unit of work commits (in the caller's
    unit, or in one of its own). Raises TooManyCodes when a limit is reached, DomainError for
    a number that is not a mainland mobile number.

    `message_kind` sends another template instead: registration sends "account_exists" to a
    number that already has an account, so that the answer, the rows written and the limits
    are the same whether or not it has one (the code made then is sent to nobody)."""
    phone = normalize_phone(phone)
    purpose = CodePurpose(purpose)
    address = (address or "unknown")[:ADDRESS_LENGTH]
    with unit_of_work(session):
        _serialise(session, phone, address)
        now = utcnow()
        _check_limits(session, phone, address, now, settings)
        code = f"{secrets.randbelow(10**6):06d}"
        row = VerificationCode(
            phone=phone,
            purpose=purpose,
            digest=_digest(settings, phone, purpose, code),
            expires_at=now + settings.code_lifetime,
            tries=0,
            address=address,
            created_at=now,
        )
        session.add(row)
        minutes = max(1, round(settings.code_lifetime.total_seconds() / 60))
        message = send(session, phone, message_kind, {"code": code, "minutes": minutes}, settings)
        row.message_id = message.id
        session.flush()
    return row


def check_code(
    session, phone: str, purpose: CodePurpose | str, code: str, settings: SmsSettings
) -> bool:
    """True once for the right code: the newest code sent to `phone` for `purpose`, not yet
    used, not expired, within its tries; it is then used up. False otherwise (a wrong code
    uses one try). Joins the caller's unit of work; the try stays counted if that unit rolls
    back (the use does not: the action it unlocked did not happen)."""
    try:
        phone = normalize_phone(phone)
    except DomainError:
        return False
    purpose = CodePurpose(purpose)
    given = "".join(unicodedata.normalize("NFKC", code or "").split())  # full-width, spaces
    with unit_of_work(session) as unit:
        now = utcnow()
        row = session.execute(
            select(
                VerificationCode.id,
                VerificationCode.digest,
                VerificationCode.expires_at,
                VerificationCode.tries,
                VerificationCode.used_at,
            )
            .where(VerificationCode.phone == phone, VerificationCode.purpose == purpose)
            .order_by(VerificationCode.created_at.desc(), VerificationCode.id.desc())
            .limit(1)
        ).first()
        expected = _digest(settings, phone, purpose, given)  # computed whatever the row says
        if row is None or row.used_at is not None or row.expires_at <= now:
            return False
        if not _count_try(session, row.id, settings):
            return False
        unit.after_rollback(lambda: _recount_try(session, row.id, settings))
        if not hmac.compare_digest(row.digest, expected):
            return False
        used = session.execute(
            update(VerificationCode)
            .where(VerificationCode.id == row.id, VerificationCode.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        return used == 1


def _count_try(session, code_id: int, settings: SmsSettings) -> bool:
    """Use one try of a code that has tries left and is unused; False if it had none."""
    return (
        session.execute(
            update(VerificationCode)
            .where(
                VerificationCode.id == code_id,
                VerificationCode.tries < settings.code_tries,
                VerificationCode.used_at.is_(None),
            )
            .values(tries=VerificationCode.tries + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )


def _recount_try(session, code_id: int, settings: SmsSettings) -> None:
    # The caller's unit rolled back with the try in it: count it again, in a unit of its own.
    with unit_of_work(session):
        _count_try(session, code_id, settings)


def _digest(settings: SmsSettings, phone: str, purpose: CodePurpose, code: str) -> str:
    message = f"{purpose.value}:{phone}:{code}".encode()
    return hmac.new(settings.code_key, message, hashlib.sha256).hexdigest()


def _serialise(session, phone: str, address: str) -> None:
    """On PostgreSQL, hold transaction-scoped advisory locks on the number, then the address
    (always in that order: no deadlock), so that two requests cannot both count the rows
    before either inserts. SQLite's unit already holds the database's write lock."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for namespace, value in ((1, phone), (2, address)):
        key = int.from_bytes(hashlib.sha256(value.encode()).digest()[:4], "big", signed=True)
        session.execute(
            text(
                "SELECT pg_advisory_xact_lock(CAST(:namespace AS integer), CAST(:key AS integer))"
            ),
            {"namespace": 0x534D5300 + namespace, "key": key},
        )


def _nth_newest(session, column, value, since: datetime, n: int) -> datetime | None:
    """When the `n`th newest code row for `column == value` since `since` was made, if any."""
    return session.scalar(
        select(VerificationCode.created_at)
        .where(column == value, VerificationCode.created_at > since)
        .order_by(VerificationCode.created_at.desc())
        .offset(n - 1)
        .limit(1)
    )


def _check_limits(session, phone: str, address: str, now: datetime, settings) -> None:
    last = session.scalar(
        select(func.max(VerificationCode.created_at)).where(VerificationCode.phone == phone)
    )
    if last is not None and now < last + settings.number_interval:
        seconds = math.ceil((last + settings.number_interval - now).total_seconds())
        raise TooManyCodes(
            _l(
                "A code was sent to this number just now. You can ask for another in "
                "%(seconds)d seconds."
            ),
            field="phone",
            retry_after=seconds,
            seconds=seconds,
        )
    oldest = _nth_newest(session, VerificationCode.phone, phone, now - HOUR, settings.number_hourly)
    if oldest is not None:
        raise _hourly_refusal(
            _l(
                "Too many codes were sent to this number in the last hour. You can ask for a "
                "new one at %(time)s (in %(minutes)d minutes)."
            ),
            oldest + HOUR,
            now,
            field="phone",
        )
    oldest = _nth_newest(
        session, VerificationCode.address, address, now - HOUR, settings.address_hourly
    )
    if oldest is not None:
        raise _hourly_refusal(
            _l(
                "Too many codes were asked for from your network in the last hour. You can ask "
                "again at %(time)s (in %(minutes)d minutes)."
            ),
            oldest + HOUR,
            now,
        )


def _hourly_refusal(message, free_at: datetime, now: datetime, field=None) -> TooManyCodes:
    seconds = max(1, math.ceil((free_at - now).total_seconds()))
    return TooManyCodes(
        message,
        field=field,
        retry_after=seconds,
        time=local(free_at).strftime("%H:%M"),
        minutes=max(1, math.ceil(seconds / 60)),
    )
