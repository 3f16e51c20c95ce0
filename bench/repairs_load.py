"""Scenario: 物业百事通 at district scale. One million tickets on PostgreSQL; a manager works the
queue and supervisors watch their dashboards: the manager queue, the town and district
dashboards and the company rating, each compared with the baseline's page; then one sweep
(every service's periodic work, as `flask sweep` runs it) over all of it, timed.

    python -m bench.repairs_load     (BENCH_TICKETS=100000 BENCH_SECONDS=5 BENCH_ROUNDS=1: smoke)
"""

from __future__ import annotations

import os
import time

from bench.harness import login_cookie
from bench.session import TEMPLATE, Session, run

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
         ELSE now() - (g % 525600) * interval '1 minute' - interval '1 hour'
              + ((g % 47) + 1) * interval '1 minute' END,
    CASE WHEN g % 200 < 2 THEN NULL
         ELSE now() - (g % 525600) * interval '1 minute' + (g % 72) * interval '1 hour' END,
    NULL, (g % 23 = 0)::int, CASE WHEN g % 3 = 0 THEN 1 + g % 5 END,
    -- History: the alerts for old unanswered tickets went out when they were due.
    CASE WHEN g % 200 = 0
         THEN now() - (g % 525600) * interval '1 minute' - interval '40 minutes' END,
    CASE WHEN g % 200 = 0
         THEN now() - (g % 525600) * interval '1 minute' - interval '30 minutes' END,
    CASE WHEN g % 200 = 0 THEN now() - (g % 525600) * interval '1 minute' END
FROM generate_series(1, :n) AS g
JOIN LATERAL (SELECT estate_id, company_id FROM estate_management
              ORDER BY estate_id
              OFFSET (g % (SELECT count(*) FROM estate_management)) LIMIT 1) m ON true
JOIN estate e ON e.id = m.estate_id
"""

PAGES = (  # (scenario, who signs in, path)
    ("repairs_queue", "manager-xinzhuang", "/repairs/queue"),
    ("repairs_town", "town-xinzhuang", "/repairs/supervise"),
    ("repairs_district", "district", "/repairs/supervise"),
    ("repairs_rating", "district", "/repairs/rating"),
)


def sweep_seconds(url: str) -> dict:
    """Run every registered sweeper once (what `flask sweep` does), each timed; in-process so
    that the figure is the sweep's, not the app's start-up."""
    from app import create_app
    from app.extensions import db
    from app.registry import registry

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    times = {}
    with app.app_context():
        for sweeper in registry(app).sweepers:
            started = time.perf_counter()
            sweeper(db.session)
            name = getattr(sweeper, "__qualname__", None) or repr(sweeper)
            times[f"{getattr(sweeper, '__module__', '')}.{name}"] = time.perf_counter() - started
        db.engine.dispose()
    return times


class Group:
    key = "repairs"
    baselines = ("page",)

    def __init__(self, session: Session):
        self.s = session
        self.tickets = int(os.environ.get("BENCH_TICKETS") or 1_000_000)
        self.runs: dict[str, list[dict]] = {key: [] for key, _, _ in PAGES}
        self.sweep: dict = {}

    def setup_template(self) -> None:
        pass

    def prepare(self) -> None:
        """A database of its own: the template and the tickets, analysed."""
        started = time.perf_counter()
        self.s.cluster.create("repairs", TEMPLATE)
        with self.s.cluster.connect("repairs") as conn:
            # no parameters: psycopg would read the SQL's % operators as placeholders
            conn.execute(BULK_SQL.replace(":n", str(int(self.tickets))))
            conn.execute("ANALYZE")
        print(f"generated {self.tickets:,} tickets in {time.perf_counter() - started:.0f} s")

    def run(self, round_: int) -> None:
        """The four pages; reads only, so the same database serves every round."""
        with self.s.portal(database="repairs", fresh=False) as server:
            cookies = {who: login_cookie(server.port, who) for _, who, _ in PAGES}
            for key, who, path in PAGES:
                plan = {"kind": "get", "paths": [path], "headers": {"Cookie": cookies[who]}}
                self.runs[key].append(self.s.measure(server, plan, f"portal: {key}").as_json())

    def check(self) -> bool:
        self.sweep = sweep_seconds(self.s.cluster.url("repairs"))
        total = sum(self.sweep.values())
        print(f"sweep over {self.tickets:,} tickets: {total:.2f} s {self.sweep}", flush=True)
        return True

    def results(self) -> dict:
        return {
            "tickets": self.tickets,
            "scenarios": {key: {"runs": runs} for key, runs in self.runs.items()},
            "sweep_seconds": self.sweep,
        }


if __name__ == "__main__":
    raise SystemExit(run([Group]))
