"""Venue catalogue, availability and slot materialisation."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, case, delete, exists, func, or_, select, update
from sqlalchemy.orm import joinedload

from app import clock
from app.db import unit_of_work
from app.i18n import N_
from app.notifications.params import localized, when
from app.notifications.services import notify
from app.places.models import Town
from bookings.models import CapacityBucket, WaitlistEntry, WaitlistStatus
from bookings.services import insert_missing_buckets, set_capacity
from venues.models import Closure, OpeningHours, Space, Venue, VenuePhoto, VenueType

HORIZON_DAYS = 14
TIMES_OF_DAY = {
    "morning": (0, 12 * 60),
    "afternoon": (12 * 60, 18 * 60),
    "evening": (18 * 60, 24 * 60),
}


@dataclass
class Filters:
    q: str = ""
    type: VenueType | None = None
    town_id: int | None = None
    day: date | None = None
    time_of_day: str | None = None
    min_free: int = 0
    facilities: tuple[str, ...] = ()
    # The district the visitor browses (issue 15: the chooser); None: every district.
    district_id: int | None = None


def search(session, filters: Filters) -> list[Venue]:
    """Active venues matching every filter given, each with its town (one statement). With a
    day (and optionally a time of day and a number of places), only venues with a slot on that
    day that still has that many places."""
    statement, params = _search(filters, with_free_places=False)
    return list(session.scalars(statement, params))


def search_with_free_places(session, filters: Filters) -> list[tuple[Venue, int]]:
    """`search`'s venues, in the same order, each with the places free today and tomorrow
    (slots still to come in its active spaces), for the search results page: one statement."""
    statement, params = _search(filters, with_free_places=True)
    params.update(
        now=clock.now(), end_of_tomorrow=clock.day_bounds(clock.today() + timedelta(days=1))[1]
    )
    return [(venue, int(places)) for venue, places in session.execute(statement, params)]


def _search(filters: Filters, *, with_free_places: bool) -> tuple:
    """The search statement for the filters given (built once per combination of filters
    used: the values are bound) and its parameters."""
    facilities = tuple(sorted(set(filters.facilities)))
    availability = bool(filters.day or filters.min_free or filters.time_of_day)
    params = {}
    if filters.q:
        params["like"] = f"%{filters.q.strip()}%"
    if filters.type:
        params["type"] = filters.type
    if filters.town_id:
        params["town_id"] = filters.town_id
    if filters.district_id:
        params["district_id"] = filters.district_id
    if availability:
        day = filters.day or clock.today()
        start, end = clock.day_bounds(day)
        if filters.time_of_day in TIMES_OF_DAY:
            lo, hi = TIMES_OF_DAY[filters.time_of_day]
            start, end = clock.at(day, lo), clock.at(day, hi)
        params.update(start=max(start, clock.now()), end=end, places=max(filters.min_free, 1))
    statement = _search_statement(
        "like" in params, "type" in params, "town_id" in params, facilities, availability,
        with_free_places, "district_id" in params,
    )  # fmt: skip
    return statement, params


@functools.cache
def _search_statement(q, type_, town, facilities, availability, with_free_places, district=False):
    query = (
        select(Venue)
        .options(joinedload(Venue.town))
        .where(Venue.active.is_(True))
        .order_by(Venue.town_id, Venue.name_zh)
    )
    if q:
        like = bindparam("like")
        query = query.where(
            or_(
                Venue.name_zh.ilike(like),
                Venue.name_en.ilike(like),
                Venue.address_zh.ilike(like),
                Venue.address_en.ilike(like),
            )
        )
    if type_:
        query = query.where(Venue.type == bindparam("type"))
    if town:
        query = query.where(Venue.town_id == bindparam("town_id"))
    if district:
        query = query.where(
            Venue.town_id.in_(select(Town.id).where(Town.district_id == bindparam("district_id")))
        )
    for facility in facilities:
        query = query.where(getattr(Venue, facility).is_(True))
    if availability:
        query = query.where(
            exists(
                select(CapacityBucket.id)
                .join(Space, Space.resource_id == CapacityBucket.resource_id)
                .where(
                    Space.venue_id == Venue.id,
                    Space.active.is_(True),
                    CapacityBucket.starts_at >= bindparam("start"),
                    CapacityBucket.starts_at < bindparam("end"),
                    CapacityBucket.capacity - CapacityBucket.taken >= bindparam("places"),
                )
            )
        )
    if with_free_places:
        free = (
            select(func.coalesce(func.sum(CapacityBucket.capacity - CapacityBucket.taken), 0))
            .join(Space, Space.resource_id == CapacityBucket.resource_id)
            .where(
                Space.venue_id == Venue.id,
                Space.active.is_(True),
                CapacityBucket.starts_at >= bindparam("now"),
                CapacityBucket.starts_at < bindparam("end_of_tomorrow"),
            )
            .scalar_subquery()
        )
        query = query.add_columns(free)
    return query


def space_for_resource(session, resource_id: int) -> Space:
    return session.scalar(select(Space).where(Space.resource_id == resource_id))


def spaces_by_resource(session, resource_ids) -> dict[int, Space]:
    """The spaces behind many bookings, in one query."""
    if not resource_ids:
        return {}
    return {
        s.resource_id: s
        for s in session.scalars(select(Space).where(Space.resource_id.in_(list(resource_ids))))
    }


# Statements the pages run on every request are built once (building and keying a statement
# costs as much as PostgreSQL takes to answer it), on first use: a loader option configures
# the mappers, which needs every model imported.
@functools.cache
def _venue_statement():
    return select(Venue).options(joinedload(Venue.spaces)).where(Venue.id == bindparam("venue_id"))


def get_venue(session, venue_id: int, *, include_inactive: bool = False) -> Venue | None:
    """The venue with its spaces (one statement), or None when there is none, or it is not
    active and `include_inactive` is not set."""
    venue = session.scalars(_venue_statement(), {"venue_id": venue_id}).unique().one_or_none()
    if venue is None or (not venue.active and not include_inactive):
        return None
    return venue


def hours_by_weekday(venue: Venue) -> dict[int, OpeningHours]:
    return {h.weekday: h for h in venue.hours}


def closed_on(venue: Venue, day: date) -> Closure | None:
    return next((c for c in venue.closures if c.starts_on <= day <= c.ends_on), None)


def slot_starts(venue: Venue, space: Space, day: date) -> list[datetime]:
    """Local start times of the space's slots (or steps) on `day`, from opening hours."""
    hours = hours_by_weekday(venue).get(day.weekday())
    if hours is None or closed_on(venue, day):
        return []
    return [
        clock.at(day, m)
        for m in range(hours.opens, hours.closes - space.slot_minutes + 1, space.slot_minutes)
    ]


