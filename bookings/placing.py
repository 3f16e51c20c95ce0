"""The capacity engine's writes as plain SQL statements: the booking row, the guarded updates
that take its units, the lock on its holder, and the ORM object for it built from the values in
hand. `bookings.services.reserve` and the services' hot paths (a venue booking through the API)
write through these, inside a unit of work (`app.db.unit_of_work`) that the caller holds.

Why not the ORM's unit of work here: a flush of one new object costs more CPU than the INSERT it
sends, and the object it leaves behind is expired by the commit and reloaded when read again.
These statements are built once, at import, and run on the session's connection; what they
write is known before they run, so an answer is built from it with no reload after the commit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, fields
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import User
from app.db import connection_of
from app.errors import Conflict, DomainError
from app.notifications.models import Notification
from app.notifications.services import insert_notification
from bookings.models import HOLDING, Booking, BookingStatus, CapacityBucket

BOOKING = Booking.__table__
BUCKET = CapacityBucket.__table__


class SoldOut(Conflict):
    code = "sold_out"


class IdempotencyKeyReused(DomainError):
    """A key names one request (as in the IETF Idempotency-Key draft and Stripe's API): reused
    for a different one it is the client's mistake, told plainly rather than guessed at."""

    status = 422
    code = "idempotency_key_reused"


@dataclass(frozen=True)
class Placed:
    """A booking as the engine wrote it, or found it again for a repeated idempotency key
    (`replayed`): every column, from the values in hand."""

    id: int
    resource_id: int
    holder_id: int
    booked_by_id: int | None
    starts_at: datetime
    ends_at: datetime
    quantity: int
    status: BookingStatus
    idempotency_key: str | None
    reference: str
    door_code: str
    created_at: datetime
    updated_at: datetime
    checked_in_at: datetime | None = None
    offer_expires_at: datetime | None = None
    reminded_at: datetime | None = None
    status_reason: str | None = None
    replayed: bool = False

    def columns(self) -> dict:
        """The values of every column of `booking` (Booking's attributes by name)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "replayed"}


# Every column of a booking, in Placed's order, for reading one back as a Placed.
PLACED_COLUMNS = tuple(BOOKING.c[f.name] for f in fields(Placed) if f.name != "replayed")

_LOCK_HOLDER = (
    select(User.__table__.c.id).where(User.__table__.c.id == bindparam("holder")).with_for_update()
)
_INSERT = insert(BOOKING).returning(BOOKING.c.id)
_TAKE = (
    update(BUCKET)
    .where(
        BUCKET.c.id == bindparam("bucket"),
        BUCKET.c.taken + bindparam("quantity") <= BUCKET.c.capacity,
    )
    .values(taken=BUCKET.c.taken + bindparam("quantity"))
)


def lock_holder(session, holder_id: int) -> None:
    """Lock the holder's row until the transaction ends (FOR UPDATE on PostgreSQL; SQLite's
    write transaction is serial already), so that one person's concurrent requests are decided
    one after the other: per-person rules read after it see every earlier booking."""
    connection_of(session).execute(_LOCK_HOLDER, {"holder": holder_id})


def door_code_candidate() -> str:
    """8 random digits, the form of a door code (`door_code_taken` says whether it is free)."""
    return f"{secrets.randbelow(10**8):08d}"


def door_code_taken(resource_id, code):
    """SQL truth value: `code` is the door code of a live booking of the resource (door codes
    are unique among those). For a caller to read in a statement it sends anyway (an alias of
    the booking table, so it never correlates with the caller's own FROM)."""
    live = BOOKING.alias("live")
    return exists().where(
        live.c.resource_id == resource_id,
        live.c.door_code == code,
        live.c.status.in_(HOLDING),
    )


def replayed(found, request):
    """`found` (a Booking or a Placed made with the request's idempotency key) if the request
    asks for the same thing again (resource, span, quantity), else IdempotencyKeyReused."""
    if (found.resource_id, found.starts_at, found.ends_at, found.quantity) != (
        request.resource_id,
        request.starts_at,
        request.ends_at,
        request.quantity,
    ):
        raise IdempotencyKeyReused(
            _l(
                "This Idempotency-Key was already used for a different booking. "
                "Send a new key for each new booking."
            )
        )
    return found


def _unsaved(request, reference: str, door_code: str, now: datetime) -> Placed:
    """The booking `request` asks for, before the database gives it its id (0 until then)."""
    return Placed(
        id=0,
        resource_id=request.resource_id,
        holder_id=request.holder_id,
        booked_by_id=request.booked_by_id,
        starts_at=request.starts_at,
        ends_at=request.ends_at,
        quantity=request.quantity,
        status=request.status,
        idempotency_key=request.idempotency_key,
        reference=reference,
        door_code=door_code,
        created_at=now,
        updated_at=now,
        offer_expires_at=request.offer_expires_at,
    )


def insert_booking(session, request, *, reference: str, door_code: str, now: datetime) -> Placed:
    """Insert the booking `request` (a bookings.services.Reservation) asks for, in the caller's
    transaction: one INSERT ... RETURNING id. Takes no units (`take_units` does)."""
    placed = _unsaved(request, reference, door_code, now)
    values = placed.columns()
    del values["id"]
    new_id = connection_of(session).execute(_INSERT, values).scalar_one()
    return Placed(**{**placed.columns(), "id": new_id})


def take_units(session, bucket_ids, quantity: int) -> None:
    """Guarded increment of each bucket (`taken + quantity <= capacity`), in the order given
    (time order: two transactions never wait on each other's buckets in a cycle); SoldOut if
    any lacks room, and the caller's unit rolls back whatever it took."""
    connection = connection_of(session)
    for bucket_id in bucket_ids:
        taken = connection.execute(_TAKE, {"bucket": bucket_id, "quantity": quantity})
        if taken.rowcount != 1:
            raise SoldOut(_l("Sorry, there are not enough places left at that time."))


def _write_statement():
    """PostgreSQL: `place_in_bucket`'s three writes as one statement. The guarded UPDATE comes
    first; the booking is inserted only from the bucket row it returned, the message only from
    the booking row: a full bucket makes the statement write nothing and return no row."""
    note = Notification.__table__

    def values(table, prefix, names):
        return [bindparam(f"{prefix}{name}", type_=table.c[name].type) for name in names]

    booking_names = [c.key for c in PLACED_COLUMNS if c.key != "id"]
    note_names = ["user_id", "kind", "subject", "body", "params", "link", "created_at"]
    taken = (
        update(BUCKET)
        .where(
            BUCKET.c.id == bindparam("bucket"),
            BUCKET.c.taken + bindparam("quantity") <= BUCKET.c.capacity,
        )
        .values(taken=BUCKET.c.taken + bindparam("quantity"))
        .returning(BUCKET.c.id)
        .cte("taken")
    )
    placed = (
        insert(BOOKING)
        .from_select(
            booking_names, select(*values(BOOKING, "b_", booking_names)).select_from(taken)
        )
        .returning(BOOKING.c.id)
        .cte("placed")
    )
    noted = (
        insert(note)
        .from_select(note_names, select(*values(note, "n_", note_names)).select_from(placed))
        .returning(note.c.id)
        .cte("noted")
    )
    return select(placed.c.id).add_cte(noted)


_WRITE = _write_statement()


def place_in_bucket(
    session,
    request,
    bucket_id: int,
    *,
    reference: str,
    door_code: str,
    now: datetime,
    message: dict,
) -> Placed:
    """In the caller's transaction, after its rules: take `request.quantity` units of the one
    bucket `bucket_id` (the guarded UPDATE: `taken + q <= capacity`, row count checked), insert
    the booking and the holder's inbox `message` (Notification's columns: kind, subject, body,
    params, link). SoldOut, having written nothing, when the bucket lacks room.

    One statement on PostgreSQL (`_write_statement`); elsewhere (SQLite) the same writes one by
    one (`insert_booking`, `insert_notification`, `take_units`), in one transaction that SQLite
    runs alone (BEGIN IMMEDIATE). Why twice: on PostgreSQL each statement is a round trip and
    most of a booking's CPU; SQLite has no writes inside WITH. tests/test_engine.py,
    test_venue_booking.py and the race tests run both."""
    connection = connection_of(session)
    if connection.dialect.name != "postgresql":
        placed = insert_booking(session, request, reference=reference, door_code=door_code, now=now)
        insert_notification(session, request.holder_id, **message)
        take_units(session, [bucket_id], request.quantity)
        return placed
    placed = _unsaved(request, reference, door_code, now)
    parameters = {f"b_{name}": value for name, value in placed.columns().items() if name != "id"}
    parameters.update(
        {f"n_{name}": value for name, value in message.items()},
        n_user_id=request.holder_id,
        n_created_at=now,
        bucket=bucket_id,
        quantity=request.quantity,
    )
    new_id = connection.execute(_WRITE, parameters).scalar()
    if new_id is None:
        raise SoldOut(_l("Sorry, there are not enough places left at that time."))
    return Placed(**{**placed.columns(), "id": new_id})


_PLACED_BY_ID = select(*PLACED_COLUMNS).where(BOOKING.c.id == bindparam("booking"))


def placed_by_id(session, booking_id: int) -> Placed:
    """The booking `booking_id` as a Placed found again (`replayed`), in one statement."""
    row = connection_of(session).execute(_PLACED_BY_ID, {"booking": booking_id}).one()
    return Placed(*row, replayed=True)


def as_booking(session, placed: Placed) -> Booking:
    """The ORM Booking for `placed`, added to the session as loaded from the database, without
    a query: every column is set, relationships load when first read."""
    booking = session.get(Booking, placed.id) if placed.replayed else None
    if booking is not None:
        return booking
    booking = Booking(**placed.columns())
    make_transient_to_detached(booking)
    session.add(booking)
    return booking


def keep_values(booking: Booking, values: dict) -> None:
    """Set `values` (column name -> value) on `booking` as its loaded state, e.g. again after
    the commit that expired them, when they are known to be what the database holds."""
    for name, value in values.items():
        set_committed_value(booking, name, value)


def loaded_columns(booking: Booking) -> dict:
    """The booking's column values as the session holds them (no query: every one is loaded)."""
    return {column.key: getattr(booking, column.key) for column in PLACED_COLUMNS}
