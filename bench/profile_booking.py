"""Profile one API booking (`POST /api/v1/bookings`) in-process on PostgreSQL, as
`python -m bench booking` sends it: the demo data, the hot slots of large capacity, bench
clients each with a token of their own, the production configuration. Prints, without a
profiler running:

- app CPU milliseconds per booking (time.process_time of this process: Flask, SQLAlchemy,
  psycopg and the test client; PostgreSQL runs in its own processes), and the same figure for the
  baseline's `POST /insert` (bench/baseline.py) measured the same way, with their ratio;
- PostgreSQL's CPU milliseconds per booking (every process of the throwaway cluster, from /proc;
  one client, so no lock waits);
- SQL statements and database round trips per booking (statements, BEGIN, COMMIT, ROLLBACK and
  the pool's pre-ping), with the statements themselves;

then, with --profile, where the CPU time goes (cProfile on process time, cumulative and own).

    python -m bench.profile_booking [--bookings 300] [--clients 64] [--profile]

Not a load test: one thread, no gunicorn, no locust. The figures to compare before and after a
change are the CPU milliseconds and the round trips.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import time
from collections import Counter

from bench import cpu
from bench.booking_rush import setup_slots
from bench.harness import PORTAL_ENV, Cluster, flask_cli
from bench.session import add_residents


class Traffic:
    """What a booking sends to the database, counted with SQLAlchemy's engine and pool events."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.statements: Counter = Counter()
        self.events: Counter = Counter()
        pre_ping = bool(getattr(engine.pool, "_pre_ping", False))

        @event.listens_for(engine, "before_cursor_execute")
        def statement(conn, cursor, text, parameters, context, executemany):
            self.statements[" ".join(text.split())[:100]] += 1

        for name in ("begin", "commit", "rollback"):
            event.listen(engine, name, self._counter(name))

        @event.listens_for(engine.pool, "checkout")
        def checkout(dbapi_connection, record, proxy):
            self.events["checkout"] += 1
            if pre_ping:
                self.events["ping"] += 1

    def _counter(self, name):
        def count(*args):
            self.events[name] += 1

        return count

    def reset(self) -> None:
        self.statements.clear()
        self.events.clear()

    def round_trips(self) -> int:
        sent = self.events["begin"] + self.events["commit"] + self.events["rollback"]
        return sum(self.statements.values()) + sent + self.events["ping"]


def cpu_ms_each(send, n: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per call of send(i) for i in range(n)."""
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(n):
        send(i)
    return (
        (time.process_time() - cpu) / n * 1000,
        (time.perf_counter() - wall) / n * 1000,
    )


def baseline_insert_ms(cluster: Cluster, n: int) -> float:
    """CPU ms of the baseline's `POST /insert`, in-process like the booking."""
    from bench import baseline

    url = cluster.create("profile_baseline")
    baseline.prepare(url)
    os.environ["DATABASE_URL"] = url
    app = baseline.create_baseline()
    client = app.test_client()

    def send(_i):
        assert client.post("/insert", json={}).status_code == 201

    cpu_ms_each(send, 50)  # warm-up
    return cpu_ms_each(send, n)[0]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=300)
    parser.add_argument("--clients", type=int, default=64, help="bench clients (tokens)")
    parser.add_argument("--warmup", type=int, default=64)
    parser.add_argument("--profile", action="store_true", help="then a pass under cProfile")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)
    # Before the portal's config is first imported (its classes read the environment then).
    os.environ["SECRET_KEY"] = "bench-" + "x" * 40

    cluster = Cluster()
    try:
        url = cluster.create("profile")
        flask_cli(url, "db", "upgrade")
        flask_cli(url, "seed-demo")
        _ids, tokens = add_residents(url, args.clients)
        with cluster.connect("profile") as conn:
            slots = setup_slots(conn)["hot"]
        # As bench/harness.py serves the portal: production settings, its rate limits.
        os.environ.update(PORTAL_ENV="production", **PORTAL_ENV)
        from app import create_app
        from app.extensions import db

        app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            traffic = Traffic(db.engine)
            options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
        client = app.test_client()

        def book(i):
            response = client.post(
                "/api/v1/bookings",
                json={"slot_id": slots[i % len(slots)], "party_size": 1},
                headers={"Authorization": f"Bearer {tokens[i % len(tokens)]}"},
                base_url="https://localhost",
            )
            assert response.status_code == 201, response.json

        cpu_ms_each(book, args.warmup)  # warm caches, the pool, every token's last use
        traffic.reset()
        db_before = cpu.tree_ms(cluster.postmaster)
        cpu_ms, wall_ms = cpu_ms_each(book, args.bookings)
        db_ms = (cpu.tree_ms(cluster.postmaster) - db_before) / args.bookings
        statements, events = Counter(traffic.statements), Counter(traffic.events)
        round_trips = traffic.round_trips()
        profiler = None
        if args.profile:
            # CPU time, not wall time: waiting for PostgreSQL is not the app's cost.
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            cpu_ms_each(book, args.bookings)
            profiler.disable()
        with app.app_context():
            db.engine.dispose()
        insert_ms = baseline_insert_ms(cluster, args.bookings)
    finally:
        cluster.close()

    n = args.bookings
    print(f"engine options: {options}")
    print(
        f"{n} bookings: {cpu_ms:.2f} ms app CPU each ({wall_ms:.2f} ms wall); "
        f"baseline insert {insert_ms:.2f} ms CPU: {insert_ms / cpu_ms:.3f}x; "
        f"PostgreSQL {db_ms:.2f} ms CPU each"
    )
    print(
        f"per booking: {sum(statements.values()) / n:.2f} SQL statements, "
        f"{round_trips / n:.2f} round trips "
        f"(BEGIN {events['begin'] / n:.2f}, COMMIT {events['commit'] / n:.2f}, "
        f"ROLLBACK {events['rollback'] / n:.2f}, pool checkouts {events['checkout'] / n:.2f}, "
        f"pre-pings {events['ping'] / n:.2f})"
    )
    for statement, count in statements.most_common(25):
        print(f"{count / n:6.2f}  {statement}")
    if profiler is not None:
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.top)
            print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
