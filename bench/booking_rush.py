"""Scenarios: venue booking and the venue pages.

- booking throughput: 64 clients book 10 hot slots of large capacity through
  `POST /api/v1/bookings` for a fixed time after a warm-up (every answer should be 201);
  compared with the baseline's insert;
- the venue search and 14-day pages signed in, the same pages anonymous, and the availability
  API (`GET /api/v1/venues/<id>/availability`), compared with the baseline's page;
- the overbooking check, reported apart: 64 clients book 10 newly opened slots of 20 places
  until all are sold out; the places sold beyond capacity and the ledger drift (bucket `taken`
  against the bookings' units), counted from the rows, must both be 0.

    python -m bench.booking_rush        (BENCH_SECONDS=5 BENCH_WARMUP=2 BENCH_ROUNDS=1: a smoke run)
"""

from __future__ import annotations

from urllib.parse import quote

from bench.harness import login_cookie
from bench.session import TEMPLATE, Session, run, tomorrow

HOT_SLOTS, HOT_CAPACITY = 10, 1_000_000  # places per hot slot: never sold out in a run
RUSH_SLOTS, RUSH_CAPACITY = 10, 20
RESIDENT = "13900000001"  # a demo resident (app/demo.py)


def ledger(conn, resource_ids: list[int] | None = None) -> dict:
    """Places held beyond capacity, buckets whose `taken` differs from the units held by the
    bookings covering them (the engine's ledger rule, bookings.services.ledger_mismatches, in
    SQL), and the units held, over the given resources (or all)."""
    from bookings.models import HOLDING

    row = conn.execute(
        """
        SELECT coalesce(sum(greatest(held - capacity, 0)), 0),
               count(*) FILTER (WHERE held <> taken),
               coalesce(sum(held), 0)
        FROM (SELECT b.id, b.capacity, b.taken, coalesce(sum(k.quantity), 0) AS held
              FROM capacity_bucket b
              LEFT JOIN booking k ON k.resource_id = b.resource_id
                   AND k.starts_at <= b.starts_at AND k.ends_at >= b.ends_at
                   AND k.status = ANY(%(holding)s)
              WHERE %(all)s OR b.resource_id = ANY(%(ids)s)
              GROUP BY b.id) AS buckets
        """,
        {"holding": [s.value for s in HOLDING], "all": resource_ids is None, "ids": resource_ids},
    ).fetchone()
    return {"overbooked": int(row[0]), "drift": int(row[1]), "held": int(row[2])}


def setup_slots(conn) -> dict:
    """Pick hot slots and rush slots tomorrow in general spaces (no approval) and give them
    their capacity; lift every venue's per-person limits (one bench client books many places).
    Returns the slot ids, the rush slots' resources and the active venues."""
    start, end = tomorrow()
    conn.execute("UPDATE venue SET max_per_day = 1000000, max_per_week = 1000000")
    slots = conn.execute(
        """
        SELECT b.id, b.resource_id FROM capacity_bucket b
        JOIN venue_space s ON s.resource_id = b.resource_id
        JOIN venue v ON v.id = s.venue_id
        WHERE s.mode = 'general' AND s.active AND NOT s.requires_approval AND v.active
          AND b.capacity > 0 AND b.taken = 0 AND b.starts_at >= %s AND b.starts_at < %s
        ORDER BY s.id, b.starts_at
        """,
        (start, end),
    ).fetchall()
    if len(slots) < 2 * RUSH_SLOTS:
        raise RuntimeError(f"only {len(slots)} bookable general slots tomorrow")
    hot = [slot_id for slot_id, _ in slots[:HOT_SLOTS]]
    rush = slots[-RUSH_SLOTS:]  # another venue's, at the other end of the list
    conn.execute("UPDATE capacity_bucket SET capacity = %s WHERE id = ANY(%s)", (HOT_CAPACITY, hot))
    conn.execute(
        "UPDATE capacity_bucket SET capacity = %s WHERE id = ANY(%s)",
        (RUSH_CAPACITY, [slot_id for slot_id, _ in rush]),
    )
    return {
        "hot": hot,
        "rush": [slot_id for slot_id, _ in rush],
        "rush_resources": sorted({resource for _, resource in rush}),
        "venues": [v for (v,) in conn.execute("SELECT id FROM venue WHERE active ORDER BY id")],
    }


