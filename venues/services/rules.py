"""Who may hold places at a venue, and the settings those rules read: one rule of eligibility
(suspension, per-day and per-week limits) for booking, joining the waitlist, being offered places
and accepting an offer, and the checks a booking passes inside its transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _ln
from sqlalchemy import and_, bindparam, case, func, select

from app import clock
from app.errors import Conflict, DomainError, Forbidden
from app.i18n import N_, human_datetime
from app.notifications.params import counted, when
from app.notifications.services import notify
from bookings import services as engine
from bookings.models import HOLDING, Booking
from bookings.noshows import NoShowPolicy
from venues.models import Space, Venue
from venues.services.catalogue import booking_opens_at

SUSPENSION_KIND = "venue"


@dataclass(frozen=True)
class VenueSettings:
    """What venue booking reads from the app's configuration, built by the view, API or command
    that calls a service (services read no Flask globals): the no-show policy
    (VENUE_NO_SHOW_LIMIT, VENUE_NO_SHOW_WINDOW_DAYS, VENUE_SUSPENSION_DAYS) and the citizen
    hotline a suspended person may call (PORTAL_HOTLINE)."""

    no_shows: NoShowPolicy
    hotline: str

    @classmethod
    def from_config(cls, config: Mapping) -> VenueSettings:
        return cls(
            # A cancellation after the free cut-off counts as a no-show (`late_to_cancel`).
            no_shows=NoShowPolicy.from_config(
                config,
                "VENUE",
                kind=SUSPENSION_KIND,
                resource_kinds=("venue",),
                count_late_cancellations=True,
            ),
            hotline=config["PORTAL_HOTLINE"],
        )


active_suspension = partial(engine.active_suspension, kind=SUSPENSION_KIND)


def _counts_statement(excluding: bool):
    """How many places-holding bookings a person has at a venue on one local day and in its
    week: one statement, two counts. Parameters: holder, venue, day_start, day_end, week_start,
    week_end (and excluding: a booking left out)."""
    booking, space = Booking.__table__, Space.__table__
    starts = booking.c.starts_at
    in_day = and_(starts >= bindparam("day_start"), starts < bindparam("day_end"))
    query = (
        select(func.count(case((in_day, 1))), func.count(booking.c.id))
        .select_from(booking.join(space, space.c.resource_id == booking.c.resource_id))
        .where(
            booking.c.holder_id == bindparam("holder"),
            space.c.venue_id == bindparam("venue"),
            booking.c.status.in_(HOLDING),
            starts >= bindparam("week_start"),
            starts < bindparam("week_end"),
        )
    )
    return query.where(booking.c.id != bindparam("excluding")) if excluding else query


# Built once: the statement is the same for every booking, only its parameters change.
COUNTS = _counts_statement(excluding=False)
COUNTS_EXCLUDING = _counts_statement(excluding=True)


def count_parameters(holder_id: int, venue_id: int, starts_at: datetime) -> dict:
    """The parameters of COUNTS for the local day of `starts_at` and its week (Monday on)."""
    day = clock.local(starts_at).date()
    day_start, day_end = clock.day_bounds(day)
    week_start = day_start - timedelta(days=day.weekday())
    return {
        "holder": holder_id,
        "venue": venue_id,
        "day_start": day_start,
        "day_end": day_end,
        "week_start": week_start,
        "week_end": week_start + timedelta(days=7),
    }


@dataclass(frozen=True)
class Ineligible:
    """Why a person may not hold places at a venue on a day: `code` is "suspended" (until
    `until`), "daily_limit" or "weekly_limit" (`limit` reached)."""

    code: str
    until: datetime | None = None
    limit: int | None = None

    def error(self, settings: VenueSettings) -> DomainError:
        """The refusal as told to the person."""
        if self.code == "suspended":
            return Forbidden(
                _l(
                    "You cannot book until %(until)s because you did not come to %(count)s "
                    "bookings within %(days)s days. Call %(hotline)s if this is wrong."
                ),
                theirs=_l(
                    "This resident cannot book until %(until)s because they did not come to "
                    "%(count)s bookings within %(days)s days. Call %(hotline)s if this is wrong."
                ),
                code="suspended",
                until=human_datetime(self.until),
                count=settings.no_shows.limit,
                days=settings.no_shows.window_days,
                hotline=settings.hotline,
            )
        # In English, "1 booking" and "2 bookings" (the limit may be 1).
        if self.code == "daily_limit":
            message = _ln(
                "You already have %(num)d booking at this venue that day, the most it allows.",
                "You already have %(num)d bookings at this venue that day, the most it allows.",
                self.limit,
            )
            theirs = _ln(
                "This resident already has %(num)d booking at this venue that day, the most "
                "it allows.",
                "This resident already has %(num)d bookings at this venue that day, the most "
                "it allows.",
                self.limit,
            )
        else:
            message = _ln(
                "You already have %(num)d booking at this venue that week, the most it allows.",
                "You already have %(num)d bookings at this venue that week, the most it allows.",
                self.limit,
            )
            theirs = _ln(
                "This resident already has %(num)d booking at this venue that week, the most "
                "it allows.",
                "This resident already has %(num)d bookings at this venue that week, the most "
                "it allows.",
                self.limit,
            )
        return Conflict(message, code=self.code, theirs=theirs)


def ineligibility(
    session, venue: Venue, holder_id: int, starts_at: datetime, *, excluding: int | None = None
) -> Ineligible | None:
    """The one rule of who may hold places at `venue` on the day of `starts_at`, however they
    come to them (booking, joining the waitlist, being offered places, accepting an offer): not
    suspended from venue booking, and under the venue's per-day and per-week limits. Returns why
    not, or None when eligible. `excluding` leaves one booking out of the counts (the offer
    being accepted)."""
    suspension = active_suspension(session, holder_id)
    if suspension is not None:
        return Ineligible("suspended", until=suspension.until)
    parameters = count_parameters(holder_id, venue.id, starts_at)
    if excluding is not None:
        counts = session.execute(COUNTS_EXCLUDING, {**parameters, "excluding": excluding}).one()
    else:
        counts = session.execute(COUNTS, parameters).one()
    return over_limits(venue, *counts)


def over_limits(venue, day_count: int, week_count: int) -> Ineligible | None:
    """The limits part of `ineligibility`, on counts already read (COUNTS, after the holder's
    row is locked): the venue's per-day limit, then its per-week limit. `venue` is anything
    with `max_per_day` and `max_per_week`."""
    if day_count >= venue.max_per_day:
        return Ineligible("daily_limit", limit=venue.max_per_day)
    if week_count >= venue.max_per_week:
        return Ineligible("weekly_limit", limit=venue.max_per_week)
    return None


class AlreadyBooked(Conflict):
    """The person already holds a live booking (waiting for approval, offered, confirmed or
    checked in) of this slot, or of an overlapping time of the same whole space: one booking per
    person per slot. `reference` names it, for the page's link to change its party size and the
    API's body."""

    code = "already_booked"

    def __init__(self, reference: str):
        super().__init__(
            _l("You have already booked this time (booking %(ref)s)."),
            theirs=_l("This resident already has a booking for this time (booking %(ref)s)."),
            ref=reference,
        )
        self.reference = reference


