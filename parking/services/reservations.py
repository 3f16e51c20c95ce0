"""车位预约: reserving a space in a car park's reservable pool, through the capacity engine.

The pool is an engine resource with 15-minute buckets of `reservable_spaces` each, made for the
days one can reserve ahead. A reservation for an arrival time holds one unit of every bucket from
arrival until arrival + grace; the engine's guarded updates mean the pool is never oversold. Not
used by the end of grace, it becomes a no-show (its units are released) and repeated no-shows
suspend reserving, as at venues.

A reservation is one unit of work of a handful of statements: (through the API, the token's
owner found and locked,) the holder locked, one SELECT for every rule (`rules.check`), the
booking, reservation and inbox rows, the guarded updates; its answer is built from the values
written, with no reload after the commit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app import clock
from app.accounts.consents import can_act_for
from app.accounts.models import HelpService
from app.accounts.services import InvalidToken, lock_token_owner
from app.audit.services import record
from app.db import in_unit_of_work, unit_of_work
from app.errors import Conflict, DomainError, Forbidden, NotFound, addressed
from app.i18n import N_
from app.notifications.params import counted, localized, when
from app.notifications.services import insert_notification, notify
from bookings import noshows
from bookings import services as engine
from bookings.models import HOLDING, Booking, BookingStatus, CapacityBucket
from parking.models import CarPark, ParkingReservation
from parking.services import POOL_KIND, SUSPENSION_KIND, ParkingSettings, rules
from parking.services.plates import normalize_plate
from parking.services.rules import BUCKET_MINUTES, SpanNotMade


def _pool_resource(session, park: CarPark) -> int:
    """The car park's engine resource, created on first use, inside the caller's unit. The car
    park's row is locked first, so two first uses at once make one resource, not two."""
    if park.resource_id is not None:  # set once, never changed
        return park.resource_id
    resource_id = session.scalar(
        select(CarPark.resource_id).where(CarPark.id == park.id).with_for_update()
    )
    if resource_id is None:
        resource_id = engine.create_resource(session, POOL_KIND, park.name_zh[:160]).id
    park.resource_id = resource_id
    return resource_id


def materialise_pool(session, park: CarPark, days: int, first_day=None) -> None:
    """Make every 15-minute bucket of the reservable pool exist for `days` days from
    `first_day` (today), with the pool's current size (never below what is taken:
    `bookings.services.set_capacity`). One unit of work; safe to run concurrently: missing rows
    are inserted with ON CONFLICT DO NOTHING. The sweep and the operator's settings pass
    `ParkingSettings.pool_days`."""
    first_day = first_day or clock.today()
    start, _ = clock.day_bounds(first_day)
    with unit_of_work(session):
        resource_id = _pool_resource(session, park)
        engine.insert_missing_buckets(
            session,
            [
                {
                    "resource_id": resource_id,
                    "starts_at": start + timedelta(minutes=m),
                    "ends_at": start + timedelta(minutes=m + BUCKET_MINUTES),
                    "capacity": park.reservable_spaces,
                    "taken": 0,
                }
                for m in range(0, days * 24 * 60, BUCKET_MINUTES)
            ],
        )
        engine.set_capacity(
            session,
            park.reservable_spaces,
            CapacityBucket.resource_id == resource_id,
            CapacityBucket.starts_at >= start,
        )


def _materialise_span(session, park: CarPark, start: datetime, end: datetime) -> None:
    """Make the pool's buckets for the day(s) of [start, end) (normally the sweep has made
    them already)."""
    materialise_pool(session, park, 1, first_day=clock.local(start).date())
    if clock.local(end - timedelta(minutes=1)).date() != clock.local(start).date():
        materialise_pool(session, park, 1, first_day=clock.local(end).date())


def reservable_now(session, park: CarPark) -> int:
    """Spaces one could reserve for arrival in the current quarter hour."""
    return reservable_now_many(session, [park])[park.id]


def reservable_now_many(session, parks: list[CarPark]) -> dict[int, int]:
    """`reservable_now` of many car parks in one query."""
    now = clock.now()
    resource_ids = [p.resource_id for p in parks if p.resource_id is not None]
    remaining = (
        dict(
            session.execute(
                select(
                    CapacityBucket.resource_id, CapacityBucket.capacity - CapacityBucket.taken
                ).where(
                    CapacityBucket.resource_id.in_(resource_ids),
                    CapacityBucket.starts_at <= now,
                    CapacityBucket.ends_at > now,
                )
            ).all()
        )
        if resource_ids
        else {}
    )
    return {
        p.id: max(
            0,
            min(remaining.get(p.resource_id, p.reservable_spaces) if p.open else 0, p.free_spaces),
        )
        for p in parks
    }


EARLIEST_ARRIVAL = timedelta(minutes=15)  # from now


