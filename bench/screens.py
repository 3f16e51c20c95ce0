"""Screenshots of the main pages for reviewers (`make screens`): the portal with its demo data on a
throwaway SQLite database, one headless Debian Chromium, every page on a 390x844 phone and a
1280x900 desktop, in standard and elderly mode, in Chinese and English, written to screens/
(git-ignored) with an index.html that lists them.

    python -m bench.screens [--out screens] [--only home,parking] [--quick]

--quick takes one combination (zh, standard, phone) only. Chinese needs a CJK font in the
system (Debian's fonts-noto-cjk: `make screens` installs it when missing and run as root);
without one the Chinese screenshots show empty boxes.
"""

from __future__ import annotations

import argparse
import html
import logging
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
DEMO_PASSWORD = "minhang2026"  # the demo accounts' password (README, app/demo.py)
RESIDENT, MANAGER = "13900000001", "manager-xinzhuang"  # demo accounts (app/demo.py)
VENUE_ADMIN = "venue-admin"
DEVICES = {"phone": (390, 844), "desktop": (1280, 900)}
MODES = ("standard", "elderly")
LOCALES = ("zh_CN", "en")
# Full-page screenshots stop here: a long list (50 venues) would make a picture nobody reads.
MAX_HEIGHT = 4000


@dataclass(frozen=True)
class Shot:
    slug: str
    title: str
    path: str
    user: str | None = None


def demo_ids(session) -> dict:
    """The demo rows the pages are about, and a booking and a repair report of the demo resident
    made for the occasion (so "my bookings" and "a ticket" show something)."""
    from sqlalchemy import select

    from app import clock
    from app.accounts.services import find_by_login
    from app.db import unit_of_work
    from bookings.models import CapacityBucket
    from parking.models import CarPark
    from repairs.models import Category
    from repairs.services.tickets import report
    from venues import current_settings
    from venues.models import BookingMode, Space, Venue
    from venues.services.booking import book_general

    resident = find_by_login(session, RESIDENT)
    tomorrow = clock.now() + timedelta(days=1)
    rows = session.execute(
        select(Venue, Space, CapacityBucket)
        .join(Space, Space.venue_id == Venue.id)
        .join(CapacityBucket, CapacityBucket.resource_id == Space.resource_id)
        .where(
            Space.mode == BookingMode.GENERAL,
            Space.requires_approval.is_(False),
            CapacityBucket.starts_at > tomorrow,
            CapacityBucket.taken + 2 <= CapacityBucket.capacity,
        )
        .order_by(Venue.id, CapacityBucket.starts_at)
        .limit(2)
    ).all()
    (venue, space, bucket), (_v, _s, booked) = rows
    # "My bookings" shows the next slot; the booking steps are photographed on a slot the
    # resident has not booked (else the check page says "you have already booked this time").
    booking = book_general(session, resident, resident, booked.id, 2, settings=current_settings())
    with unit_of_work(session):
        ticket = report(
            session,
            resident,
            resident,
            category=Category.LIFT,
            description="3号楼电梯运行时有很大的金属摩擦声，请尽快来看看。",
        )
    park = session.scalar(
        select(CarPark).where(CarPark.reservable_spaces > 0).order_by(CarPark.id).limit(1)
    )
    return {
        "venue": venue.id,
        "space": space.id,
        "day": bucket.starts_at.astimezone(clock.LOCAL_TZ).date().isoformat(),
        "bucket": bucket.id,
        "booking": booking.reference,
        "ticket": ticket.reference,
        "park": park.id,
    }


def shots(ids: dict) -> list[Shot]:
    """The pages, in the order a reviewer walks them."""
    return [
        Shot("home", "Home", "/"),
        Shot("venues", "Venue search", "/venues"),
        Shot("venue", "A venue (14 days)", "/venues/{venue}"),
        Shot("venue-day", "Booking 1: a day's times", "/venues/{venue}/spaces/{space}/{day}"),
        Shot("venue-party", "Booking 2: party size", "/venues/slots/{bucket}/book", RESIDENT),
        Shot(
            "venue-check",
            "Booking 3: check and confirm",
            "/venues/slots/{bucket}/check?party_size=2",
            RESIDENT,
        ),
        Shot("bookings", "My bookings", "/bookings", RESIDENT),
        Shot("booking", "A booking", "/bookings/{booking}", RESIDENT),
        Shot("parking", "Car parks (list and map)", "/parking"),
        Shot("park", "A car park", "/parking/{park}"),
        Shot("reserve", "Reserve a space", "/parking/{park}/reserve", RESIDENT),
        Shot("repair-report", "Report a repair", "/repairs/report", RESIDENT),
        Shot("ticket", "A repair report (resident)", "/repairs/tickets/{ticket}", RESIDENT),
        Shot("queue", "Manager's queue", "/repairs/queue", MANAGER),
        Shot("ticket-manager", "A repair report (manager)", "/repairs/tickets/{ticket}", MANAGER),
        Shot("inbox", "Inbox", "/inbox", RESIDENT),
        Shot("display", "Display settings", "/display"),
        Shot(
            "venue-photos", "A venue's photos (admin)", "/staff/venues/{venue}/photos", VENUE_ADMIN
        ),
    ]


def combinations(quick: bool) -> list[tuple[str, str, str]]:
    """(locale, mode, device) in the order the index lists them."""
    if quick:
        return [("zh_CN", "standard", "phone")]
    return [(loc, mode, dev) for loc in LOCALES for mode in MODES for dev in DEVICES]


