"""Database conventions shared by every package: aware UTC timestamps, SQLite tuning, and the
one unit of work through which every service writes (`unit_of_work`, `atomic`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import wraps

from sqlalchemy import DateTime, Enum, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.types import TypeDecorator

SQLITE_BUSY_TIMEOUT_MS = 30_000


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp that is always timezone-aware in Python and UTC in the database.

    PostgreSQL stores `timestamptz`; SQLite has no time zones, so values are stored as naive UTC
    and made aware again on the way out. Naive datetimes are refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def configure_engine(engine: Engine) -> None:
    """Install SQLite pragmas and our own transaction begin on an engine (no-op elsewhere).

    Every SQLite transaction begins with `BEGIN IMMEDIATE`, taking the write lock up front and
    waiting for it up to the busy timeout. A deferred transaction that reads and then writes
    cannot upgrade its lock in WAL mode once another writer has committed: SQLite answers
    "database is locked" at once, whatever the timeout, which under a booking rush failed real
    requests. Rails 7.1 and Django 5.1 made the same choice. The cost, readers queueing behind
    writers, is the embedded default's; PostgreSQL runs production.
    """
    if engine.dialect.name != "sqlite" or getattr(engine, "_portal_configured", False):
        return
    engine._portal_configured = True

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def write_transaction(session):
    """Start a fresh transaction for a service that reads, checks and writes.

    Whatever the session had open is committed first, so the service reads current data. On
    SQLite the new transaction holds the write lock from its start (see `configure_engine`), so
    nothing can interleave; on PostgreSQL guarded updates and row locks do the serialising.
    """
    real = _real(session)
    if real.in_transaction():
        # End the read transaction without expiring what it loaded: the objects were read
        # moments ago in this request, and everything a write decides on is re-checked inside
        # the new transaction by guarded UPDATEs, row locks and fresh queries. Expiring them
        # cost a booking nine lazy reloads (bench/profile_booking.py).
        commit_keeping_loaded(session)
    session.connection()
    return session


class UnitOfWork:
    """What a unit of work carries besides its transaction: effects to run once it committed
    (or once it rolled back), in the order they were added."""

    def __init__(self, connection=None) -> None:
        # The connection the unit's transaction runs on: statements sent straight on it skip
        # the session's lookup of its connection, one per statement.
        self.connection = connection
        self._after_commit: list[Callable[[], None]] = []
        self._after_rollback: list[Callable[[], None]] = []

    def after_commit(self, effect: Callable[[], None]) -> None:
        """Run `effect` after the commit, never if the unit rolls back (a file to delete once
        the row that named it is gone, a cache to drop)."""
        self._after_commit.append(effect)

    def after_rollback(self, effect: Callable[[], None]) -> None:
        """Run `effect` if the unit rolls back (a stored upload nobody will refer to)."""
        self._after_rollback.append(effect)


def _real(session):
    return session() if isinstance(session, scoped_session) else session


@contextmanager
def unit_of_work(session, *, keep_loaded: bool = False) -> Iterator[UnitOfWork]:
    """The one way the portal writes: begin, yield, commit; roll back on any error; then the
    effects registered with `after_commit` (or `after_rollback`).

    The transaction begins fresh (`write_transaction`: `BEGIN IMMEDIATE` on SQLite), so the
    service reads current data. A unit opened inside another joins it: the outermost unit
    commits or rolls back everything, so an operation made of several services (cancel N
    bookings for a closure; register a plate and reserve with it) is one transaction. Views,
    APIs and commands never commit; they call services, which open units.

    `keep_loaded`: commit without expiring what the session holds, for a small bookkeeping unit
    in the middle of a read (an access audit, a token's last use) whose page goes on using the
    objects it loaded; expiring them would reload each one lazily. Ignored when joining.
    """
    real = _real(session)
    outer = real.info.get("unit_of_work")
    if outer is not None:
        yield outer
        return
    write_transaction(session)
    unit = real.info["unit_of_work"] = UnitOfWork(real.connection())
    try:
        yield unit
        if keep_loaded:
            commit_keeping_loaded(session)
        else:
            session.commit()
    except BaseException:
        real.info.pop("unit_of_work", None)
        session.rollback()
        for effect in unit._after_rollback:
            effect()
        raise
    real.info.pop("unit_of_work", None)
    for effect in unit._after_commit:
        effect()


def in_unit_of_work(session) -> bool:
    return "unit_of_work" in _real(session).info


def connection_of(session):
    """The connection `session`'s transaction runs on, for plain statements: the open unit of
    work's (kept when the unit began: no lookup per statement), else the session's own."""
    real = _real(session)
    unit = real.info.get("unit_of_work")
    return unit.connection if unit is not None else real.connection()


def atomic(service: Callable) -> Callable:
    """Decorator: run a service `f(session, ...)` as one unit of work (see `unit_of_work`)."""

    @wraps(service)
    def run(session, *args, **kwargs):
        with unit_of_work(session):
            return service(session, *args, **kwargs)

    return run


def end_read(session) -> None:
    """End a read-only transaction with COMMIT, keeping what it loaded: what every request's
    session does at its end (app/__init__.py). A ROLLBACK would do too, but psycopg 3 discards
    the connection's prepared statements on every ROLLBACK, so no statement would stay prepared
    from one request to the next.

    Writes go through `unit_of_work`, never through this: a transaction that flushed changes
    (an autoflush of an object a page changed), or that holds changes not yet flushed, is rolled
    back instead, as closing the session always did, so nothing is written that no unit of work
    meant to write."""
    real = _real(session)
    if not real.in_transaction() or in_unit_of_work(session):
        return
    if real.info.get("flushed") or real.new or real.dirty or real.deleted:
        real.rollback()
    else:
        commit_keeping_loaded(session)


@event.listens_for(Session, "after_begin")
def _transaction_began(session, _transaction, _connection) -> None:
    session.info.pop("flushed", None)


@event.listens_for(Session, "after_flush")
def _flushed(session, _flush_context) -> None:
    # Read by end_read: this transaction wrote something.
    session.info["flushed"] = True


def commit_keeping_loaded(session) -> None:
    """Commit without expiring the objects the session holds (the next access does not reload
    them). For commits in the middle of a request whose objects stay valid: the end of a read
    transaction, or a bookkeeping write such as a token's last-use time."""
    real = _real(session)
    real.expire_on_commit = False
    try:
        session.commit()
    finally:
        real.expire_on_commit = True


def str_enum(enum_cls, length: int = 24) -> Enum:
    """A column type storing a StrEnum by its value, as VARCHAR with validation (no native
    PostgreSQL enum type, so adding a value needs no ALTER TYPE migration)."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=length,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )
