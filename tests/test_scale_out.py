"""The production shape under faults: several stateless app nodes (gunicorn) on one PostgreSQL,
rate-limit counters in Redis, the sweep on every node. These tests start real processes:

- two nodes take 200 concurrent requests for a venue slot, a personalised span and a parking
  pool: never over capacity, the ledger balances;
- a worker killed with SIGKILL in the middle of a booking rush leaves no half-written booking;
- PostgreSQL stopped and started under load: clear "try again" answers meanwhile, then the node
  recovers by itself, no restart, no stack trace: the app invalidates every lost connection
  (without pool pre-ping, and even when the driver does not report the loss);
- the sweep run by two nodes at once sends each escalation once;
- rate limits hold across nodes when their counters live in Redis (and, as the control shows,
  do not with per-process memory).

PostgreSQL only (the embedded SQLite default is a single-node setup).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from tests import pg
from tests.conftest import PG_PORT_ENV, migrate_to_head, parking_settings

ROOT = Path(__file__).resolve().parents[1]
CI = os.environ.get("CI") == "true"
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
# The accounts these tests make (a password the NIST rules of app/accounts/passwords.py accept).
NODE_PASSWORD = "kettle-lamp-9"

pytestmark = pytest.mark.race


@pytest.fixture(autouse=True)
def _postgres_only(request):
    if "postgresql" not in request.config.portal_backends:
        pytest.skip("scale-out tests need PostgreSQL (--db includes postgresql)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def database():
    """A fresh migrated database on the session's PostgreSQL server."""
    server = pg.PostgresServer(Path("/nonexistent"))
    server.port = int(os.environ[PG_PORT_ENV])
    url = server.create_database(f"nodes_{uuid.uuid4().hex[:10]}")
    migrate_to_head(url)
    return url


def portal(url: str):
    from app import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "TESTING": True,
        }
    )


def node_env(url: str, **extra) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "PORTAL_ENV": "production",
        "SECRET_KEY": "nodes-" + "k" * 40,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        **extra,
    }


@contextlib.contextmanager
def node(url: str, workers: int = 2, *, target: str = "wsgi:app", stderr=None, **extra):
    """One app node: gunicorn serving `target` on a loopback port, its log to `stderr` (a file;
    inherited by default). Yields (port, process)."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--threads",
            "16",
            "--worker-class",
            "gthread",
            "--log-level",
            "warning",
            "--graceful-timeout",
            "5",
            "--bind",
            f"127.0.0.1:{port}",
            target,
        ],
        cwd=ROOT,
        env=node_env(url, **extra),
        start_new_session=True,
        stderr=stderr,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "node did not start"
            try:
                if request(port, "GET", "/")[0] < 500:
                    break
            except OSError:
                time.sleep(0.2)
        yield port, proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def request(port: int, method: str, path: str, body=None, headers=None, timeout: float = 30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(
            method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})}
        )
        response = conn.getresponse()
        raw = response.read()
        return response.status, raw
    finally:
        conn.close()


def code(raw: bytes) -> str | None:
    try:
        return json.loads(raw).get("error", {}).get("code")
    except ValueError:
        return None


def all_at_once(n: int, fn) -> list:
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        barrier.wait(timeout=60)
        try:
            results[i] = fn(i)
        except Exception as error:  # collected; the test asserts on them
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return results


def residents_with_tokens(app, n: int, prefix: str) -> list[str]:
    from app.accounts import services as accounts
    from app.extensions import db

    with app.app_context():
        tokens = []
        for i in range(n):
            user = accounts.register_resident(
                db.session, phone=f"{prefix}{i:04d}", name=f"居民{i}", password=NODE_PASSWORD
            )
            tokens.append(accounts.issue_token(db.session, user, "nodes"))
        db.session.commit()
        return tokens


def make_venue(app, capacity: int, court_slots: int = 0):
    """A museum hall with tomorrow's slots (capacity each) and a court (capacity 1)."""
    from sqlalchemy import select

    from app import clock
    from app.demo import seed_frame
    from app.extensions import db
    from app.places.models import Town
    from bookings.models import CapacityBucket
    from bookings.services import create_resource
    from venues.demo import add_venue
    from venues.models import BookingMode, Space, VenueType
    from venues.services.admin import replace_hours
    from venues.services.catalogue import materialise

    with app.app_context():
        seed_frame(db.session)
        venue = add_venue(
            db.session,
            name_zh="节点馆",
            name_en="Node Hall",
            town=db.session.scalar(select(Town)),
            type=VenueType.MUSEUM,
            address_zh="节点路 1 号",
            address_en="1 Node Road",
        )
        venue.max_per_day = venue.max_per_week = 1000
        replace_hours(db.session, venue, {d: (8 * 60, 20 * 60) for d in range(7)})
        hall = venue.spaces[0]
        hall.capacity, hall.max_party_size = capacity, 4
        court = Space(
            resource_id=create_resource(db.session, "venue", "court").id,
            name_zh="球场",
            name_en="Court",
            mode=BookingMode.PERSONALISED,
            capacity=1,
            slot_minutes=60,
            max_steps=3,
        )
        venue.spaces.append(court)
        db.session.commit()
        materialise(db.session, venue)
        tomorrow = clock.today() + timedelta(days=1)

        def slots(space):
            return list(
                db.session.scalars(
                    select(CapacityBucket.id)
                    .where(
                        CapacityBucket.resource_id == space.resource_id,
                        CapacityBucket.starts_at >= clock.at(tomorrow, 0),
                        CapacityBucket.starts_at < clock.at(tomorrow, 24 * 60),
                    )
                    .order_by(CapacityBucket.starts_at)
                )
            )

        result = slots(hall), slots(court)
        db.engine.dispose()
        return result


