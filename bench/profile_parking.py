"""Profile one parking reservation in-process on PostgreSQL, as `python -m bench parking` makes
it: the demo data, a car park whose pool is too large to fill, bench clients each with a token
and plates of their own walking their own arrival times, the production configuration.

Two paths: the API (`POST /api/v1/parking/reservations`) and the page that makes one
(`POST /parking/<id>/reserve`, signed in, the form as a browser sends it). For each it prints,
without a profiler running:

- app CPU milliseconds per reservation (time.process_time of this process: Flask, SQLAlchemy,
  psycopg and the test client) and PostgreSQL's CPU milliseconds (every process of the
  cluster, from /proc), with the baseline's `POST /insert` measured the same way and the ratio;
- SQL statements and database round trips per reservation (statements, BEGIN, COMMIT, ROLLBACK
  and the pool's pre-ping), with the statements themselves;

then, with --profile, where the app's time goes (cProfile, cumulative and own time).

    python -m bench.profile_parking [--reservations 300] [--page 100] [--profile]

`--cluster FILE` reuses a running throwaway cluster (a JSON file with its port, its postmaster
pid, and the bench clients' ids and tokens in its template database "seed"), to iterate without
seeding the demo each time. Not a load test: one thread, no gunicorn, no locust.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import os
import pstats
import re
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from bench import cpu
from bench.harness import DEMO_PASSWORD, PORTAL_ENV, Cluster, flask_cli
from bench.parking_rush import BIG_POOL, BUCKET, THROUGHPUT_PLATE, add_plates
from bench.profile_booking import Traffic
from bench.session import TEMPLATE, add_residents, tomorrow

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
KEY_RE = re.compile(r'name="idempotency_key"[^>]*value="([^"]*)"')


BASE = "https://localhost"  # as served in production: HTTPS, strict CSRF


def signed_in(app, login: str, password: str = DEMO_PASSWORD):
    """A test client of `app` signed in as `login` through the real form."""
    client = app.test_client()
    page = client.get("/login", base_url=BASE).get_data(as_text=True)
    response = client.post(
        "/login",
        data={"csrf_token": CSRF_RE.search(page).group(1), "login": login, "password": password},
        base_url=BASE,
        headers={"Referer": f"{BASE}/login"},  # CSRF over HTTPS checks the referrer
    )
    assert response.status_code == 302, f"sign-in as {login}: {response.status_code}"
    return client


def traffic_report(traffic: Traffic, n: int, top: int = 30) -> str:
    """Statements and round trips per request (bench.profile_booking's Traffic, over n
    requests), and the statements themselves."""
    e = traffic.events
    lines = [
        f"per request: {sum(traffic.statements.values()) / n:.2f} SQL statements, "
        f"{traffic.round_trips() / n:.2f} round trips (BEGIN {e['begin'] / n:.2f}, "
        f"COMMIT {e['commit'] / n:.2f}, ROLLBACK {e['rollback'] / n:.2f}, "
        f"pool checkouts {e['checkout'] / n:.2f}, pre-pings {e['ping'] / n:.2f})"
    ]
    lines += [f"{c / n:6.2f}  {s}" for s, c in traffic.statements.most_common(top)]
    return "\n".join(lines)


class Existing:
    """A throwaway cluster started elsewhere (`--cluster FILE`), used like bench's Cluster."""

    def __init__(self, info: dict):
        self.port = info["port"]
        self.postmaster = info["postmaster"]

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def connect(self, name: str = "postgres", autocommit: bool = True):
        import psycopg

        return psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname={name}", autocommit=autocommit
        )

    create = Cluster.create

    def close(self) -> None:
        pass


def open_cluster(path: str | None) -> tuple[Cluster | Existing, list[int], list[str]]:
    """(cluster, bench client ids, their tokens): a new cluster with the demo seeded into the
    template database, or the running one described by `path`."""
    if path:
        info = json.loads(Path(path).read_text())
        return Existing(info), info["user_ids"], info["tokens"]
    cluster = Cluster()
    try:
        url = cluster.create(TEMPLATE)
        flask_cli(url, "db", "upgrade")
        flask_cli(url, "seed-demo")
        ids, tokens = add_residents(url, 64)
    except BaseException:
        cluster.close()
        raise
    return cluster, ids, tokens


def portal_app(url: str):
    """The portal as bench/harness.py serves it: production settings, its rate limits (the
    environment `serve_like_bench` set)."""
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url})


def serve_like_bench() -> None:
    """The environment bench/harness.py serves the portal with; before the portal's config is
    first imported (its classes read the environment then)."""
    os.environ.update(SECRET_KEY="bench-" + "x" * 40, PORTAL_ENV="production", **PORTAL_ENV)


