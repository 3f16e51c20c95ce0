"""Profile one booking: N bookings through the JSON API in-process on PostgreSQL under cProfile,
with the SQL statements each one sends. Not a load test: where a booking's time goes.

    python -m bench.profile_booking [--bookings 200]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from collections import Counter

from bench.booking_rush import setup_slots
from bench.harness import PORTAL_ENV, Cluster, flask_cli
from bench.session import add_residents


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=200)
    args = parser.parse_args(argv)
    from sqlalchemy import event

    from app import create_app
    from app.extensions import db

    cluster = Cluster()
    try:
        url = cluster.create("profile")
        flask_cli(url, "db", "upgrade")
        flask_cli(url, "seed-demo")
        _ids, tokens = add_residents(url, args.bookings)
        with cluster.connect("profile") as conn:
            slots = setup_slots(conn)["hot"]
        limits = {k: v for k, v in PORTAL_ENV.items() if k.endswith("_RATE")}  # as bench runs it
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, **limits})
        statements: Counter = Counter()
        with app.app_context():

            @event.listens_for(db.engine, "before_cursor_execute")
            def count(conn, cursor, statement, parameters, context, executemany):
                statements[" ".join(statement.split())[:90]] += 1

        client = app.test_client()
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for i in range(args.bookings):
            response = client.post(
                "/api/v1/bookings",
                json={"slot_id": slots[i % len(slots)], "party_size": 1},
                headers={"Authorization": f"Bearer {tokens[i]}"},
            )
            assert response.status_code == 201, response.json
        profiler.disable()
        seconds = time.perf_counter() - started
        with app.app_context():
            db.engine.dispose()
    finally:
        cluster.close()
    total = sum(statements.values())
    print(
        f"{args.bookings} bookings in {seconds:.2f} s: {seconds / args.bookings * 1000:.1f} ms and "
        f"{total / args.bookings:.1f} SQL statements each"
    )
    for statement, n in statements.most_common(25):
        print(f"{n / args.bookings:6.2f}  {statement}")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(35)
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