def ledger(app):
    from app.extensions import db
    from bookings.models import CapacityBucket
    from bookings.services import ledger_mismatches

    with app.app_context():
        over = [b.id for b in db.session.query(CapacityBucket) if not 0 <= b.taken <= b.capacity]
        result = ledger_mismatches(db.session), over
        db.engine.dispose()
        return result


def test_two_nodes_take_200_concurrent_requests_without_overbooking(database):
    app = portal(database)
    hall_slots, court_slots = make_venue(app, capacity=5)
    tokens = residents_with_tokens(app, 200, "1361000")
    with app.app_context():
        from sqlalchemy import select

        from app.extensions import db
        from app.places.models import Town
        from parking.models import CarPark, CarParkKind, Tariff
        from parking.services.reservations import materialise_pool

        park = CarPark(
            name_zh="节点停车场",
            name_en="Node Car Park",
            kind=CarParkKind.PUBLIC,
            town=db.session.scalar(select(Town)),
            address_zh="节点路 2 号",
            address_en="2 Node Road",
            latitude=31.1,
            longitude=121.4,
            total_spaces=100,
            occupied=0,
            reservable_spaces=5,
        )
        park.tariff = Tariff(
            first_hour_fen=500, period_fen=300, night_unit_fen=100, daily_cap_fen=2000
        )
        db.session.add(park)
        db.session.commit()
        materialise_pool(db.session, park, parking_settings().pool_days)
        park_id = park.id
        # the API reserves only for the driver's own vehicles: each resident claims the plate
        # they send
        from app.accounts.models import User
        from parking.services import vehicles

        for i in range(200):
            vehicles.register(
                db.session,
                db.session.scalar(select(User).where(User.phone == f"1361000{i:04d}")),
                f"沪N{10000 + i}",
            )
        from app import clock

        arrive = clock.at(clock.today() + timedelta(days=1), 10 * 60).isoformat()
        db.engine.dispose()

    def auth(i):
        return {"Authorization": f"Bearer {tokens[i]}"}

    with node(database) as (port_a, _), node(database) as (port_b, _):
        ports = (port_a, port_b)
        # a general slot with 5 places
        general = all_at_once(
            200,
            lambda i: request(
                ports[i % 2],
                "POST",
                "/api/v1/bookings",
                {"slot_id": hall_slots[2], "party_size": 1},
                auth(i),
            ),
        )
        statuses = [(s, code(raw)) for s, raw in general]
        assert statuses.count((201, None)) == 5 and statuses.count((409, "sold_out")) == 195, (
            statuses[:5]
        )
        # personalised spans of 1-3 hours over four overlapping court hours
        spans = all_at_once(
            200,
            lambda i: request(
                ports[i % 2],
                "POST",
                "/api/v1/bookings",
                {"slot_id": court_slots[i % 4], "steps": 1 + i % 3},
                auth(i),
            ),
        )
        assert all(s in (201, 409) for s, _ in spans), [
            (s, raw[:200]) for s, raw in spans if s not in (201, 409)
        ][:3]
        assert any(s == 201 for s, _ in spans)
        # the parking pool of 5
        plates = all_at_once(
            200,
            lambda i: request(
                ports[i % 2],
                "POST",
                "/api/v1/parking/reservations",
                {"carpark_id": park_id, "plate": f"沪N{10000 + i}", "arrive_at": arrive},
                auth(i),
            ),
        )
        statuses = [(s, code(raw)) for s, raw in plates]
        assert statuses.count((201, None)) == 5 and statuses.count((409, "sold_out")) == 195, (
            statuses[:5]
        )
    drift, over = ledger(app)
    assert drift == [] and over == []


