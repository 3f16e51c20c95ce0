"""Scenario: a repair-alert storm through the outbox. On PostgreSQL, tickets at one estate whose
ten managers have proven phones raise 10,000 SMS alerts (real `notify()` calls, 100 tickets to a
unit of work, as `repairs.services.tickets` writes them); then 1, 2 or 4 dispatcher processes
(`flask --app wsgi deliver`, started before the storm and held with SIGSTOP while it is written;
production settings except the per-dispatcher SMS pace, which is off: the figure is the
dispatchers' capacity, not a carrier's contract) send them through the real Tencent Cloud SMS
provider to a stub on loopback that takes 50 ms per request (bench/stub_sms.py: signature
checked, our delivery id honoured as the idempotency key).

Figures per dispatcher count: messages per second (from the dispatchers' release to the last
send), duplicates (requests for a message already sent: must be 0), lost (rows not sent, or
sent rows the stub never took: must be 0), the delay from commit (the notification's
created_at) to the stub taking it (p50, p99: the storm's writing and the queue ahead of it
included), and CPU milliseconds per message of the dispatcher processes and of PostgreSQL
while they drain the queue.

    python -m bench delivery            (BENCH_MESSAGES=1000: a smoke run)
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time

from bench import cpu
from bench.harness import RESULTS, ROOT
from bench.session import TEMPLATE, Session, run
from bench.stub_sms import SmsStub, tencent_env

# BENCH_DISPATCHERS="4" runs one count only (a quick look).
DISPATCHERS = tuple(int(n) for n in (os.environ.get("BENCH_DISPATCHERS") or "1,2,4").split(","))
MANAGERS = 10  # alerts per ticket
UNIT = 100  # tickets per unit of work
LATENCY = 0.05  # seconds the stub holds each request
LOGS = RESULTS  # each dispatcher's log: bench/results/deliver-<count>-<n>.log
DATABASE = "delivery"


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


def prepare_database(url: str, tickets: int) -> tuple[list[int], list[str]]:
    """The estate's managers (proven phones) and the storm's tickets; no delivery rows left
    from the demo data, so every row counted is the storm's. Returns the managers' ids and the
    tickets' references."""
    from datetime import timedelta

    from sqlalchemy import select, text

    from app import clock, create_app
    from app.accounts.models import Role, RoleAssignment, User
    from app.extensions import db
    from repairs.models import EstateManagement

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        link = db.session.scalars(select(EstateManagement).order_by(EstateManagement.estate_id))
        link = link.first()
        managers = []
        for i in range(MANAGERS):
            user = User(
                phone=f"1590000{i:04d}",
                name=f"storm manager {i}",
                phone_verified_at=clock.now(),
            )
            user.set_password(secrets.token_urlsafe(12))
            user.roles.append(
                RoleAssignment(
                    role=Role.PROPERTY_MANAGER, scope_kind="estate", scope_id=link.estate_id
                )
            )
            db.session.add(user)
            managers.append(user)
        db.session.flush()
        db.session.execute(text("DELETE FROM notification_delivery"))
        now = clock.now()
        db.session.execute(
            text(
                "INSERT INTO repair_ticket (reference, estate_id, company_id, town_id, category,"
                " description, public_area, location, preferred_time, state, submitted_at,"
                " respond_by, reopen_count)"
                " SELECT 'ST' || lpad(g::text, 8, '0'), :estate, :company, e.town_id, 'lift',"
                " '电梯故障', true, '1号楼', '', 'submitted', :now, :due, 0"
                " FROM generate_series(1, :n) AS g JOIN estate e ON e.id = :estate"
            ),
            {
                "estate": link.estate_id,
                "company": link.company_id,
                "now": now,
                "due": now + timedelta(minutes=30),
                "n": tickets,
            },
        )
        db.session.commit()
        ids = [m.id for m in managers]
        refs = list(
            db.session.scalars(
                text("SELECT reference FROM repair_ticket WHERE reference LIKE 'ST%' ORDER BY 1")
            )
        )
        db.engine.dispose()
    return ids, refs


def storm(url: str, managers: list[int], references: list[str]) -> float:
    """Every ticket's alert to every manager through `notify()`, 100 tickets to a unit of work
    (as a filing writes them: the outbox rows commit with the change); the seconds it took."""
    from app import create_app
    from app.db import unit_of_work
    from app.extensions import db
    from app.i18n import N_
    from app.notifications.services import notify

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    started = time.perf_counter()
    with app.app_context():
        for first in range(0, len(references), UNIT):
            with unit_of_work(db.session):
                for reference in references[first : first + UNIT]:
                    params = {"ref": reference, "estate": "storm", "deadline": "10:30"}
                    for user_id in managers:
                        notify(
                            db.session,
                            user_id,
                            kind="repair.new",
                            subject=N_(
                                "New repair report %(ref)s at %(estate)s: respond by %(deadline)s"
                            ),
                            params=params,
                            link=f"/repairs/tickets/{reference}",
                        )
            db.session.expunge_all()
        db.engine.dispose()
    return time.perf_counter() - started


def dispatcher_env(url: str, stub: SmsStub, templates: dict) -> dict[str, str]:
    ids = {kind: {"template_id": str(2000 + i)} for i, kind in enumerate(templates)}
    return {
        **os.environ,
        "PORTAL_ENV": "development",
        "DATABASE_URL": url,
        "SMS_TEMPLATES": json.dumps(ids),
        **tencent_env(stub.url),
        "DELIVERY_RATE_SMS": "0",
    }