def materialise(
    session, venue: Venue, first_day: date | None = None, days: int = HORIZON_DAYS + 1
) -> int:
    """Make sure every slot of the venue exists for `days` days from `first_day` (today), with
    the capacity the space now has, never below what is taken (`bookings.services.set_capacity`).
    Untaken slots that the hours no longer allow (a closure, changed hours) are removed. One unit
    of work (the caller's when open, as when a venue is saved); idempotent and safe when several
    nodes run it at once. Returns the number of slots in the window."""
    first_day = first_day or clock.today()
    window_start, _ = clock.day_bounds(first_day)
    window_end, _ = clock.day_bounds(first_day + timedelta(days=days))
    count = 0
    with unit_of_work(session):
        for space in venue.spaces:
            wanted = {}
            if space.active:
                for offset in range(days):
                    for start in slot_starts(venue, space, first_day + timedelta(days=offset)):
                        wanted[start] = start + timedelta(minutes=space.slot_minutes)
            in_window = (
                CapacityBucket.resource_id == space.resource_id,
                CapacityBucket.starts_at >= window_start,
                CapacityBucket.starts_at < window_end,
            )
            existing = {
                starts_at: (bucket_id, taken)
                for bucket_id, starts_at, taken in session.execute(
                    select(CapacityBucket.id, CapacityBucket.starts_at, CapacityBucket.taken).where(
                        *in_window
                    )
                )
            }
            insert_missing_buckets(
                session,
                [
                    {
                        "resource_id": space.resource_id,
                        "starts_at": start,
                        "ends_at": end,
                        "capacity": space.capacity,
                        "taken": 0,
                    }
                    for start, end in wanted.items()
                    if start not in existing
                ],
            )
            unwanted = [(i, taken) for start, (i, taken) in existing.items() if start not in wanted]
            held = [i for i, taken in unwanted if taken]
            # Slots the hours still allow get the space's capacity; a slot they no longer allow
            # but that people hold keeps its own until it has passed.
            set_capacity(
                session,
                space.capacity,
                *in_window,
                CapacityBucket.capacity != space.capacity,
                *([CapacityBucket.id.not_in(held)] if held else []),
            )
            stale = [i for i, taken in unwanted if not taken]
            if stale:
                # People queueing for a slot that goes are told first (their entries go with it).
                _tell_waiting(session, venue, stale)
                # Guarded: a slot someone booked since it was read stays.
                session.execute(
                    delete(CapacityBucket).where(
                        CapacityBucket.id.in_(stale), CapacityBucket.taken == 0
                    )
                )
            count += len(wanted)
    return count