class Meter:
    """App and PostgreSQL CPU milliseconds (and wall milliseconds) per call.

    The app figure is the lowest of `batches` batches' means: on a machine shared with other
    work, interference only ever adds time (caches, frequency), so the quietest batch is the
    closest to the request's own cost. PostgreSQL's is the mean over all calls (its processes'
    CPU, counted in clock ticks, is too coarse for small batches)."""

    def __init__(self, postmaster: int, batches: int = 5):
        self.postmaster = postmaster
        self.batches = batches

    def each(self, send, n: int, traffic: Traffic | None = None) -> dict:
        """Figures for n calls send(i); with `traffic`, what it counted during them (not during
        the pass that counts Python calls), as figures["traffic"]."""
        db, wall = cpu.tree_ms(self.postmaster), time.perf_counter()
        sizes = [n // self.batches + (b < n % self.batches) for b in range(self.batches)]
        lowest, i = None, 0
        for size in (s for s in sizes if s):
            app = time.process_time()
            for _ in range(size):
                send(i)
                i += 1
            mean = (time.process_time() - app) / size * 1000
            lowest = mean if lowest is None else min(lowest, mean)
        figures = {
            "app": lowest or 0.0,
            "db": (cpu.tree_ms(self.postmaster) - db) / n,
            "wall": (time.perf_counter() - wall) / n * 1000,
        }
        if traffic is not None:
            figures["traffic"] = (Counter(traffic.statements), Counter(traffic.events))
        # Python function calls per call of `send`: the same on a busy machine as on a quiet
        # one, so before and after compare even when CPU milliseconds are noisy.
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(min(n, 10)):
            send(i)
            i += 1
        profiler.disable()
        figures["calls"] = pstats.Stats(profiler).total_calls / min(n, 10)
        return figures


def baseline(cluster, meter: Meter, n: int, kind: str = "insert") -> dict:
    """CPU ms of the baseline's `POST /insert` (kind "insert") or `GET /page` ("page"),
    in-process like the portal's requests."""
    from bench import baseline as bare

    url = cluster.create("profile_baseline")
    bare.prepare(url)
    os.environ["DATABASE_URL"] = url
    client = bare.create_baseline().test_client()
    method, path, status = (
        (client.post, "/insert", 201)
        if kind == "insert"
        else (
            client.get,
            "/page",
            200,
        )
    )

    def send(_i):
        assert method(path).status_code == status

    meter.each(send, 50)  # warm-up
    return meter.each(send, n)


def prepare_pool(cluster, database: str, user_ids: list[int], plates: int) -> tuple[int, list]:
    """As bench/parking_rush.py: the first reservable car park's pool made too large to fill,
    arrival times a stay apart over two days, `plates` plates for each bench client. Returns
    (car park id, arrival times as ISO strings)."""
    start, _ = tomorrow()
    with cluster.connect(database) as conn:
        park, resource, grace = conn.execute(
            "SELECT id, resource_id, grace_minutes FROM car_park"
            " WHERE open AND reservable_spaces > 0 AND resource_id IS NOT NULL ORDER BY id"
        ).fetchone()
        conn.execute(
            "UPDATE car_park SET total_spaces = greatest(total_spaces, %(n)s),"
            " reservable_spaces = %(n)s WHERE id = %(id)s",
            {"n": BIG_POOL, "id": park},
        )
        conn.execute(
            "UPDATE capacity_bucket SET capacity = %s WHERE resource_id = %s", (BIG_POOL, resource)
        )
        conn.execute("ANALYZE")
    step = BUCKET * math.ceil(timedelta(minutes=grace) / BUCKET)
    arrivals = [(start + i * step).isoformat() for i in range(int(timedelta(days=2) / step))]
    add_plates(cluster.url(database), user_ids, plates)
    return park, arrivals


def show(name: str, figures: dict, base: dict, traffic: Traffic, n: int) -> None:
    print(
        f"\n== {name}: {n} requests: app {figures['app']:.2f} ms CPU, db {figures['db']:.2f} ms "
        f"CPU, {figures['wall']:.2f} ms wall, {figures['calls']:.0f} Python calls each; "
        f"baseline insert app {base['app']:.2f} ms ({base['calls']:.0f} calls), "
        f"db {base['db']:.2f} ms: {base['app'] / figures['app']:.3f}x (app CPU)"
    )
    print(traffic_report(traffic, n))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reservations", type=int, default=300, help="API reservations")
    parser.add_argument("--page", type=int, default=100, help="reservations through the page")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=64)
    parser.add_argument(
        "--profile", action="store_true", help="then a pass of each path under cProfile"
    )
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--dump", help="with --profile: also write the statistics to this file")
    parser.add_argument("--cluster", help="a running cluster's JSON description")
    args = parser.parse_args(argv)
    serve_like_bench()

    cluster, user_ids, tokens = open_cluster(args.cluster)
    profiler = None
    try:
        meter = Meter(cluster.postmaster)
        url = cluster.create("profile_parking", TEMPLATE)
        clients = min(args.clients, len(tokens))
        plates = 8
        park, arrivals = prepare_pool(cluster, "profile_parking", user_ids[:clients], plates)
        app = portal_app(url)
        from app.extensions import db

        with app.app_context():
            traffic = Traffic(db.engine)
        client = app.test_client()
        walked = Counter()  # each client's next (plate, arrival)

        def next_choice(c: int) -> tuple[str, str]:
            m = walked[c]
            walked[c] += 1
            plate = THROUGHPUT_PLATE.format(n=c, k=m % plates)
            return plate, arrivals[(m // plates) % len(arrivals)]

        def reserve_api(i):
            c = i % clients
            plate, arrive_at = next_choice(c)
            response = client.post(
                "/api/v1/parking/reservations",
                json={"carpark_id": park, "plate": plate, "arrive_at": arrive_at},
                headers={"Authorization": f"Bearer {tokens[c]}"},
                base_url=BASE,
            )
            assert response.status_code == 201, response.json

        if args.profile:  # one profile of both paths (each measured without it first)
            profiler = cProfile.Profile(time.process_time)  # CPU, not waiting on PostgreSQL
        api = None
        if args.reservations:
            meter.each(reserve_api, args.warmup)
            traffic.reset()
            api = meter.each(reserve_api, args.reservations, traffic)
            api_traffic = api["traffic"]
            if profiler is not None:
                profiler.enable()
                meter.each(reserve_api, args.reservations)
                profiler.disable()
        page = None
        if args.page:
            page, page_traffic = profile_page(app, traffic, meter, park, arrivals, args, profiler)
        with app.app_context():
            db.engine.dispose()
        base = baseline(cluster, meter, max(args.reservations, args.page))
    finally:
        cluster.close()

    if api is not None:
        traffic.statements, traffic.events = api_traffic
        show("API POST /api/v1/parking/reservations", api, base, traffic, args.reservations)
    if page is not None:
        traffic.statements, traffic.events = page_traffic
        show(f"page POST /parking/{park}/reserve", page, base, traffic, args.page)
    if profiler is not None:
        print_profile(profiler, args.top, args.dump)
    return 0


def print_profile(profiler, top: int, dump: str | None = None) -> None:
    """The `top` functions by cumulative and by own time (and the statistics in `dump`)."""
    if dump:
        profiler.dump_stats(dump)
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(top)
        print(out.getvalue())


def profile_page(app, traffic: Traffic, meter: Meter, park: int, arrivals: list, args, profiler):
    """Reservations through the page, signed in as a resident with plates of their own: each
    POST as the browser sends it after loading the form (the form's GET is not counted)."""
    from datetime import datetime

    from app.accounts.models import User
    from app.db import unit_of_work
    from app.extensions import db
    from parking.models import Vehicle

    login = "profile-driver"
    with app.app_context():
        with unit_of_work(db.session):
            user = db.session.scalar(db.select(User).where(User.phone == "13600000000"))
            user.username = login
            user.set_password(DEMO_PASSWORD)
        plates = list(
            db.session.scalars(db.select(Vehicle.plate).where(Vehicle.owner_id == user.id))
        )
    client = signed_in(app, login)
    base = BASE
    form_url = f"/parking/{park}/reserve"
    forms = []

    made = [0]  # forms loaded so far: each one a (plate, arrival) not used before

    def load_forms(n: int) -> None:
        """Forms for `n` reservations and the 10 more `Meter.each` sends counting calls."""
        forms.clear()
        for i in range(made[0], made[0] + n + 10):
            # A plate of the page's client, and arrivals beyond those its API twin walked.
            arrival = datetime.fromisoformat(arrivals[-1 - (i // len(plates)) % len(arrivals)])
            html = client.get(form_url, base_url=base).get_data(as_text=True)
            forms.append(
                {
                    "csrf_token": CSRF_RE.search(html).group(1),
                    "idempotency_key": KEY_RE.search(html).group(1),
                    "plate": plates[i % len(plates)],
                    "day": arrival.date().isoformat(),
                    "time": arrival.strftime("%H:%M"),
                }
            )
        made[0] += n + 10

    def send(i):
        response = client.post(
            form_url, data=forms[i], base_url=base, headers={"Referer": base + form_url}
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]

    load_forms(10)
    meter.each(send, 10)
    load_forms(args.page)
    traffic.reset()
    figures = meter.each(send, args.page, traffic)
    measured = figures["traffic"]
    if profiler is not None:
        load_forms(args.page)
        profiler.enable()
        meter.each(send, args.page)
        profiler.disable()
    return figures, measured


if __name__ == "__main__":
    raise SystemExit(main())
