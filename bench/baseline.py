"""The baseline: a bare Flask + SQLAlchemy app doing the minimum a request of each kind must do,
run beside the portal under the same gunicorn settings on the same PostgreSQL, so that the
portal's figures are ratios rather than numbers that depend on the machine.

- `POST /insert` inserts one row in a transaction and answers JSON (what a booking must at
  least do);
- `GET /page` reads one row by primary key and renders, from a compiled Jinja template, a page
  of about a portal page's size (8 KB, like the 14-day venue page; bench/page_weight.py);
- `GET /engine` says which engine options it runs with, and the portal's.

The engine is made with the portal's own engine options (SQLALCHEMY_ENGINE_OPTIONS as
`create_app()` configures it in this same environment: pre-ping, psycopg connect arguments),
and a pool sized to the worker's threads (BENCH_THREADS), so that no request waits for a
connection to be opened. If the portal sizes its pool itself, the baseline uses its size.
"""

from __future__ import annotations

import os
import random

from flask import Flask, jsonify
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    func,
    insert,
    select,
    text,
)

metadata = MetaData()
inserted = Table(
    "bench_insert",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", DateTime(timezone=True), server_default=func.now()),
)
pages = Table(
    "bench_page",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String(120)),
    Column("body", Text),
)
PAGE_ROWS = 1000

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{ row.title }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/portal.css"></head>
<body><header><a href="/">闵行区 · citizen-portal</a>
<nav>{% for label in nav %}<a href="/{{ label }}">{{ label }}</a> {% endfor %}</nav></header>
<main><h1>{{ row.title }}</h1><p>{{ row.body }}</p>
<table><thead><tr><th>day</th><th>time</th><th>places</th><th></th></tr></thead><tbody>
{% for i in range(rows) %}<tr><td>{{ day }} {{ i }}</td><td>{{ '%02d' % (8 + i % 10) }}:00</td>
<td>{{ (row.id * 7 + i) % 20 }} of 20</td><td><a href="/book/{{ row.id }}/{{ i }}">{{ row.title }}
</a></td></tr>
{% endfor %}</tbody></table></main><footer>{{ footer }}</footer></body></html>
"""
PAGE_TABLE_ROWS = 61  # makes the page about 8 KB


def portal_engine_options() -> dict:
    """SQLALCHEMY_ENGINE_OPTIONS as the portal's factory configures them in this environment."""
    from app import create_app

    return dict(create_app().config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})


def engine_options(portal: dict, threads: int) -> dict:
    """The portal's engine options, with a pool of one connection per worker thread unless the
    portal sizes its pool itself."""
    options = dict(portal)
    if "pool_size" not in options and "poolclass" not in options:
        options.update(pool_size=threads, max_overflow=0)
    return options


def prepare(url: str) -> None:
    """Create the baseline's tables and the rows `/page` reads (run once, by the harness)."""
    engine = create_engine(url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(pages.delete())
        conn.execute(
            insert(pages),
            [
                {"id": i, "title": f"场馆 {i} · Venue {i}", "body": "开放时间 08:00-18:00 " * 4}
                for i in range(1, PAGE_ROWS + 1)
            ],
        )
    engine.dispose()


def reset(url: str) -> None:
    """Empty the insert table, so each baseline block starts from the same state."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE bench_insert RESTART IDENTITY"))
    engine.dispose()


def create_baseline() -> Flask:
    portal = portal_engine_options()
    options = engine_options(portal, int(os.environ.get("BENCH_THREADS", "16")))
    engine = create_engine(os.environ["DATABASE_URL"], **options)
    app = Flask(__name__)
    template = app.jinja_env.from_string(PAGE)  # compiled once, as Flask caches file templates
    nav = ["venues", "parking", "repairs", "bookings", "profile", "help"]

    @app.post("/insert")
    def insert_row():
        with engine.begin() as conn:
            new_id = conn.execute(insert(inserted).returning(inserted.c.id)).scalar_one()
        return jsonify({"id": new_id}), 201

    @app.get("/page")
    def page():
        with engine.connect() as conn:
            row = conn.execute(
                select(pages).where(pages.c.id == random.randint(1, PAGE_ROWS))
            ).one()
        return template.render(
            row=row,
            nav=nav,
            rows=PAGE_TABLE_ROWS,
            day="2026-12-01",
            footer="12345 · 闵行区人民政府",
        )

    @app.get("/engine")
    def engine_settings():
        pool = engine.pool
        return jsonify(
            {
                "portal_options": {k: repr(v) for k, v in portal.items()},
                "baseline_options": {k: repr(v) for k, v in options.items()},
                "pool": f"{type(pool).__name__} size {pool.size()}"
                if hasattr(pool, "size")
                else type(pool).__name__,
            }
        )

    return app


def __getattr__(name: str):
    """`bench.baseline:app` for gunicorn, built on first access (importing the module for
    `prepare` builds nothing)."""
    if name == "app":
        globals()["app"] = create_baseline()
        return globals()["app"]
    raise AttributeError(name)