def _tell_waiting(session, venue: Venue, bucket_ids: list[int]) -> None:
    """Everyone still waiting for one of these slots, which are about to be removed (the venue
    closed that day or changed its hours), gets an inbox message saying the slot is no longer
    offered and they are off its waitlist; their entries end as cancelled (and are then deleted
    with the slot)."""
    waiting = session.execute(
        select(WaitlistEntry.id, WaitlistEntry.user_id, CapacityBucket.starts_at)
        .join(CapacityBucket, CapacityBucket.id == WaitlistEntry.bucket_id)
        .where(
            WaitlistEntry.bucket_id.in_(bucket_ids),
            WaitlistEntry.status == WaitlistStatus.WAITING,
        )
    ).all()
    for _entry, user_id, starts_at in waiting:
        notify(
            session,
            user_id,
            kind="venue.waitlist_slot_removed",
            subject=N_("The time you were waiting for at %(venue)s is no longer offered"),
            body=N_(
                "%(venue)s no longer offers %(time)s (it is closed then, or its hours changed), "
                "so you are off that waiting list. Choose another time on the venue's page."
            ),
            params={
                "venue": localized(venue.name_zh, venue.name_en),
                "time": when(starts_at),
            },
            link=f"/venues/{venue.id}",
        )
    if waiting:
        session.execute(
            update(WaitlistEntry)
            .where(WaitlistEntry.id.in_([entry_id for entry_id, _user, _start in waiting]))
            .values(status=WaitlistStatus.CANCELLED)
        )


@dataclass(frozen=True)
class DaySummary:
    day: date
    closed: bool
    slots: int
    free_places: int
    opens_for_booking: datetime


def booking_opens_at(venue: Venue, day: date) -> datetime:
    """When booking opens for slots on `day`: `opens_days_ahead` days before, at the set time."""
    return clock.at(day - timedelta(days=venue.opens_days_ahead), venue.opens_at_minutes)


_BUCKETS_BETWEEN = (
    select(CapacityBucket)
    .where(
        CapacityBucket.resource_id == bindparam("resource_id"),
        CapacityBucket.starts_at >= bindparam("start"),
        CapacityBucket.starts_at < bindparam("end"),
    )
    .order_by(CapacityBucket.starts_at)
)


def buckets_between(session, space: Space, start: datetime, end: datetime) -> list[CapacityBucket]:
    """The space's slots starting in [start, end), in time order (one prebuilt statement: the
    day page and the availability API read them on every request)."""
    return list(
        session.scalars(
            _BUCKETS_BETWEEN, {"resource_id": space.resource_id, "start": start, "end": end}
        )
    )


@dataclass(frozen=True)
class VenuePage:
    """What the venue page shows."""

    venue: Venue
    spaces: list[tuple[Space, list[DaySummary]]]  # active spaces, each with its next 14 days
    hours: dict[int, OpeningHours]  # by weekday (0 = Monday)
    closures: list  # rows with .starts_on, .ends_on, .reason: those not over, in date order
    photos: list[VenuePhoto]


