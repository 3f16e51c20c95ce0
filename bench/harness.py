"""What every scenario needs: a throwaway PostgreSQL seeded once into a template database, the
portal and the baseline under the same gunicorn settings on loopback, locust as the load
generator with a warm-up before a fixed measured window, and the CPU each tier spends.

Fairness rules (issue 11, part 2), all enforced here:
- the baseline's engine takes the portal's engine options, its pool sized to the worker's
  threads (bench/baseline.py);
- every write scenario starts from a fresh copy of the template database, so bookings never pile
  up from one scenario to the next;
- a measured window follows a warm-up that is not measured (warm workers, a full pool);
- baseline blocks run before, between and after the portal's runs, and a baseline figure is the
  median of its runs in the same session;
- each figure carries the CPU milliseconds per request of the app, PostgreSQL and locust, read
  from /proc (bench/cpu.py), and the PostgreSQL connections opened during the window.

Settings (environment): BENCH_SECONDS (measured window, default 10), BENCH_WARMUP (4),
BENCH_ROUNDS (portal runs per scenario, 2), BENCH_CLIENTS (64), BENCH_WORKERS (2),
BENCH_THREADS (16). A smoke run: BENCH_SECONDS=5 BENCH_WARMUP=2 BENCH_ROUNDS=1.
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import cpu  # noqa: E402
from tests.pg import PostgresServer  # noqa: E402  (the test suite's throwaway cluster)

RESULTS = ROOT / "bench" / "results"
DEMO_PASSWORD = "minhang2026"  # the demo accounts' password (README, app/demo.py)


def _number(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


@dataclass(frozen=True)
class Settings:
    seconds: float = field(default_factory=lambda: _number("BENCH_SECONDS", 10))
    warmup: float = field(default_factory=lambda: _number("BENCH_WARMUP", 4))
    rounds: int = field(default_factory=lambda: int(_number("BENCH_ROUNDS", 2)))
    clients: int = field(default_factory=lambda: int(_number("BENCH_CLIENTS", 64)))
    workers: int = field(default_factory=lambda: int(_number("BENCH_WORKERS", 2)))
    threads: int = field(default_factory=lambda: int(_number("BENCH_THREADS", 16)))

    def gunicorn(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            "--worker-class",
            "gthread",
            "--log-level",
            "warning",
        ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def machine() -> str:
    return f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()}"


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else 0


# Locust sends every request from one address: the portal's per-address abuse limits would turn
# a load test into a test of the limiter (app/ratelimit.py has tests of its own). The parking
# limit on upcoming reservations would end the reservation throughput run early.
PORTAL_ENV = {
    **{
        name: "10000000 per minute"
        for name in (
            "PUBLIC_LIST_RATE",
            "QUOTE_RATE",
            "REGISTRATION_RATE",
            "UPLOAD_RATE",
            "PARKING_FEED_RATE",
        )
    },
    "PARKING_MAX_UPCOMING": "10000000",
    # Staff sign in with a password alone here: the benchmark measures pages, not the SMS second
    # factor (SIGNIN_SECOND_FACTOR_ROLES, app/config.py).
    "SIGNIN_SECOND_FACTOR_ROLES": "none",
    # Production refuses to start without a key for real names (app/identity); a bench-only one.
    "IDENTITY_ENCRYPTION_KEY": "YmVuY2gtb25seS1pZGVudGl0eS1rZXktMzJieXRlcyE=",
    # Production refuses to start with Web Push on and no VAPID keys of its own (app/config.py
    # check_push); the benchmarks send no push messages. Links in messages start here.
    "PUSH_ENABLED": "0",
    "PORTAL_URL": "https://portal.bench.invalid",
}


class Cluster:
    """The throwaway PostgreSQL server, with databases copied from a template in a fraction of a
    second (CREATE DATABASE ... TEMPLATE), and a monitoring connection for its statistics."""

    def __init__(self):
        self.base = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        self.server = PostgresServer(self.base).start()
        self.postmaster = cpu.postmaster_pid(self.server.data)
        self._monitor = None

    def close(self) -> None:
        if self._monitor is not None:
            self._monitor.close()
        self.server.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def url(self, name: str) -> str:
        return self.server.url(name)

    def connect(self, name: str = "postgres", autocommit: bool = True):
        import psycopg

        return psycopg.connect(
            f"host=127.0.0.1 port={self.server.port} user=postgres dbname={name}",
            autocommit=autocommit,
        )

    def create(self, name: str, template: str | None = None) -> str:
        """A fresh database `name` (dropped first, its connections ended), empty or a copy of
        `template`."""
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(
                f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
            )
        return self.url(name)

    def connections(self, name: str) -> tuple[int, int]:
        """(sessions ever opened on database `name`, client connections open now)."""
        if self._monitor is None:
            self._monitor = self.connect()
            self._monitor.execute("SET stats_fetch_consistency = none")
        row = self._monitor.execute(
            "SELECT (SELECT sessions FROM pg_stat_database WHERE datname = %s),"
            " (SELECT count(*) FROM pg_stat_activity"
            "  WHERE datname = %s AND backend_type = 'client backend')",
            (name, name),
        ).fetchone()
        return int(row[0] or 0), int(row[1] or 0)


def flask_cli(url: str, *args: str) -> str:
    """Run `flask --app wsgi ARGS` against the database (the portal's own stable entry points:
    `db upgrade`, `seed-demo`, `sweep`)."""
    proc = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, "PORTAL_ENV": "development"},
        capture_output=True,
        text=True,
    )
    if proc.returncode:
        raise RuntimeError(f"flask {' '.join(args)} failed: {proc.stderr[-3000:]}")
    return proc.stdout


@dataclass
class Server:
    port: int
    pid: int  # the gunicorn master, leader of the session its workers join
    database: str


@contextmanager
def serve(settings: Settings, module: str, cluster: Cluster, database: str, env=None):
    """Run `module:app` under gunicorn on a loopback port against `database`."""
    port = free_port()
    proc = subprocess.Popen(
        [*settings.gunicorn(), "--bind", f"127.0.0.1:{port}", f"{module}:app"],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": cluster.url(database),
            "PORTAL_ENV": "production",
            "SECRET_KEY": "bench-" + "x" * 40,
            "BENCH_THREADS": str(settings.threads),
            **PORTAL_ENV,
            **(env or {}),
        },
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{module} did not start (exit code {proc.returncode})")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/")
                if conn.getresponse().status < 500:
                    break
            except OSError:
                pass
            time.sleep(0.3)
        yield Server(port=port, pid=proc.pid, database=database)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def http_json(port: int, path: str):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    response = conn.getresponse()
    return json.loads(response.read())


def login_cookie(port: int, login: str, password: str = DEMO_PASSWORD) -> str:
    """Sign in through the real form (CSRF token and all); return the session Cookie header."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login")
    response = conn.getresponse()
    html = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";", 1)[0]
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    body = f"csrf_token={token}&login={login}&password={password}"
    conn.request(
        "POST",
        "/login",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    response = conn.getresponse()
    response.read()
    if response.status != 302:
        raise RuntimeError(f"sign-in as {login} failed ({response.status})")
    return response.getheader("Set-Cookie").split(";", 1)[0]


@dataclass
class Figures:
    """One measured window: what locust saw and what each tier spent."""

    name: str
    seconds: float
    requests: int
    failures: int
    statuses: dict
    p50_ms: float
    p95_ms: float
    p99_ms: float
    cpu_ms: dict
    connections_opened: int = 0
    connections_open: int = 0
    warmup: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def cpu_per_request(self, tier: str) -> float:
        return self.cpu_ms.get(tier, 0.0) / self.requests if self.requests else 0.0

    def as_json(self) -> dict:
        return {
            "rps": self.rps,
            "requests": self.requests,
            "seconds": self.seconds,
            "warmup": self.warmup,
            "errors": self.failures,
            "statuses": self.statuses,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "p99_ms": self.p99_ms,
            "cpu_ms_per_request": {t: self.cpu_per_request(t) for t in ("app", "db", "load")},
            "connections_opened_per_1000": (
                1000 * self.connections_opened / self.requests if self.requests else 0.0
            ),
            "connections_open": self.connections_open,
            "others_cpu_share": self.others_cpu_share,
        }

    @property
    def others_cpu_share(self) -> float:
        """The share of the machine's CPU time in the window used by other processes than
        the three tiers (other people's tests, say): how noisy the figure is."""
        tiers = sum(self.cpu_ms.get(t, 0.0) for t in ("app", "db", "load"))
        capacity = self.seconds * 1000 * (os.cpu_count() or 1)
        others = self.cpu_ms.get("machine", tiers) - tiers
        return max(0.0, others / capacity) if capacity else 0.0

    def line(self) -> str:
        cpu_text = " ".join(f"{t} {self.cpu_per_request(t):5.2f}" for t in ("app", "db", "load"))
        return (
            f"{self.name:<44} {self.rps:8.1f} req/s  p50 {self.p50_ms:6.0f}  p95 {self.p95_ms:6.0f}"
            f"  p99 {self.p99_ms:6.0f} ms  errors {self.failures}  CPU ms/req {cpu_text}"
            f"  conns +{self.connections_opened}/{self.connections_open}"
            f"  others {self.others_cpu_share:.0%}"
        )


def summary(runs: list[dict]) -> dict:
    """The median of each figure over runs (and the sums of requests and errors)."""
    if not runs:
        return {}
    return {
        "runs": len(runs),
        "rps": median([r["rps"] for r in runs]),
        "requests": sum(r["requests"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        **{k: median([r[k] for r in runs]) for k in ("p50_ms", "p95_ms", "p99_ms")},
        "cpu_ms_per_request": {
            t: median([r["cpu_ms_per_request"][t] for r in runs]) for t in ("app", "db", "load")
        },
        "connections_opened_per_1000": median([r["connections_opened_per_1000"] for r in runs]),
    }


class _ConnectionWatch(threading.Thread):
    """Reads the database's connection counters when locust marks the window's start and end."""

    def __init__(self, cluster: Cluster, database: str, result: Path):
        super().__init__(daemon=True)
        self.cluster, self.database, self.result = cluster, database, result
        self.opened = self.open = 0
        self.stop = threading.Event()

    def _wait(self, marker: Path) -> bool:
        while not marker.exists():
            if self.stop.wait(0.02):
                return False
        return True

    def run(self):
        if not self._wait(Path(str(self.result) + ".start")):
            return
        before, _ = self.cluster.connections(self.database)
        if not self._wait(Path(str(self.result) + ".end")):
            return
        after, self.open = self.cluster.connections(self.database)
        self.opened = after - before


def measure(
    settings: Settings,
    cluster: Cluster,
    server: Server,
    plan: dict,
    name: str,
    *,
    users: int | None = None,
) -> Figures:
    """Run the plan (see bench/locustfile.py) against the server: a warm-up, then the measured
    window (or, for a plan `until_done`, from the start until done)."""
    users = users or settings.clients
    with tempfile.TemporaryDirectory(prefix="bench-locust-") as tmp:
        result = Path(tmp) / "result.json"
        plan = {
            "warmup": settings.warmup,
            "seconds": settings.seconds,
            **plan,
            "users": users,
            "max_warmup": 120,
            "result": str(result),
            "cpu": {"app": server.pid, "db": cluster.postmaster},
        }
        plan_path = Path(tmp) / "plan.json"
        plan_path.write_text(json.dumps(plan))
        limit = 600 if plan.get("until_done") else plan["max_warmup"] + plan["seconds"] + 30
        watch = _ConnectionWatch(cluster, server.database, result)
        watch.start()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(ROOT / "bench" / "locustfile.py"),
                "--headless",
                "-u",
                str(users),
                "-r",
                str(users),
                "-t",
                f"{int(limit)}s",
                "--host",
                f"http://127.0.0.1:{server.port}",
                "--only-summary",
                "--loglevel",
                "ERROR",
                # a rush lets the requests in flight finish (their places are counted); a timed
                # window has ended when locust quits, so nothing is waited for
                "--stop-timeout",
                "10" if plan.get("until_done") else "0",
            ],
            cwd=ROOT,
            env={**os.environ, "BENCH_PLAN": str(plan_path)},
            capture_output=True,
            text=True,
            timeout=limit + 60,
        )
        watch.stop.set()
        watch.join(timeout=5)
        if not result.exists():
            raise RuntimeError(f"locust failed: {proc.stderr[-3000:]}")
        data = json.loads(result.read_text())
    figures = Figures(
        name=name,
        seconds=data["seconds"],
        requests=data["requests"],
        failures=data["failures"],
        statuses={int(k): v for k, v in data["statuses"].items()},
        p50_ms=data["p50_ms"],
        p95_ms=data["p95_ms"],
        p99_ms=data["p99_ms"],
        cpu_ms=data["cpu_ms"],
        connections_opened=watch.opened,
        connections_open=watch.open,
        warmup=data.get("warmup", 0.0),
    )
    print(figures.line(), flush=True)
    return figures


def write_results(name: str, data: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    return path
