"""The load generator for `make bench`: locust, headless, driven by a plan the harness writes.

    BENCH_PLAN=plan.json python -m locust -f bench/locustfile.py --headless -u 64 -r 64 --host ...

Timing: users start at once and run unmeasured for `warmup` seconds and until every user has
had an answer (warm workers, a warm pool, warm caches: a page whose first computation takes
longer than the warm-up would otherwise put its cold start into the window; at most
`max_warmup` seconds); then the stats are reset and the measured window of `seconds` runs; at
its end the figures are written to the plan's `result` file and locust quits. A plan with
`until_done` (the rush) has no warm-up and measures until every target is sold out. Around the
window the CPU time of each tier is read from /proc (bench/cpu.py), and marker files
`<result>.start` / `<result>.end` tell the harness when to read PostgreSQL's connection counters.

Plan kinds:
- "get": GET one of `paths` (each user starts at a different one) with `headers`.
- "post": POST `body` to `path`, with the key `target_key` set to a random one of `targets`
  (hot slots: every answer should be 201).
- "sequence": POST `body` to `path`, each user walking its own list of `fields` combinations:
  for the user's number n, `plates` formatted with n, crossed with `arrivals` (parking: a
  plate holds one space per arrival time, so no request repeats one already made).
- "rush": like "post" with each user's own Bearer token, moving on from a target once it
  answers 409 `sold_out`, until every target is sold out (the overbooking check). With
  `once_per_target` a user tries each target until answered once (a plate holds one space per
  arrival time); `per_user` [key, template] sets a field from the user's number n.
- "insert": POST `path` with an empty JSON body (the baseline).
With `tokens`, each user sends `Authorization: Bearer` with its own token (round robin).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import sys
import time

import gevent
from locust import FastHttpUser, constant, events, task

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import cpu  # noqa: E402

PLAN = json.load(open(os.environ["BENCH_PLAN"]))
STATUSES: dict[int, int] = {}
OPEN = list(PLAN.get("targets", []))
COUNTER = itertools.count()
WINDOW: dict = {}
ANSWERED: set = set()  # users that have had at least one answer
DONE: set = set()  # users that have stopped, having nothing left to do


def _count(status: int) -> None:
    STATUSES[status] = STATUSES.get(status, 0) + 1


def _begin_window(environment) -> None:
    environment.runner.stats.reset_all()
    STATUSES.clear()
    WINDOW["cpu"] = cpu.snapshot(PLAN["cpu"].get("app"), PLAN["cpu"].get("db"))
    WINDOW["started"] = time.monotonic()
    open(PLAN["result"] + ".start", "w").close()


def _end_window(environment, quit_: bool = True) -> None:
    """Write the window's figures (once), then quit from a fresh greenlet: quitting from inside
    a user's own greenlet would leave locust waiting for its timer."""
    if "ended" in WINDOW or "started" not in WINDOW:
        return
    WINDOW["ended"] = time.monotonic()
    used = cpu.snapshot(PLAN["cpu"].get("app"), PLAN["cpu"].get("db"))
    total = environment.runner.stats.total
    figures = {
        "seconds": WINDOW["ended"] - WINDOW["started"],
        "warmup": WINDOW.get("warmup", 0.0),
        "requests": total.num_requests,
        "failures": total.num_failures,
        "statuses": dict(STATUSES),
        "p50_ms": total.get_response_time_percentile(0.50) or 0,
        "p95_ms": total.get_response_time_percentile(0.95) or 0,
        "p99_ms": total.get_response_time_percentile(0.99) or 0,
        "cpu_ms": {tier: used[tier] - WINDOW["cpu"][tier] for tier in used},
    }
    with open(PLAN["result"], "w") as out:
        json.dump(figures, out)
    open(PLAN["result"] + ".end", "w").close()
    if quit_:
        gevent.spawn(environment.runner.quit)


