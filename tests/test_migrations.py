"""The migrations are the schema: they upgrade an empty database to head, match the models
exactly, and downgrade again, on both databases."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect


@pytest.fixture
def empty_database(backend, tmp_path, request):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    import os
    from pathlib import Path

    from tests import pg

    server = pg.PostgresServer(Path("/nonexistent"))
    server.port = int(os.environ["PORTAL_TEST_PG_PORT"])
    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    yield server.create_database(f"migrations_{worker}")


def test_upgrade_from_empty_matches_models_and_downgrades(empty_database):
    from app import create_app
    from app.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database, "TESTING": True})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata
            )
        assert diff == [], f"models and migrations differ: {diff}"
        downgrade(revision="base")
        tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        db.engine.dispose()
