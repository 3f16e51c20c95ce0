"""A person's notification settings: which channels each category of messages goes by, their
quiet hours, and their e-mail address, confirmed by a link before anything is mailed to it.

Guarantees:
- `save_settings` writes every category's choice and the quiet hours in one unit of work, or
  nothing (a wrong time refuses the whole answer, naming the field); in the same unit, messages
  held back by the old quiet hours are re-planned for the new ones (or sent now).
- An address is confirmed only by a link signed for that account and that address
  (itsdangerous, salted, expiring): a changed address is unconfirmed at once, and a link sent
  to the old one no longer works. Planning (planning.py) mails only confirmed addresses.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, select

from app import clock
from app.accounts.models import DisplayMode, User
from app.audit.services import record
from app.db import unit_of_work
from app.errors import DomainError
from app.notifications.kinds import CATEGORIES, Category, category_of, default_channels
from app.notifications.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationPreference,
)
from app.notifications.planning import quiet_until

CONFIRM_SALT = "notifications.email-confirm"  # tokens for nothing else open nothing here
EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
MAX_EMAIL = 254  # RFC 5321's limit, and the column's


@dataclass(frozen=True)
class AddressSettings:
    secret: str  # SECRET_KEY: signs the confirmation links
    confirm_hours: float  # how long a confirmation link works
    mail_enabled: bool  # MAIL_SERVER is set: without it no address is asked for

    @classmethod
    def from_config(cls, config: Mapping) -> AddressSettings:
        return cls(
            secret=str(config["SECRET_KEY"]),
            confirm_hours=float(config.get("EMAIL_CONFIRM_HOURS", 48)),
            mail_enabled=bool(str(config.get("MAIL_SERVER") or "").strip()),
        )


# --- Channels per category and quiet hours ---------------------------------------------------


# Categories only staff receive: a resident is not asked about them.
STAFF_CATEGORIES = frozenset({Category.REPAIR_ALERTS, Category.VENUE_REQUESTS})


def categories_for(user: User) -> list[Category]:
    """The categories `user` chooses channels for on their settings page."""
    return [c for c in CATEGORIES if user.is_staff or c not in STAFF_CATEGORIES]


def effective_channels(session, user: User) -> dict[Category, dict[Channel, bool]]:
    """What each category goes by for `user` now: their saved choice, or the defaults (SMS
    for everything in elderly mode)."""
    saved = {
        pref.category: pref
        for pref in session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user.id)
        )
    }
    elderly = user.display_mode == DisplayMode.ELDERLY
    result = {}
    for category in CATEGORIES:
        pref = saved.get(category.value)
        result[category] = (
            default_channels(category, elderly=elderly)
            if pref is None
            else {Channel.SMS: pref.sms, Channel.EMAIL: pref.email, Channel.PUSH: pref.push}
        )
    return result


def parse_time(text: str | None) -> int | None:
    """Minutes after midnight for "22:00", "7:30" or "２２：００" (full-width, as a Chinese
    input method types it); "24:00" is midnight. None when it is not such a time."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not match:
        return None
    hours, minutes = int(match[1]), int(match[2])
    if hours > 24 or minutes > 59 or (hours == 24 and minutes):
        return None
    return (hours * 60 + minutes) % (24 * 60)


TIME_MESSAGES = {
    "quiet_from": _l("Enter the time quiet hours start as hours and minutes, like 22:00"),
    "quiet_until": _l("Enter the time quiet hours end as hours and minutes, like 07:00"),
}


def time_error(field: str, text: str | None) -> DomainError | None:
    """The refusal of `text` as the time in `field` (quiet_from or quiet_until), or None."""
    if parse_time(text) is None:
        return DomainError(TIME_MESSAGES[field], field=field, code="invalid_time")
    return None


def save_settings(
    session,
    user: User,
    *,
    channels: Mapping[Category, Mapping[Channel, bool]],
    quiet_hours: bool,
    quiet_from: str | None,
    quiet_until: str | None,
) -> None:
    """Save `user`'s channels for every category (a category left out keeps what it had) and
    their quiet hours, in one unit of work. Quiet hours that are on need two valid, different
    times; when off, times that do not parse are ignored and the saved ones kept. Messages
    held back by the old quiet hours are re-planned for the new ones in the same unit."""
    start, end = parse_time(quiet_from), parse_time(quiet_until)
    if quiet_hours:
        for field, text in (("quiet_from", quiet_from), ("quiet_until", quiet_until)):
            if (error := time_error(field, text)) is not None:
                raise error
        if start == end:
            raise DomainError(
                _l("Quiet hours must end at a different time from when they start"),
                field="quiet_until",
                code="invalid_time",
            )
    with unit_of_work(session):
        user = session.get(User, user.id)
        saved = {
            pref.category: pref
            for pref in session.scalars(
                select(NotificationPreference).where(NotificationPreference.user_id == user.id)
            )
        }
        for category, chosen in channels.items():
            pref = saved.get(category.value)
            if pref is None:
                pref = NotificationPreference(user_id=user.id, category=category.value)
                session.add(pref)
            pref.sms = bool(chosen.get(Channel.SMS))
            pref.email = bool(chosen.get(Channel.EMAIL))
            pref.push = bool(chosen.get(Channel.PUSH))
        user.quiet_hours = bool(quiet_hours)
        if start is not None and end is not None and start != end:
            user.quiet_from, user.quiet_until = start, end
        _replan_held(session, user)
        record(session, user, "notifications.settings", user, quiet_hours=bool(quiet_hours))