def _control(environment) -> None:
    if PLAN.get("until_done"):
        _begin_window(environment)
        return
    started = time.monotonic()
    gevent.sleep(PLAN.get("warmup", 0))
    while len(ANSWERED) < PLAN["users"] and time.monotonic() - started < PLAN["max_warmup"]:
        gevent.sleep(0.1)
    WINDOW["warmup"] = time.monotonic() - started
    _begin_window(environment)
    gevent.sleep(PLAN["seconds"])
    _end_window(environment)


@events.test_start.add_listener
def _start(environment, **kwargs):
    gevent.spawn(_control, environment)


@events.test_stop.add_listener
def _stop(environment, **kwargs):
    _end_window(environment, quit_=False)  # stopped by locust's time limit: figures so far


def _user_done(user) -> None:
    """A user with nothing left to do stops; when every user has, the run is over."""
    DONE.add(user.n)
    if len(DONE) >= PLAN["users"]:
        _end_window(user.environment)
    user.stop()


class BenchUser(FastHttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.n = next(COUNTER)
        tokens = PLAN.get("tokens") or []
        self.headers = dict(PLAN.get("headers", {}))
        if tokens:
            self.headers["Authorization"] = f"Bearer {tokens[self.n % len(tokens)]}"
        paths = PLAN.get("paths", ["/"])
        start = self.n % len(paths)
        self.paths = itertools.cycle(paths[start:] + paths[:start])
        self.tried: set = set()
        if PLAN["kind"] == "sequence":
            plates = [p.format(n=self.n) for p in PLAN["plates"]]
            self.sequence = iter([(p, a) for p in plates for a in PLAN["arrivals"]])

    def _post(self, body: dict) -> int:
        with self.client.post(
            PLAN["path"], json=body, headers=self.headers, name=PLAN["path"], catch_response=True
        ) as response:
            _count(response.status_code)
            if response.status_code in (200, 201):
                response.success()
            elif response.status_code == 409 and PLAN["kind"] == "rush":
                response.success()  # sold out: the expected end of a rush
                answer = response.json() if response.text else {}
                if (answer or {}).get("error", {}).get("code") == "sold_out":
                    target = body[PLAN["target_key"]]
                    if target in OPEN:
                        OPEN.remove(target)
            else:
                response.failure(f"{response.status_code} {response.text[:200]}")
            return response.status_code

    def _target_body(self, target) -> dict:
        body = {**PLAN.get("body", {}), PLAN["target_key"]: target}
        if PLAN.get("per_user"):
            key, template = PLAN["per_user"]
            body[key] = template.format(n=self.n)
        return body

    @task
    def work(self):
        self._work(PLAN["kind"])
        ANSWERED.add(self.n)

    def _work(self, kind: str) -> None:
        if kind == "get":
            path = next(self.paths)
            with self.client.get(
                path, headers=self.headers, name=PLAN.get("name", path), catch_response=True
            ) as response:
                _count(response.status_code)
                if response.status_code != 200:
                    response.failure(f"{response.status_code}")
        elif kind == "insert":
            self._post({})
        elif kind == "post":
            self._post(self._target_body(random.choice(PLAN["targets"])))
        elif kind == "sequence":
            step = next(self.sequence, None)
            if step is None:  # this user has used every plate at every time: nothing left
                _user_done(self)
                return
            plate, arrival = step
            self._post({**PLAN["body"], "plate": plate, "arrive_at": arrival})
        elif kind == "rush":
            if not OPEN:
                _end_window(self.environment)
                _user_done(self)
                return
            choices = (
                [t for t in OPEN if t not in self.tried] if PLAN.get("once_per_target") else OPEN
            )
            if not choices:  # this user has an answer for every target still open
                _user_done(self)
                return
            target = choices[self.n % len(choices)]
            if self._post(self._target_body(target)) in (200, 201, 409):
                self.tried.add(target)  # answered; after an error the same target is tried again