def test_sigkill_of_a_worker_mid_rush_leaves_the_books_balanced(database):
    app = portal(database)
    hall_slots, _ = make_venue(app, capacity=10)
    slots = hall_slots[:8]  # 80 places
    tokens = residents_with_tokens(app, 48, "1362000")
    with node(database, workers=2) as (port, master):
        sold, lock, killed = [], threading.Lock(), []
        open_slots = list(slots)

        def kill_a_worker():
            workers = subprocess.run(
                ["pgrep", "-P", str(master.pid)], capture_output=True, text=True
            ).stdout.split()
            os.kill(int(workers[0]), signal.SIGKILL)
            killed.append(int(workers[0]))

        def client(i):
            errors, turn = 0, 0
            while True:
                with lock:
                    if not open_slots:
                        return errors
                    slot = open_slots[(i + turn) % len(open_slots)]
                try:
                    status, raw = request(
                        port,
                        "POST",
                        "/api/v1/bookings",
                        {"slot_id": slot, "party_size": 1},
                        {"Authorization": f"Bearer {tokens[i]}"},
                        timeout=20,
                    )
                except (OSError, http.client.HTTPException):
                    errors += 1  # the killed worker's connections drop; try again
                    time.sleep(0.05)
                    continue
                with lock:
                    if status == 201:
                        sold.append(slot)
                        if len(sold) == 20 and not killed:
                            kill_a_worker()
                    elif status == 409 and code(raw) == "sold_out" and slot in open_slots:
                        open_slots.remove(slot)
                    elif status == 409 and code(raw) == "already_booked":
                        turn += 1  # one booking per person per slot: this person tries another
                    elif status >= 500:
                        errors += 1

        results = all_at_once(48, client)
        assert all(isinstance(r, int) for r in results), results[:3]
        assert killed, "the rush ended before a worker was killed"
        assert master.poll() is None  # gunicorn replaced the worker and kept serving
    drift, over = ledger(app)
    assert drift == [] and over == []
    with app.app_context():
        from sqlalchemy import func, select

        from app.extensions import db
        from bookings.models import HOLDING, Booking, CapacityBucket

        held = db.session.scalar(
            select(func.coalesce(func.sum(Booking.quantity), 0)).where(Booking.status.in_(HOLDING))
        )
        taken = db.session.scalar(
            select(func.sum(CapacityBucket.taken)).where(CapacityBucket.id.in_(slots))
        )
        db.engine.dispose()
    assert held == taken == 80  # every place sold exactly once, none lost with the dead worker