_CLOSURES = (
    select(Closure.starts_on, Closure.ends_on, Closure.reason)
    .where(Closure.venue_id == bindparam("venue_id"), Closure.ends_on >= bindparam("first_day"))
    .order_by(Closure.starts_on, Closure.id)
)
_PHOTOS = (
    select(VenuePhoto)
    .where(VenuePhoto.venue_id == bindparam("venue_id"))
    .order_by(VenuePhoto.position, VenuePhoto.id)
)


# The venue with its spaces and hours (a handful of joined rows), and whether it has photos or
# closures not over, so that the page asks for those only when there are some (most have none).
@functools.cache
def _venue_page_statement():
    return (
        select(
            Venue,
            exists().where(VenuePhoto.venue_id == Venue.id).label("has_photos"),
            exists()
            .where(Closure.venue_id == Venue.id, Closure.ends_on >= bindparam("first_day"))
            .label("has_closures"),
        )
        .options(joinedload(Venue.spaces), joinedload(Venue.hours))
        .where(Venue.id == bindparam("venue_id"))
    )


def _fortnight_statement():
    """Per active space of a venue and per day of the horizon: the slots still to come and
    their free places. Day i is [b<i>, b<i+1>) in local time, bound by the caller, so the
    statement is the same every day (and on SQLite and PostgreSQL alike)."""
    starts = CapacityBucket.starts_at
    free = (
        select(
            CapacityBucket.resource_id,
            case(
                *((starts < bindparam(f"b{i + 1}"), i) for i in range(HORIZON_DAYS)),
            ).label("day"),
            (CapacityBucket.capacity - CapacityBucket.taken).label("free"),
        )
        .where(
            CapacityBucket.resource_id.in_(
                select(Space.resource_id).where(
                    Space.venue_id == bindparam("venue_id"), Space.active.is_(True)
                )
            ),
            starts >= bindparam("since"),
            starts < bindparam(f"b{HORIZON_DAYS}"),
        )
        .subquery()
    )
    return select(free.c.resource_id, free.c.day, func.count(), func.sum(free.c.free)).group_by(
        free.c.resource_id, free.c.day
    )


_FORTNIGHT = _fortnight_statement()


def venue_page(session, venue_id: int, first_day: date | None = None) -> VenuePage | None:
    """An active venue with what its page shows, or None: its active spaces, each with the
    14 days from `first_day` (today): closed or not (a closure, or no opening hours that
    weekday), how many slots are still to come, how many places they have free, and when
    booking for the day opens; its opening hours by weekday, the closures not yet over and
    its photos. Two statements whatever the number of spaces (the venue with its spaces and
    hours, and one grouped count of every space's fortnight), one more for its closures and
    one for its photos when it has any."""
    first_day = first_day or clock.today()
    found = (
        session.execute(_venue_page_statement(), {"venue_id": venue_id, "first_day": first_day})
        .unique()
        .one_or_none()
    )
    if found is None or not found.Venue.active:
        return None
    venue, has_photos, has_closures = found
    hours = hours_by_weekday(venue)
    closures = (
        session.execute(_CLOSURES, {"venue_id": venue_id, "first_day": first_day}).all()
        if has_closures
        else []
    )
    photos = list(session.scalars(_PHOTOS, {"venue_id": venue_id})) if has_photos else []
    days = [first_day + timedelta(days=i) for i in range(HORIZON_DAYS + 1)]
    bounds = {f"b{i}": clock.at(day, 0) for i, day in enumerate(days)}
    counts = {
        (resource_id, day): (slots, int(free or 0))
        for resource_id, day, slots, free in session.execute(
            _FORTNIGHT,
            {"venue_id": venue_id, "since": max(bounds["b0"], clock.now()), **bounds},
        )
    }
    horizon = [
        (
            day,
            day.weekday() not in hours or any(c.starts_on <= day <= c.ends_on for c in closures),
            booking_opens_at(venue, day),
        )
        for day in days[:-1]
    ]
    summaries = [
        (
            space,
            [
                DaySummary(day, closed, *counts.get((space.resource_id, i), (0, 0)), opens)
                for i, (day, closed, opens) in enumerate(horizon)
            ],
        )
        for space in venue.spaces
        if space.active
    ]
    return VenuePage(venue, summaries, hours, closures, photos)


def day_slots(session, space: Space, day: date) -> list[CapacityBucket]:
    return buckets_between(session, space, *clock.day_bounds(day))
