"""Scenario: the parking reservation rush and the open data feed.

64 clients, each with its own plate and token, reserve spaces for the same arrival times
tomorrow (10 times half an hour apart, a pool of 20 each) through `POST /api/v1/parking/reservations`
until every space is gone; then the same clients read `GET /api/v1/parking/feed` for 10 seconds.
The baseline app answers the same number of minimal inserts and, for the feed, minimal page
reads, on the same PostgreSQL and gunicorn settings. Prints throughput, p50/p95/p99, errors,
the ratio to the baseline, and the spaces oversold afterwards (must be 0).

    python -m bench.parking_rush [--clients 64 --times 10 --pool 20 --feed-seconds 10]
"""

from __future__ import annotations

import argparse
import json
from datetime import timedelta

from bench.harness import ROOT, Result, locust, machine, postgres, serve

# The feed is rate-limited per client address; every bench client is 127.0.0.1, so the limit is
# lifted for the measurement (the limit itself is tested in tests/).
BENCH_ENV = {"PARKING_FEED_RATE": "10000000 per minute", "PARKING_MAX_UPCOMING": "1000"}


def prepare(url: str, clients: int, times: int, pool: int):
    from flask_migrate import upgrade
    from sqlalchemy import select

    from app import clock, create_app
    from app.accounts import services as accounts
    from app.demo import seed_frame
    from app.extensions import db
    from app.places.models import Town
    from parking.demo import seed_parking
    from parking.models import CarPark, CarParkKind, Tariff
    from parking.services import vehicles
    from parking.services.reservations import materialise_pool

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        upgrade()
        seed_frame(db.session)
        seed_parking(db.session)
        park = CarPark(
            name_zh="抢位停车场",
            name_en="Rush Car Park",
            kind=CarParkKind.PUBLIC,
            town=db.session.scalar(select(Town)),
            address_zh="测试路 2 号",
            address_en="2 Test Road",
            latitude=31.1,
            longitude=121.4,
            total_spaces=1000,
            occupied=0,
            reservable_spaces=pool,
        )
        park.tariff = Tariff(
            first_hour_fen=500, period_fen=300, night_unit_fen=100, daily_cap_fen=2000
        )
        db.session.add(park)
        db.session.commit()
        materialise_pool(db.session, park)
        for other in db.session.scalars(select(CarPark).where(CarPark.id != park.id)).all():
            materialise_pool(db.session, other)
        tomorrow = clock.today() + timedelta(days=1)
        arrivals = [clock.at(tomorrow, 8 * 60 + 30 * n).isoformat() for n in range(times)]
        tokens = []
        for i in range(clients):
            user = accounts.register_resident(
                db.session, phone=f"1350000{i:04d}", name=f"bench{i}", password="bench-password"
            )
            tokens.append(accounts.issue_token(db.session, user, "bench"))
            # the plate the rush sends for this client (locustfile: per_user, n = its number);
            # the API reserves only for the driver's own vehicles
            vehicles.register(db.session, user, f"沪B{i:05d}")
        db.session.commit()
        park_id = park.id
        db.engine.dispose()
    return app, park_id, arrivals, tokens


def oversold(app, park_id: int) -> tuple[int, int, list]:
    """(spaces reserved beyond the pool in any quarter hour, reservations made, ledger drift)."""
    from sqlalchemy import func, select

    from app.extensions import db
    from bookings.models import HOLDING, Booking, CapacityBucket
    from bookings.services import ledger_mismatches
    from parking.models import CarPark, ParkingReservation

    with app.app_context():
        park = db.session.get(CarPark, park_id)
        over = 0
        for bucket in db.session.scalars(
            select(CapacityBucket).where(CapacityBucket.resource_id == park.resource_id)
        ):
            held = (
                db.session.scalar(
                    select(func.count(Booking.id)).where(
                        Booking.resource_id == park.resource_id,
                        Booking.status.in_(HOLDING),
                        Booking.starts_at <= bucket.starts_at,
                        Booking.ends_at >= bucket.ends_at,
                    )
                )
                or 0
            )
            over += max(0, held - bucket.capacity)
        made = db.session.scalar(select(func.count(ParkingReservation.id))) or 0
        drift = ledger_mismatches(db.session, park.resource_id)
        db.engine.dispose()
    return over, made, drift


