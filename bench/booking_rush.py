"""Scenario: the booking rush. 64 clients book the same newly opened slots at once through the
JSON API until every place is gone, against the portal under gunicorn on PostgreSQL; the same
clients then send as many minimal inserts to the baseline app. Prints throughput and
p50/p95/p99 latency for both, their ratio, and the overbookings found afterwards (must be 0).

    make bench            (or: python -m bench.booking_rush --clients 64 --slots 10 --capacity 20)
"""
from __future__ import annotations

import argparse
import json
import threading
from datetime import timedelta

from bench.harness import ROOT, Result, machine, postgres, run_clients, serve


def prepare(url: str, clients: int, slots: int, capacity: int):
    """Migrate, then add one venue whose `slots` slots open tomorrow, and a token per client."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from app import clock, create_app
    from app.accounts import services as accounts
    from app.demo import seed_frame
    from app.extensions import db
    from bookings.models import CapacityBucket
    from venues.demo import add_venue
    from venues.models import VenueType
    from venues.services.admin import replace_hours
    from venues.services.catalogue import materialise

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        upgrade()
        seed_frame(db.session)
        town = db.session.scalar(select(__import__("app.places.models", fromlist=["Town"]).Town))
        venue = add_venue(db.session, name_zh="抢票博物馆", name_en="Rush Museum", town=town,
                          type=VenueType.MUSEUM, address_zh="测试路 1 号", address_en="1 Test Road")
        venue.max_per_day = venue.max_per_week = 10_000  # one person may book many places here
        hall = venue.spaces[0]
        hall.capacity, hall.max_party_size = capacity, 4
        replace_hours(db.session, venue, {d: (8 * 60, (8 + slots) * 60) for d in range(7)})
        db.session.commit()
        materialise(db.session, venue)
        tomorrow = clock.today() + timedelta(days=1)
        slot_ids = list(db.session.scalars(
            select(CapacityBucket.id).where(CapacityBucket.resource_id == hall.resource_id,
                                            CapacityBucket.starts_at >= clock.at(tomorrow, 0),
                                            CapacityBucket.starts_at < clock.at(tomorrow, 24 * 60))
            .order_by(CapacityBucket.starts_at)))
        tokens = []
        for i in range(clients):
            user = accounts.register_resident(db.session, phone=f"1360000{i:04d}", name=f"bench{i}",
                                              password="bench-password")
            tokens.append(accounts.issue_token(db.session, user, "bench"))
        db.session.commit()
        db.engine.dispose()
    return app, slot_ids, tokens


def overbookings(app) -> tuple[int, list]:
    """Places sold beyond capacity, counted from the bookings themselves, and ledger drift."""
    from sqlalchemy import func, select

    from app.extensions import db
    from bookings.models import HOLDING, Booking, CapacityBucket
    from bookings.services import ledger_mismatches

    with app.app_context():
        held = dict(db.session.execute(
            select(CapacityBucket.id, func.coalesce(func.sum(Booking.quantity), 0))
            .outerjoin(Booking, (Booking.resource_id == CapacityBucket.resource_id)
                       & (Booking.starts_at == CapacityBucket.starts_at)
                       & Booking.status.in_(HOLDING))
            .group_by(CapacityBucket.id)).all())
        capacity = dict(db.session.execute(select(CapacityBucket.id, CapacityBucket.capacity)).all())
        over = sum(max(0, held[b] - capacity[b]) for b in held)
        drift = ledger_mismatches(db.session)
        db.engine.dispose()
    return over, drift


def rush(port: int, slot_ids: list[int], tokens: list[str]) -> Result:
    open_slots = list(slot_ids)
    lock = threading.Lock()
    attempts = [0] * len(tokens)

    def work(i, request):
        with lock:
            if not open_slots:
                return False
            slot = open_slots[(i + attempts[i]) % len(open_slots)]
        attempts[i] += 1
        status, body = request("POST", "/api/v1/bookings", {"slot_id": slot, "party_size": 1},
                               {"Authorization": f"Bearer {tokens[i]}"})
        if status == 409 and body and body["error"]["code"] == "sold_out":
            with lock:
                if slot in open_slots:
                    open_slots.remove(slot)
        return True

    result = run_clients(port, len(tokens), work)
    result.name = "portal: booking rush (POST /bookings)"
    return result


def baseline(port: int, clients: int, total: int) -> Result:
    counts = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]

    def work(i, request):
        if counts[i] <= 0:
            return False
        counts[i] -= 1
        request("POST", "/insert", {})
        return True

    result = run_clients(port, clients, work)
    result.name = "baseline: insert one row"
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--slots", type=int, default=10)
    parser.add_argument("--capacity", type=int, default=20)
    args = parser.parse_args(argv)
    with postgres() as pg:
        portal_url = pg.create_database("portal")
        base_url = pg.create_database("baseline")
        app, slot_ids, tokens = prepare(portal_url, args.clients, args.slots, args.capacity)
        with serve("wsgi", portal_url) as port:
            result = rush(port, slot_ids, tokens)
        with serve("bench.baseline", base_url) as port:
            base = baseline(port, args.clients, result.requests)
        over, drift = overbookings(app)
    sold = result.statuses.get(201, 0)
    print(f"\nbooking rush · {args.clients} clients · {len(slot_ids)} slots x {args.capacity} places"
          f" · {machine()}")
    print(base.line())
    print(result.line(base))
    print(f"places sold {sold} of {len(slot_ids) * args.capacity} · sold_out answers "
          f"{result.statuses.get(409, 0)} · overbookings {over} · ledger drift {len(drift)}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "booking_rush.json").write_text(json.dumps({
        "clients": args.clients, "slots": len(slot_ids), "capacity": args.capacity,
        "portal": {"rps": result.rps, "p50_ms": result.pct(50), "p95_ms": result.pct(95),
                   "p99_ms": result.pct(99), "errors": result.errors, "statuses": result.statuses},
        "baseline": {"rps": base.rps, "p50_ms": base.pct(50), "p95_ms": base.pct(95),
                     "p99_ms": base.pct(99), "errors": base.errors},
        "ratio_rps": result.rps / base.rps if base.rps else None,
        "overbookings": over, "ledger_drift": len(drift), "sold": sold}, indent=2))
    ok = over == 0 and not drift and sold == len(slot_ids) * args.capacity and result.errors == 0
    print("OK" if ok else "FAILED: overbooking, drift, unsold places or errors")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
