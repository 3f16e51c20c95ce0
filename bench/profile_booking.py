"""Profile one booking: N bookings through the JSON API in-process on PostgreSQL under cProfile,
with the SQL statements each one sends. How RESULTS.md found where a booking's time goes.

    python -m bench.profile_booking [--bookings 200]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from collections import Counter

from bench.booking_rush import prepare
from bench.harness import postgres


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=200)
    args = parser.parse_args(argv)
    from sqlalchemy import event

    with postgres() as pg:
        url = pg.create_database("profile")
        app, slot_ids, tokens, _steady, _venues = prepare(url, args.bookings, 10, args.bookings)
        from app.extensions import db

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
                json={"slot_id": slot_ids[i % len(slot_ids)], "party_size": 1},
                headers={"Authorization": f"Bearer {tokens[i]}"},
            )
            assert response.status_code == 201, response.json
        profiler.disable()
        seconds = time.perf_counter() - started
        with app.app_context():
            db.engine.dispose()
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
