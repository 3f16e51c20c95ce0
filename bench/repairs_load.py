"""Scenario: 物业百事通 at district scale. One million tickets on PostgreSQL; managers work their
queues and supervisors watch their dashboards while the sweep runs over all of it.

Prints p50/p95 latency and requests/s for the manager queue, the town and district dashboards
and the company rating, each against the baseline's page render in the same run, and the
seconds one sweep takes.

    python -m bench.repairs_load --tickets 1000000 --seconds 20
"""

from __future__ import annotations

import argparse
import json
import time

from bench.harness import ROOT, Result, locust, login_cookie, machine, postgres, serve

BULK_SQL = """
INSERT INTO repair_ticket (reference, estate_id, company_id, town_id, reporter_id, category,
    description, public_area, location, preferred_time, state, submitted_at, respond_by,
    responded_at, resolved_at, closed_at, reopen_count, rating, warned_at, escalated_at,
    escalated_district_at)
SELECT 'BK' || lpad(g::text, 8, '0'), m.estate_id, m.company_id, e.town_id, NULL,
    (ARRAY['water','electricity','lift','doors','public_area','greening','other'])[1 + g % 7],
    '批量生成的报修', g % 5 = 0, (g % 30) || '号楼', '',
    CASE WHEN g % 200 = 0 THEN 'submitted' WHEN g % 200 = 1 THEN 'acknowledged'
         WHEN g % 50 = 2 THEN 'resolved' ELSE 'closed' END,
    now() - (g % 525600) * interval '1 minute' - interval '1 hour',
    now() - (g % 525600) * interval '1 minute' - interval '30 minutes',
    CASE WHEN g % 200 = 0 THEN NULL
         ELSE now() - (g % 525600) * interval '1 minute' - interval '1 hour' + ((g % 47) + 1) * interval '1 minute' END,
    CASE WHEN g % 200 < 2 THEN NULL
         ELSE now() - (g % 525600) * interval '1 minute' + (g % 72) * interval '1 hour' END,
    NULL, (g % 23 = 0)::int, CASE WHEN g % 3 = 0 THEN 1 + g % 5 END,
    -- History: the alerts for old unanswered tickets went out when they were due.
    CASE WHEN g % 200 = 0 THEN now() - (g % 525600) * interval '1 minute' - interval '40 minutes' END,
    CASE WHEN g % 200 = 0 THEN now() - (g % 525600) * interval '1 minute' - interval '30 minutes' END,
    CASE WHEN g % 200 = 0 THEN now() - (g % 525600) * interval '1 minute' END
FROM generate_series(1, :n) AS g
JOIN LATERAL (SELECT estate_id, company_id FROM estate_management
              ORDER BY estate_id OFFSET (g % (SELECT count(*) FROM estate_management)) LIMIT 1) m ON true
JOIN estate e ON e.id = m.estate_id
"""


def prepare(url: str, n: int):
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app import create_app
    from app.demo import seed_frame
    from app.extensions import db
    from repairs.demo import seed_repairs

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        upgrade()
        seed_frame(db.session)
        seed_repairs(db.session)
        started = time.perf_counter()
        db.session.execute(text(BULK_SQL), {"n": n})
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        print(f"generated {n} tickets in {time.perf_counter() - started:.1f} s")
        db.engine.dispose()
    return app


def sweep_seconds(app) -> tuple[float, dict]:
    from app.extensions import db
    from repairs.services.sweep import sweep

    with app.app_context():
        started = time.perf_counter()
        counts = sweep(db.session)
        elapsed = time.perf_counter() - started
        db.engine.dispose()
    return elapsed, counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args(argv)
    results: list[tuple[Result, Result]] = []
    with postgres() as pg:
        url = pg.create_database("portal")
        base_url = pg.create_database("baseline")
        app = prepare(url, args.tickets)
        with serve("bench.baseline", base_url) as port:
            base = locust(
                port,
                args.clients,
                {"kind": "get", "paths": ["/page"]},
                seconds=args.seconds,
                name="baseline: render a page",
            )
            print(base.line(), flush=True)
        with serve("wsgi", url) as port:
            cookies = {
                who: login_cookie(port, who, "minhang2026")
                for who in ("manager-xinzhuang", "town-xinzhuang", "district")
            }
            print("portal pages ...", flush=True)
            for name, who, path in (
                ("manager queue", "manager-xinzhuang", "/repairs/queue"),
                ("town dashboard", "town-xinzhuang", "/repairs/supervise"),
                ("district dashboard", "district", "/repairs/supervise"),
                ("district company rating", "district", "/repairs/rating"),
            ):
                result = locust(
                    port,
                    args.clients,
                    {"kind": "get", "paths": [path], "headers": {"Cookie": cookies[who]}},
                    seconds=args.seconds,
                    name=f"portal: {name}",
                )
                results.append(result)
                print(result.line(base), flush=True)
        print("sweep ...", flush=True)
        seconds, counts = sweep_seconds(app)
    print(f"\nrepairs at scale · {args.tickets} tickets · {args.clients} clients · {machine()}")
    print(base.line())
    for result in results:
        print(result.line(base))
    print(f"sweep over {args.tickets} tickets: {seconds:.2f} s {counts}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "repairs_load.json").write_text(
        json.dumps(
            {
                "tickets": args.tickets,
                "baseline": {
                    "rps": base.rps,
                    "p50_ms": base.pct(50),
                    "p95_ms": base.pct(95),
                    "p99_ms": base.pct(99),
                },
                "pages": {
                    r.name: {
                        "rps": r.rps,
                        "p50_ms": r.pct(50),
                        "p95_ms": r.pct(95),
                        "p99_ms": r.pct(99),
                        "errors": r.errors,
                        "statuses": r.statuses,
                    }
                    for r in results
                },
                "sweep_seconds": seconds,
            },
            indent=2,
        )
    )
    bad = [r.name for r in results if r.errors or set(r.statuses) - {200}]
    print("OK" if not bad else f"FAILED: errors in {bad}")
    return 0 if not bad else 1


if __name__ == "__main__":
    raise SystemExit(main())
