"""How far a message got by each channel, as the recipient reads it in the inbox ("已短信发送
10:02", "将在 07:00 后发送（免打扰）") and as the inbox API returns it ({channel, status, at}).
One reading of a delivery row for the page and the API."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from flask_babel import gettext

from app import clock
from app.i18n import N_, human
from app.notifications.models import Channel, Delivery, DeliveryStatus

# A first attempt planned this much after the message was written waited for quiet hours.
QUIET_SLACK = timedelta(minutes=1)

CHANNEL_NAMES = {
    Channel.SMS: N_("SMS"),
    Channel.EMAIL: N_("E-mail"),
    Channel.PUSH: N_("Push"),
}

DONE = {
    (Channel.SMS, DeliveryStatus.SENT): N_("Sent by text message %(time)s"),
    (Channel.SMS, DeliveryStatus.DELIVERED): N_("Text message delivered %(time)s"),
    (Channel.SMS, DeliveryStatus.FAILED): N_("Text message not sent: %(reason)s"),
    (Channel.EMAIL, DeliveryStatus.SENT): N_("Sent by e-mail %(time)s"),
    (Channel.EMAIL, DeliveryStatus.DELIVERED): N_("E-mail delivered %(time)s"),
    (Channel.EMAIL, DeliveryStatus.FAILED): N_("E-mail not sent: %(reason)s"),
    (Channel.PUSH, DeliveryStatus.SENT): N_("Push notification sent %(time)s"),
    (Channel.PUSH, DeliveryStatus.DELIVERED): N_("Push notification delivered %(time)s"),
    (Channel.PUSH, DeliveryStatus.FAILED): N_("Push notification not sent: %(reason)s"),
}
STORED = N_("%(channel)s kept in the development outbox %(time)s (nothing was sent)")
QUIET = N_("%(channel)s: will be sent after %(time)s (quiet hours)")
RETRYING = N_("%(channel)s: not sent yet, trying again at %(time)s")
SENDING = N_("%(channel)s: being sent")
# What a resident reads when a channel gave up: the provider's own error ("push service
# refused it: 400") means nothing to them and is shown to administrators only.
FAILED_PLAIN = N_("%(channel)s: could not be sent")
# The API's `reason` for a resident: the same plain words, without the channel's name.
REASON_FAILED = N_("could not be sent")
REASON_RETRYING = N_("not sent yet, trying again")


def plain(state: DeliveryState) -> DeliveryState:
    """`state` with its provider error replaced by a plain reason in the current language, for
    anyone but an administrator."""
    if not state.reason:
        return state
    words = REASON_FAILED if state.status == DeliveryStatus.FAILED else REASON_RETRYING
    return replace(state, reason=gettext(words))


@dataclass(frozen=True)
class DeliveryState:
    channel: Channel
    status: DeliveryStatus
    at: datetime | None  # when it got there; for a message still waiting, when it goes
    reason: str | None = None  # why it failed, or why the last try failed
    quiet: bool = False  # waiting for the person's quiet hours to end


def state_of(delivery: Delivery) -> DeliveryState:
    status = delivery.status
    if status == DeliveryStatus.DELIVERED:
        at = delivery.delivered_at
    elif status in (DeliveryStatus.SENT, DeliveryStatus.STORED):
        at = delivery.sent_at
    elif status == DeliveryStatus.SENDING:
        at = delivery.claimed_at
    else:  # queued: when it goes; failed: the dispatcher records the time it gave up there
        at = delivery.next_attempt_at
    quiet = (
        status == DeliveryStatus.QUEUED
        and delivery.attempts == 0
        and delivery.next_attempt_at > delivery.created_at + QUIET_SLACK
    )
    reason = delivery.error if status in (DeliveryStatus.FAILED, DeliveryStatus.QUEUED) else None
    return DeliveryState(delivery.channel, status, at, reason, quiet)


def states_of(note) -> list[DeliveryState]:
    """Every channel's state of one inbox message, SMS first, then e-mail, then push."""
    order = list(Channel)
    rows = sorted(note.deliveries, key=lambda d: (order.index(d.channel), d.id or 0))
    return [state_of(row) for row in rows]


def _when(at: datetime | None, *, clock_time: bool = False) -> str:
    """10:02 today (local time), or `clock_time`; the date and time on another day."""
    if at is None:
        return ""
    same_day = clock.local(at).date() == clock.local(clock.now()).date()
    return human(at, "HH:mm" if same_day or clock_time else "short")


def describe(state: DeliveryState, *, detail: bool = False) -> str:
    """The state as one sentence in the current language; a failure's raw provider error only
    with `detail` (for administrators), else a plain "could not be sent"."""
    # Quiet hours end within a day: their end reads as a time of day ("after 07:00").
    time = _when(state.at, clock_time=state.quiet)
    channel = gettext(CHANNEL_NAMES[state.channel])
    if state.status == DeliveryStatus.STORED:
        return gettext(STORED, channel=channel, time=time)
    if state.status == DeliveryStatus.QUEUED:
        if state.quiet:
            return gettext(QUIET, channel=channel, time=time)
        if state.reason:
            return gettext(RETRYING, channel=channel, time=time)
        return gettext(SENDING, channel=channel)
    if state.status == DeliveryStatus.SENDING:
        return gettext(SENDING, channel=channel)
    if state.status == DeliveryStatus.FAILED and not detail:
        return gettext(FAILED_PLAIN, channel=channel)
    return gettext(DONE[state.channel, state.status], time=time, reason=state.reason or "")
