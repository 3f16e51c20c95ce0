"""What every scenario needs: a throwaway PostgreSQL, the portal and the baseline under
gunicorn on loopback, locust (headless, bounded) as the load generator, and its figures."""

from __future__ import annotations

import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.pg import PostgresServer  # noqa: E402  (the test suite's throwaway cluster)

GUNICORN = [
    sys.executable,
    "-m",
    "gunicorn",
    "--workers",
    "2",
    "--threads",
    "16",
    "--worker-class",
    "gthread",
    "--log-level",
    "warning",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def postgres():
    base = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    server = PostgresServer(base).start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


# Locust sends every request from one address: the portal's per-address abuse limits would turn
# a load test into a test of the limiter (app/ratelimit.py has tests of its own).
UNLIMITED = {
    name: "10000000 per minute"
    for name in (
        "PUBLIC_LIST_RATE",
        "QUOTE_RATE",
        "REGISTRATION_RATE",
        "UPLOAD_RATE",
        "PARKING_FEED_RATE",
    )
}


@contextmanager
def serve(module: str, database_url: str, extra_env: dict | None = None):
    """Run `module:app` under gunicorn on a loopback port; yield the port."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PORTAL_ENV": "production",
        "SECRET_KEY": "bench-" + "x" * 40,
        **UNLIMITED,
        **(extra_env or {}),
    }
    proc = subprocess.Popen(
        [*GUNICORN, "--bind", f"127.0.0.1:{port}", f"{module}:app"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
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
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    def line(self, baseline: Result | None = None) -> str:
        text = (
            f"{self.name:<34} {self.requests:>7} req {self.rps:>8.1f} req/s  "
            f"p50 {self.pct(50):>7.1f} ms  p95 {self.pct(95):>7.1f} ms  p99 {self.pct(99):>7.1f} ms"
            f"  errors {self.errors}"
        )
        if baseline is not None and baseline.rps:
            text += (
                f"  | vs baseline: {self.rps / baseline.rps:.2f}x throughput, "
                f"{self.pct(50) / baseline.pct(50):.2f}x p50 latency"
            )
        return text


def machine() -> str:
    return f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()}"


def median(values):
    return statistics.median(values) if values else 0


def login_cookie(port: int, login: str, password: str) -> str:
    """Sign in through the real form (CSRF token and all); return the session Cookie header."""
    import re

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


class LocustResult(Result):
    """A Result read from locust's final JSON stats: its request count, rate and percentiles
    (from locust's response-time histogram, merged over the run's request names)."""

    def __init__(self, name: str, entries: list[dict], statuses: dict):
        super().__init__(
            name=name, statuses=statuses, errors=sum(e["num_failures"] for e in entries)
        )
        self._requests = sum(e["num_requests"] for e in entries)
        started = min((e["start_time"] for e in entries), default=0)
        ended = max((e["last_request_timestamp"] or 0 for e in entries), default=0)
        self._rps = self._requests / (ended - started) if ended > started else 0.0
        histogram: dict[float, int] = {}
        for entry in entries:
            for ms, count in entry["response_times"].items():
                histogram[float(ms)] = histogram.get(float(ms), 0) + count
        self._histogram = sorted(histogram.items())

    @property
    def requests(self) -> int:
        return self._requests

    @property
    def rps(self) -> float:
        return self._rps

    def pct(self, p: float) -> float:
        wanted, seen = p / 100 * self._requests, 0
        for ms, count in self._histogram:
            seen += count
            if seen >= wanted:
                return ms
        return self._histogram[-1][0] if self._histogram else 0.0


def locust(
    port: int, users: int, plan: dict, *, seconds: float = 120.0, name: str = ""
) -> LocustResult:
    """Run the plan (see bench/locustfile.py) with `users` locust users against the loopback
    port, headless, for at most `seconds`; return the figures of the whole run."""
    with tempfile.TemporaryDirectory(prefix="bench-locust-") as tmp:
        plan_path = Path(tmp) / "plan.json"
        plan_path.write_text(json.dumps(plan))
        stats_file = Path(tmp) / "stats.json"
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
                f"{int(seconds)}s",
                "--host",
                f"http://127.0.0.1:{port}",
                "--json-file",
                str(stats_file.with_suffix("")),
                "--only-summary",
                "--loglevel",
                "ERROR",
                "--stop-timeout",
                "10",
            ],
            cwd=ROOT,
            env={**os.environ, "BENCH_PLAN": str(plan_path)},
            capture_output=True,
            text=True,
            timeout=seconds + 120,
        )
        if not stats_file.exists():
            raise RuntimeError(f"locust failed: {proc.stderr[-2000:]}")
        statuses_file = Path(str(plan_path) + ".statuses.json")
        statuses = (
            {int(k): v for k, v in json.loads(statuses_file.read_text()).items()}
            if statuses_file.exists()
            else {}
        )
        return LocustResult(name, json.loads(stats_file.read_text()), statuses)
