"""Who gets a message by which channel, decided when it is written (`notify`): the person's
preferences for the message's category (or the defaults), the addresses that are theirs (a
phone number proven by a code, an e-mail address confirmed by a link, browsers that
subscribed), and their quiet hours, which hold back anything not urgent until they end."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from app import clock
from app.accounts.models import DisplayMode, User
from app.notifications.kinds import CATEGORIES, Category, category_of, default_channels
from app.notifications.models import Channel, NotificationPreference, PushSubscription

DAY = 24 * 60


def in_quiet_hours(minute: int, start: int, end: int) -> bool:
    """Is local `minute` (after midnight) inside the window start..end, which may span
    midnight (22:00-07:00)? An empty window (start == end) never is."""
    if start == end:
        return False
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end


def quiet_until(now: datetime, start: int, end: int) -> datetime | None:
    """When the quiet hours around `now` end (an aware instant), or None outside them."""
    local = clock.local(now)
    minute = local.hour * 60 + local.minute
    if not in_quiet_hours(minute, start, end):
        return None
    day = local.date() if minute < end else local.date() + timedelta(days=1)
    return clock.at(day, end)


def _recipient(session, user_id: int, category: Category):
    """The person's contact details and quiet hours, with their preference row for
    `category` (None when they chose nothing): one statement."""
    return session.execute(
        select(
            User.display_mode,
            User.active,
            User.deleted_at,
            User.phone,
            User.phone_verified_at,
            User.email,
            User.email_confirmed_at,
            User.quiet_hours,
            User.quiet_from,
            User.quiet_until,
            NotificationPreference,
        )
        .outerjoin(
            NotificationPreference,
            (NotificationPreference.user_id == User.id)
            & (NotificationPreference.category == category.value),
        )
        .where(User.id == user_id)
    ).one_or_none()


def chosen_channels(user, category: Category) -> dict[Channel, bool]:
    """The channels a person receives `category` by: their own choice, or the defaults."""
    pref = user.NotificationPreference
    if pref is None:
        return default_channels(category, elderly=user.display_mode == DisplayMode.ELDERLY)
    return {Channel.SMS: pref.sms, Channel.EMAIL: pref.email, Channel.PUSH: pref.push}


def plan(session, user_id: int, kind: str, now: datetime) -> list[dict]:
    """The delivery rows (without the notification's id) for a message of `kind` to
    `user_id`: one per chosen channel with an address that is the person's own (a closed or
    deactivated account gets none); none for a kind that stays in the inbox."""
    category = category_of(kind)
    if category is None:
        return []
    user = _recipient(session, user_id, category)
    if user is None or not user.active or user.deleted_at is not None:
        return []
    chosen = chosen_channels(user, category)
    addresses: list[tuple[Channel, str]] = []
    if chosen[Channel.SMS] and user.phone and user.phone_verified_at is not None:
        addresses.append((Channel.SMS, user.phone))
    if chosen[Channel.EMAIL] and user.email and user.email_confirmed_at is not None:
        addresses.append((Channel.EMAIL, user.email))
    if chosen[Channel.PUSH]:
        subscriptions = session.scalars(
            select(PushSubscription.id).where(
                PushSubscription.user_id == user_id, PushSubscription.gone_at.is_(None)
            )
        )
        addresses.extend((Channel.PUSH, str(sub)) for sub in subscriptions)
    if not addresses:
        return []
    due = now
    if user.quiet_hours and not CATEGORIES[category].urgent:
        due = quiet_until(now, user.quiet_from, user.quiet_until) or now
    return [
        {"user_id": user_id, "channel": channel, "address": address, "next_attempt_at": due}
        for channel, address in addresses
    ]