class Group:
    key = "delivery"
    baselines = ()

    def __init__(self, session: Session):
        self.s = session
        self.messages = int(os.environ.get("BENCH_MESSAGES") or 10_000)
        self.tickets = max(self.messages // MANAGERS, 1)
        self.runs: dict[int, dict] = {}

    def setup_template(self) -> None:
        pass

    def prepare(self) -> None:
        pass

    def run(self, round_: int) -> None:
        """One storm per dispatcher count (in the first round only: each is 10,000 messages,
        and its figures are counts over all of them, not a short window's)."""
        if round_:
            return
        for count in DISPATCHERS:
            self.runs[count] = self.one(count)
            print(f"delivery, {count} dispatcher(s): {self.runs[count]}", flush=True)

    def one(self, count: int) -> dict:
        from app import create_app

        url = self.s.cluster.create(DATABASE, TEMPLATE)
        managers, references = prepare_database(url, self.tickets)
        templates = create_app({"SQLALCHEMY_DATABASE_URI": url}).config["SMS_TEMPLATES"]
        expected = len(managers) * len(references)
        with SmsStub(latency=LATENCY) as stub:
            env = dispatcher_env(url, stub, templates)
            logs = [open(LOGS / f"deliver-{count}-{n}.log", "w") for n in range(count)]  # noqa: SIM115
            procs = [
                subprocess.Popen(
                    [sys.executable, "-m", "flask", "--app", "wsgi", "deliver"],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    # A file, not a pipe: a pipe nobody reads fills up and stalls the writer.
                    stderr=logs[n],
                    start_new_session=True,
                )
                for n in range(count)
            ]
            try:
                self._wait_ready(procs)
                # Held while the storm is written, so that they all start on the same full
                # queue, and neither their start-up nor the producer's pace is in the figures.
                for proc in procs:
                    os.killpg(proc.pid, signal.SIGSTOP)
                storm_seconds = storm(url, managers, references)
                before = self._cpu(procs)
                released = time.time()
                for proc in procs:
                    os.killpg(proc.pid, signal.SIGCONT)
                rows = self._wait_sent(url, expected, procs)
                after = self._cpu(procs)
            finally:
                for proc in procs:
                    os.killpg(proc.pid, signal.SIGCONT)
                    proc.send_signal(signal.SIGTERM)
                for proc in procs:
                    proc.wait(timeout=120)
                for log in logs:
                    log.close()
            accepted, requests = dict(stub.accepted), dict(stub.requests)
        sent = {str(row[0]): float(row[2]) for row in rows if row[1] == "sent"}
        retried = sum(1 for row in rows if row[3] > 1)
        delays = [accepted[key] - created for key, created in sent.items() if key in accepted]
        lost = (expected - len(sent)) + sum(1 for key in sent if key not in accepted)
        drain = max(accepted.values()) - released
        return {
            "dispatchers": count,
            "messages": expected,
            "sent": len(sent),
            "messages_per_second": len(accepted) / drain if drain > 0 else 0.0,
            "drain_seconds": drain,
            "duplicates": sum(n - 1 for n in requests.values()),
            "retried": retried,  # sent after a failed try (a timeout, a refused connection)
            "lost": lost,
            "refused_by_stub": len(stub.refused),
            "delay_p50_ms": _percentile(delays, 0.50) * 1000,
            "delay_p99_ms": _percentile(delays, 0.99) * 1000,
            "delay_mean_ms": statistics.fmean(delays) * 1000 if delays else 0.0,
            # When the stub took the messages, seconds after the release: 10%, 20%, ... 100%.
            "sent_after_release_deciles": [
                round(_percentile([t - released for t in accepted.values()], d / 10), 2)
                for d in range(1, 11)
            ],
            "storm_seconds": storm_seconds,
            "cpu_ms_per_message": {
                tier: (after[tier] - before[tier]) / max(len(accepted), 1) for tier in after
            },
        }

    def _cpu(self, procs) -> dict[str, float]:
        return {
            "dispatchers": sum(cpu.session_ms(proc.pid) for proc in procs),
            "db": cpu.tree_ms(self.s.cluster.postmaster),
        }

    def _wait_ready(self, procs) -> None:
        """Until every dispatcher has connected (its first round ran: nothing was due)."""
        deadline = time.monotonic() + 120
        while self.s.cluster.connections(DATABASE)[1] < len(procs):
            for proc in procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"a dispatcher exited: see {LOGS}")
            if time.monotonic() > deadline:
                raise RuntimeError("the dispatchers did not start")
            time.sleep(0.2)

    def _wait_sent(self, url: str, expected: int, procs) -> list:
        """Until no row is queued or sending (or ten minutes): (id, status, created_at epoch)."""
        deadline = time.monotonic() + 600
        with self.s.cluster.connect(DATABASE) as conn:
            while True:
                pending = conn.execute(
                    "SELECT count(*) FROM notification_delivery"
                    " WHERE status IN ('queued', 'sending')"
                ).fetchone()[0]
                if pending == 0 or time.monotonic() > deadline:
                    break
                for proc in procs:
                    if proc.poll() is not None:
                        raise RuntimeError(f"a dispatcher exited: see {LOGS}")
                time.sleep(0.2)
            return conn.execute(
                "SELECT d.id, d.status, extract(epoch FROM n.created_at), d.attempts"
                " FROM notification_delivery d JOIN notification n ON n.id = d.notification_id"
            ).fetchall()

    def check(self) -> bool:
        ok = bool(self.runs) and all(
            r["duplicates"] == 0 and r["lost"] == 0 and r["refused_by_stub"] == 0
            for r in self.runs.values()
        )
        print(f"delivery: duplicates and lost all 0: {ok}", flush=True)
        return ok

    def results(self) -> dict:
        return {
            "messages": self.messages,
            "latency_ms": LATENCY * 1000,
            "runs": {str(count): figures for count, figures in self.runs.items()},
        }


if __name__ == "__main__":
    raise SystemExit(run([Group]))