def arrival_choices(day) -> list[datetime]:
    """Quarter hours one can still choose on `day` (from 15 minutes from now)."""
    earliest = clock.now() + EARLIEST_ARRIVAL
    start, end = clock.day_bounds(day)
    times, t = [], start
    while t < end:
        if t >= earliest:
            times.append(t)
        t += timedelta(minutes=BUCKET_MINUTES)
    return times


def can_arrive_on(day) -> bool:
    """`arrival_choices(day)` is not empty (without listing them): the day's last quarter hour
    is still ahead by EARLIEST_ARRIVAL."""
    _start, end = clock.day_bounds(day)
    return end - timedelta(minutes=BUCKET_MINUTES) >= clock.now() + EARLIEST_ARRIVAL


# The person's current parking suspension, if any.
active_suspension = partial(engine.active_suspension, kind=SUSPENSION_KIND)


def reserve(
    session,
    actor,
    holder,
    park: CarPark,
    raw_plate: str,
    arrive_at: datetime,
    *,
    settings: ParkingSettings,
    idempotency_key: str | None = None,
) -> ParkingReservation:
    """Reserve one space of the pool for the holder's vehicle `raw_plate` arriving at
    `arrive_at`, by the holder or `actor` (a helper with parking consent). One unit of work:
    the plate's claim, the holder's limits and the space are decided in the transaction that
    takes the space (`rules.check`). SoldOut (409 sold_out) when the pool is full for any
    quarter hour of the stay; a repeated idempotency key returns the first reservation."""
    plate = normalize_plate(raw_plate)
    if not can_act_for(session, actor, holder, HelpService.PARKING):
        raise Forbidden(
            _l("You can only reserve for residents who have given you consent for parking.")
        )
    return _reserving(
        session,
        lambda: (actor.id, holder.id, park),
        plate,
        arrive_at,
        settings,
        idempotency_key,
    )


def reserve_with_token(
    session,
    token: str,
    car_park_id: int,
    raw_plate: str,
    arrive_at: datetime,
    *,
    settings: ParkingSettings,
    idempotency_key: str | None = None,
) -> ParkingReservation:
    """`reserve` for the owner of the API token `token` (the JSON API), the token checked
    inside the reservation's own unit of work: its owner found and their row locked in one
    statement (InvalidToken, 401, if it is not valid), then the car park (NotFound, 404) and
    the rules as `reserve` decides them."""
    plate = normalize_plate(raw_plate)

    def parties():
        owner_id = lock_token_owner(session, token)
        if owner_id is None:
            raise InvalidToken()
        park = session.get(CarPark, car_park_id)
        if park is None:
            raise NotFound(_l("No such car park."))
        return owner_id, owner_id, park

    return _reserving(session, parties, plate, arrive_at, settings, idempotency_key)


def _reserving(session, parties, plate, arrive_at, settings, idempotency_key):
    """`_reserve` for `parties()` ((actor id, holder id, car park), found inside the unit), in
    a unit of work that keeps what it loaded; once more if the stay's buckets had to be made
    first, or if a twin request with the same idempotency key committed first (the unique key
    refused ours and the unit rolled back: asked again, the engine answers with the twin's
    booking). Inside an enclosing unit either failure is the whole unit's."""
    span: list = []  # (car park, start, end) of the stay, once known

    def attempt():
        with unit_of_work(session, keep_loaded=True):
            actor_id, holder_id, park = parties()
            try:
                return _reserve(
                    session,
                    actor_id,
                    holder_id,
                    park,
                    plate,
                    arrive_at,
                    settings,
                    idempotency_key,
                    span,
                )
            except DomainError as error:  # a helper is told of "this resident", not "you"
                addressed(error, actor_id, holder_id)
                raise

    try:
        return attempt()
    except SpanNotMade:
        if in_unit_of_work(session) or not span:
            raise
        _materialise_span(session, *span)
    except IntegrityError:
        if idempotency_key is None or in_unit_of_work(session):
            raise
    return attempt()


# One INSERT, built once: the reservation's row needs no ORM object to flush (the answer is
# built from the values written, `_reserve`).
_INSERT_RESERVATION = insert(ParkingReservation.__table__).returning(
    ParkingReservation.__table__.c.id
)