def test_postgres_restart_under_load_is_survived():
    """The node runs without pool pre-ping, on a driver that never reports a lost connection
    (tests/restart_node.py): it recovers only because the app invalidates the connections the
    restart killed, which its log shows."""
    import tempfile

    base = Path(
        tempfile.mkdtemp(prefix="portal-pg-restart-")
    )  # its own server: this one gets stopped
    server = pg.PostgresServer(base).start()
    log = (base / "node.log").open("w+")
    try:
        url = server.create_database("restart")
        migrate_to_head(url)
        app = portal(url)
        make_venue(app, capacity=5)
        # Four loops on one address read the venue list far faster than a person: this test is
        # about the outage, not the per-address limit on anonymous lists (tested on its own).
        with node(
            url,
            workers=1,
            target="tests.restart_node:app",
            stderr=log,
            PUBLIC_LIST_RATE="1000000 per minute",
        ) as (port, _):
            answers, stop = [], threading.Event()

            def load():
                while not stop.is_set():
                    try:
                        status, raw = request(port, "GET", "/venues", timeout=20)
                    except OSError:
                        continue
                    answers.append((time.monotonic(), status, raw))

            threads = [threading.Thread(target=load) for _ in range(4)]
            for t in threads:
                t.start()
            time.sleep(1.5)
            stopped_at = time.monotonic()
            server.stop()
            time.sleep(2)
            subprocess.run(
                pg._as_pg_user(
                    [
                        str(pg.PG_BIN / "pg_ctl"),
                        "-D",
                        str(server.data),
                        "-l",
                        str(server.base / "server.log"),
                        "-w",
                        "-t",
                        "60",
                        "start",
                        "-o",
                        f"-p {server.port} -k {server.sockets} -c listen_addresses=127.0.0.1",
                    ]
                ),
                check=True,
                capture_output=True,
            )
            restarted_at = time.monotonic()
            time.sleep(3)
            stop.set()
            for t in threads:
                t.join(timeout=30)
        log.seek(0)
        node_log = log.read()
    finally:
        log.close()
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
    during = [(s, raw) for at, s, raw in answers if stopped_at < at < restarted_at]
    after = [s for at, s, raw in answers if at > restarted_at + 1.5]
    assert {s for _, s, _ in answers} <= {200, 503}, {s for _, s, _ in answers}
    assert any(s == 503 for s, _ in during), "the outage was not seen"
    for status, raw in during:
        if status == 503:
            text = raw.decode()
            assert "Traceback" not in text and "OperationalError" not in text and "<html" in text
    assert after and all(s == 200 for s in after), after[:20]
    # The connections the restart killed were replaced because the app invalidated them; no
    # pre-ping and no driver report did it (tests/restart_node.py turns both off).
    assert "connection invalidated by the app" in node_log, node_log[-2000:]
    assert "connection invalidated by OperationalError" not in node_log


def _overdue_tickets(app, n: int):
    from sqlalchemy import update

    from app import clock
    from app.accounts import services as accounts
    from app.accounts.models import Role
    from app.extensions import db
    from app.places.models import District, Estate, Town
    from repairs.models import Category, EstateManagement, PropertyCompany, Ticket
    from repairs.services import tickets

    with app.app_context():
        district = District(code="310999", name_zh="节点区", name_en="Node District")
        town = Town(district=district, code="nodetown", name_zh="节点镇", name_en="Node Town")
        estate = Estate(
            town=town,
            name_zh="节点苑",
            name_en="Node Garden",
            address_zh="节点路 3 号",
            address_en="3 Node Road",
            latitude=31.1,
            longitude=121.4,
        )
        company = PropertyCompany(name_zh="节点物业", name_en="Node Property", response_minutes=30)
        db.session.add_all([town, estate, company])
        db.session.flush()
        db.session.add(EstateManagement(estate_id=estate.id, company_id=company.id))
        resident = accounts.register_resident(
            db.session, phone="13630000001", name="居民", password=NODE_PASSWORD
        )
        db.session.flush()
        from tests.conftest import give_home

        give_home(db.session, resident, estate.id, "1", "", "101")
        accounts.create_user(
            db.session,
            username="node-manager",
            password=NODE_PASSWORD,
            name="经理",
            roles=[(Role.PROPERTY_MANAGER, f"estate:{estate.id}")],
        )
        accounts.create_user(
            db.session,
            username="node-town",
            password=NODE_PASSWORD,
            name="镇",
            roles=[(Role.TOWN_SUPERVISOR, f"town:{town.id}")],
        )
        accounts.create_user(
            db.session,
            username="node-district",
            password=NODE_PASSWORD,
            name="区",
            roles=[(Role.DISTRICT_SUPERVISOR, None)],
        )
        db.session.commit()
        for _ in range(n):
            tickets.report(
                db.session, resident, resident, category=Category.WATER, description="水管漏水"
            )
        past = clock.now() - timedelta(minutes=65)
        db.session.execute(update(Ticket).values(respond_by=past))
        db.session.commit()
        db.engine.dispose()


def test_the_sweep_on_two_nodes_at_once_sends_each_escalation_once(database):
    app = portal(database)
    _overdue_tickets(app, 5)
    for _ in range(3):
        sweeps = [
            subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "sweep"],
                cwd=ROOT,
                env=node_env(database),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for sweep in sweeps:
            out, err = sweep.communicate(timeout=120)
            assert sweep.returncode == 0, err[-2000:]
    with app.app_context():
        from sqlalchemy import func, select

        from app.extensions import db
        from app.notifications.models import Notification

        counts = dict(
            db.session.execute(
                select(Notification.kind, func.count(Notification.id)).group_by(Notification.kind)
            ).all()
        )
        per_user = db.session.execute(
            select(Notification.user_id, Notification.kind, func.count(Notification.id))
            .where(Notification.kind.like("repair.escalated%"))
            .group_by(Notification.user_id, Notification.kind)
        ).all()
        db.engine.dispose()
    # manager and town supervisor once per ticket, the district supervisor once per ticket
    assert counts["repair.escalated"] == 2 * 5 and counts["repair.escalated_district"] == 5
    assert all(n == 5 for _, _, n in per_user)