def _replan_held(session, user: User) -> int:
    """Move the person's held messages to the quiet hours they have now: each QUEUED,
    never-tried, non-urgent delivery due later than now (held by the old quiet hours) becomes
    due when the new ones end, or now when now is outside them (or they are off). A retry's
    backoff (attempts > 0) and urgent messages are left alone. Returns how many moved."""
    now = clock.now()
    held = session.execute(
        select(Delivery, Notification.kind)
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(
            Delivery.user_id == user.id,
            Delivery.status == DeliveryStatus.QUEUED,
            Delivery.attempts == 0,
            Delivery.next_attempt_at > now,
        )
    ).all()
    due = now
    if user.quiet_hours:
        due = quiet_until(now, user.quiet_from, user.quiet_until) or now
    moved = 0
    for delivery, kind in held:
        category = category_of(kind)
        if category is not None and CATEGORIES[category].urgent:
            continue
        if delivery.next_attempt_at != due:
            delivery.next_attempt_at = due
            moved += 1
    session.flush()
    return moved


# --- The e-mail address ----------------------------------------------------------------------


def normalize_email(text: str | None) -> str:
    """The address as stored: trimmed, its domain in lower case; "" for none. Refuses one that
    is not an address (DomainError on the field `email`)."""
    address = unicodedata.normalize("NFKC", text or "").strip()
    if not address:
        return ""
    if len(address) > MAX_EMAIL or not EMAIL_RE.match(address):
        raise DomainError(
            _l("Enter an e-mail address like name@example.com"), field="email", code="invalid_email"
        )
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def _serializer(settings: AddressSettings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret, salt=CONFIRM_SALT)


def confirmation_token(settings: AddressSettings, user_id: int, address: str) -> str:
    """A link's token that confirms `address` for `user_id` only, for confirm_hours."""
    return _serializer(settings).dumps({"user": user_id, "email": address})


def set_email(session, user: User, text: str | None, settings: AddressSettings) -> str | None:
    """Make `text` the person's address, unconfirmed (blank removes it). Returns the token for
    the confirmation link to send to the new address; None when there is nothing to confirm
    (removed, or the same confirmed address again)."""
    if not settings.mail_enabled:
        raise DomainError(_l("This portal does not send e-mail."), code="mail_off")
    address = normalize_email(text)
    with unit_of_work(session):
        user = session.get(User, user.id)
        if address == (user.email or "") and (user.email_confirmed_at or not address):
            return None
        if address != (user.email or ""):
            record(session, user, "notifications.email_set", user, removed=not address)
        user.email = address or None
        user.email_confirmed_at = None
    return confirmation_token(settings, user.id, address) if address else None


def resend_token(user: User, settings: AddressSettings) -> str:
    """A new confirmation token for the person's unconfirmed address."""
    if not settings.mail_enabled:
        raise DomainError(_l("This portal does not send e-mail."), code="mail_off")
    if not user.email or user.email_confirmed_at is not None:
        raise DomainError(_l("There is no address waiting to be confirmed."), code="no_address")
    return confirmation_token(settings, user.id, user.email)


def confirm_email(session, user: User, token: str, settings: AddressSettings) -> str:
    """Confirm the address the link was made for, if it is still `user`'s; the address.
    Refuses a link that was altered, has expired, is another account's, or is for an address
    the person has since changed (each with its own message)."""
    try:
        claim = _serializer(settings).loads(token, max_age=int(settings.confirm_hours * 3600))
    except SignatureExpired:
        raise DomainError(
            _l("This link has expired. Ask for a new one below."), code="link_expired"
        ) from None
    except BadSignature:
        raise DomainError(
            _l("This link is not valid. Check that you copied all of it, or ask for a new one."),
            code="link_invalid",
        ) from None
    if not isinstance(claim, dict) or claim.get("user") != user.id:
        raise DomainError(
            _l("This link is for another account. Sign in as the person it was sent to."),
            code="link_other_account",
        )
    with unit_of_work(session):
        user = session.get(User, user.id)
        if claim.get("email") != user.email:
            raise DomainError(
                _l("This link is for an address that is no longer yours on this portal."),
                code="link_old_address",
            )
        if user.email_confirmed_at is None:
            user.email_confirmed_at = clock.now()
            record(session, user, "notifications.email_confirmed", user)
    return user.email


# --- "My data" and closing the account -------------------------------------------------------


def export_personal_data(session, user: User) -> dict:
    """The person's e-mail address, quiet hours and channel choices, for "my data"."""
    return {
        "email": user.email,
        "email_confirmed_at": user.email_confirmed_at.isoformat()
        if user.email_confirmed_at
        else None,
        "quiet_hours": {
            "on": user.quiet_hours,
            "from": clock.hhmm(user.quiet_from),
            "until": clock.hhmm(user.quiet_until),
        },
        "channels": {
            category.value: {channel.value: on for channel, on in chosen.items()}
            for category, chosen in effective_channels(session, user).items()
        },
    }


def erase_personal_data(session, user: User) -> dict:
    """Closing the account (in its unit of work): the address forgotten, the choices removed."""
    removed = session.execute(
        delete(NotificationPreference).where(NotificationPreference.user_id == user.id)
    ).rowcount
    had_email = user.email is not None
    user.email, user.email_confirmed_at = None, None
    return {"email_addresses": int(had_email), "notification_preferences": removed}
