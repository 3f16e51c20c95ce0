"""Page weight: bytes of HTML, CSS and JS of each main page, as sent and gzip-compressed (what a
front proxy sends), in standard and elderly mode. Read over HTTP from the portal under gunicorn
on a copy of the demo data (part of `python -m bench`).

    python -m bench.page_weight
"""

from __future__ import annotations

import gzip
import http.client
import re

from bench.harness import login_cookie
from bench.session import TEMPLATE, Session, run

PAGES = [  # (label, path, who signs in)
    ("home", "/", None),
    ("venue search", "/venues", None),
    ("venue, 14 days", "/venues/{venue}", None),
    ("parking list + map", "/parking", None),
    ("car park", "/parking/{park}", None),
    ("fee quote", "/parking/quote", None),
    ("sign in", "/login", None),
    ("my bookings", "/bookings", "13900000001"),
    ("my parking", "/parking/mine", "13900000001"),
    ("report a repair", "/repairs/report", "13900000001"),
    ("manager queue", "/repairs/queue", "manager-xinzhuang"),
    ("district dashboard", "/repairs/supervise", "district"),
    ("operator dashboard", "/parking/operate/{park}", "tingche-xinzhuang-pr"),
]
PARK = "莘庄地铁站P+R停车场"  # the demo car park its operator account runs


def _get(port: int, path: str, cookie: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path, headers={"Cookie": cookie})
    response = conn.getresponse()
    return response.status, response.read()


def weigh(port: int, ids: dict) -> list[dict]:
    rows = []
    sessions = {who: login_cookie(port, who) for _, _, who in PAGES if who}
    for mode in ("standard", "elderly"):
        for label, path, who in PAGES:
            cookie = "; ".join(filter(None, [f"display_mode={mode}", sessions.get(who)]))
            status, html = _get(port, path.format(**ids), cookie)
            assets = re.findall(rb'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', html)
            assets += re.findall(rb'<script[^>]+src="([^"]+)"', html)
            sizes = {"css": [0, 0], "js": [0, 0]}
            for asset in assets:
                url = asset.decode().split("?")[0]
                _status, body = _get(port, url, cookie)
                kind = "css" if url.endswith(".css") else "js"
                sizes[kind][0] += len(body)
                sizes[kind][1] += len(gzip.compress(body, 6))
            rows.append(
                {
                    "mode": mode,
                    "page": label,
                    "status": status,
                    "html": len(html),
                    "html_gz": len(gzip.compress(html, 6)),
                    "css": sizes["css"][0],
                    "css_gz": sizes["css"][1],
                    "js": sizes["js"][0],
                    "js_gz": sizes["js"][1],
                }
            )
    return rows


class Group:
    key = "page_weight"
    baselines = ()

    def __init__(self, session: Session):
        self.s = session
        self.rows: list[dict] = []

    def setup_template(self) -> None:
        """A copy of the demo data before the other scenarios change their car parks and slots
        (run first)."""
        self.s.cluster.create(self.key, TEMPLATE)

    def prepare(self) -> None:
        pass

    def run(self, round_: int) -> None:
        pass

    def check(self) -> bool:
        with self.s.portal(database=self.key, fresh=False) as server:
            with self.s.cluster.connect(self.key) as conn:
                ids = {
                    "venue": conn.execute("SELECT min(id) FROM venue").fetchone()[0],
                    "park": conn.execute(
                        "SELECT id FROM car_park WHERE name_zh = %s", (PARK,)
                    ).fetchone()[0],
                }
            self.rows = weigh(server.port, ids)
        print(f"{'mode':<9} {'page':<22} {'HTML':>16} {'CSS':>16} {'JS':>14}")
        for r in self.rows:
            print(
                f"{r['mode']:<9} {r['page']:<22} {r['html']:>7} ({r['html_gz']:>6})"
                f" {r['css']:>7} ({r['css_gz']:>6}) {r['js']:>6} ({r['js_gz']:>5})"
            )
        bad = [(r["mode"], r["page"], r["status"]) for r in self.rows if r["status"] != 200]
        if bad:
            print(f"page weight: pages not answered 200: {bad}")
        return not bad

    def results(self) -> dict:
        return {"pages": self.rows}


if __name__ == "__main__":
    raise SystemExit(run([Group]))
