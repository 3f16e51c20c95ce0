"""Scenarios: parking reservations and the open data feed.

- reservation throughput: 64 clients, each with several plates of their own, reserve spaces in
  a car park with a large pool through `POST /api/v1/parking/reservations` for a fixed time after
  a warm-up, each plate walking its own arrival times (a plate holds one space at a time, so no
  request is refused); compared with the baseline's insert;
- the open data feed (`GET /api/v1/parking/feed`), compared with the baseline's page;
- the overbooking check, reported apart: 64 clients with a plate each reserve 10 arrival times
  of a pool of 20 until all are gone; spaces beyond the pool and ledger drift must be 0.

    python -m bench.parking_rush        (BENCH_SECONDS=5 BENCH_WARMUP=2 BENCH_ROUNDS=1: a smoke run)
"""

from __future__ import annotations

import math
from datetime import timedelta

from bench.booking_rush import ledger
from bench.session import TEMPLATE, Session, run, tomorrow

BIG_POOL = 1_000_000
RUSH_TIMES, RUSH_POOL = 10, 20
BUCKET = timedelta(minutes=15)  # the pool's bucket length (parking/services/reservations.py)
THROUGHPUT_PLATE = "沪C{n:03d}{k:02d}"
RUSH_PLATE = "沪D{n:05d}"
# Reservations per second the plates must be able to absorb for the whole run without running
# out of (plate, arrival) pairs: well above the target (0.4x a baseline insert).
MAX_RATE = 1500


def add_plates(url: str, owners: list[int], plates_per_owner: int) -> None:
    """Each owner (bench client n) claims its throughput plates and its rush plate, written
    with the portal's models."""
    from app import create_app
    from app.extensions import db
    from parking.models import Vehicle

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        for n, owner in enumerate(owners):
            for k in range(plates_per_owner):
                db.session.add(Vehicle(owner_id=owner, plate=THROUGHPUT_PLATE.format(n=n, k=k)))
            db.session.add(Vehicle(owner_id=owner, plate=RUSH_PLATE.format(n=n)))
        db.session.commit()
        db.engine.dispose()


