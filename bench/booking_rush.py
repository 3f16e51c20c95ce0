"""Scenarios: the booking rush, steady booking, and the venue pages. 64 locust users book the same
newly opened slots at once through the JSON API until every place is gone; then book at random
across the 50 demo venues' slots for a while; then read the venue search and the 14-day
availability pages. Against the portal under gunicorn on PostgreSQL, and in the same run the
baseline app answers minimal inserts (the booking scenarios) and minimal page renders (the
pages). Prints throughput and p50/p95/p99 latency for each, the ratio to its baseline, and the
overbookings found afterwards (must be 0).

    make bench            (or: python -m bench.booking_rush --clients 64 --slots 10 --capacity 20)
"""

from __future__ import annotations

import argparse
import json
from datetime import timedelta

from bench.harness import ROOT, Result, locust, machine, postgres, serve


def prepare(url: str, clients: int, slots: int, capacity: int):
    """Migrate, then add one venue whose `slots` slots open tomorrow, and a token per client."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from app import clock, create_app
    from app.accounts import services as accounts
    from app.demo import seed_frame
    from app.extensions import db
    from bookings.models import CapacityBucket
    from venues.demo import add_venue, seed_venues
    from venues.models import BookingMode, Space, Venue, VenueType
    from venues.services.admin import replace_hours
    from venues.services.catalogue import materialise

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        upgrade()
        seed_frame(db.session)
        town = db.session.scalar(select(__import__("app.places.models", fromlist=["Town"]).Town))
        venue = add_venue(
            db.session,
            name_zh="抢票博物馆",
            name_en="Rush Museum",
            town=town,
            type=VenueType.MUSEUM,
            address_zh="测试路 1 号",
            address_en="1 Test Road",
        )
        venue.max_per_day = venue.max_per_week = 10_000  # one person may book many places here
        hall = venue.spaces[0]
        hall.capacity, hall.max_party_size = capacity, 4
        replace_hours(db.session, venue, {d: (8 * 60, (8 + slots) * 60) for d in range(7)})
        db.session.commit()
        materialise(db.session, venue)
        tomorrow = clock.today() + timedelta(days=1)
        slot_ids = list(
            db.session.scalars(
                select(CapacityBucket.id)
                .where(
                    CapacityBucket.resource_id == hall.resource_id,
                    CapacityBucket.starts_at >= clock.at(tomorrow, 0),
                    CapacityBucket.starts_at < clock.at(tomorrow, 24 * 60),
                )
                .order_by(CapacityBucket.starts_at)
            )
        )
        seed_venues(db.session)  # the 50 demo venues, 15 days of slots each
        steady = list(
            db.session.scalars(
                select(CapacityBucket.id)
                .join(Space, Space.resource_id == CapacityBucket.resource_id)
                .where(
                    Space.mode == BookingMode.GENERAL,
                    Space.venue_id != venue.id,
                    CapacityBucket.starts_at >= clock.at(tomorrow, 0),
                    CapacityBucket.starts_at < clock.at(tomorrow, 24 * 60),
                )
            )
        )
        venue_ids = list(
            db.session.scalars(select(Venue.id).where(Venue.id != venue.id).order_by(Venue.id))
        )
        for other in db.session.scalars(select(Venue)):
            other.max_per_day = other.max_per_week = 10_000
        tokens = []
        for i in range(clients):
            user = accounts.register_resident(
                db.session, phone=f"1360000{i:04d}", name=f"bench{i}", password="bench-password"
            )
            tokens.append(accounts.issue_token(db.session, user, "bench"))
        db.session.commit()
        db.engine.dispose()
    return app, slot_ids, tokens, steady, venue_ids


def overbookings(app) -> tuple[int, list]:
    """Places sold beyond capacity, counted from the bookings themselves, and ledger drift."""
    from sqlalchemy import func, select

    from app.extensions import db
    from bookings.models import HOLDING, Booking, CapacityBucket
    from bookings.services import ledger_mismatches

    with app.app_context():
        held = dict(
            db.session.execute(
                select(CapacityBucket.id, func.coalesce(func.sum(Booking.quantity), 0))
                .outerjoin(
                    Booking,
                    (Booking.resource_id == CapacityBucket.resource_id)
                    & (Booking.starts_at == CapacityBucket.starts_at)
                    & Booking.status.in_(HOLDING),
                )
                .group_by(CapacityBucket.id)
            ).all()
        )
        capacity = dict(
            db.session.execute(select(CapacityBucket.id, CapacityBucket.capacity)).all()
        )
        over = sum(max(0, held[b] - capacity[b]) for b in held)
        drift = ledger_mismatches(db.session)
        db.engine.dispose()
    return over, drift


def rush(port: int, slot_ids: list[int], tokens: list[str]) -> Result:
    return locust(
        port,
        len(tokens),
        {
            "kind": "rush",
            "path": "/api/v1/bookings",
            "body": {"party_size": 1},
            "target_key": "slot_id",
            "targets": slot_ids,
            "tokens": tokens,
        },
        name="portal: booking rush (POST /bookings)",
    )


def steady(port: int, slot_ids: list[int], tokens: list[str], seconds: float) -> Result:
    return locust(
        port,
        len(tokens),
        {
            "kind": "steady",
            "path": "/api/v1/bookings",
            "body": {"party_size": 1},
            "target_key": "slot_id",
            "targets": slot_ids,
            "tokens": tokens,
        },
        seconds=seconds,
        name="portal: steady booking, many slots",
    )


def baseline(port: int, clients: int, total: int, seconds: float = 120.0) -> Result:
    return locust(
        port,
        clients,
        {"kind": "insert", "path": "/insert", "total": total},
        seconds=seconds,
        name="baseline: insert one row",
    )


def pages(port: int, clients: int, paths: list[str], seconds: float, name: str) -> Result:
    return locust(
        port, clients, {"kind": "get", "paths": paths, "name": name}, seconds=seconds, name=name
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--slots", type=int, default=10)
    parser.add_argument("--capacity", type=int, default=20)
    parser.add_argument(
        "--seconds", type=float, default=20, help="length of the steady and page scenarios"
    )
    args = parser.parse_args(argv)
    with postgres() as pg:
        portal_url = pg.create_database("portal")
        base_url = pg.create_database("baseline")
        app, slot_ids, tokens, steady_slots, venue_ids = prepare(
            portal_url, args.clients, args.slots, args.capacity
        )
        paths = ["/venues", "/venues?type=museum", "/venues?q=%E5%9B%BE%E4%B9%A6%E9%A6%86"] + [
            f"/venues/{v}" for v in venue_ids[:12]
        ]
        with serve("wsgi", portal_url) as port:
            result = rush(port, slot_ids, tokens)
            calm = steady(port, steady_slots, tokens, args.seconds)
            browse = pages(
                port, args.clients, paths, args.seconds, "portal: venue search and 14-day pages"
            )
        with serve("bench.baseline", base_url) as port:
            base = baseline(
                port, args.clients, 10**9, args.seconds
            )  # a fixed time: steadier than a burst
            base_page = pages(
                port, args.clients, ["/page"], args.seconds, "baseline: render a page"
            )
        over, drift = overbookings(app)
    sold = result.statuses.get(201, 0)
    print(
        f"\nbooking rush · {args.clients} clients · {len(slot_ids)} slots x {args.capacity} places"
        f" · {machine()}"
    )
    print(base.line())
    print(result.line(base))
    print(
        f"places sold {sold} of {len(slot_ids) * args.capacity} · sold_out answers "
        f"{result.statuses.get(409, 0)} · overbookings {over} · ledger drift {len(drift)}"
    )
    print(
        f"\nsteady booking across {len(steady_slots)} slots of {len(venue_ids)} venues · {args.seconds:.0f} s"
    )
    print(base.line())
    print(calm.line(base))
    print(f"bookings made {calm.statuses.get(201, 0)} · statuses {calm.statuses}")
    print(f"\nvenue pages ({len(paths)} paths) · {args.seconds:.0f} s")
    print(base_page.line())
    print(browse.line(base_page))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    summary = lambda r: {
        "rps": r.rps,
        "p50_ms": r.pct(50),
        "p95_ms": r.pct(95),
        "p99_ms": r.pct(99),
        "errors": r.errors,
        "requests": r.requests,
        "statuses": r.statuses,
    }
    (out / "booking_rush.json").write_text(
        json.dumps(
            {
                "clients": args.clients,
                "slots": len(slot_ids),
                "capacity": args.capacity,
                "portal": summary(result),
                "baseline": summary(base),
                "steady": summary(calm),
                "baseline_steady": summary(base),
                "pages": summary(browse),
                "baseline_page": summary(base_page),
                "ratio_rps": result.rps / base.rps if base.rps else None,
                "ratio_steady": calm.rps / base.rps if base.rps else None,
                "ratio_pages": browse.rps / base_page.rps if base_page.rps else None,
                "overbookings": over,
                "ledger_drift": len(drift),
                "sold": sold,
            },
            indent=2,
        )
    )
    ok = (
        over == 0
        and not drift
        and sold == len(slot_ids) * args.capacity
        and result.errors == 0
        and calm.errors == 0
        and browse.errors == 0
    )
    print("OK" if ok else "FAILED: overbooking, drift, unsold places or errors")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