def _reserve(
    session,
    actor_id: int,
    holder_id: int,
    park: CarPark,
    plate: str,
    arrive_at: datetime,
    settings: ParkingSettings,
    idempotency_key: str | None,
    span: list,
) -> ParkingReservation:
    """Inside the reservation's unit of work: the arrival checked (`rules.arrival`), the
    engine's reservation with `rules.check` and the writes that commit with it, then the answer
    from what was written, without loading anything again.

    The unit keeps what the session holds (`keep_loaded`) rather than expiring it at commit:
    the reservation, its booking and the car park are answered from the values this unit wrote
    or read (a reload would only read them back). SpanNotMade, with `span` filled in, when a
    bucket of the stay does not exist yet."""
    arrive_at = rules.arrival(park, arrive_at, settings)
    ends_at = arrive_at + timedelta(minutes=park.grace_minutes)
    span[:] = [park, arrive_at, ends_at]
    if park.resource_id is None:  # a pool never made: its resource and the stay's days
        raise SpanNotMade(_l("That time is not open for booking."))
    request = engine.Reservation(
        resource_id=park.resource_id,
        # In UTC, as the database gives them back: the answer is built from these values.
        starts_at=arrive_at.astimezone(UTC),
        ends_at=ends_at.astimezone(UTC),
        quantity=1,
        holder_id=holder_id,
        idempotency_key=idempotency_key,
        booked_by_id=actor_id,
    )
    made: dict[str, int] = {}

    def created(s, booking):
        made["id"] = (
            s.connection()
            .execute(
                _INSERT_RESERVATION,
                {
                    "booking_id": booking.id,
                    "car_park_id": park.id,
                    "plate": plate,
                    "arrive_at": request.starts_at,
                },
            )
            .scalar_one()
        )
        insert_notification(
            s,
            holder_id,
            # Seen on the page that made it; made by a helper or family member, the holder
            # hears of it by their own channels (a kind with a category).
            kind="parking.reserved" if actor_id == holder_id else "parking.reserved_for",
            subject=N_("Space reserved at %(park)s"),
            body=N_("%(plate)s, arriving %(when)s. The space is held until %(until)s."),
            params={
                "park": localized(park.name_zh, park.name_en),
                "plate": plate,
                "when": when(request.starts_at),
                "until": when(request.ends_at),
            },
            link=f"/parking/reservations/{booking.reference}",
        )
        if actor_id != holder_id:
            record(
                s,
                actor_id,
                "parking.reserve",
                booking,
                on_behalf_of=holder_id,
                reference=booking.reference,
            )

    booking = engine.reserve(
        session,
        request,
        check=lambda s, r: rules.check(s, r, plate, settings),
        on_created=created,
    )
    if "id" not in made:  # a repeated idempotency key: the first reservation
        return session.scalar(
            select(ParkingReservation).where(ParkingReservation.booking_id == booking.id)
        )
    reservation = ParkingReservation(
        id=made["id"],
        booking_id=booking.id,
        car_park_id=park.id,
        plate=plate,
        arrive_at=request.starts_at,
    )
    # The row as committed, in the session as if loaded, with its booking and car park.
    make_transient_to_detached(reservation)
    session.add(reservation)
    set_committed_value(reservation, "booking", booking)
    set_committed_value(reservation, "car_park", park)
    return reservation


def for_reference(session, reference: str) -> ParkingReservation | None:
    """The reservation with this booking reference, whoever holds it."""
    return session.scalar(
        select(ParkingReservation)
        .join(Booking, Booking.id == ParkingReservation.booking_id)
        .where(Booking.reference == reference)
    )


def get_for_holder(
    session, user_id: int, *, reference: str | None = None, reservation_id: int | None = None
) -> ParkingReservation:
    """The holder's reservation; anyone else's answers as missing."""
    reservation = (
        for_reference(session, reference)
        if reference is not None
        else session.get(ParkingReservation, reservation_id)
    )
    if reservation is None or reservation.booking.holder_id != user_id:
        raise NotFound(_l("No such reservation."))
    return reservation


def free_cancellation_until(reservation: ParkingReservation):
    """The last moment a cancellation is free: the car park's cut-off before arrival."""
    return reservation.arrive_at - timedelta(minutes=reservation.car_park.cancel_cutoff_minutes)


def cancel_is_free(reservation: ParkingReservation) -> bool:
    """Cancelling now is free (after the cut-off it counts like a no-show)."""
    return clock.now() <= free_cancellation_until(reservation)


def is_cancellable(reservation: ParkingReservation) -> bool:
    """The reservation still holds its space: only then can it be cancelled."""
    return reservation.booking.status == BookingStatus.CONFIRMED


def can_cancel(session, reservation: ParkingReservation, user) -> bool:
    """May `user` cancel this reservation now: it still holds its space and they are its holder
    or a helper with the holder's parking consent. The page shows the button by it; `cancel`
    refuses by the same rule."""
    return is_cancellable(reservation) and can_act_for(
        session, user, reservation.booking.holder, HelpService.PARKING
    )


