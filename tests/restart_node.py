"""The portal as a node of the PostgreSQL-restart test (tests/test_scale_out.py): built as
wsgi.py builds it, but without pool pre-ping and on a driver that never reports a connection as
lost, so that only the app's own invalidation (app/__init__.py: the 503 answer and the
teardown) can give the pool working connections again after the restart. Each invalidation is
printed to stderr, for the test to count."""

from __future__ import annotations

import os
import sys

from sqlalchemy import event

from app import create_app
from app.config import CONFIGS
from app.extensions import db

_options = CONFIGS[os.environ.get("PORTAL_ENV", "development")].SQLALCHEMY_ENGINE_OPTIONS
app = create_app({"SQLALCHEMY_ENGINE_OPTIONS": {**_options, "pool_pre_ping": False}})
with app.app_context():
    engine = db.engine
# SQLAlchemy invalidates a connection by itself when the driver says it was lost (psycopg does
# say so after a restart); with that turned off, what recovers the node is the app's own call.
engine.dialect.is_disconnect = lambda *args, **kwargs: False


@event.listens_for(engine, "invalidate")
def _report(_dbapi_connection, _record, exception):
    by = "the app" if exception is None else type(exception).__name__
    print(f"connection invalidated by {by}", file=sys.stderr, flush=True)