class Group:
    key = "booking"
    baselines = ("insert", "page")

    def __init__(self, session: Session):
        self.s = session
        self.runs: dict[str, list[dict]] = {
            "booking": [],
            "venue_pages": [],
            "anonymous_pages": [],
            "availability_api": [],
        }
        self.rush: dict = {}

    def setup_template(self) -> None:
        with self.s.cluster.connect(TEMPLATE) as conn:
            slots = setup_slots(conn)
        self.hot, self.rush_slots = slots["hot"], slots["rush"]
        self.rush_resources = slots["rush_resources"]
        day = tomorrow()[0].date().isoformat()
        venues = slots["venues"][:12]
        self.pages = [
            "/venues",
            "/venues?type=museum",
            "/venues?q=" + quote("图书馆"),
            *(f"/venues/{v}" for v in venues),
        ]
        self.api = [f"/api/v1/venues/{v}/availability?date={day}" for v in venues]

    def prepare(self) -> None:
        pass

    def _booking_plan(self, targets: list[int]) -> dict:
        return {
            "kind": "post",
            "path": "/api/v1/bookings",
            "body": {"party_size": 1},
            "target_key": "slot_id",
            "targets": targets,
            "tokens": self.s.tokens,
        }

    def run(self, round_: int) -> None:
        """One portal run on a fresh copy of the template: the reads, then the bookings."""
        with self.s.portal() as server:
            cookie = login_cookie(server.port, RESIDENT)
            for key, plan, name in (
                (
                    "venue_pages",
                    {"kind": "get", "paths": self.pages, "headers": {"Cookie": cookie}},
                    "portal: venue pages, signed in",
                ),
                ("anonymous_pages", {"kind": "get", "paths": self.pages}, "portal: venue pages"),
                ("availability_api", {"kind": "get", "paths": self.api}, "portal: availability"),
                ("booking", self._booking_plan(self.hot), "portal: booking, hot slots"),
            ):
                plan.setdefault("name", key)
                self.runs[key].append(self.s.measure(server, plan, name).as_json())

    def check(self) -> bool:
        """The 200-place rush on warm workers (a short unmeasured booking run first)."""
        with self.s.portal() as server:
            self.s.measure(server, {**self._booking_plan(self.hot), "seconds": 1}, "(warm-up)")
            figures = self.s.measure(
                server,
                {
                    **self._booking_plan(self.rush_slots),
                    "kind": "rush",
                    "until_done": True,
                    "warmup": 0,
                },
                "portal: booking rush (check)",
            )
        with self.s.cluster.connect("portal") as conn:
            rush = ledger(conn, self.rush_resources)
            whole = ledger(conn)
            sold = conn.execute(
                "SELECT coalesce(sum(taken), 0) FROM capacity_bucket WHERE id = ANY(%s)",
                (self.rush_slots,),
            ).fetchone()[0]
        self.rush = {
            "figures": figures.as_json(),
            "slots": RUSH_SLOTS,
            "capacity": RUSH_CAPACITY,
            "sold": int(sold),
            "answered_201": figures.statuses.get(201, 0),
            "sold_out_answers": figures.statuses.get(409, 0),
            "overbookings": rush["overbooked"],
            "ledger_drift": whole["drift"],
        }
        ok = (
            rush["overbooked"] == 0
            and whole["drift"] == 0
            and sold == RUSH_SLOTS * RUSH_CAPACITY
            and figures.failures == 0
        )
        print(
            f"booking rush: {sold} places sold of {RUSH_SLOTS * RUSH_CAPACITY}, "
            f"overbookings {rush['overbooked']}, ledger drift {whole['drift']}, "
            f"errors {figures.failures}: {'OK' if ok else 'FAILED'}",
            flush=True,
        )
        return ok

    def results(self) -> dict:
        return {
            "scenarios": {
                key: {"runs": runs, "hot_slots": len(self.hot)} for key, runs in self.runs.items()
            },
            "rush": self.rush,
        }


if __name__ == "__main__":
    raise SystemExit(run([Group]))