def rush(port: int, park_id: int, arrivals: list[str], tokens: list[str]) -> Result:
    """Every client reserves with its own plate, moving on from each arrival time once it is
    sold out, until all are; a plate holds one space per arrival time."""
    return locust(
        port,
        len(tokens),
        {
            "kind": "rush",
            "path": "/api/v1/parking/reservations",
            "body": {"carpark_id": park_id},
            "target_key": "arrive_at",
            "targets": arrivals,
            "tokens": tokens,
            "once_per_target": True,
            "per_user": ["plate", "沪B{n:05d}"],
        },
        name="portal: reservation rush",
    )


def baseline_inserts(port: int, clients: int, total: int, seconds: float) -> Result:
    """Minimal inserts for a fixed time: a steadier rate to compare with than a burst of the
    rush's size."""
    return locust(
        port,
        clients,
        {"kind": "insert", "path": "/insert", "total": total},
        seconds=seconds,
        name="baseline: insert one row",
    )


def reads(port: int, clients: int, path: str, seconds: float, name: str) -> Result:
    return locust(port, clients, {"kind": "get", "paths": [path]}, seconds=seconds, name=name)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--times", type=int, default=10)
    parser.add_argument("--pool", type=int, default=20)
    parser.add_argument("--feed-seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    with postgres() as pg:
        portal_url = pg.create_database("portal")
        base_url = pg.create_database("baseline")
        app, park_id, arrivals, tokens = prepare(portal_url, args.clients, args.times, args.pool)
        with serve("wsgi", portal_url, BENCH_ENV) as port:
            result = rush(port, park_id, arrivals, tokens)
            feed = reads(
                port,
                args.clients,
                "/api/v1/parking/feed",
                args.feed_seconds,
                "portal: open data feed",
            )
        with serve("bench.baseline", base_url) as port:
            base = baseline_inserts(port, args.clients, 10**9, args.feed_seconds)
            base_page = reads(
                port, args.clients, "/page", args.feed_seconds, "baseline: read one row, render"
            )
        over, made, drift = oversold(app, park_id)
    sold = result.statuses.get(201, 0)
    print(
        f"\nparking reservation rush · {args.clients} clients · {args.times} arrival times x {args.pool} spaces"
        f" · {machine()}"
    )
    print(base.line())
    print(result.line(base))
    print(
        f"spaces reserved {sold} of {args.times * args.pool} (rows {made}) · sold_out answers "
        f"{result.statuses.get(409, 0)} · oversold {over} · ledger drift {len(drift)}"
    )
    print(base_page.line())
    print(feed.line(base_page))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    summary = lambda r: {
        "rps": r.rps,
        "p50_ms": r.pct(50),
        "p95_ms": r.pct(95),
        "p99_ms": r.pct(99),
        "errors": r.errors,
        "statuses": r.statuses,
    }
    (out / "parking_rush.json").write_text(
        json.dumps(
            {
                "clients": args.clients,
                "times": args.times,
                "pool": args.pool,
                "rush": summary(result),
                "baseline_insert": summary(base),
                "feed": summary(feed),
                "baseline_page": summary(base_page),
                "ratio_rush": result.rps / base.rps if base.rps else None,
                "ratio_feed": feed.rps / base_page.rps if base_page.rps else None,
                "oversold": over,
                "ledger_drift": len(drift),
                "sold": sold,
            },
            indent=2,
        )
    )
    ok = (
        over == 0
        and not drift
        and sold == made == args.times * args.pool
        and result.errors == 0
        and feed.errors == 0
        and set(feed.statuses) == {200}
    )
    print("OK" if ok else "FAILED: oversold, drift, unsold spaces or errors")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
