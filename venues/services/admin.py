"""Venue administration: venues, spaces, opening hours, closures and photos. Each operation is
one unit of work with the slots it changes (`catalogue.materialise` joins it)."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app import clock
from app.accounts.models import Role, RoleAssignment, User
from app.audit.services import record
from app.db import unit_of_work
from app.errors import DomainError
from app.i18n import N_
from app.notifications.services import insert_notification
from bookings import services as engine
from bookings.models import HOLDING, Booking, BookingStatus
from bookings.services import create_resource
from venues.models import BookingMode, Closure, OpeningHours, Space, Venue
from venues.services import photos
from venues.services.booking import cancel_for_closure
from venues.services.catalogue import materialise

VENUE_FIELDS = (
    "name_zh",
    "name_en",
    "type",
    "town_id",
    "address_zh",
    "address_en",
    "phone",
    "description_zh",
    "description_en",
    "rules_zh",
    "rules_en",
    "step_free",
    "accessible_toilet",
    "lift",
    "hearing_loop",
    "opens_days_ahead",
    "max_per_day",
    "max_per_week",
    "cancel_cutoff_minutes",
    "checkin_grace_minutes",
    "crowd_warning_percent",
    "waitlist_offer_minutes",
    "active",
)
SPACE_FIELDS = (
    "name_zh",
    "name_en",
    "mode",
    "capacity",
    "slot_minutes",
    "max_party_size",
    "max_steps",
    "requires_approval",
    "active",
)


def parse_hhmm(value: str | None, field: str) -> int:
    """ "08:30" -> 510 (`app.clock.parse_hhmm`); a DomainError on `field` for anything else."""
    minutes = clock.parse_hhmm(value)
    if minutes is None:
        raise DomainError(_l("Enter a time like 08:30"), field=field)
    return minutes


def save_venue(session, staff: User, venue: Venue | None, data: dict) -> Venue:
    """Create or change a venue and bring its slots in line, in one unit of work: a venue is
    never saved without the slots its hours and rules now give."""
    with unit_of_work(session):
        creating = venue is None
        venue = venue or Venue()
        for name in VENUE_FIELDS:
            if name in data:
                setattr(venue, name, data[name])
        venue.opens_at_minutes = parse_hhmm(data["opens_at"], "opens_at")
        session.add(venue)
        session.flush()
        record(session, staff, "venue.create" if creating else "venue.update", venue)
        materialise(session, venue)
    return venue


def save_space(session, staff: User, venue: Venue, space: Space | None, data: dict) -> Space:
    """Create or change a space and its slots, in one unit of work. Capacity changes apply to
    future slots, never below what is already booked; a space with bookings to come keeps its
    kind of booking and slot length."""
    if data["mode"] == BookingMode.PERSONALISED.value:
        data = {**data, "capacity": 1}
    with unit_of_work(session):
        if space is None:
            resource = create_resource(session, "venue", f"{venue.name_zh} {data['name_zh']}")
            space = Space(venue=venue, resource_id=resource.id)
        elif space.mode.value != data["mode"] or space.slot_minutes != data["slot_minutes"]:
            booked = session.scalar(
                select(Booking.id)
                .where(
                    Booking.resource_id == space.resource_id,
                    Booking.status.in_(HOLDING),
                    Booking.ends_at > clock.now(),
                )
                .limit(1)
            )
            if booked is not None:
                raise DomainError(
                    _l(
                        "This space has bookings to come, so its kind of booking and slot "
                        "length cannot change. Add a new space instead."
                    ),
                    field="mode",
                )
        for name in SPACE_FIELDS:
            setattr(space, name, data[name])
        session.add(space)
        session.flush()
        record(session, staff, "venue.space", space, venue_id=venue.id)
        materialise(session, venue)
    return space


def save_hours(session, staff: User, venue: Venue, hours: dict[int, tuple[str, str]]) -> None:
    """`hours` maps weekday -> (opens, closes) as "HH:MM" strings; both empty means closed.
    The hours and the slots they give change in one unit of work."""
    parsed = {}
    for day, (opens, closes) in hours.items():
        if not (opens or "").strip() and not (closes or "").strip():
            continue
        start, end = parse_hhmm(opens, f"opens_{day}"), parse_hhmm(closes, f"closes_{day}")
        if end <= start:
            raise DomainError(_l("Closing time must be after opening time"), field=f"closes_{day}")
        parsed[day] = (start, end)
    with unit_of_work(session):
        replace_hours(session, venue, parsed)
        record(session, staff, "venue.hours", venue)
        materialise(session, venue)


def replace_hours(session, venue: Venue, hours: dict[int, tuple[int, int]]) -> None:
    """Set the weekly hours, in the caller's transaction. Old rows are deleted (and flushed)
    before new ones are inserted, since the ORM would otherwise insert first and trip the
    one-row-per-day rule."""
    venue.hours.clear()
    session.flush()
    venue.hours.extend(
        OpeningHours(weekday=d, opens=o, closes=c) for d, (o, c) in sorted(hours.items())
    )
    session.flush()


def add_closure(
    session, staff: User, venue: Venue, starts_on: date, ends_on: date, reason: str
) -> tuple[Closure, int]:
    """Close the venue on those days, in one unit of work: the closure, every booking in them
    cancelled with a notice giving the reason, and their slots removed; all or nothing. A
    booking checked in meanwhile is left as it is. Returns the closure and the bookings
    cancelled."""
    if ends_on < starts_on:
        raise DomainError(_l("The last day must be on or after the first day"), field="ends_on")
    if ends_on < clock.today():
        raise DomainError(_l("The closure is in the past"), field="ends_on")
    reason = reason.strip()
    start, _ = clock.day_bounds(starts_on)
    _, end = clock.day_bounds(ends_on)
    with unit_of_work(session):
        closure = Closure(venue=venue, starts_on=starts_on, ends_on=ends_on, reason=reason)
        session.add(closure)
        session.flush()
        record(session, staff, "venue.closure", closure, venue_id=venue.id, reason=reason)
        affected = session.scalars(
            select(Booking)
            .join(Space, Space.resource_id == Booking.resource_id)
            .where(
                Space.venue_id == venue.id,
                Booking.status.in_(engine.TRANSITIONS["cancel"][1]),
                Booking.starts_at >= start,
                Booking.starts_at < end,
            )
            .order_by(Booking.id)
        ).all()
        cancelled = sum(cancel_for_closure(session, booking, staff, reason) for booking in affected)
        materialise(session, venue)
    return closure, cancelled


def remove_closure(session, staff: User, closure: Closure) -> None:
    """Reopen the closed days and make their slots again, in one unit of work."""
    venue = closure.venue
    with unit_of_work(session):
        venue.closures.remove(closure)  # deleted as an orphan; the slots below see it gone
        record(session, staff, "venue.closure_removed", venue)
        materialise(session, venue)


# Venue photos live in venues.services.photos (order, thumbnails, both descriptions); these names
# stay for the callers that knew them here.
add_photo = photos.add_photo
delete_photo = photos.delete_photo


# --- Bookings waiting for approval -------------------------------------------------------------


def approval_venue_ids(session, venue_ids) -> set[int]:
    """Which of these venues have an active space whose bookings need staff approval (they get
    an approval queue)."""
    return set(
        session.scalars(
            select(Space.venue_id).where(
                Space.venue_id.in_(list(venue_ids)),
                Space.requires_approval.is_(True),
                Space.active.is_(True),
            )
        )
    )


def waiting_for_approval(session, venue: Venue) -> list[Booking]:
    """The venue's bookings waiting for a decision, the soonest first (past ones included:
    staff still decide them, and the list says when each was for)."""
    return list(
        session.scalars(
            select(Booking)
            .join(Space, Space.resource_id == Booking.resource_id)
            .where(Space.venue_id == venue.id, Booking.status == BookingStatus.PENDING)
            .order_by(Booking.starts_at, Booking.id)
        )
    )


def waiting_counts(session, venue_ids) -> dict[int, int]:
    """venue id -> bookings waiting for approval (venues with none are left out)."""
    return dict(
        session.execute(
            select(Space.venue_id, func.count(Booking.id))
            .join(Space, Space.resource_id == Booking.resource_id)
            .where(Space.venue_id.in_(list(venue_ids)), Booking.status == BookingStatus.PENDING)
            .group_by(Space.venue_id)
        ).all()
    )


def tell_staff_of_request(session, venue_id: int, params: dict) -> None:
    """In the booking's unit of work (venues/services/placing.py): the venue's staff and its
    own administrators learn that a booking waits for their approval ("venue.approval_request",
    a staff category with its own channels), with a link to the approval queue. `params`: the
    holder's message's (ref, venue, when, space, places, party)."""
    staff = session.scalars(
        select(RoleAssignment.user_id)
        .where(
            RoleAssignment.role.in_((Role.VENUE_STAFF, Role.VENUE_ADMIN)),
            RoleAssignment.scope_kind == "venue",
            RoleAssignment.scope_id == venue_id,
        )
        .distinct()
    ).all()
    for user_id in sorted(staff):
        insert_notification(
            session,
            user_id,
            kind="venue.approval_request",
            subject=N_("Booking %(ref)s at %(venue)s waits for your approval: %(when)s"),
            body=N_("%(space)s, %(party)s. Approve or decline it on the approval page."),
            params=params,
            link=f"/staff/venues/{venue_id}/approvals",
        )