class Group:
    key = "parking"
    baselines = ("insert", "page")

    def __init__(self, session: Session):
        self.s = session
        self.runs: dict[str, list[dict]] = {"parking_reservation": [], "parking_feed": []}
        self.rush: dict = {}

    def setup_template(self) -> None:
        """Two reservable car parks: one with a pool too large to fill, one with a pool of 20
        for the rush; the arrival times for each; the plates."""
        start, _ = tomorrow()
        with self.s.cluster.connect(TEMPLATE) as conn:
            parks = conn.execute(
                "SELECT id, resource_id, grace_minutes FROM car_park"
                " WHERE open AND reservable_spaces > 0 AND resource_id IS NOT NULL ORDER BY id"
            ).fetchall()
            if len(parks) < 2:
                raise RuntimeError("the demo data has fewer than two reservable car parks")
            (self.park, resource, grace), (self.rush_park, rush_resource, rush_grace) = parks[:2]
            self.rush_resource = rush_resource
            conn.execute(
                "UPDATE car_park SET total_spaces = greatest(total_spaces, %(n)s),"
                " reservable_spaces = %(n)s WHERE id = %(id)s",
                {"n": BIG_POOL, "id": self.park},
            )
            conn.execute(
                "UPDATE capacity_bucket SET capacity = %s WHERE resource_id = %s",
                (BIG_POOL, resource),
            )
            # Arrivals a stay apart, so one plate can hold a space at each; tomorrow and the day
            # after (PARKING_RESERVE_DAYS_AHEAD is 2).
            step = BUCKET * math.ceil(timedelta(minutes=grace) / BUCKET)
            self.arrivals = [
                (start + i * step).isoformat() for i in range(int(timedelta(days=2) / step))
            ]
            rush_step = BUCKET * math.ceil(timedelta(minutes=rush_grace) / BUCKET)
            busy = {
                row[0]
                for row in conn.execute(
                    "SELECT starts_at FROM capacity_bucket WHERE resource_id = %s AND taken > 0",
                    (rush_resource,),
                )
            }
            rush_arrivals = []
            arrival = start + timedelta(hours=7)
            while len(rush_arrivals) < RUSH_TIMES:
                covered = [arrival + i * BUCKET for i in range(rush_step // BUCKET)]
                if not busy.intersection(covered):
                    rush_arrivals.append(arrival)
                arrival += rush_step
            conn.execute(
                "UPDATE car_park SET reservable_spaces = least(total_spaces, %s) WHERE id = %s",
                (RUSH_POOL, self.rush_park),
            )
            conn.execute(
                "UPDATE capacity_bucket SET capacity = greatest(taken, %s) WHERE resource_id = %s",
                (RUSH_POOL, rush_resource),
            )
            self.rush_before = conn.execute(
                "SELECT count(*) FROM parking_reservation WHERE car_park_id = %s",
                (self.rush_park,),
            ).fetchone()[0]
        self.rush_arrivals = [a.isoformat() for a in rush_arrivals]
        s = self.s.settings
        per_owner = max(
            4, math.ceil((s.warmup + s.seconds) * MAX_RATE / (s.clients * len(self.arrivals)))
        )
        self.plates = [THROUGHPUT_PLATE.replace("{k:02d}", f"{k:02d}") for k in range(per_owner)]
        add_plates(self.s.cluster.url(TEMPLATE), self.s.user_ids, per_owner)

    def prepare(self) -> None:
        pass

    def _reserve_plan(self) -> dict:
        return {
            "kind": "sequence",
            "path": "/api/v1/parking/reservations",
            "body": {"carpark_id": self.park},
            "plates": self.plates,
            "arrivals": self.arrivals,
            "tokens": self.s.tokens,
        }

    def run(self, round_: int) -> None:
        """One portal run on a fresh copy of the template: the feed, then the reservations."""
        with self.s.portal() as server:
            feed = {"kind": "get", "paths": ["/api/v1/parking/feed"], "name": "feed"}
            self.runs["parking_feed"].append(
                self.s.measure(server, feed, "portal: parking feed").as_json()
            )
            self.runs["parking_reservation"].append(
                self.s.measure(
                    server, self._reserve_plan(), "portal: parking reservation"
                ).as_json()
            )

    def check(self) -> bool:
        """The rush for 10 arrival times x 20 spaces, on warm workers."""
        with self.s.portal() as server:
            self.s.measure(server, {**self._reserve_plan(), "seconds": 1}, "(warm-up)")
            figures = self.s.measure(
                server,
                {
                    "kind": "rush",
                    "until_done": True,
                    "warmup": 0,
                    "path": "/api/v1/parking/reservations",
                    "body": {"carpark_id": self.rush_park},
                    "target_key": "arrive_at",
                    "targets": self.rush_arrivals,
                    "tokens": self.s.tokens,
                    "once_per_target": True,
                    "per_user": ["plate", RUSH_PLATE],
                },
                "portal: parking rush (check)",
            )
        with self.s.cluster.connect("portal") as conn:
            rush = ledger(conn, [self.rush_resource])
            whole = ledger(conn)
            made = (
                conn.execute(
                    "SELECT count(*) FROM parking_reservation WHERE car_park_id = %s",
                    (self.rush_park,),
                ).fetchone()[0]
                - self.rush_before
            )
        wanted = RUSH_TIMES * RUSH_POOL
        self.rush = {
            "figures": figures.as_json(),
            "times": RUSH_TIMES,
            "pool": RUSH_POOL,
            "sold": int(made),
            "answered_201": figures.statuses.get(201, 0),
            "oversold": rush["overbooked"],
            "ledger_drift": whole["drift"],
        }
        ok = (
            rush["overbooked"] == 0
            and whole["drift"] == 0
            and made == wanted
            and figures.failures == 0
        )
        print(
            f"parking rush: {made} spaces reserved of {wanted}, oversold {rush['overbooked']}, "
            f"ledger drift {whole['drift']}, errors {figures.failures}: {'OK' if ok else 'FAILED'}",
            flush=True,
        )
        return ok

    def results(self) -> dict:
        return {
            "scenarios": {key: {"runs": runs} for key, runs in self.runs.items()},
            "rush": self.rush,
        }


if __name__ == "__main__":
    raise SystemExit(run([Group]))
