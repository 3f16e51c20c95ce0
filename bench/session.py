"""One benchmark session: the throwaway cluster, the seeded template database, the baseline
server, and the order of the runs (baseline blocks before, between and after the portal's).

    python -m bench                      (every scenario: what `make bench` runs)
    python -m bench booking parking      (some of them)

A scenario module (bench/booking_rush.py, parking_rush.py, repairs_load.py) gives a `Group`:
`setup_template()` adds its data to the template once, `prepare()` makes any database of its own,
`run(round)` is one portal run of its scenarios, `check()` runs its correctness checks (the
rushes, the sweep) and `results()` what it writes to bench/results/<key>.json.
"""

from __future__ import annotations

import os
import secrets
import time
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bench import baseline
from bench.harness import (
    Cluster,
    Settings,
    flask_cli,
    http_json,
    machine,
    measure,
    serve,
    summary,
    write_results,
)

TEMPLATE = "seed"
LOCAL = ZoneInfo("Asia/Shanghai")  # the portal's people-facing time zone (BABEL_DEFAULT_TIMEZONE)
BASELINE_PLANS = {
    "insert": {"kind": "insert", "path": "/insert"},
    "page": {"kind": "get", "paths": ["/page"], "name": "/page"},
}


def tomorrow() -> tuple[datetime, datetime]:
    """Tomorrow's local day bounds (aware), for picking slots that are open for booking."""
    day = datetime.now(LOCAL).date() + timedelta(days=1)
    start = datetime(day.year, day.month, day.day, tzinfo=LOCAL)
    return start, start + timedelta(days=1)


def add_residents(url: str, n: int) -> tuple[list[int], list[str]]:
    """n resident accounts, each with a personal API token; returns their ids and tokens.
    Written with the portal's models (the stable part of its code), not its services."""
    from app import create_app
    from app.accounts.models import ApiToken, Role, RoleAssignment, User
    from app.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1"})
    ids, tokens = [], []
    with app.app_context():
        for i in range(n):
            user = User(phone=f"1360000{i:04d}", name=f"bench{i}")
            user.set_password(secrets.token_urlsafe(12))
            user.roles.append(RoleAssignment(role=Role.RESIDENT))
            db.session.add(user)
            db.session.flush()
            token = "cp_" + secrets.token_urlsafe(32)
            db.session.add(
                ApiToken(user_id=user.id, name="bench", digest=ApiToken.digest_of(token))
            )
            ids.append(user.id)
            tokens.append(token)
        db.session.commit()
        db.engine.dispose()
    return ids, tokens


class Session:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.baseline_runs: dict[str, list[dict]] = {kind: [] for kind in BASELINE_PLANS}
        self._stack = ExitStack()

    def __enter__(self) -> Session:
        try:
            return self._start()
        except BaseException:
            self._stack.close()  # no cluster or server left running
            raise

    def _start(self) -> Session:
        self.started = datetime.now(LOCAL)
        self.load_at_start = os.getloadavg()
        self.cluster = Cluster()
        self._stack.callback(self.cluster.close)
        started = time.perf_counter()
        url = self.cluster.create(TEMPLATE)
        flask_cli(url, "db", "upgrade")
        flask_cli(url, "seed-demo")
        self.user_ids, self.tokens = add_residents(url, self.settings.clients)
        print(f"template seeded in {time.perf_counter() - started:.0f} s", flush=True)
        self.baseline_url = self.cluster.create("baseline")
        baseline.prepare(self.baseline_url)
        self.baseline = self._stack.enter_context(
            serve(self.settings, "bench.baseline", self.cluster, "baseline")
        )
        self.engines = http_json(self.baseline.port, "/engine")
        print(f"engines: {self.engines}", flush=True)
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def baseline_block(self, kinds=tuple(BASELINE_PLANS)) -> None:
        """One run of each baseline endpoint, the insert table emptied first."""
        baseline.reset(self.baseline_url)
        for kind in kinds:
            figures = measure(
                self.settings,
                self.cluster,
                self.baseline,
                BASELINE_PLANS[kind],
                f"baseline: {kind}",
            )
            self.baseline_runs[kind].append(figures.as_json())

    @contextmanager
    def portal(self, template: str = TEMPLATE, database: str = "portal", fresh: bool = True):
        """The portal under gunicorn on a fresh copy of the template (or on `database` as it
        is, with fresh=False)."""
        if fresh:
            self.cluster.create(database, template)
        with serve(self.settings, "wsgi", self.cluster, database) as server:
            yield server

    def measure(self, server, plan: dict, name: str, **kwargs):
        return measure(self.settings, self.cluster, server, plan, name, **kwargs)

    def meta(self) -> dict:
        s = self.settings
        return {
            "session": self.started.isoformat(timespec="seconds"),
            "date": self.started.date().isoformat(),
            "load_average": {"start": self.load_at_start, "end": os.getloadavg()},
            "machine": machine(),
            "gunicorn": f"{s.workers} workers x {s.threads} threads (gthread)",
            "clients": s.clients,
            "seconds": s.seconds,
            "warmup": s.warmup,
            "rounds": s.rounds,
            "engines": self.engines,
            "baseline": {kind: summary(runs) for kind, runs in self.baseline_runs.items()},
            "baseline_runs": self.baseline_runs,
        }


def run(group_classes, settings: Settings | None = None) -> int:
    """Baseline, then one portal run of each group, round after round; a last baseline block;
    then the checks. Writes bench/results/<group>.json; returns 0 when every check passed."""
    with Session(settings) as session:
        groups = [cls(session) for cls in group_classes]
        kinds = sorted({kind for g in groups for kind in g.baselines})
        for group in groups:
            group.setup_template()
        for group in groups:
            group.prepare()
        for round_ in range(session.settings.rounds):
            session.baseline_block(kinds)
            for group in groups:
                group.run(round_)
        session.baseline_block(kinds)
        ok = True
        for group in groups:
            ok = group.check() and ok
        for group in groups:
            path = write_results(group.key, {"meta": session.meta(), **group.results()})
            print(f"wrote {path}")
    print("OK" if ok else "FAILED: see the checks above")
    return 0 if ok else 1