def held_statement(holder, resource, starts_at, ends_at, excluding=None):
    """SQL: the reference of `holder`'s live booking (`HOLDING`) of `resource` overlapping
    [starts_at, ends_at), or NULL; a scalar for a caller's statement (placing reads it with its
    counts, after the holder's row is locked). Values or bound parameters. A general slot's
    buckets never overlap, so for one it is "the same slot"."""
    live = Booking.__table__.alias("held")
    query = (
        select(live.c.reference)
        .where(
            live.c.holder_id == holder,
            live.c.resource_id == resource,
            live.c.status.in_(HOLDING),
            live.c.starts_at < ends_at,
            live.c.ends_at > starts_at,
        )
        .order_by(live.c.id)
        .limit(1)
    )
    if excluding is not None:
        query = query.where(live.c.id != excluding)
    return query.scalar_subquery()


def already_booked(
    session,
    holder_id: int,
    resource_id: int,
    starts_at: datetime,
    ends_at: datetime,
    *,
    excluding: int | None = None,
) -> Booking | None:
    """The one-booking-per-person-per-slot rule: the live booking `holder_id` already holds of
    `resource_id` at a time overlapping [starts_at, ends_at) (the same slot of a general space,
    an overlapping span of a whole space), or None. `excluding` leaves one booking out (the
    offer being accepted). Decided under the holder's row lock when booking (`placing.place`),
    joining the waitlist or accepting an offer, so one person's parallel requests cannot both
    pass it; the pages also ask it before showing the confirm button."""
    reference = session.scalar(
        select(held_statement(holder_id, resource_id, starts_at, ends_at, excluding))
    )
    if reference is None:
        return None
    return session.scalar(select(Booking).where(Booking.reference == reference))


def late_to_cancel(venue, starts_at: datetime) -> bool:
    """Has the free cancellation time of a booking starting at `starts_at` passed (the venue's
    `cancel_cutoff_minutes` before the start)? After it, cancelling counts as a no-show
    (`booking.cancellation_cost`): the booking pages say so before the person books."""
    return clock.now() > starts_at - timedelta(minutes=venue.cancel_cutoff_minutes)


@dataclass(frozen=True)
class CancellationCost:
    """What a late cancellation costs: it would be the person's no-show number `count` within
    `window_days` days; at `limit`, booking pauses for `suspension_days` days."""

    count: int
    limit: int
    window_days: int
    suspension_days: int

    @property
    def suspends(self) -> bool:
        return self.count >= self.limit


def tell_suspended(session, user_id: int, until: datetime, count: int, policy) -> None:
    """The person's message that venue booking is paused (a no-show or a late cancellation
    reached the limit), in the caller's unit of work. The same kind and words as the sweep's."""
    notify(
        session,
        user_id,
        kind="venue.suspended",
        subject=N_("Venue booking is paused for you until %(until)s"),
        body=N_(
            "You did not come to %(bookings)s within %(window)s without cancelling. "
            "You can book again from %(until)s."
        ),
        params={
            "until": when(until),
            "count": count,
            "days": policy.window_days,
            # In the reader's plural form when read (never "1 bookings", "1 days").
            "bookings": counted(count, "%(num)d booking", "%(num)d bookings"),
            "window": counted(policy.window_days, "%(num)d day", "%(num)d days"),
        },
        link="/bookings",
    )


def timing_refusal(venue, starts_at: datetime) -> DomainError | None:
    """Why a booking for `starts_at` cannot be made now, whoever asks: the time has started,
    or booking for its day has not opened yet (`booking_opens_at`). `venue` is anything with
    `opens_days_ahead` and `opens_at_minutes`."""
    now = clock.now()
    if starts_at <= now:
        return DomainError(
            _l("That time has already started. Choose a later time."), code="too_late"
        )
    opens = booking_opens_at(venue, clock.local(starts_at).date())
    if now < opens:
        return DomainError(
            _l("Booking for this day opens at %(when)s."),
            code="not_open_yet",
            when=human_datetime(opens),
        )
    return None
