"""A database connection lost under a request is invalidated by the app itself, so the pool
replaces it and the next request works, without pool pre-ping and even when the driver does not
report the connection as lost (SQLAlchemy invalidates by itself only when it does).

Both paths of app/__init__.py are pinned: the 503 answer (the loss is seen by a query) and the
teardown (the loss is seen by the closing ROLLBACK, after the page was rendered). PostgreSQL
only: a backend is terminated under the app, as a restart or a failover does.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import event, select

from tests import pg
from tests.conftest import PG_PORT_ENV, migrate_to_head


@pytest.fixture(autouse=True)
def _postgres_only(request):
    if "postgresql" not in request.config.portal_backends:
        pytest.skip("terminating backends needs PostgreSQL (--db includes postgresql)")


@pytest.fixture
def lossy(monkeypatch):
    """An app on a fresh database whose pool holds one connection, without pre-ping, on a
    driver that never reports a connection as lost. Yields (app, token, terminate, invalidated):
    `terminate()` ends the database side of every connection the app holds, `invalidated` lists
    the pool's invalidations as they happen."""
    from app import create_app
    from app.accounts import services
    from app.extensions import db

    server = pg.PostgresServer(Path("/nonexistent"))
    server.port = int(os.environ[PG_PORT_ENV])
    name = f"lossy_{uuid.uuid4().hex[:10]}"
    url = server.create_database(name)
    migrate_to_head(url)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "TESTING": True,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            # One connection, no pre-ping, a short wait: a connection that is not given back
            # (or given back still dead) fails the next request at once.
            "SQLALCHEMY_ENGINE_OPTIONS": {
                "pool_pre_ping": False,
                "pool_size": 1,
                "max_overflow": 0,
                "pool_timeout": 3,
            },
        }
    )
    with app.app_context():
        user = services.register_resident(
            db.session, phone="13700000001", name="居民", password="kettle-lamp-9"
        )
        token = services.issue_token(db.session, user, "resilience")
        engine = db.engine
        db.session.remove()
    # As if the driver did not notice: SQLAlchemy's own invalidation stays out of the way, and
    # only the app's can save the pool.
    monkeypatch.setattr(engine.dialect, "is_disconnect", lambda *args, **kwargs: False)
    invalidated = []
    event.listen(engine, "invalidate", lambda _dbapi, _record, exc: invalidated.append(exc))

    def terminate():
        with psycopg.connect(
            f"host=127.0.0.1 port={server.port} user=postgres dbname={name}", autocommit=True
        ) as admin:
            ended = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()[0]
        assert ended == 1  # the pool's one connection

    yield app, token, terminate, invalidated
    engine.dispose()


def _me(client, token):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def test_the_503_answer_invalidates_the_lost_connection(lossy, caplog):
    app, token, terminate, invalidated = lossy
    client = app.test_client()
    assert _me(client, token).status_code == 200
    terminate()
    with caplog.at_level(logging.WARNING, logger="app"):
        down = _me(client, token)
    assert down.status_code == 503 and down.get_json()["error"]["code"] == "try_again"
    # Invalidated by the 503 handler itself: the teardown found nothing left to roll back on
    # the dead connection (without the handler's call, its ROLLBACK fails and is logged).
    assert invalidated == [None]
    assert "lost while closing" not in caplog.text
    assert _me(client, token).status_code == 200  # a new connection, no pre-ping needed
    assert len(invalidated) == 1


def test_a_connection_lost_after_the_page_is_invalidated_at_teardown(lossy, caplog):
    app, token, terminate, invalidated = lossy
    from app.extensions import db

    lose = []

    @app.after_request
    def lose_the_connection(response):
        if lose:
            lose.pop()
            db.session.execute(select(1))  # the request holds a connection in a transaction
            terminate()
        return response

    client = app.test_client()
    lose.append(True)
    with caplog.at_level(logging.WARNING, logger="app"):
        answered = _me(client, token)
    assert answered.status_code == 200  # the finished page stands
    assert "lost while closing" in caplog.text
    assert invalidated == [None]  # the connection whose ROLLBACK failed, not given back dead
    assert _me(client, token).status_code == 200
