"""Making a venue booking: one unit of work of a handful of statements, the path every booking
takes (the booking pages through `booking.book_general` / `book_personalised`, the API through
`book_with_token`).

In the transaction, in this order:
1. the holder's row is locked (`bookings.placing.lock_holder`; the API finds the token's owner
   and locks that row in the same statement), so one person's requests are decided one after
   the other;
2. one statement reads what the rules need and may have changed: the slot, its space and venue,
   the booking already made with the request's idempotency key, and the holder's suspension;
3. one statement counts the holder's bookings at the venue that day and that week, finds the
   live booking the holder already has of the same slot (or an overlapping span), which refuses
   the request (`rules.already_booked`: one booking per person per slot), and checks that the
   new door code is free;
4. the booking and the holder's inbox message are inserted, and the places are taken with
   guarded UPDATEs (`taken + q <= capacity`, row count checked; the CHECK constraint backs
   them), last, so that the bucket's row lock every contender waits on is held only for the
   end of the transaction.
Everything is read after the lock, so the per-person limits cannot be raced. The rules are the
ones `rules.py` states (`timing_refusal`, `over_limits`, `Ineligible`): read here in fewer
statements, decided by the same functions. The answer is built from the values in hand: there
is no reload after the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, select
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.accounts.services import (
    TOKEN_OWNER_ID,
    InvalidToken,
    find_token_owner,
    token_owner_statement,
)
from app.audit.services import record
from app.codes import idempotency_key, new_reference
from app.db import connection_of, unit_of_work, utcnow
from app.errors import DomainError, NotFound, addressed
from app.i18n import N_
from app.notifications.params import counted, localized, when
from app.notifications.services import insert_notification
from bookings import services as engine
from bookings.models import Booking, BookingStatus, CapacityBucket
from venues.models import BookingMode, Space, Venue
from venues.services.rules import (
    COUNTS,
    SUSPENSION_KIND,
    AlreadyBooked,
    Ineligible,
    VenueSettings,
    count_parameters,
    held_statement,
    over_limits,
    timing_refusal,
)


@dataclass(frozen=True)
class Ask:
    """What a person asks for: a slot (`slot_id`: `party_size` places of a general slot, or
    `steps` slots of a whole space from its start) or a span of a personalised space
    (`space_id`, `starts_at`, `steps`). `mode` is the mode the page offered (None: the API,
    which takes the slot's)."""

    slot_id: int | None = None
    space_id: int | None = None
    starts_at: datetime | None = None
    party_size: int = 1
    steps: int = 1
    idempotency_key: str | None = None
    mode: BookingMode | None = None

    def __post_init__(self):
        # As stored (app.codes.idempotency_key: trimmed, cut to the column): the replay is
        # looked up with the key the booking would be saved with.
        object.__setattr__(self, "idempotency_key", idempotency_key(self.idempotency_key))


@dataclass(frozen=True)
class VenueBooking:
    """A booking as placed (`booking`, the engine's row from the values in hand) and the space
    and venue it is in."""

    booking: engine.Placed
    space_id: int
    venue_id: int


def _facts(holder, by_slot: bool):
    """Step 2's columns and FROM: the space and venue (and the slot, `by_slot`), the holder's
    current suspension, and the booking made with the request's key, if any. `holder` is the
    holder's id: a parameter, or the token owner's column. Parameters: target (slot or space
    id), key, now."""
    bucket, space, venue = CapacityBucket.__table__, Space.__table__, Venue.__table__
    replay = Booking.__table__.alias("replay")
    suspended_until = engine.suspended_until(holder, SUSPENSION_KIND, bindparam("now"))
    columns = [
        space.c.id.label("space_id"),
        space.c.resource_id,
        space.c.mode,
        space.c.active.label("space_active"),
        space.c.max_party_size,
        space.c.max_steps,
        space.c.slot_minutes,
        space.c.requires_approval,
        space.c.name_zh.label("space_name"),
        space.c.name_en.label("space_name_en"),
        venue.c.id.label("venue_id"),
        venue.c.active.label("venue_active"),
        venue.c.name_zh.label("venue_name"),
        venue.c.name_en.label("venue_name_en"),
        venue.c.max_per_day,
        venue.c.max_per_week,
        venue.c.opens_days_ahead,
        venue.c.opens_at_minutes,
        suspended_until.label("suspended_until"),
        replay.c.id.label("replay_id"),
    ]
    found = space.join(venue, venue.c.id == space.c.venue_id)
    if by_slot:
        columns += [
            bucket.c.starts_at.label("slot_starts_at"),
            bucket.c.ends_at.label("slot_ends_at"),
        ]
        found = bucket.join(found, space.c.resource_id == bucket.c.resource_id)
        target = bucket.c.id == bindparam("target")
    else:
        target = space.c.id == bindparam("target")
    replayed = and_(replay.c.holder_id == holder, replay.c.idempotency_key == bindparam("key"))
    return columns, found, target, (replay, replayed)


def _facts_statement(by_slot: bool):
    """Step 2's statement after the holder's lock (parameter `holder` besides `_facts`')."""
    columns, found, target, (replay, replayed) = _facts(bindparam("holder"), by_slot)
    return select(*columns).select_from(found.outerjoin(replay, replayed)).where(target)


def _token_and_facts_statement():
    """The API's first statement: the token's owner locked (`token_owner_statement`) and
    step 2's columns for the slot, in one round trip. The slot, space and venue are read as of
    the statement's start; so are the suspension and an earlier booking with the same key, which
    a request of the same person committed while this one waited for the lock could have made:
    the key's unique constraint turns that into a retry (`book_with_token`), and the counts are
    read after the lock (step 3)."""
    columns, found, target, replay = _facts(TOKEN_OWNER_ID, by_slot=True)
    return token_owner_statement(*columns, outer_joins=((found, target), replay))


# Built once (the statements' shapes never change, only their parameters).
FACTS_BY_SLOT = _facts_statement(by_slot=True)
FACTS_BY_SPACE = _facts_statement(by_slot=False)
TOKEN_AND_FACTS = _token_and_facts_statement()
COUNTS_AND_DOOR_CODE = COUNTS.add_columns(
    engine.door_code_taken(bindparam("resource"), bindparam("code")).label("code_taken"),
    held_statement(
        bindparam("holder"), bindparam("resource"), bindparam("span_start"), bindparam("span_end")
    ).label("held_reference"),
)


def book_with_token(
    session,
    token: str,
    slot_id: int,
    *,
    party_size: int,
    steps: int,
    idempotency_key: str | None,
    settings: VenueSettings,
) -> VenueBooking:
    """Book the slot `slot_id` for the owner of the API token `token`, the token checked inside
    the booking's own unit of work: its owner found and their row locked in one statement
    (InvalidToken, 401, if it is not valid). A general slot takes `party_size` places; a
    personalised space `steps` slots from the slot's start. Committed on return; DomainError
    (SoldOut, a rule's refusal) with nothing written otherwise."""
    ask = Ask(slot_id=slot_id, party_size=party_size, steps=steps, idempotency_key=idempotency_key)
    for attempt in (1, 2):
        try:
            with unit_of_work(session):
                facts = find_token_owner(
                    session,
                    TOKEN_AND_FACTS,
                    token,
                    {"target": slot_id, "key": ask.idempotency_key, "now": utcnow()},
                )
                if facts is None:
                    raise InvalidToken()
                owner = facts.owner_id
                return place(session, owner, owner, ask, settings, facts=facts)
        except IntegrityError:
            # The same person's request with the same key committed while this one waited for
            # the lock, after the statement that looked for it had started: once more, and the
            # first booking is found and answered.
            if attempt == 2 or ask.idempotency_key is None:
                raise
    raise AssertionError("unreachable")


def book(
    session,
    actor_id: int,
    holder_id: int,
    ask: Ask,
    settings: VenueSettings,
    *,
    consent: Callable[[object], None] | None = None,
) -> VenueBooking:
    """Book what `ask` says for `holder_id`, pressed by `actor_id` (the holder, or a helper),
    in one unit of work: the holder's row locked, then `place`. Committed on return; DomainError
    with nothing written otherwise."""
    with unit_of_work(session):
        engine.lock_holder(session, holder_id)
        try:
            return place(session, actor_id, holder_id, ask, settings, consent=consent)
        except DomainError as error:  # a helper is told of "this resident", not "you"
            addressed(error, actor_id, holder_id)
            raise


def place(
    session,
    actor_id: int,
    holder_id: int,
    ask: Ask,
    settings: VenueSettings,
    *,
    consent: Callable[[object], None] | None = None,
    facts=None,
) -> VenueBooking:
    """Steps 2 to 4 (see the module's docstring), in the caller's unit of work, with the
    holder's row already locked. `facts`: step 2's row when the caller read it with its lock
    (TOKEN_AND_FACTS). `consent(session)` refuses a helper acting without the holder's
    consent, once what was asked for is checked. A repeated idempotency key answers with the
    first booking (`replayed`) or IdempotencyKeyReused."""
    connection = connection_of(session)
    now = utcnow()
    if facts is None:
        facts = connection.execute(
            FACTS_BY_SLOT if ask.slot_id is not None else FACTS_BY_SPACE,
            {
                "target": ask.slot_id if ask.slot_id is not None else ask.space_id,
                "holder": holder_id,
                "key": ask.idempotency_key,
                "now": now,
            },
        ).first()
    request = _reservation(facts, ask, actor_id, holder_id)
    if consent is not None:
        consent(session)
    if facts.replay_id is not None:
        replay = engine.placed_by_id(session, facts.replay_id)
        return VenueBooking(engine.replayed(replay, request), facts.space_id, facts.venue_id)
    refusal = timing_refusal(facts, request.starts_at)
    if refusal is not None:
        raise refusal
    if facts.suspended_until is not None:
        raise Ineligible("suspended", until=facts.suspended_until).error(settings)
    code = engine.door_code_candidate()
    counts = connection.execute(
        COUNTS_AND_DOOR_CODE,
        {
            **count_parameters(holder_id, facts.venue_id, request.starts_at),
            "resource": facts.resource_id,
            "code": code,
            "span_start": request.starts_at,
            "span_end": request.ends_at,
        },
    ).one()
    if counts.held_reference is not None:  # one booking per person per slot (`already_booked`)
        # ... unless it is this request's own booking, committed by its twin (same key) while
        # this one waited for the holder's lock after reading `facts` (TOKEN_AND_FACTS reads
        # the replay before the lock): a replay, answered with that booking.
        replay_id = _replay_after_lock(session, holder_id, ask.idempotency_key)
        if replay_id is not None:
            replay = engine.placed_by_id(session, replay_id)
            return VenueBooking(engine.replayed(replay, request), facts.space_id, facts.venue_id)
        raise AlreadyBooked(counts.held_reference)
    problem = over_limits(facts, counts[0], counts[1])
    if problem is not None:
        raise problem.error(settings)
    if counts.code_taken:
        code = engine.new_door_code(session, facts.resource_id)
    reference = new_reference()
    message = _message(request, reference, code, facts)
    try:
        if ask.slot_id is not None and facts.mode == BookingMode.GENERAL:
            placed = engine.place_in_bucket(
                session,
                request,
                ask.slot_id,
                reference=reference,
                door_code=code,
                now=now,
                message=message,
            )
        else:
            placed = _place_span(session, request, reference, code, now, message)
    except engine.SoldOut:
        if facts.mode == BookingMode.GENERAL:
            raise
        raise engine.SoldOut(
            _l("Someone has already booked part of that time. Choose another time.")
        ) from None
    if actor_id != holder_id:
        record(
            session,
            actor_id,
            "booking.create",
            object_type=Booking.__tablename__,
            object_id=placed.id,
            on_behalf_of=holder_id,
            reference=reference,
        )
        _tell_holder(session, actor_id, holder_id, message)
    if request.status == BookingStatus.PENDING:
        # staff-tools: the venue's staff hear of a request waiting for them (admin.py).
        from venues.services.admin import tell_staff_of_request

        kept = ("ref", "venue", "space", "when", "places", "party")
        params = {k: message["params"][k] for k in kept}
        tell_staff_of_request(session, facts.venue_id, params)
    return VenueBooking(placed, facts.space_id, facts.venue_id)


def _replay_after_lock(session, holder_id: int, key: str | None) -> int | None:
    """The id of the holder's booking made with `key`, read now (after the holder's lock)."""
    if key is None:
        return None
    return session.scalar(
        select(Booking.id).where(Booking.holder_id == holder_id, Booking.idempotency_key == key)
    )


def _tell_holder(session, actor_id: int, holder_id: int, message: dict) -> None:
    """A booking made by a helper or family member: the resident hears of it by their own
    channels ("venue.booked_for" has a category), besides the confirmation in the inbox, which
    stays there (read on the page when the resident books for themselves)."""
    name = session.scalar(select(User.name).where(User.id == actor_id)) or ""
    insert_notification(
        session,
        holder_id,
        kind="venue.booked_for",
        subject=N_("%(name)s booked %(venue)s for you: %(when)s"),
        body=message["body"],
        params={**message["params"], "name": name},
        link=message["link"],
    )


def _place_span(session, request, reference: str, code: str, now, message: dict) -> engine.Placed:
    """A span of a personalised space: the booking and its message, then each bucket of the
    span taken in time order (`engine.take_units`), all or nothing."""
    buckets = engine.buckets_for_span(
        session, request.resource_id, request.starts_at, request.ends_at
    )
    placed = engine.insert_booking(session, request, reference=reference, door_code=code, now=now)
    insert_notification(session, request.holder_id, **message)
    engine.take_units(session, [bucket.id for bucket in buckets], request.quantity)
    return placed


def _reservation(facts, ask: Ask, actor_id: int, holder_id: int) -> engine.Reservation:
    """What to reserve, once `ask` is checked against the space (it exists and is active, the
    mode is the one asked for, the party or span within the space's bounds)."""
    if facts is None or facts.space_id is None or not facts.space_active or not facts.venue_active:
        if ask.slot_id is None:
            raise NotFound(_l("That space does not exist."), code="not_found")
        raise NotFound(_l("That time slot does not exist."), code="not_found")
    mode = BookingMode(facts.mode)
    if ask.mode is not None and mode != ask.mode:
        if ask.mode == BookingMode.GENERAL:
            raise DomainError(_l("This space is booked as a whole; choose a time span instead."))
        raise DomainError(_l("This space is booked by the place; choose a time slot instead."))
    starts_at = facts.slot_starts_at if ask.slot_id is not None else ask.starts_at
    if mode == BookingMode.GENERAL:
        if not 1 <= ask.party_size <= facts.max_party_size:
            raise DomainError(
                _l("Choose between 1 and %(n)d people."),
                field="party_size",
                code="party_size",
                n=facts.max_party_size,
            )
        quantity, ends_at, status = ask.party_size, facts.slot_ends_at, BookingStatus.CONFIRMED
    else:
        if not 1 <= ask.steps <= facts.max_steps:
            raise DomainError(
                _l("Choose a length of up to %(n)d minutes."),
                field="steps",
                code="span_length",
                n=facts.max_steps * facts.slot_minutes,
            )
        quantity = 1
        ends_at = starts_at + timedelta(minutes=facts.slot_minutes * ask.steps)
        status = BookingStatus.PENDING if facts.requires_approval else BookingStatus.CONFIRMED
    return engine.Reservation(
        resource_id=facts.resource_id,
        starts_at=starts_at,
        ends_at=ends_at,
        quantity=quantity,
        holder_id=holder_id,
        idempotency_key=ask.idempotency_key,
        booked_by_id=actor_id,
        status=status,
    )


def _message(request: engine.Reservation, reference: str, code: str, facts) -> dict:
    """The holder's inbox message about a new booking (Notification's columns)."""
    pending = request.status == BookingStatus.PENDING
    return {
        "kind": "venue.booking",
        "subject": N_("Booking %(ref)s at %(venue)s is waiting for approval")
        if pending
        else N_("Booking %(ref)s at %(venue)s is confirmed"),
        # No door code while waiting for approval (`booking.shows_door_code`): it comes with
        # the approval's message.
        "body": N_(
            "%(when)s, %(space)s, %(party)s. Staff will approve or decline it; "
            "you will get a message when they decide."
        )
        if pending
        else N_("%(when)s, %(space)s, %(party)s. Show code %(code)s at the door."),
        "params": {
            "ref": reference,
            # Rendered in the reader's language when read (app/notifications/params.py).
            "venue": localized(facts.venue_name, facts.venue_name_en),
            "space": localized(facts.space_name, facts.space_name_en),
            "when": when(request.starts_at),
            "places": request.quantity,
            # "3 people" in the reader's plural form (params.counted), not "place(s)".
            "party": counted(request.quantity, "%(num)d person", "%(num)d people"),
            "code": code,
        },
        "link": f"/bookings/{reference}",
    }
