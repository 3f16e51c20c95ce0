"""The load generator for `make bench`: locust, headless, driven by a plan the scenario writes.

    BENCH_PLAN=plan.json python -m locust -f bench/locustfile.py --headless -u 64 -r 64 -t 30s --host ...

Plan kinds:
- "rush": each user POSTs `body` (with `target_key` set to one of `targets`) to `path` with its own
  Bearer token, moving on from a target once it answers 409 `sold_out`; the run stops when every
  target is sold out. A plate-like `per_user` field gets the user's number.
- "steady": like rush but picks a random target each time and runs for the time given.
- "get": GET one of `paths` (round robin) with `headers`, for the time given.
- "insert": POST `path` until `total` requests were sent.
Statuses are counted per code and written to BENCH_PLAN + ".statuses.json" when locust quits;
409 answers in a rush are the expected "sold out", not failures.
"""

from __future__ import annotations

import itertools
import json
import os
import random

import gevent
from locust import FastHttpUser, constant, events, task

PLAN = json.load(open(os.environ["BENCH_PLAN"]))
STATUSES: dict[int, int] = {}
OPEN = list(PLAN.get("targets", []))
COUNTER = itertools.count()
SENT = itertools.count(1)


@events.quitting.add_listener
def _write_statuses(environment, **kwargs):
    with open(os.environ["BENCH_PLAN"] + ".statuses.json", "w") as out:
        json.dump(STATUSES, out)


QUITTING = []


def _finish(environment) -> None:
    """End the run now (not at the time limit). Quitting from inside a user's own greenlet
    leaves locust waiting for its timer, so it is done from a fresh greenlet, once."""
    if not QUITTING:
        QUITTING.append(True)
        gevent.spawn(environment.runner.quit)


def _count(status: int) -> None:
    STATUSES[status] = STATUSES.get(status, 0) + 1


class BenchUser(FastHttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.n = next(COUNTER)
        tokens = PLAN.get("tokens") or []
        self.headers = dict(PLAN.get("headers", {}))
        if tokens:
            self.headers["Authorization"] = f"Bearer {tokens[self.n % len(tokens)]}"
        self.paths = itertools.cycle(PLAN.get("paths", ["/"]))
        self.tried: set = set()

    def _post(self, target):
        body = dict(PLAN["body"])
        body[PLAN["target_key"]] = target
        if PLAN.get("per_user"):
            key, template = PLAN["per_user"]
            body[key] = template.format(n=self.n)
        with self.client.post(
            PLAN["path"], json=body, headers=self.headers, name=PLAN["path"], catch_response=True
        ) as response:
            _count(response.status_code)
            if response.status_code in (200, 201):
                response.success()
            elif response.status_code == 409:
                response.success()  # sold out (or already held): an expected answer
                code = (
                    (response.json() or {}).get("error", {}).get("code") if response.text else None
                )
                if code == "sold_out" and target in OPEN:
                    OPEN.remove(target)
            else:
                response.failure(f"{response.status_code}")
            return response.status_code

    @task
    def work(self):
        kind = PLAN["kind"]
        if kind == "get":
            path = next(self.paths)
            with self.client.get(
                path, headers=self.headers, name=PLAN.get("name", path), catch_response=True
            ) as response:
                _count(response.status_code)
                if response.status_code != 200:
                    response.failure(f"{response.status_code}")
        elif kind == "insert":
            if next(SENT) > PLAN["total"]:
                _finish(self.environment)
                self.stop()
                return
            with self.client.post(
                PLAN["path"], json={}, name=PLAN["path"], catch_response=True
            ) as response:
                _count(response.status_code)
        elif kind == "rush":
            choices = (
                [t for t in OPEN if t not in self.tried]
                if PLAN.get("once_per_target")
                else list(OPEN)
            )
            if not OPEN:
                _finish(self.environment)
                self.stop()
                return
            if not choices:
                self.stop()
                return
            target = choices[self.n % len(choices)]
            if self._post(target) in (200, 201, 409):
                self.tried.add(target)  # answered; after an error the same target is tried again
        elif kind == "steady":
            self._post(random.choice(PLAN["targets"]))
