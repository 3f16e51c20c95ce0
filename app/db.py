"""Database conventions shared by every package: aware UTC timestamps, SQLite tuning and
write transactions that cannot be raced on SQLite."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import scoped_session
from sqlalchemy.types import TypeDecorator

SQLITE_BUSY_TIMEOUT_MS = 30_000


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


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
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def configure_engine(engine: Engine) -> None:
    """Install SQLite pragmas and our own transaction begin on an engine (no-op elsewhere).

    pysqlite's own transaction handling begins lazily and cannot take the write lock up front, so we
    switch it off and emit BEGIN ourselves: `BEGIN IMMEDIATE` when the connection was asked for a
    write transaction (see `write_transaction`), a plain deferred `BEGIN` otherwise.
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
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def write_transaction(session):
    """Start a write transaction on `session` that holds the database's write lock from its start.

    On SQLite this is `BEGIN IMMEDIATE` (waiting up to the busy timeout for other writers), so a
    read-check-write sequence inside cannot interleave with another writer. On PostgreSQL it is an
    ordinary transaction; guarded updates and row locks do the serialising there. Any transaction
    already open on the session is committed first, so call this at the start of a service.
    """
    real = session() if isinstance(session, scoped_session) else session
    if real.in_transaction():
        session.commit()
    session.connection(execution_options={"sqlite_immediate": True})
    return session
