"""Page weight: bytes of HTML, CSS and JS of each main page, as sent and gzip-compressed (what a
front proxy sends), in standard and elderly mode. Measured in-process on the demo data.

    python -m bench.page_weight
"""

from __future__ import annotations

import gzip
import json
import re
import tempfile
from pathlib import Path

from bench.harness import ROOT, machine

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


def main() -> int:
    from sqlalchemy import func, select

    from app import create_app
    from app.extensions import db
    from parking.models import CarPark
    from venues.models import Venue

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'weight.db'}"
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False}
        )
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            from app.demo import seed_frame
            from app.registry import registry

            seed_frame(db.session)
            for seeder in registry(app).seeders:
                seeder(db.session)
            db.session.commit()
            ids = {
                "venue": db.session.scalar(select(func.min(Venue.id))),
                "park": db.session.scalar(
                    select(CarPark.id).where(CarPark.name_zh == "莘庄地铁站P+R停车场")
                ),
            }
        rows = []
        for mode in ("standard", "elderly"):
            for label, path, who in PAGES:
                client = app.test_client()
                client.set_cookie("display_mode", mode)
                if who:
                    client.post("/login", data={"login": who, "password": "minhang2026"})
                response = client.get(path.format(**ids))
                html = response.get_data()
                assets = re.findall(
                    rb'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', html
                ) + re.findall(rb'<script[^>]+src="([^"]+)"', html)
                css = js = css_gz = js_gz = 0
                for asset in assets:
                    body = client.get(asset.decode().split("?")[0]).get_data()
                    if asset.split(b"?")[0].endswith(b".css"):
                        css, css_gz = css + len(body), css_gz + len(gzip.compress(body, 6))
                    else:
                        js, js_gz = js + len(body), js_gz + len(gzip.compress(body, 6))
                rows.append(
                    {
                        "mode": mode,
                        "page": label,
                        "status": response.status_code,
                        "html": len(html),
                        "html_gz": len(gzip.compress(html, 6)),
                        "css": css,
                        "css_gz": css_gz,
                        "js": js,
                        "js_gz": js_gz,
                    }
                )
    print(f"\npage weight (bytes; gzip level 6 in brackets) · {machine()}")
    print(f"{'mode':<9} {'page':<22} {'HTML':>16} {'CSS':>16} {'JS':>14} {'total':>16}")
    for r in rows:
        total, total_gz = r["html"] + r["css"] + r["js"], r["html_gz"] + r["css_gz"] + r["js_gz"]
        print(
            f"{r['mode']:<9} {r['page']:<22} {r['html']:>7} ({r['html_gz']:>6}) {r['css']:>7} ({r['css_gz']:>6})"
            f" {r['js']:>6} ({r['js_gz']:>5}) {total:>7} ({total_gz:>6})"
        )
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "page_weight.json").write_text(json.dumps(rows, indent=2))
    bad = [r for r in rows if r["status"] != 200]
    print("OK" if not bad else f"FAILED: {[(r['mode'], r['page'], r['status']) for r in bad]}")
    return 0 if not bad else 1


if __name__ == "__main__":
    raise SystemExit(main())
