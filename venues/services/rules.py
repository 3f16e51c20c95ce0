"""Who may hold places at a venue, and the settings those rules read: one rule of eligibility
(suspension, per-day and per-week limits) for booking, joining the waitlist, being offered places
and accepting an offer, and the checks a booking passes inside its transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app import clock
from app.errors import Conflict, DomainError, Forbidden
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
            no_shows=NoShowPolicy.from_config(
                config, "VENUE", kind=SUSPENSION_KIND, resource_kinds=("venue",)
            ),
            hotline=config["PORTAL_HOTLINE"],
        )


active_suspension = partial(engine.active_suspension, kind=SUSPENSION_KIND)


def _count_bookings(
    session,
    holder_id: int,
    venue: Venue,
    start: datetime,
    end: datetime,
    excluding: int | None = None,
) -> int:
    query = (
        select(func.count(Booking.id))
        .join(Space, Space.resource_id == Booking.resource_id)
        .where(
            Booking.holder_id == holder_id,
            Space.venue_id == venue.id,
            Booking.status.in_(HOLDING),
            Booking.starts_at >= start,
            Booking.starts_at < end,
        )
    )
    if excluding is not None:
        query = query.where(Booking.id != excluding)
    return session.scalar(query) or 0


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
                code="suspended",
                until=format_datetime(self.until, "short"),
                count=settings.no_shows.limit,
                days=settings.no_shows.window_days,
                hotline=settings.hotline,
            )
        if self.code == "daily_limit":
            message = _l(
                "You already have %(n)d bookings at this venue that day, the most it allows."
            )
        else:
            message = _l(
                "You already have %(n)d bookings at this venue that week, the most it allows."
            )
        return Conflict(message, code=self.code, n=self.limit)


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
    day = clock.local(starts_at).date()
    day_start, day_end = clock.day_bounds(day)
    if (
        _count_bookings(session, holder_id, venue, day_start, day_end, excluding)
        >= venue.max_per_day
    ):
        return Ineligible("daily_limit", limit=venue.max_per_day)
    week_start = day_start - timedelta(days=day.weekday())
    if (
        _count_bookings(
            session, holder_id, venue, week_start, week_start + timedelta(days=7), excluding
        )
        >= venue.max_per_week
    ):
        return Ineligible("weekly_limit", limit=venue.max_per_week)
    return None


def check_rules(
    session, venue: Venue, holder_id: int, starts_at: datetime, settings: VenueSettings
) -> None:
    """Refuse with a clear message anything the venue's rules do not allow. Runs inside the
    booking transaction (after the holder's row is locked)."""
    now = clock.now()
    if starts_at <= now:
        raise DomainError(
            _l("That time has already started. Choose a later time."), code="too_late"
        )
    day = clock.local(starts_at).date()
    opens = booking_opens_at(venue, day)
    if now < opens:
        raise DomainError(
            _l("Booking for this day opens at %(when)s."),
            code="not_open_yet",
            when=format_datetime(opens, "short"),
        )
    problem = ineligibility(session, venue, holder_id, starts_at)
    if problem is not None:
        raise problem.error(settings)
