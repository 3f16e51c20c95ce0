"""The capacity engine: reserve and release units of capacity over time.

Every booking in the portal, a museum hour, a court, a parking space, goes through `reserve`
and gives its units back through `release`. The guarantees:

- a bucket never holds more than its capacity, whatever the concurrency: each unit is taken by a
  guarded UPDATE (`taken + q <= capacity`) whose row count is checked, buckets are locked in
  ascending time order (so two transactions never deadlock), and a CHECK constraint backs it up;
- all buckets of a span are taken, or none (one transaction);
- a repeated request with the same (holder, idempotency key) returns the first booking; the same
  key for something else (another resource, time or quantity: a venue slot, then a parking
  space) is refused with 422 `idempotency_key_reused`, never answered with the other booking;
- a booking's units are released exactly once: the status change that releases them is itself a
  guarded UPDATE, so two concurrent cancellations cannot both give the units back;
- a booking only moves along `TRANSITIONS`: each named transition lists the statuses it may start
  from and its UPDATE is guarded by them (`WHERE status IN (...)`), so a change that lost a race
  (a cancellation against a door check-in) is refused instead of bending the booking into a state
  nobody meant (cancelled *and* checked in). `impossible_states` reports any that exist.

Every write runs in `app.db.unit_of_work` (one transaction; a unit opened inside another joins
it). On SQLite the transaction starts with BEGIN IMMEDIATE; on PostgreSQL the guarded updates'
row locks serialise contenders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from app import clock
from app.codes import idempotency_key, new_reference
from app.db import in_unit_of_work, unit_of_work, utcnow
from app.errors import Conflict, DomainError
from bookings.models import (
    HOLDING,
    Booking,
    BookingStatus,
    BookingSuspension,
    CapacityBucket,
    Resource,
    WaitlistEntry,
    WaitlistStatus,
)
from bookings.placing import (  # noqa: F401  (part of the engine's interface)
    PLACED_COLUMNS,
    IdempotencyKeyReused,
    Placed,
    SoldOut,
    as_booking,
    door_code_candidate,
    door_code_taken,
    insert_booking,
    keep_values,
    loaded_columns,
    lock_holder,
    place_in_bucket,
    placed_by_id,
    replayed,
    take_units,
)


class WrongState(Conflict):
    """The booking is no longer in a status the transition may start from (someone else moved
    it first). `status` is where it is now."""

    code = "wrong_state"

    def __init__(self, status: BookingStatus):
        super().__init__(
            _l("This booking has changed in the meantime. Reload the page to see where it stands.")
        )
        self.status = status


S = BookingStatus
# Every status change a booking can make: name -> (new status, statuses it may start from). There
# is no other way to change a booking's status. Not in any list on purpose: a checked-in booking
# is never cancelled, rejected or a no-show (the person came, the places were used); nothing
# leaves a released status.
TRANSITIONS: dict[str, tuple[BookingStatus, tuple[BookingStatus, ...]]] = {
    "cancel": (S.CANCELLED, (S.PENDING, S.OFFERED, S.CONFIRMED)),
    "check_in": (S.CHECKED_IN, (S.CONFIRMED,)),
    "no_show": (S.NO_SHOW, (S.CONFIRMED,)),
    "approve": (S.CONFIRMED, (S.PENDING,)),  # staff approval
    "reject": (S.REJECTED, (S.PENDING,)),
    "pay": (S.CONFIRMED, (S.PENDING,)),  # a hold waiting for payment (a sharing contract) paid
    "lapse": (S.EXPIRED, (S.PENDING,)),  # ... or not paid in time
    "accept": (S.CONFIRMED, (S.OFFERED,)),  # a waitlist offer taken up
    "expire": (S.EXPIRED, (S.OFFERED,)),  # ... or declined, or not taken up in time
}
# The transition `release()` uses for each releasing status.
RELEASING = {S.CANCELLED: "cancel", S.REJECTED: "reject", S.NO_SHOW: "no_show", S.EXPIRED: "expire"}


@dataclass(frozen=True)
class Reservation:
    """What to reserve: `quantity` units of `resource_id` over [starts_at, ends_at)."""

    resource_id: int
    starts_at: datetime
    ends_at: datetime
    quantity: int
    holder_id: int
    idempotency_key: str | None = None
    booked_by_id: int | None = None
    status: BookingStatus = BookingStatus.CONFIRMED
    offer_expires_at: datetime | None = None

    def __post_init__(self):
        # Booking.idempotency_key holds 64 characters. Our pages and the API never send more,
        # but a longer key in a tampered form failed the insert on PostgreSQL (a server error,
        # tests/test_fuzz.py): cut it, as the API does with its header.
        object.__setattr__(self, "idempotency_key", idempotency_key(self.idempotency_key))


def buckets_for_span(
    session,
    resource_id: int,
    starts_at: datetime,
    ends_at: datetime,
) -> list[CapacityBucket]:
    """The buckets that exactly tile [starts_at, ends_at), in time order, or a DomainError."""
    buckets = list(
        session.scalars(
            select(CapacityBucket)
            .where(
                CapacityBucket.resource_id == resource_id,
                CapacityBucket.starts_at >= starts_at,
                CapacityBucket.starts_at < ends_at,
            )
            .order_by(CapacityBucket.starts_at)
        )
    )
    cursor = starts_at
    for bucket in buckets:
        if bucket.starts_at != cursor:
            break
        cursor = bucket.ends_at
    if not buckets or cursor != ends_at:
        raise DomainError(_l("That time is not open for booking."), code="not_bookable")
    return buckets


def _existing(session, holder_id: int, key: str | None) -> Booking | None:
    if not key:
        return None
    return session.scalar(
        select(Booking).where(Booking.holder_id == holder_id, Booking.idempotency_key == key)
    )


def new_door_code(session, resource_id: int) -> str:
    """8 digits, not shared with another live booking of the same resource."""
    while True:
        code = door_code_candidate()
        if not session.scalar(select(door_code_taken(resource_id, code))):
            return code


def give_back_units(session, booking: Booking, quantity: int | None = None) -> None:
    """Give `quantity` (default: all) of the booking's units back to each bucket of its span,
    each by a guarded UPDATE (`taken >= q`)."""
    quantity = booking.quantity if quantity is None else quantity
    buckets = buckets_for_span(session, booking.resource_id, booking.starts_at, booking.ends_at)
    for bucket in buckets:
        result = session.execute(
            update(CapacityBucket)
            .where(CapacityBucket.id == bucket.id, CapacityBucket.taken >= quantity)
            .values(taken=CapacityBucket.taken - quantity)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise RuntimeError(f"bucket {bucket.id} holds fewer units than booking {booking.id}")


def resize(
    session, booking: Booking, quantity: int, allowed_from: tuple[BookingStatus, ...]
) -> int:
    """Change how many units a live booking holds to `quantity` (at least 1: giving all back is
    a cancellation), in the caller's transaction (no commit). Returns the difference.

    The booking row moves first, by an UPDATE guarded by the quantity read and `allowed_from`
    (a booking resized, cancelled or checked in meanwhile is refused with WrongState, changing
    nothing); then each bucket of its span moves by the difference, up by the guarded
    increment (`take_units`: SoldOut, and the caller's unit rolls back, when a bucket lacks
    room), down by the guarded decrement. The books balance afterwards (`ledger_mismatches`)."""
    if quantity < 1:
        raise DomainError(_l("Choose at least one place."), field="party_size")
    before = booking.quantity
    result = session.execute(
        update(Booking)
        .where(
            Booking.id == booking.id,
            Booking.quantity == before,
            Booking.status.in_(allowed_from),
        )
        .values(quantity=quantity, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.refresh(booking)
        raise WrongState(booking.status)
    difference = quantity - before
    if difference > 0:
        buckets = buckets_for_span(session, booking.resource_id, booking.starts_at, booking.ends_at)
        take_units(session, [bucket.id for bucket in buckets], difference)
    elif difference < 0:
        give_back_units(session, booking, -difference)
    session.refresh(booking)
    return difference


def reserve(
    session,
    request: Reservation,
    check: Callable[[object, Reservation], None] | None = None,
    on_created: Callable[[object, Booking], None] | None = None,
) -> Booking:
    """Take the units and record the booking in one unit of work: committed on return, or part
    of the caller's unit when one is open.

    `check(session, request)` runs inside the transaction after the holder's row is locked, so
    per-person rules (daily limits, suspensions) cannot be raced by the same person's parallel
    requests. It raises DomainError to refuse. On refusal nothing is written.
    `on_created(session, booking)` adds what must commit with a new booking (inbox messages,
    audit entries); a repeated idempotent request returns the first booking without calling it.
    The booking returned is loaded: reading it after the commit sends no query.
    """
    if request.quantity < 1:
        raise DomainError(_l("Choose at least one place."), field="party_size")
    try:
        with unit_of_work(session):
            existing = _existing(session, request.holder_id, request.idempotency_key)
            if existing is not None:
                return replayed(existing, request)
            # Serialise one person's concurrent requests (PostgreSQL; SQLite is serial already).
            lock_holder(session, request.holder_id)
            if check is not None:
                check(session, request)
            booking = hold(session, request, on_created)
            values = loaded_columns(booking)
        # What the booking row holds, known from the statements sent: set again after the
        # commit expired it, so that reading the answer does not reload it.
        keep_values(booking, values)
        return booking
    except IntegrityError:
        # A concurrent twin with the same idempotency key won the insert: answer with its
        # booking. Inside an enclosing unit the whole unit has failed: let it roll back.
        if in_unit_of_work(session):
            raise
        existing = _existing(session, request.holder_id, request.idempotency_key)
        if existing is None:
            raise
        return replayed(existing, request)


def hold(
    session, request: Reservation, on_created: Callable[[object, Booking], None] | None = None
) -> Booking:
    """Take the units and add the booking inside the caller's transaction (no commit). For
    operations that must free and re-take units atomically, such as a waitlist offer made in the
    same transaction as the cancellation that freed the places.

    The units are taken last: a guarded UPDATE locks its bucket rows until the transaction ends,
    so everything else (the booking row, its codes, `on_created`'s messages) is written first to
    keep that lock, which every contender for the slot waits on, as short as possible.
    """
    buckets = buckets_for_span(session, request.resource_id, request.starts_at, request.ends_at)
    placed = insert_booking(
        session,
        request,
        reference=new_reference(),
        door_code=new_door_code(session, request.resource_id),
        now=utcnow(),
    )
    booking = as_booking(session, placed)
    if on_created is not None:
        on_created(session, booking)
        session.flush()
    take_units(session, [bucket.id for bucket in buckets], request.quantity)
    return booking


def transition(
    session,
    booking: Booking,
    name: str,
    *,
    reason: str | None = None,
    strict: bool = False,
    **values,
) -> bool:
    """Apply the transition `name` of `TRANSITIONS` if the booking is still in one of its
    from-statuses (a guarded UPDATE); moving to a releasing status gives its units back in the
    same transaction. False (or WrongState when `strict`) if the booking is elsewhere, changing
    nothing. Does not commit."""
    to, allowed_from = TRANSITIONS[name]
    result = session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.status.in_(allowed_from))
        .values(status=to, status_reason=reason, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.refresh(booking)
        if strict:
            raise WrongState(booking.status)
        return False
    if to not in HOLDING:
        give_back_units(session, booking)
    session.refresh(booking)
    return True


def release(session, booking: Booking, to: BookingStatus, reason: str | None = None) -> bool:
    """Give a booking's units back (cancelled, rejected, no-show, expired) in a unit of work
    (the caller's, if open), through that status's transition. Returns False, changing nothing,
    if the booking is not in a status that transition starts from."""
    with unit_of_work(session):
        return transition(session, booking, RELEASING[to], reason=reason)


def ledger_mismatches(session, resource_id: int | None = None) -> list[tuple[int, int, int]]:
    """(bucket id, taken, units held by bookings) for every bucket where they differ. Empty when
    the books balance, which every test of the engine asserts after its races."""
    held = (
        select(
            CapacityBucket.id.label("bucket_id"),
            func.coalesce(func.sum(Booking.quantity), 0).label("held"),
        )
        .select_from(CapacityBucket)
        .outerjoin(
            Booking,
            and_(
                Booking.resource_id == CapacityBucket.resource_id,
                Booking.starts_at <= CapacityBucket.starts_at,
                Booking.ends_at >= CapacityBucket.ends_at,
                Booking.status.in_(HOLDING),
            ),
        )
        .group_by(CapacityBucket.id)
    )
    if resource_id is not None:
        held = held.where(CapacityBucket.resource_id == resource_id)
    held = held.subquery()
    rows = session.execute(
        select(CapacityBucket.id, CapacityBucket.taken, held.c.held)
        .join(held, held.c.bucket_id == CapacityBucket.id)
        .where(CapacityBucket.taken != held.c.held)
    )
    return [tuple(row) for row in rows]


def register_state_check(app, check: Callable[[object], list[tuple[int, str]]]) -> None:
    """Let a service add its own impossible combinations to `impossible_states` (parking: a
    sharing contract honoured but unpaid), without the engine knowing the service."""
    app.extensions.setdefault("booking_state_checks", []).append(check)


def state_checks(app) -> list[Callable[[object], list[tuple[int, str]]]]:
    """The checks the services registered on `app` (`register_state_check`), for the caller of
    `impossible_states` to pass in."""
    return list(app.extensions.get("booking_state_checks", []))


def impossible_states(
    session, checks: Iterable[Callable[[object], list[tuple[int, str]]]] = ()
) -> list[tuple[int, str]]:
    """(booking id, what is wrong) for every booking in a combination `TRANSITIONS` cannot
    produce: checked in yet not in status CHECKED_IN (a cancellation or no-show that released
    the places of someone who came), CHECKED_IN without a check-in time, an offer without an
    end, or a waitlist entry that disagrees with its offer; and what each of `checks` (the
    services' own, `state_checks(app)`) reports. Empty when all is well."""
    found = []
    for check in checks:
        found.extend(check(session))
    for booking_id, status, at in session.execute(
        select(Booking.id, Booking.status, Booking.checked_in_at).where(
            Booking.checked_in_at.is_not(None), Booking.status != BookingStatus.CHECKED_IN
        )
    ):
        released = "" if status in HOLDING else ", its places released"
        found.append((booking_id, f"{status.value} but checked in at {at.isoformat()}{released}"))
    for (booking_id,) in session.execute(
        select(Booking.id).where(
            Booking.status == BookingStatus.CHECKED_IN, Booking.checked_in_at.is_(None)
        )
    ):
        found.append((booking_id, "checked_in without a check-in time"))
    for (booking_id,) in session.execute(
        select(Booking.id).where(
            Booking.status == BookingStatus.OFFERED, Booking.offer_expires_at.is_(None)
        )
    ):
        found.append((booking_id, "offered without an expiry"))
    for entry_id, booking_id, status in session.execute(
        select(WaitlistEntry.id, Booking.id, Booking.status)
        .join(Booking, Booking.id == WaitlistEntry.booking_id)
        .where(
            WaitlistEntry.status == WaitlistStatus.OFFERED, Booking.status != BookingStatus.OFFERED
        )
    ):
        found.append((booking_id, f"{status.value} but waitlist entry {entry_id} still offered it"))
    return sorted(found)


def create_resource(session, kind: str, label: str) -> Resource:
    """A new bookable resource (flushed, so it has its id), in the caller's transaction."""
    resource = Resource(kind=kind, label=label)
    session.add(resource)
    session.flush()
    return resource


def set_capacity(session, capacity, *where) -> int:
    """Set the capacity of the buckets matching `where` (SQLAlchemy criteria on CapacityBucket)
    to `capacity`, never below what each has taken: lowering a pool or a hall never takes places
    from people who hold them. One UPDATE; returns the number of buckets changed. `capacity`
    may be a number or a SQL expression."""
    return session.execute(
        update(CapacityBucket)
        .where(*where)
        .values(
            capacity=case((CapacityBucket.taken > capacity, CapacityBucket.taken), else_=capacity)
        )
        .execution_options(synchronize_session=False)
    ).rowcount


def insert_missing_buckets(session, rows: list[dict]) -> None:
    """Insert buckets (dicts of resource_id, starts_at, ends_at, capacity, taken) that do not
    exist yet, inside the caller's transaction. ON CONFLICT DO NOTHING on the (resource,
    start) key makes it safe when several sweeps or requests make the same buckets at once.

    One statement, executed for many rows (the driver's executemany, batched by SQLAlchemy's
    "insertmanyvalues" on PostgreSQL): compiled once and cached, where a VALUES list of 150 rows
    was compiled anew for every chunk (most of the time of making a car park's pool)."""
    if not rows:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(CapacityBucket.__table__).on_conflict_do_nothing(
            index_elements=["resource_id", "starts_at"]
        ),
        rows,
    )


def active_suspension(session, user_id: int, kind: str) -> BookingSuspension | None:
    """The person's current suspension from booking `kind` ("venue", "parking"), if any."""
    return session.scalar(
        select(BookingSuspension)
        .where(
            BookingSuspension.user_id == user_id,
            BookingSuspension.kind == kind,
            BookingSuspension.until > clock.now(),
        )
        .order_by(BookingSuspension.until.desc())
    )


def suspended_until(user_id, kind: str, now):
    """SQL: the end of the person's current suspension from booking `kind` (as
    `active_suspension` finds it), or NULL; a scalar for a caller's statement. `user_id` and
    `now` may be values or bound parameters."""
    table = BookingSuspension.__table__
    return (
        select(func.max(table.c.until))
        .where(table.c.user_id == user_id, table.c.kind == kind, table.c.until > now)
        .scalar_subquery()
    )


def suspend_if_due(
    session, user_id: int, kind: str, *, count: int, limit: int, days: int, reason: str
):
    """Suspend booking `kind` for `days` when `count` (the person's recent no-shows) reaches
    `limit` and they are not suspended already, in the caller's transaction. Returns the end of
    the new suspension, or None."""
    if count < limit or active_suspension(session, user_id, kind) is not None:
        return None
    until = clock.now() + timedelta(days=days)
    session.add(BookingSuspension(user_id=user_id, kind=kind, until=until, reason=reason))
    return until