@contextlib.contextmanager
def redis_server():
    if not Path(REDIS).exists():
        if CI:
            pytest.fail(
                "redis-server is missing; CI must run the scale-out tests "
                "(apt-get install redis-server)"
            )
        pytest.skip("redis-server is missing (apt-get install redis-server)")
    port = _free_port()
    proc = subprocess.Popen(
        [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "redis did not start"
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _feed_statuses(port_a, port_b):
    return (
        [request(port_a, "GET", "/api/v1/parking/feed")[0] for _ in range(6)]
        + [request(port_b, "GET", "/api/v1/parking/feed")[0] for _ in range(4)],
        request(port_a, "GET", "/api/v1/parking/feed")[0],
        request(port_b, "GET", "/api/v1/parking/feed")[0],
    )


def test_rate_limits_hold_across_nodes_with_redis(database):
    limit = {"PARKING_FEED_RATE": "10 per minute"}
    with redis_server() as redis_url:
        with (
            node(database, workers=2, RATELIMIT_STORAGE_URI=redis_url, **limit) as (a, _),
            node(database, workers=2, RATELIMIT_STORAGE_URI=redis_url, **limit) as (b, _),
        ):
            first, next_a, next_b = _feed_statuses(a, b)
            assert first == [200] * 10 and next_a == 429 and next_b == 429
    # the control: counters in each process's memory let every node (and worker) count alone
    with (
        node(database, workers=1, RATELIMIT_STORAGE_URI="memory://", **limit) as (a, _),
        node(database, workers=1, RATELIMIT_STORAGE_URI="memory://", **limit) as (b, _),
    ):
        first, next_a, next_b = _feed_statuses(a, b)
        assert first == [200] * 10 and next_b == 200


class Browserless:
    """A signed-in person talking to a node through its HTML forms (session cookie, CSRF)."""

    def __init__(self, port: int, login: str, password: str):
        self.port, self.cookies = port, {}
        token = self.token("/login")
        status, _ = self.post("/login", {"csrf_token": token, "login": login, "password": password})
        assert status == 302, f"sign-in as {login} failed ({status})"

    def _send(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            headers = {"Cookie": cookie} if cookie else {}
            if body is not None:
                from urllib.parse import urlencode

                body = urlencode(body)
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            # Every cookie the node sets (the session, the display settings), as a browser would.
            for header in response.msg.get_all("Set-Cookie") or []:
                name, _, value = header.split(";", 1)[0].partition("=")
                self.cookies[name.strip()] = value
            return response.status, raw.decode()
        finally:
            conn.close()

    def token(self, path: str) -> str:
        status, html = self._send("GET", path)
        assert status == 200, (path, status)
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)

    def post(self, path, body):
        return self._send("POST", path, body)


def test_two_nodes_race_for_a_sharing_window_and_waitlist_offers(database):
    """The paths without an API, through the HTML forms of two nodes at once: 100 drivers sign
    for a window of 4 spaces; 5 bookers of a full slot cancel while 95 others book it through
    the API, the freed places going to its waitlist. (100 at once on 2 cores is already far
    more than either node serves in parallel; the 200-request race is the test above.)"""

    from app import clock

    app = portal(database)
    hall_slots, _ = make_venue(app, capacity=5)
    password = NODE_PASSWORD
    with app.app_context():
        from sqlalchemy import select

        from app.accounts import services as accounts
        from app.extensions import db
        from app.places.models import Town
        from bookings.models import CapacityBucket
        from parking.models import CarPark, CarParkKind, DayPattern
        from parking.services import sharing, vehicles
        from venues import current_settings
        from venues.services import booking as venue_booking
        from venues.services import waitlist as venue_waitlist

        park = CarPark(
            name_zh="节点小区",
            name_en="Node Estate",
            kind=CarParkKind.RESIDENTIAL,
            town=db.session.scalar(select(Town)),
            address_zh="节点路 4 号",
            address_en="4 Node Road",
            latitude=31.1,
            longitude=121.4,
            total_spaces=50,
            occupied=0,
            reservable_spaces=0,
        )
        db.session.add(park)
        db.session.commit()
        window = sharing.create_window(
            db.session,
            park,
            name_zh="白天",
            name_en="Day",
            days=DayPattern.WORKDAYS,
            start_minute=480,
            end_minute=1080,
            spaces=4,
            monthly_fee_fen=30000,
        )
        drivers = []
        for i in range(100):
            user = accounts.register_resident(
                db.session, phone=f"1364000{i:04d}", name=f"司机{i}", password=password
            )
            vehicles.register(db.session, user, f"沪M{10000 + i}")
            drivers.append(user.phone)
        slot = db.session.get(CapacityBucket, hall_slots[3])
        bookers, references = [], []
        for i in range(5):
            user = accounts.register_resident(
                db.session, phone=f"1365000{i:04d}", name=f"订者{i}", password=password
            )
            references.append(
                venue_booking.book_general(
                    db.session, user, user, slot.id, 1, settings=current_settings()
                ).reference
            )
            bookers.append(user.phone)
        for i in range(10):
            user = accounts.register_resident(
                db.session, phone=f"1366000{i:04d}", name=f"候补{i}", password=password
            )
            venue_waitlist.join_waitlist(
                db.session, user, user, slot.id, 1, settings=current_settings()
            )
        park_id, window_id, slot_id = park.id, window.id, slot.id
        next_month = clock.next_month(clock.month_start(clock.today()))
        db.engine.dispose()
    tokens = residents_with_tokens(app, 95, "1367000")
    limits = {
        "LOGIN_ATTEMPTS_PER_ADDRESS": "100000 per minute",
        "LOGIN_FAILURES_PER_ACCOUNT": "100000 per minute",
    }
    with node(database, **limits) as (port_a, _), node(database, **limits) as (port_b, _):
        ports = (port_a, port_b)
        people = all_at_once(
            10,
            lambda i: [
                Browserless(ports[(i * 10 + k) % 2], drivers[i * 10 + k], password)
                for k in range(10)
            ],
        )
        signers = [p for group in people for p in group]
        assert all(isinstance(s, Browserless) for s in signers), [
            s for s in signers if not isinstance(s, Browserless)
        ][:2]
        forms = [(s, s.token(f"/parking/{park_id}/share")) for s in signers]

        def sign(i):
            person, csrf = forms[i]
            return person.post(
                f"/parking/{park_id}/share",
                {
                    "csrf_token": csrf,
                    "window": window_id,
                    "plate": f"沪M{10000 + i}",
                    "month": next_month.isoformat(),
                    "renew": "y",
                    "idempotency_key": f"k{i}",
                    "confirm": "1",  # the summary page's button
                },
            )[0]

        signed = all_at_once(100, sign)
        assert signed.count(302) == 4 and signed.count(200) == 96, (
            signed
        )  # 200: the form again, saying it is full

        cancellers = [Browserless(ports[i % 2], bookers[i], password) for i in range(5)]
        cancel_forms = [
            (c, c.token(f"/bookings/{references[i]}/cancel")) for i, c in enumerate(cancellers)
        ]

        def act(i):
            if i < 5:
                person, csrf = cancel_forms[i]
                return person.post(f"/bookings/{references[i]}/cancel", {"csrf_token": csrf})[0]
            status, raw = request(
                ports[i % 2],
                "POST",
                "/api/v1/bookings",
                {"slot_id": slot_id, "party_size": 1},
                {"Authorization": f"Bearer {tokens[i - 5]}"},
            )
            return status

        results = all_at_once(100, act)
        assert results[:5] == [302] * 5 and results[5:].count(409) == 95, results
    drift, over = ledger(app)
    assert drift == [] and over == []
    with app.app_context():
        from sqlalchemy import func, select

        from app.extensions import db
        from bookings.models import Booking, BookingStatus, CapacityBucket
        from parking.models import SharingContract

        assert db.session.scalar(select(func.count(SharingContract.id))) == 4
        assert (
            db.session.scalar(
                select(func.count(Booking.id)).where(Booking.status == BookingStatus.OFFERED)
            )
            == 5
        )
        assert db.session.get(CapacityBucket, slot_id).taken == 5
        db.engine.dispose()
