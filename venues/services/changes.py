"""Changing a booking after it is made: the number of people of a general slot's booking (the
page a second booking of the same slot is sent to, `rules.AlreadyBooked`). Cancelling is
`booking.cancel`; giving every place back is a cancellation, not a change."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext

from app import clock
from app.accounts.consents import can_act_for
from app.accounts.models import HelpService, User
from app.audit.services import record
from app.db import unit_of_work
from app.errors import Conflict, DomainError, NotFound
from app.i18n import N_
from app.notifications.params import counted, localized, when
from app.notifications.services import notify
from bookings import services as engine
from bookings.models import Booking, BookingStatus
from venues.models import BookingMode
from venues.services.catalogue import space_for_resource
from venues.services.rules import (
    Ineligible,
    VenueSettings,
    active_suspension,
    late_to_cancel,
)
from venues.services.waitlist import offer_freed_places

# The statuses whose party size may change: a confirmed booking (an offer is accepted first;
# a general slot's booking never waits for approval).
CHANGEABLE = (BookingStatus.CONFIRMED,)


def change_refusal(session, booking: Booking, actor: User) -> DomainError | None:
    """Why `actor` may not change the number of people of `booking` now, or None when they
    may: it is theirs (or a resident's they help with venues), a confirmed booking of a
    general slot (a whole space has no number of people), and the slot has not started."""
    if not can_act_for(session, actor, booking.holder, HelpService.VENUES):
        return NotFound(_l("No such booking."))
    space = space_for_resource(session, booking.resource_id)
    if space is None or space.mode != BookingMode.GENERAL:
        return Conflict(
            _l("This booking is for the whole space: it has no number of people to change."),
            code="not_changeable",
        )
    if booking.status not in CHANGEABLE:
        return Conflict(
            _l("Only a confirmed booking can change its number of people."),
            code="not_changeable",
        )
    if booking.starts_at <= clock.now():
        return Conflict(
            _l("This time has already started, so the booking can no longer be changed."),
            code="too_late",
        )
    return None


def can_change_party(session, booking: Booking, actor: User) -> bool:
    """May `actor` change the number of people of `booking` now? (`change_refusal`)"""
    return change_refusal(session, booking, actor) is None


def party_size_refusal(
    session, booking: Booking, party_size: int, *, settings: VenueSettings
) -> DomainError | None:
    """Why `booking` may not hold `party_size` places, or None: between 1 and the space's most
    per booking, not what it holds already; fewer only until the free cancellation time (after
    it, giving places back would be a late cancellation without its cost); more only for a
    person not suspended from venue booking. Free places are checked when they are taken."""
    space = space_for_resource(session, booking.resource_id)
    if not 1 <= party_size <= space.max_party_size:
        return DomainError(
            _l("Choose between 1 and %(n)d people."),
            field="party_size",
            code="party_size",
            n=space.max_party_size,
        )
    if party_size == booking.quantity:
        return DomainError(
            _l("The booking is already for %(n)d people. Choose another number, or go back."),
            field="party_size",
            code="unchanged",
            n=party_size,
        )
    if party_size < booking.quantity and late_to_cancel(space.venue, booking.starts_at):
        return Conflict(
            _l(
                "The free cancellation time has passed, so the number of people can no longer "
                "be reduced online. Call the venue on %(phone)s."
            ),
            field="party_size",
            code="past_cutoff",
            phone=space.venue.phone,
        )
    if party_size > booking.quantity:
        suspension = active_suspension(session, booking.holder_id)
        if suspension is not None:
            return Ineligible("suspended", until=suspension.until).error(settings)
    return None


def change_party_size(
    session, booking: Booking, actor: User, party_size: int, *, settings: VenueSettings
) -> int:
    """Make `booking` hold `party_size` places, in one unit of work: the holder's row locked
    (one person's changes and bookings decided one after the other), the rules checked again
    under it (`change_refusal`, `party_size_refusal`), then the engine's `resize`: the slot's
    taken count moves by the difference, by guarded updates, never over its capacity
    (SoldOut, saying how many more are free, changing nothing). Places given back are offered
    to the waitlist in the same unit; the holder is told, and a change made by someone else is
    audited. Returns the difference."""
    with unit_of_work(session):
        engine.lock_holder(session, booking.holder_id)
        session.refresh(booking)
        refusal = change_refusal(session, booking, actor) or party_size_refusal(
            session, booking, party_size, settings=settings
        )
        if refusal is not None:
            raise refusal
        before = booking.quantity
        try:
            difference = engine.resize(session, booking, party_size, CHANGEABLE)
        except engine.SoldOut:
            raise engine.SoldOut(
                lazy_ngettext(
                    "Only %(num)d more place is free at that time.",
                    "Only %(num)d more places are free at that time.",
                    free_places(session, booking),
                ),
                field="party_size",
            ) from None
        space = space_for_resource(session, booking.resource_id)
        notify(
            session,
            booking.holder_id,
            kind="venue.changed",
            subject=N_("Booking %(ref)s at %(venue)s is now for %(party)s"),
            body=N_("%(when)s, %(space)s. It was for %(was)s."),
            params={
                "ref": booking.reference,
                "venue": localized(space.venue.name_zh, space.venue.name_en),
                "space": localized(space.name_zh, space.name_en),
                "when": when(booking.starts_at),
                "places": party_size,
                "before": before,
                # "1 person", "3 people" in the reader's plural form (never "1 people").
                "party": counted(party_size, "%(num)d person", "%(num)d people"),
                "was": counted(before, "%(num)d person", "%(num)d people"),
            },
            link=f"/bookings/{booking.reference}",
        )
        record(
            session,
            actor,
            "booking.change_party",
            booking,
            on_behalf_of=booking.holder_id if actor.id != booking.holder_id else None,
            reference=booking.reference,
            before=before,
            after=party_size,
        )
        if difference < 0:
            offer_freed_places(session, booking)
    return difference


def free_places(session, booking: Booking) -> int:
    """The fewest free places over the booking's span (its buckets, as now): how many more
    people it could take, within the space's most per booking (`most_places`)."""
    buckets = engine.buckets_for_span(
        session, booking.resource_id, booking.starts_at, booking.ends_at
    )
    for bucket in buckets:
        session.refresh(bucket)
    return min(bucket.remaining for bucket in buckets)


def most_places(session, booking: Booking) -> int:
    """The most people `booking` could hold now: its own places plus the slot's free ones,
    within the space's most per booking (what the change page offers)."""
    space = space_for_resource(session, booking.resource_id)
    return min(space.max_party_size, booking.quantity + free_places(session, booking))
