"""Profile the repairs pages at district scale in-process on PostgreSQL, as
`python -m bench repairs` serves them: the demo data and BENCH_TICKETS (1,000,000) tickets
(bench/repairs_load.py), the production configuration, each page signed in as the demo account
the benchmark uses. For the manager queue, the town and district dashboards and the company
rating (with its cache warm, and computed afresh), it prints, without a profiler running:

- app CPU milliseconds per page (time.process_time of this process) and PostgreSQL's CPU
  milliseconds (every process of the cluster, from /proc), with the baseline's `GET /page`
  measured the same way and the ratio;
- SQL statements and round trips per page, with the statements themselves;

then, with --explain, EXPLAIN (ANALYZE, BUFFERS) of every statement a page sends that takes more
than a millisecond, and with --profile, where the app's time goes (cProfile on CPU time).

    python -m bench.profile_repairs [--pages 50] [--tickets 1000000] [--explain] [--profile]

`--cluster FILE` reuses a running throwaway cluster (bench/profile_parking.py) whose database
"repairs" already holds the tickets.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import time

from bench.profile_parking import (
    BASE,
    Meter,
    Traffic,
    baseline,
    open_cluster,
    portal_app,
    print_profile,
    serve_like_bench,
    signed_in,
    traffic_report,
)
from bench.repairs_load import BULK_SQL, PAGES
from bench.session import TEMPLATE

COLD = "repairs_rating_cold"  # the rating computed on every request (its cache emptied first)
# A small signed-in page of the same frame (six companies, no ticket read): what any signed-in
# page costs before its own work (session, user, base template, inbox count).
FLOOR = ("signed_in_floor", "district", "/repairs/companies")


def seed_tickets(cluster, tickets: int) -> None:
    """The database "repairs": the template and `tickets` tickets, analysed."""
    started = time.perf_counter()
    cluster.create("repairs", TEMPLATE)
    with cluster.connect("repairs") as conn:
        conn.execute(BULK_SQL.replace(":n", str(int(tickets))))
        conn.execute("ANALYZE")
    print(f"generated {tickets:,} tickets in {time.perf_counter() - started:.0f} s", flush=True)


class Recorder:
    """The statements and parameters of one request, for EXPLAIN."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.on = False
        self.sent: list[tuple[str, object]] = []

        @event.listens_for(engine, "before_cursor_execute")
        def keep(conn, cursor, statement, parameters, context, executemany):
            if self.on:
                self.sent.append((statement, parameters))


def explain(app, recorder: Recorder, get, name: str, slower_than_ms: float = 1.0) -> None:
    from sqlalchemy import text

    from app.extensions import db

    recorder.sent.clear()
    recorder.on = True
    get()
    recorder.on = False
    with app.app_context():
        connection = db.session.connection().connection.driver_connection
        for statement, parameters in recorder.sent:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            plan = [
                row[0]
                for row in connection.execute(
                    "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
                ).fetchall()
            ]
            took = next((line for line in plan if line.startswith("Execution Time")), "")
            if float(took.split(":")[1].split()[0]) >= slower_than_ms:
                print(f"\n-- {name}: {' '.join(statement.split())[:400]}")
                print("\n".join(plan))
        connection.rollback()
        db.session.execute(text("SELECT 1"))
        db.session.rollback()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=50, help="requests of each page")
    parser.add_argument("--cold", type=int, default=3, help="ratings computed afresh")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--tickets", type=int, default=int(os.environ.get("BENCH_TICKETS") or 1e6))
    parser.add_argument("--only", action="append", help="scenario keys to run (repeatable)")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--profile", action="store_true", help="then a pass under cProfile")
    parser.add_argument("--dump", help="with --profile: also write the statistics to this file")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--cluster", help="a running cluster's JSON description")
    parser.add_argument("--database", default="repairs", help="with --cluster: its database")
    args = parser.parse_args(argv)
    serve_like_bench()

    cluster, _ids, _tokens = open_cluster(args.cluster)
    results, profiler = {}, None
    try:
        if not args.cluster:
            seed_tickets(cluster, args.tickets)
        meter = Meter(cluster.postmaster)
        app = portal_app(cluster.url(args.database if args.cluster else "repairs"))
        from app.extensions import db

        with app.app_context():
            traffic = Traffic(db.engine)
            recorder = Recorder(db.engine)
        cache = app.extensions["repairs_rating_cache"]
        plans = [*PAGES, (COLD, "district", "/repairs/rating"), FLOOR]
        clients = {who: signed_in(app, who) for _key, who, _path in plans}
        for key, who, path in plans:
            if args.only and key not in args.only:
                continue
            client = clients[who]

            def get(_i=0, client=client, path=path, key=key):
                if key == COLD:
                    cache._entries.clear()
                response = client.get(path, base_url=BASE)
                assert response.status_code == 200, f"{path}: {response.status_code}"

            n = args.cold if key == COLD else args.pages
            if not n:
                continue
            meter.each(get, min(args.warmup, n))
            traffic.reset()
            figures = meter.each(get, n, traffic)
            results[key] = (figures, *figures["traffic"], n)
            if args.explain:
                explain(app, recorder, get, key)
        if args.profile:
            profiler = cProfile.Profile(time.process_time)  # CPU, not waiting on PostgreSQL
            for key, who, path in PAGES:
                if args.only and key not in args.only:
                    continue
                client = clients[who]
                profiler.enable()
                for _ in range(args.pages):
                    client.get(path, base_url=BASE)
                profiler.disable()
        with app.app_context():
            db.engine.dispose()
        base = baseline(cluster, meter, args.pages, kind="page")
    finally:
        cluster.close()

    print(
        f"\nbaseline page: app {base['app']:.2f} ms CPU, db {base['db']:.2f} ms CPU, "
        f"{base['calls']:.0f} Python calls"
    )
    for key, (figures, statements, events, n) in results.items():
        traffic.statements, traffic.events = statements, events
        print(
            f"\n== {key}: {n} requests: app {figures['app']:.2f} ms CPU, db {figures['db']:.2f} ms"
            f" CPU, {figures['wall']:.2f} ms wall, {figures['calls']:.0f} Python calls each:"
            f" {base['app'] / figures['app']:.3f}x of the baseline page (app CPU)"
        )
        print(traffic_report(traffic, n))
    if profiler is not None:
        print_profile(profiler, args.top, args.dump)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
