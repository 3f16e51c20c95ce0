"""A dispatcher killed with SIGKILL in the middle of a batch loses nothing and sends nothing twice.

What "exactly once" means here. The dispatcher (`flask deliver`, app/notifications/dispatch.py)
claims a batch, calls the provider for each message, and only then records the answers. Killed
in between, it leaves its rows "sending" although the provider has already taken some of them
(the answer was on its way, or had arrived and was not yet written). After the lease another
dispatcher queues those rows again and sends them again, with the same idempotency key: our
side delivers *at least once*. The provider stub (bench/stub_sms.py: Tencent Cloud SMS's
SendSms on loopback, reached through the real Tencent provider) honours the key as a provider
that supports keys does: the second request with a key gets the first one's answer and sends
nothing. So every message is *sent* exactly once, which is what the test asserts, and it also
asserts that the kill really left messages that were asked for twice (the window the key is
for). Without a provider that honours keys, a message taken just before the kill would reach
the phone twice: that is why each delivery row carries its key and keeps it on every attempt.

The stub holds each request long enough (0.25 s, 8 in flight) that the kill lands mid-batch:
the test waits until the stub has received some of the first batch, which cannot have been
recorded yet, and checks afterwards that rows were left "sending".
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from app.db import unit_of_work, utcnow
from app.notifications.models import Delivery, DeliveryStatus
from app.notifications.services import notify
from bench.stub_sms import SmsStub, tencent_env

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = 200
LEASE = 2.0  # seconds: short, so the second dispatcher may take the dead one's rows soon


def dispatcher_env(app, database_url: str, stub_url: str) -> dict[str, str]:
    """A dispatcher process against the test's database and the stub: every SMS template gets
    a template id (Tencent refuses a message without one); the kind sent here reads as the
    generic notice does (subject and link)."""
    templates = {
        kind: {"template_id": str(1000 + i)} for i, kind in enumerate(app.config["SMS_TEMPLATES"])
    }
    templates["venue.offer"] = {
        "template_id": "999",
        "params": ["subject", "url"],
        "text": "{1} {2}",
    }
    return {
        **os.environ,
        "PORTAL_ENV": "development",
        "DATABASE_URL": database_url,
        "SMS_TEMPLATES": json.dumps(templates),
        **tencent_env(stub_url),
        "DELIVERY_LEASE_SECONDS": str(LEASE),
        "DELIVERY_BATCH": "50",
        "DELIVERY_CONCURRENCY": "8",
        "DELIVERY_POLL_SECONDS": "0.2",
        "DELIVERY_RATE_SMS": "0",  # unpaced: the stub's latency sets the pace
    }


def start_dispatcher(env: dict, log: Path) -> subprocess.Popen:
    """`flask deliver` in a process of its own, its log in the file `log` (a pipe nobody reads
    could fill up and stall it)."""
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "deliver"]
    with log.open("w") as out:  # the child has its own copy of the file
        return subprocess.Popen(command, cwd=ROOT, env=env, stderr=out, stdout=subprocess.DEVNULL)


def statuses(session) -> dict[str, int]:
    """What the dispatcher processes wrote, read in a transaction ended at once (on SQLite
    every transaction holds the write lock: app/db.py)."""
    rows = session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
    counts = {str(status): count for status, count in rows}
    session.commit()
    return counts


def test_a_dispatcher_killed_mid_batch_loses_nothing_and_sends_nothing_twice(
    app, session, make_user, database_url, tmp_path
):
    people = [make_user(phone_verified_at=utcnow()) for _ in range(3)]
    with unit_of_work(session):
        for n in range(MESSAGES):
            notify(
                session,
                people[n % 3].id,
                kind="venue.offer",
                subject="A place is held for you",
                link=f"/venues/offers/{n}",
            )
    keys = {str(row_id) for row_id in session.scalars(select(Delivery.id))}
    session.commit()
    assert len(keys) == MESSAGES

    with SmsStub(latency=0.25) as stub:
        env = dispatcher_env(app, database_url, stub.url)
        first = start_dispatcher(env, tmp_path / "first.log")
        deadline = time.monotonic() + 60
        while stub.received() < 12:  # well inside the first batch of 50 (8 in flight)
            assert first.poll() is None, (tmp_path / "first.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the dispatcher sent nothing"
            time.sleep(0.01)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        left = statuses(session)
        assert left.get("sending", 0) > 0 and left.get("sent", 0) == 0, left

        # Another dispatcher at once: it sends what nobody claimed, and the dead one's rows
        # when their lease has run out (it looks every DELIVERY_POLL_SECONDS).
        second = start_dispatcher({**env, "DELIVERY_CONCURRENCY": "32"}, tmp_path / "second.log")
        deadline = time.monotonic() + 240
        while statuses(session) != {"sent": MESSAGES}:
            assert second.poll() is None, (tmp_path / "second.log").read_text()[-2000:]
            assert time.monotonic() < deadline, statuses(session)
            time.sleep(0.2)
        second.send_signal(signal.SIGTERM)  # finishes its round, then exits
        assert second.wait(timeout=60) == 0, (tmp_path / "second.log").read_text()[-2000:]

        assert statuses(session) == {"sent": MESSAGES}
        assert not stub.refused
        assert set(stub.accepted) == keys  # every message sent, each key once
        asked_twice = {key for key, count in stub.requests.items() if count > 1}
        assert asked_twice, "the kill left no message to be asked for again"
        assert sum(stub.requests.values()) == MESSAGES + len(asked_twice)
    attempts = session.scalars(
        select(Delivery.attempts).where(Delivery.id.in_([int(k) for k in asked_twice]))
    ).all()
    assert set(attempts) == {2}  # claimed by the dead dispatcher, then by the second
    assert (
        session.scalar(
            select(func.count()).where(
                Delivery.status == DeliveryStatus.SENT, Delivery.provider == "tencent"
            )
        )
        == MESSAGES
    )
