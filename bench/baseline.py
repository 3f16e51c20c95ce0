"""The baseline: a bare Flask + SQLAlchemy app doing the minimum a booking must do (insert one
row in a transaction and answer JSON). Scenarios run it beside the portal on the same database
and server settings, so their figures are ratios rather than numbers that depend on the machine.
"""

from __future__ import annotations

import os

from flask import Flask, jsonify
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, create_engine, func, insert
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

metadata = MetaData()
rows = Table(
    "bench_baseline",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", DateTime(timezone=True), server_default=func.now()),
)


def create_baseline() -> Flask:
    engine = create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True)
    try:
        metadata.create_all(engine)
    except (
        IntegrityError,
        OperationalError,
        ProgrammingError,
    ):  # another worker created it at the same moment
        pass
    app = Flask(__name__)

    @app.post("/insert")
    def insert_row():
        with engine.begin() as conn:
            new_id = conn.execute(insert(rows).returning(rows.c.id)).scalar_one()
        return jsonify({"id": new_id}), 201

    @app.get("/page")
    def page():
        """Read one row and render a page of about the size of a portal page."""
        with engine.connect() as conn:
            count = conn.execute(func.count(rows.c.id).select()).scalar_one()
        body = "".join(f"<tr><td>{i}</td><td>row {i} of {count}</td></tr>" for i in range(400))
        return f"<!doctype html><html><body><table>{body}</table></body></html>"

    return app


app = create_baseline() if os.environ.get("DATABASE_URL") else None