def file_name(shot: Shot, locale: str, mode: str, device: str) -> str:
    return f"{shot.slug}-{locale}-{mode}-{device}.png"


def write_index(out: Path, pages: list[Shot], combos: list[tuple[str, str, str]]) -> Path:
    """index.html: one row per page, one thumbnail per combination, each linking to its picture."""
    head = "".join(f"<th>{html.escape(' / '.join(c))}</th>" for c in combos)
    rows = []
    for shot in pages:
        cells = []
        for combo in combos:
            name = file_name(shot, *combo)
            if (out / name).exists():
                cells.append(
                    f'<td><a href="{name}"><img src="{name}" alt="{html.escape(shot.title)}, '
                    f'{html.escape(" / ".join(combo))}" loading="lazy"></a></td>'
                )
            else:
                cells.append("<td>—</td>")
        rows.append(
            f"<tr><th scope=row>{html.escape(shot.title)}<br><code>{html.escape(shot.path)}</code>"
            f"{'<br>as ' + html.escape(shot.user) if shot.user else ''}</th>{''.join(cells)}</tr>"
        )
    index = out / "index.html"
    index.write_text(
        '<!doctype html><html lang="en"><meta charset="utf-8"><title>citizen-portal screens</title>'
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid"
        " #ccc;padding:4px;vertical-align:top;font-size:.8rem}img{width:140px;height:auto;"
        "max-height:420px;object-fit:cover;object-position:top}</style>"
        "<h1>citizen-portal: main pages</h1><p>Each picture links to the full screenshot (cut at "
        f"{MAX_HEIGHT} px). Made by <code>make screens</code> from the demo data.</p>"
        f"<table><tr><th>Page</th>{head}</tr>{''.join(rows)}</table></html>",
        encoding="utf-8",
    )
    return index


def make_app(workdir: Path):
    """The portal on a migrated, seeded SQLite file in `workdir`, as `make run` has it, but
    without rate limits and the staff's SMS second factor (nobody reads the codes here)."""
    from flask_migrate import upgrade

    from app import create_app
    from app.demo import seed_all
    from app.extensions import db
    from app.registry import registry

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'portal.db'}",
            "UPLOAD_DIR": str(workdir / "uploads"),
            "SECRET_KEY": "screens",
            "RATELIMIT_ENABLED": False,
            "SIGNIN_SECOND_FACTOR_ROLES": "none",
            "READALOUD_CACHE_DIR": str(workdir / "readaloud"),
        }
    )
    with app.app_context():
        upgrade()
        seed_all(db.session, registry(app).seeders)
        ids = demo_ids(db.session)
        db.session.commit()
    return app, ids


def set_accounts(app, mode: str, locale: str) -> None:
    """The demo accounts in this combination's mode and language: a person's own settings win
    over the browser's cookies once they sign in, and an earlier combination changed them."""
    from sqlalchemy import update

    from app.accounts.models import DisplayMode, User
    from app.extensions import db

    with app.app_context():
        db.session.execute(
            update(User)
            .where(User.phone.in_([RESIDENT]) | User.username.in_([MANAGER, VENUE_ADMIN]))
            .values(display_mode=DisplayMode(mode), locale=locale)
        )
        db.session.commit()


def sign_in(page, base: str, login: str) -> None:
    page.goto(base + "/login?with=password")
    page.fill("#login", login)
    page.fill("#password", DEMO_PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)


def take(browser, base: str, pages: list[Shot], combo, out: Path) -> list[str]:
    """Every page in one (locale, mode, device); a browser context per person. Returns problems."""
    locale, mode, device = combo
    width, height = DEVICES[device]
    problems, contexts = [], {}
    try:
        for shot in pages:
            if shot.user not in contexts:
                context = browser.new_context(
                    viewport={"width": width, "height": height},
                    device_scale_factor=1,
                    locale="zh-CN" if locale == "zh_CN" else "en-GB",  # the browser's own words
                )
                context.add_cookies(
                    [
                        {"name": "display_mode", "value": mode, "url": base},
                        {"name": "locale", "value": locale, "url": base},
                    ]
                )
                page = context.new_page()
                if shot.user:
                    sign_in(page, base, shot.user)
                contexts[shot.user] = (context, page)
            page = contexts[shot.user][1]
            response = page.goto(base + shot.path)
            if response is None or response.status != 200:
                problems.append(f"{shot.path} {combo}: {response and response.status}")
            full = page.evaluate("document.documentElement.scrollHeight")
            page.screenshot(
                path=str(out / file_name(shot, *combo)),
                full_page=True,  # a clip beyond the viewport needs it too
                clip=None
                if full <= MAX_HEIGHT
                else {"x": 0, "y": 0, "width": width, "height": MAX_HEIGHT},
            )
    finally:
        for context, _page in contexts.values():
            context.close()
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "screens"))
    parser.add_argument("--only", default="", help="comma-separated page slugs")
    parser.add_argument("--quick", action="store_true", help="zh, standard, phone only")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="screens-"))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        app, ids = make_app(workdir)
        pages = [
            Shot(s.slug, s.title, s.path.format(**ids), s.user)
            for s in shots(ids)
            if not args.only or s.slug in args.only.split(",")
        ]
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        combos = combinations(args.quick)
        problems = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for combo in combos:
                print("screens:", " / ".join(combo), flush=True)
                set_accounts(app, combo[1], combo[0])
                problems += take(browser, base, pages, combo, out)
            browser.close()
        server.shutdown()
        index = write_index(out, pages, combos)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"screens: {len(pages) * len(combos)} screenshots, {index}")
    for problem in problems:
        print("screens: not 200:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