def cancel(session, reservation: ParkingReservation, actor, *, settings: ParkingSettings) -> bool:
    """Cancel and free the space (one unit of work). Before the cut-off it is free; later it
    still frees the space but counts like a no-show towards suspension (`settings.no_shows`).
    Returns whether it was free. Someone who may not act for the holder is told it does not
    exist; a reservation no longer holding its space (used, cancelled or a no-show, perhaps a
    moment ago) is refused with 409 not_cancellable."""
    booking = reservation.booking
    if not can_act_for(session, actor, booking.holder, HelpService.PARKING):
        raise NotFound(_l("No such reservation."))
    if not is_cancellable(reservation):
        raise Conflict(_l("This reservation cannot be cancelled now."), code="not_cancellable")
    free = cancel_is_free(reservation)
    with unit_of_work(session):
        if not engine.transition(session, booking, "cancel", reason=None if free else noshows.LATE):
            raise Conflict(_l("This reservation cannot be cancelled now."), code="not_cancellable")
        if not free:
            suspension = noshows.suspend_if_repeated(session, booking.holder_id, settings.no_shows)
            if suspension is not None:
                _tell_suspended(session, booking.holder_id, *suspension, settings=settings)
        if actor.id != booking.holder_id:
            record(
                session,
                actor,
                "parking.cancel",
                booking,
                on_behalf_of=booking.holder_id,
                reference=booking.reference,
            )
    return free


def check_in(session, park: CarPark, plate: str, at: datetime) -> ParkingReservation | None:
    """At entry: the plate's reservation here that this arrival uses (from an hour early to the
    end of grace), moved to checked in. Inside the caller's transaction."""
    reservation = session.scalar(
        select(ParkingReservation)
        .join(Booking, Booking.id == ParkingReservation.booking_id)
        .where(
            ParkingReservation.car_park_id == park.id,
            ParkingReservation.plate == plate,
            Booking.status == BookingStatus.CONFIRMED,
            Booking.starts_at <= at + timedelta(hours=1),
            Booking.ends_at >= at,
        )
        .order_by(Booking.starts_at)
    )
    if reservation is not None and engine.transition(
        session, reservation.booking, "check_in", checked_in_at=at
    ):
        return reservation
    return None


def mark_no_shows(session, settings: ParkingSettings) -> int:
    """Reservations not used by the end of grace become no-shows, their space released, the
    driver told and suspended when they repeat (`bookings.noshows`, one unit of work each).
    Returns how many."""
    due = session.scalars(
        select(ParkingReservation)
        .join(Booking, Booking.id == ParkingReservation.booking_id)
        .where(Booking.status == BookingStatus.CONFIRMED, Booking.ends_at <= clock.now())
    ).all()
    return noshows.mark_no_shows(
        session,
        [(reservation.booking, reservation) for reservation in due],
        settings.no_shows,
        missed=_tell_missed,
        suspended=lambda s, user_id, until, count: _tell_suspended(
            s, user_id, until, count, settings=settings
        ),
    )


def _tell_missed(session, booking: Booking, reservation: ParkingReservation) -> None:
    notify(
        session,
        booking.holder_id,
        kind="parking.no_show",
        subject=N_("Your reserved space at %(park)s was released"),
        body=N_("%(plate)s had not arrived by %(until)s."),
        params={
            "park": localized(reservation.car_park.name_zh, reservation.car_park.name_en),
            "plate": reservation.plate,
            "until": when(booking.ends_at),
        },
        link=f"/parking/reservations/{booking.reference}",
    )


def _tell_suspended(
    session, user_id: int, until: datetime, count: int, *, settings: ParkingSettings
) -> None:
    notify(
        session,
        user_id,
        kind="parking.suspended",
        subject=N_("Parking reservations are paused for you until %(until)s"),
        body=N_(
            "%(reservations)s not used or cancelled late within %(window)s. "
            "You can reserve again from %(until)s; parking without a reservation is not affected."
        ),
        params={
            "until": when(until),
            "count": count,
            "days": settings.no_shows.window_days,
            # In the reader's plural form when read (never "1 reserved spaces", "1 days").
            "reservations": counted(
                count, "%(num)d parking reservation", "%(num)d parking reservations"
            ),
            "window": counted(settings.no_shows.window_days, "%(num)d day", "%(num)d days"),
        },
        link="/parking/mine",
    )


def my_reservations(session, user_id: int) -> list[ParkingReservation]:
    """The person's latest 50 reservations, newest arrival first."""
    return list(
        session.scalars(
            select(ParkingReservation)
            .join(Booking, Booking.id == ParkingReservation.booking_id)
            .where(Booking.holder_id == user_id)
            .order_by(ParkingReservation.arrive_at.desc())
            .limit(50)
            .options(
                selectinload(ParkingReservation.booking), selectinload(ParkingReservation.car_park)
            )
        )
    )


def is_upcoming(reservation: ParkingReservation) -> bool:
    """Still holding its space and not over yet."""
    return reservation.booking.status in HOLDING and reservation.booking.ends_at > clock.now()
