"""Profile the venue pages: the search and 14-day pages (signed in and anonymous) and the
availability API, in-process on PostgreSQL with the demo data, as `python -m bench booking`
requests them. Prints the app CPU milliseconds (time.process_time) and the SQL statements per
request of each kind, then, with --profile KIND, where that kind's time goes (cProfile).

    python -m bench.profile_pages [--rounds 20] [--profile search|fortnight|api|anonymous]

Not a load test: one thread, no locust, no gunicorn. The anonymous visitor sends no cookie
(as locust's, which the production config's Secure cookies never reach over plain HTTP), so
every anonymous page gives a new visitor a CSRF token.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import statistics
import time
from collections import Counter
from urllib.parse import quote

from bench.booking_rush import RESIDENT, setup_slots
from bench.harness import DEMO_PASSWORD, PORTAL_ENV, Cluster, flask_cli
from bench.session import tomorrow


def page_sets(venues: list[int]) -> dict[str, list[str]]:
    """The paths bench/booking_rush.py requests, by kind."""
    day = tomorrow()[0].date().isoformat()
    venues = venues[:12]
    return {
        "search": ["/venues", "/venues?type=museum", "/venues?q=" + quote("图书馆")],
        "fortnight": [f"/venues/{v}" for v in venues],
        "api": [f"/api/v1/venues/{v}/availability?date={day}" for v in venues],
    }


def sign_in(client) -> None:
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    response = client.post(
        "/login",
        data={"csrf_token": token, "login": RESIDENT, "password": DEMO_PASSWORD},
        headers={"Referer": "https://localhost/login"},  # production checks it (HTTPS)
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]


def measure(client, paths, rounds, statements, profiler=None) -> tuple[float, float, float, float]:
    """(median CPU ms, least CPU ms, SQL statements, Python calls) per request over `rounds`
    passes of `paths`, timed pass by pass: the machine is shared, and the least disturbed
    passes say what the code costs, the median what it costs among neighbours. The Python
    function calls (one more pass, under cProfile) do not move with the neighbours at all."""
    for path in paths:  # warm: compiled templates, prepared statements, a full pool
        assert client.get(path).status_code == 200, path
    counter = cProfile.Profile()
    counter.enable()
    for path in paths:
        client.get(path)
    counter.disable()
    calls = pstats.Stats(counter).total_calls / len(paths)
    statements.clear()
    if profiler:
        profiler.enable()
    per_pass = []
    for _ in range(rounds):
        started = time.process_time()
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
        per_pass.append((time.process_time() - started) / len(paths) * 1000)
    if profiler:
        profiler.disable()
    sql = sum(statements.values()) / (rounds * len(paths))
    return statistics.median(per_pass), min(per_pass), sql, calls


def seed(cluster) -> str:
    """The demo data, with the bench's slot settings (bench/booking_rush.setup_slots)."""
    url = cluster.create("profile")
    flask_cli(url, "db", "upgrade")
    flask_cli(url, "seed-demo")
    with cluster.connect("profile") as conn:
        setup_slots(conn)
    return url


def active_venues(url: str) -> list[int]:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return [v for (v,) in conn.execute("SELECT id FROM venue WHERE active ORDER BY id")]


def baseline_page(cluster, rounds: int) -> tuple[float, float, float, float]:
    """The baseline's page measured the same way, for a ratio made in the same process."""
    import os

    from bench import baseline

    url = cluster.create("baseline")
    baseline.prepare(url)
    # (its engine options come from the portal's config: the development class builds them)
    os.environ.update(DATABASE_URL=url, PORTAL_ENV="development")
    app = baseline.create_baseline()
    return measure(app.test_client(), ["/page"] * 15, rounds, Counter())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--url", help="a database seeded by --seed-only, to iterate quickly")
    parser.add_argument(
        "--seed-only", action="store_true", help="seed a cluster, print its URL, wait for ^C"
    )
    parser.add_argument(
        "--profile",
        choices=["search", "fortnight", "pages", "uncached", "anonymous", "api"],
        default=None,
    )
    parser.add_argument("--sort", default="cumulative", help="cProfile order (tottime, ...)")
    parser.add_argument("--statements", action="store_true", help="list each kind's statements")
    args = parser.parse_args(argv)
    if args.seed_only:
        cluster = Cluster()
        try:
            print(seed(cluster), flush=True)
            time.sleep(10**7)
        finally:
            cluster.close()
    import os

    from sqlalchemy import event

    from app import create_app
    from app.extensions import db
    from app.pagecache import page_cache

    cluster = None if args.url else Cluster()
    try:
        url = args.url or seed(cluster)
        pages = page_sets(active_venues(url))
        # As the bench serves it: production settings, its rate limits.
        os.environ["PORTAL_ENV"] = "production"
        secret = "bench-" + "x" * 40
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secret, **PORTAL_ENV})
        statements: Counter = Counter()
        with app.app_context():

            @event.listens_for(db.engine, "before_cursor_execute")
            def count(conn, cursor, statement, parameters, context, executemany):
                statements[" ".join(statement.split())[:100]] += 1

        signed_in = app.test_client()
        sign_in(signed_in)
        anonymous = app.test_client(use_cookies=False)
        runs = [
            ("search", "search pages, signed in", signed_in, pages["search"]),
            ("fortnight", "14-day pages, signed in", signed_in, pages["fortnight"]),
            ("pages", "search and 14-day pages, signed in (the bench's mix)", signed_in,
             pages["search"] + pages["fortnight"]),
            ("uncached", "search and 14-day pages, anonymous, without the micro-cache",
             anonymous, pages["search"] + pages["fortnight"]),
            ("anonymous", "search and 14-day pages, anonymous (micro-cache, as served)",
             anonymous, pages["search"] + pages["fortnight"]),
            ("api", "availability API", anonymous, pages["api"]),
        ]  # fmt: skip
        results, listed = [], {}
        profiler = cProfile.Profile() if args.profile else None
        cache = page_cache(app)
        for key, label, client, paths in runs:
            chosen = profiler if key == args.profile else None
            cache.seconds = 0 if key == "uncached" else app.config["PAGE_CACHE_SECONDS"]
            results.append((label, *measure(client, paths, args.rounds, statements, chosen)))
            listed[label] = statements.most_common(12)
        with app.app_context():
            db.engine.dispose()
        if cluster is not None:
            label = "baseline page (bench/baseline.py, in-process)"
            results.append((label, *baseline_page(cluster, args.rounds)))
    finally:
        if cluster is not None:
            cluster.close()
    title = f"per request, {args.rounds} rounds"
    print(f"{title:58} {'CPU ms':>8} {'least':>6} {'SQL':>5} {'calls':>7}")
    for label, cpu_ms, least, sql, calls in results:
        print(f"{label:58} {cpu_ms:8.2f} {least:6.2f} {sql:5.1f} {calls:7.0f}")
        if args.statements:
            n = args.rounds * len(next(p for k, lb, c, p in runs if lb == label))
            for statement, count in listed[label]:
                print(f"    {count / n:6.2f}  {statement}")
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(45)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
