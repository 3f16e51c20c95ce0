"""Bad input and attack: static analysis, CSRF on every form, cookies and headers, rate limits,
hostile uploads, and staff seeing only masked phone numbers and plates.

Each test says what it proves in its docstring. They use the ordinary fixtures (an app per
database backend with CSRF on, as `tests/conftest.py` builds it); where a test needs settings of
its own (production cookies, small rate limits) it builds its own app with `create_app`.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import struct
import subprocess
import sys
import warnings
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageFile, PngImagePlugin
from sqlalchemy import select

from app import clock, create_app
from app.accounts import services as accounts
from app.accounts.models import Role
from app.config import TestingConfig
from app.errors import DomainError
from app.extensions import csrf, db
from app.uploads import MAX_BYTES, MAX_PIXELS, store_image
from tests.conftest import (
    PASSWORD,
    IsolatedClient,
    csrf_token,
    give_home,
    login,
    parking_settings,
    slot_at,
    submit,
)

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "venues", "bookings", "parking", "repairs", "accessibility")
# The portal's own explanation of a refused form (app/error_pages.py), on the form shown again
# or on errors/csrf.html: in Chinese, the default language.
CSRF_REFUSED = "为了您的安全，这张表没有提交"
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# Routes that are CSRF-exempt by design: machine clients that authenticate every request with
# a credential a browser never sends by itself (a Bearer token, an Open311 api_key, a payment
# provider's HMAC signature), so a forged cross-site request carries no authority.
# /hooks/: the SMS provider's webhooks, signed with SMS_WEBHOOK_SECRET (notifications/webhooks.py).
EXEMPT_PREFIXES = ("/api/v1/", "/open311/v2/", "/hooks/")


def english(client):
    client.set_cookie("locale", "en")
    return client


def snapshot() -> dict[str, list[str]]:
    """Every row of every table, as text: equal snapshots mean nothing was written."""
    db.session.commit()
    return {
        table.name: sorted(repr(tuple(row)) for row in db.session.execute(table.select()))
        for table in db.metadata.sorted_tables
    }


# --- 1. bandit ------------------------------------------------------------------------------


def test_bandit_finds_nothing_unjustified():
    """bandit, configured by the [bandit] section of setup.cfg (`bandit --ini setup.cfg`), scans
    the application packages (not the tests) and reports no finding of any severity (low and
    up): each one was fixed or carries `# nosec BXXX # reason` on its line."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bandit",
            "--ini",
            "setup.cfg",
            "--severity-level",
            "low",
            "--confidence-level",
            "low",
            "-f",
            "json",
            "-q",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    report = json.loads(result.stdout)
    findings = [
        f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}"
        for r in report["results"]
    ]
    assert findings == [] and result.returncode == 0, "\n".join(findings) or result.stderr
    assert not report["errors"], report["errors"]
    scanned = {Path(name).as_posix() for name in report["metrics"] if name != "_totals"}
    for package in PACKAGES:
        assert any(name.startswith(f"{package}/") for name in scanned), f"{package} not scanned"
    assert not any(name.startswith("tests/") for name in scanned)


def test_every_nosec_names_its_check_and_says_why():
    """No blanket `# nosec`: every suppression names the bandit check it silences and gives a
    reason after a second `#` (where bandit does not read it as a check name)."""
    justified = re.compile(r"#\s*nosec\s+B\d{3}(\s*,\s*B\d{3})*\s+#\s*\S.{8,}")
    suppressions = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if re.search(r"#\s*nosec\b", line):
                    suppressions.append((f"{path.relative_to(ROOT)}:{number}", line))
    assert suppressions, "expected the justified suppressions in the code"
    unjustified = [where for where, line in suppressions if not justified.search(line)]
    assert unjustified == []


# --- 2. CSRF on every state-changing form ----------------------------------------------------


def test_csrf_is_on_in_the_test_app(app):
    """The apps the tests use check CSRF like production: the config class and the `app`
    fixture both have it on, Flask-WTF's before_request check is installed, and no page view
    (only whole API blueprints) is exempt."""
    assert TestingConfig.WTF_CSRF_ENABLED is True
    assert app.config["WTF_CSRF_ENABLED"] is True and app.config["WTF_CSRF_CHECK_DEFAULT"] is True
    assert app.extensions["csrf"] is csrf
    assert {"POST", "PUT", "PATCH", "DELETE"} <= app.config["WTF_CSRF_METHODS"]
    assert csrf._exempt_views == set()


def _state_changing_rules(app):
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.methods & STATE_CHANGING and rule.endpoint != "static"
    ]


def _is_exempt(app, rule) -> bool:
    blueprint = rule.endpoint.rpartition(".")[0]
    view = app.view_functions[rule.endpoint]
    return (
        app.blueprints.get(blueprint) in csrf._exempt_blueprints
        or f"{view.__module__}.{view.__name__}" in csrf._exempt_views
    )


def test_only_token_authenticated_machine_routes_skip_csrf(app):
    """The CSRF exemptions are exactly the JSON API under /api/v1 and Open311 (machine clients
    with their own credentials); every other state-changing route is protected."""
    rules = _state_changing_rules(app)
    exempt = {rule.rule for rule in rules if _is_exempt(app, rule)}
    assert exempt == {rule.rule for rule in rules if rule.rule.startswith(EXEMPT_PREFIXES)}
    assert len(rules) - len(exempt) > 50  # the walk below covers a real number of forms


@pytest.fixture
def everything(session, make_venue, car_park, repair_company, places):
    """One account holding every role over the objects below (so that no permission check
    could be what stops a request), with a booking, a parking reservation and a repair report
    of its own, whose ids and references fill the URLs."""
    from parking.services import reservations, vehicles
    from repairs.models import Category
    from repairs.services import tickets
    from venues import current_settings
    from venues.services.booking import book_general

    venue, park, estate = make_venue(), car_park.default, places["estates"][0]
    user = accounts.create_user(
        session,
        username="everyone",
        password=PASSWORD,
        name="全能账户",
        phone="13912340000",
        roles=[
            (Role.RESIDENT, None),
            (Role.ADMINISTRATOR, None),
            (Role.VENUE_ADMIN, None),
            (Role.VENUE_STAFF, f"venue:{venue.id}"),
            (Role.CARPARK_OPERATOR, f"carpark:{park.id}"),
            (Role.PROPERTY_MANAGER, f"estate:{estate.id}"),
            (Role.TOWN_SUPERVISOR, f"town:{estate.town_id}"),
            (Role.DISTRICT_SUPERVISOR, None),
            (Role.COMMUNITY_HELPER, None),
        ],
    )
    give_home(session, user, estate.id, "1", "", "101")
    session.commit()
    booking = book_general(
        session,
        user,
        user,
        slot_at(session, venue.spaces[0], 1, 10).id,
        1,
        settings=current_settings(),
    )
    vehicles.register(session, user, "沪A12345")
    reservation = reservations.reserve(
        session,
        user,
        user,
        park,
        "沪A12345",
        clock.at(clock.today(), 11 * 60),
        settings=parking_settings(),
    )
    ticket = tickets.report(session, user, user, category=Category.WATER, description="水管漏水")
    return {
        "user": user,
        "venue": venue,
        "park": park,
        "booking": booking,
        "ticket": ticket,
        "reservation": reservation,
        "ints": {
            "venue_id": venue.id,
            "space_id": venue.spaces[0].id,
            "car_park_id": park.id,
            "bucket_id": slot_at(session, venue.spaces[0], 1, 11).id,
            "company_id": repair_company.id,
        },
    }


def _url_for_rule(app, rule, world) -> str:
    """A URL that routes to exactly `rule`, with existing ids and references where the argument
    names one, and dummy values elsewhere (CSRF is checked before the view looks them up)."""
    from werkzeug.routing.converters import AnyConverter, IntegerConverter

    # By path: venue bookings (also under /staff/venues), repair tickets, parking reservations.
    references = {
        "/bookings": world["booking"].reference,
        "/staff/venues": world["booking"].reference,
        "/repairs": world["ticket"].reference,
        "/parking": world["reservation"].booking.reference,
    }
    values = {}
    for name in rule.arguments:
        if rule.defaults and name in rule.defaults:
            continue
        converter = rule._converters[name]
        if isinstance(converter, IntegerConverter):
            values[name] = world["ints"].get(name, 1)
        elif isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0]
        elif name == "reference":
            values[name] = next(
                (ref for prefix, ref in references.items() if rule.rule.startswith(prefix)), "X"
            )
        elif name == "day":
            values[name] = (clock.today() + timedelta(days=1)).isoformat()
        elif name in ("fmt", "provider"):
            values[name] = {"fmt": "json", "provider": "demo_wallet"}[name]
        else:
            values[name] = "x"
    built = rule.build(values, append_unknown=False)
    assert built is not None, rule.rule
    return built[1]


def test_every_state_changing_form_refuses_a_request_without_csrf_token(client, everything, app):
    """For every non-API route that accepts POST/PUT/PATCH/DELETE, a signed-in user's request
    without a CSRF token is refused with exactly 400 and the portal's explanation, whatever the
    route and its arguments, and changes nothing in the database (not even signing out)."""
    login(client, everything["user"].username)
    adapter = app.url_map.bind("localhost")
    # A refused post shows its form's page again; the calendar page makes the person's feed
    # address on its first view, which a real post from that page has always had.
    client.get("/bookings/calendar")
    before = snapshot()
    checked = []
    for rule in _state_changing_rules(app):
        if _is_exempt(app, rule):
            continue
        url = _url_for_rule(app, rule, everything)
        for method in sorted(rule.methods & STATE_CHANGING):
            # The URL reaches this rule's view (not a 404), so the 400 is the CSRF refusal.
            matched, _args = adapter.match(url, method=method, return_rule=True)
            assert matched is rule, (url, matched.rule)
            response = client.open(url, method=method, data={"confirm": "y", "name": "x"})
            body = response.get_data(as_text=True)
            assert response.status_code == 400, (method, url, response.status_code, body[:300])
            assert CSRF_REFUSED in body, (method, url, body[:300])
            checked.append(f"{method} {rule.rule}")
    assert snapshot() == before
    assert len(checked) > 50
    assert "POST /logout" in checked and "POST /repairs/tickets/<reference>/act" in checked
    # Still signed in: the token-less POST /logout did nothing either.
    assert client.get("/profile").status_code == 200


def test_a_token_from_another_session_is_refused(client, everything, app):
    """An attacker's own valid token does not work in the victim's session (tokens are bound to
    the session), while the victim's own token is accepted: the refusal is about the token."""
    attacker = app.test_client()
    stolen = csrf_token(attacker, "/")
    login(client, everything["user"].username)
    response = client.post("/display/elderly", data={"csrf_token": stolen, "next": "/"})
    assert response.status_code == 400 and CSRF_REFUSED in response.get_data(as_text=True)
    assert 'class="mode-standard"' in client.get("/").get_data(as_text=True)
    assert submit(client, "/display/elderly", {"next": "/"}, form_url="/").status_code == 302
    assert 'class="mode-elderly"' in client.get("/").get_data(as_text=True)


def test_csrf_exempt_api_routes_ignore_the_browser_session(client, everything, app, places):
    """The exempt machine routes are safe without CSRF because a browser's session cookie gives
    them no authority: signed in, sending a body the route would accept but without the route's
    own credential (Bearer token, Open311 api_key, provider signature), each one is refused
    with 401 or 403 (400 for an unsigned payment callback) and nothing changes."""
    from app.notifications import services as inbox

    user = everything["user"]
    note = inbox.notify(db.session, user.id, kind="t", subject="x")
    db.session.commit()
    login(client, user.username)
    arrive = clock.at(clock.today(), 12 * 60).isoformat()
    bodies = {
        "/api/v1/bookings": {"json": {"slot_id": everything["ints"]["bucket_id"], "party_size": 1}},
        "/api/v1/parking/reservations": {
            "json": {"carpark_id": everything["park"].id, "plate": "沪A12345", "arrive_at": arrive}
        },
        "/api/v1/parking/events": {
            "json": {
                "carpark_id": everything["park"].id,
                "plate": "沪A12345",
                "direction": "entry",
                "occurred_at": clock.now().isoformat(),
            }
        },
        "/api/v1/parking/payments/callback/<provider>": {
            "json": {"charge": "X", "outcome": "paid"}
        },
        "/open311/v2/requests.<fmt>": {
            "data": {
                "service_code": "water",
                "description": "漏水",
                "address_string": places["estates"][0].address_zh,
            }
        },
    }
    expected = {
        "/api/v1/parking/payments/callback/<provider>": 400,
        "/open311/v2/requests.<fmt>": 403,
    }
    ints = {
        **everything["ints"],
        "booking_id": everything["booking"].id,
        "reservation_id": everything["reservation"].id,
        "notification_id": note.id,
    }
    before = snapshot()
    checked = []
    for rule in _state_changing_rules(app):
        if not _is_exempt(app, rule):
            continue
        url = _url_for_rule(app, rule, {**everything, "ints": ints})
        for method in sorted(rule.methods & STATE_CHANGING):
            response = client.open(url, method=method, **bodies.get(rule.rule, {}))
            assert response.status_code == expected.get(rule.rule, 401), (
                method,
                url,
                response.status_code,
                response.get_data(as_text=True)[:300],
            )
            checked.append(f"{method} {rule.rule}")
    assert snapshot() == before
    assert "DELETE /api/v1/bookings/<int:booking_id>" in checked and len(checked) >= 8


# --- 3. Cookies and security headers ---------------------------------------------------------


def test_production_session_cookie_is_secure_httponly_and_lax(monkeypatch, database_url):
    """Built for production (PORTAL_ENV=production with a real SECRET_KEY), signing in over
    HTTPS sets the session cookie with Secure, HttpOnly and SameSite=Lax."""
    monkeypatch.setenv("PORTAL_ENV", "production")
    production = create_app(
        {"SECRET_KEY": secrets.token_hex(32), "SQLALCHEMY_DATABASE_URI": database_url}
    )
    assert production.config["PREFERRED_URL_SCHEME"] == "https" and not production.testing
    assert (
        production.config["SESSION_COOKIE_SECURE"] and production.config["REMEMBER_COOKIE_SECURE"]
    )
    try:
        with production.app_context():
            accounts.register_resident(
                db.session, phone="13912345001", name="刘", password=PASSWORD
            )
            db.session.commit()
            browser = production.test_client()
            page = browser.get("/login", base_url="https://portal.example")
            token = re.search(
                r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)
            ).group(1)
            response = browser.post(
                "/login",
                base_url="https://portal.example",
                headers={"Referer": "https://portal.example/login"},
                data={"csrf_token": token, "login": "13912345001", "password": PASSWORD},
            )
            assert response.status_code == 302
            [cookie] = [
                c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")
            ]
            flags = {part.strip().lower() for part in cookie.split(";")[1:]}
            assert {"secure", "httponly", "samesite=lax"} <= flags, cookie
            assert browser.get("/profile", base_url="https://portal.example").status_code == 200
    finally:
        with production.app_context():
            db.session.remove()
            db.engine.dispose()


def test_session_cookie_flags_in_every_environment():
    """HttpOnly and SameSite are set in every configuration (Lax, not None); only production,
    which is served over HTTPS, adds Secure."""
    from app.config import CONFIGS

    for name, config in CONFIGS.items():
        assert config.SESSION_COOKIE_HTTPONLY is True and config.REMEMBER_COOKIE_HTTPONLY is True
        assert config.SESSION_COOKIE_SAMESITE in ("Lax", "Strict"), name
        assert getattr(config, "SESSION_COOKIE_SECURE", False) is (name == "production")


def _directives(csp: str) -> dict[str, str]:
    return {part.split()[0]: " ".join(part.split()[1:]) for part in csp.split(";") if part.strip()}


def test_security_headers_on_pages_errors_and_api(client, make_user):
    """Every kind of response (home, a form page, a signed-in page, the 404 page, a CSRF 400,
    an API JSON answer and an API error) carries a CSP without 'unsafe-inline' or 'unsafe-eval'
    that forbids framing, nosniff and a same-origin Referrer-Policy; HTML pages also have no
    inline script, style or event handler that the CSP would block."""
    user = make_user()
    signed_in = client.application.test_client()
    login(signed_in, user.phone)
    responses = {
        "home": client.get("/"),
        "form": client.get("/login"),
        "signed in": signed_in.get("/profile"),
        "404": client.get("/no-such-page"),
        "csrf 400": client.post("/display/elderly", data={}),
        "api": client.get("/api/v1/venues"),
        "api 404": client.get("/api/v1/no-such-thing"),
        "api 401": client.get("/api/v1/me"),
    }
    statuses = {name: r.status_code for name, r in responses.items()}
    assert statuses == {
        "home": 200,
        "form": 200,
        "signed in": 200,
        "404": 404,
        "csrf 400": 400,
        "api": 200,
        "api 404": 404,
        "api 401": 401,
    }
    for name, response in responses.items():
        csp = response.headers.get("Content-Security-Policy", "")
        directives = _directives(csp)
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, name
        assert directives.get("frame-ancestors") == "'none'", name
        assert (
            directives.get("default-src") == "'self'" and directives.get("object-src") == "'none'"
        ), name
        assert directives.get("script-src") == "'self'", name
        assert response.headers.get("X-Content-Type-Options") == "nosniff", name
        assert response.headers.get("Referrer-Policy") in (
            "same-origin",
            "no-referrer",
            "strict-origin-when-cross-origin",
        ), name
        assert response.headers.get("X-Frame-Options") == "DENY", name
        if response.mimetype == "text/html":
            html = response.get_data(as_text=True)
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), name
            assert not re.search(r"<style\b|\sstyle=\"|\son[a-z]+=\"", html), name
            assert response.headers.get("Cache-Control") == "no-store", name
    assert responses["api"].mimetype == "application/json"


# --- 4. Rate limits --------------------------------------------------------------------------


@pytest.fixture
def limited_app(database_url):
    """An app of its own with rate limiting explicitly on and small limits (the `app` fixture
    leaves RATELIMIT_ENABLED at its default, on; the browser tests turn it off)."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TESTING": True,
            "SECRET_KEY": "testing-secret",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "RATELIMIT_ENABLED": True,
            "LOGIN_ATTEMPTS_PER_ADDRESS": "3 per 15 minutes",
            "LOGIN_FAILURES_PER_ACCOUNT": "100 per 15 minutes",
            "PARKING_FEED_RATE": "2 per minute",
        }
    )
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_rate_limiting_is_on_in_the_test_apps(app, limited_app):
    from app.ratelimit import limiter_for

    assert app.config.get("RATELIMIT_ENABLED", True) is not False and limiter_for(app).enabled
    assert limiter_for(limited_app).enabled and limiter_for(limited_app) is not limiter_for(app)


def test_sign_in_attempts_per_address_answer_429_with_a_clear_message(limited_app):
    """After LOGIN_ATTEMPTS_PER_ADDRESS sign-in attempts from one address (here 3, each for a
    different account, so the per-account limit plays no part), the next is answered 429 on the
    sign-in page saying that sign-in is paused and until when, even with the right password;
    another address can still sign in."""
    for n in range(4):
        accounts.register_resident(
            db.session, phone=f"1391234500{n}", name=f"居民{n}", password=PASSWORD
        )
    db.session.commit()
    client = english(limited_app.test_client())
    for n in range(3):
        response = submit(
            client, "/login", {"login": f"1391234500{n}", "password": "wrong-password"}
        )
        assert response.status_code == 200
    response = submit(client, "/login", {"login": "13912345003", "password": PASSWORD})
    html = response.get_data(as_text=True)
    assert response.status_code == 429
    assert (
        "Too many failed attempts" in html and "sign-in is paused until" in html and "12345" in html
    )
    assert (
        response.headers.get("Retry-After")
        and response.headers["X-Content-Type-Options"] == "nosniff"
    )
    assert client.get("/profile").status_code == 302  # not signed in: to the sign-in page
    other = english(limited_app.test_client())
    other.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert (
        submit(other, "/login", {"login": "13912345003", "password": PASSWORD}).status_code == 302
    )


def test_api_rate_limit_answers_429_in_json_with_a_clear_message(limited_app):
    """The open-data feed, limited per client address by PARKING_FEED_RATE (here 2 per minute),
    answers the third request 429 with the API's error format, a message in the caller's
    language and Retry-After; another client address is not affected."""
    client = limited_app.test_client()
    assert [client.get("/api/v1/parking/feed").status_code for _ in range(2)] == [200, 200]
    english_answer = client.get("/api/v1/parking/feed", headers={"Accept-Language": "en"})
    chinese_answer = client.get("/api/v1/parking/feed")
    for response in (english_answer, chinese_answer):
        assert response.status_code == 429 and response.mimetype == "application/json"
        assert response.json["error"]["code"] == "too_many_requests"
        assert int(response.headers["Retry-After"]) > 0
    assert (
        english_answer.json["error"]["message"] == "Too many requests. Wait a little and try again."
    )
    assert chinese_answer.json["error"]["message"] == "请求太多。请稍等后再试。"
    other = limited_app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert other.get("/api/v1/parking/feed").status_code == 200


# --- 5. Uploads ------------------------------------------------------------------------------


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of width x height, all black: its image data inflates to
    height * (1 + width / 8) bytes (50 MB at 20000 x 20000), but zlib packs it in kilobytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    compressor = zlib.compressobj(9)
    rows = b"\0" * (1 + (width + 7) // 8) * 500
    data = b"".join(compressor.compress(rows) for _ in range(height // 500)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


@pytest.fixture
def no_decoding(monkeypatch):
    """Any attempt to decode pixels (or read the image data through verify) fails the test."""

    def refuse(self, *args, **kwargs):
        raise AssertionError("the upload was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    monkeypatch.setattr(PngImagePlugin.PngImageFile, "verify", refuse)


@pytest.mark.parametrize(
    "side",
    [20000, 10000, 7000],
    ids=["over Pillow's error limit", "over Pillow's warning limit", "over MAX_PIXELS"],
)
@pytest.mark.parametrize("bomb_warnings", ["error", "always"])
def test_decompression_bombs_are_refused_by_their_header(
    side, bomb_warnings, no_decoding, tmp_path
):
    """A PNG that declares side x side pixels in a few kilobytes is refused as having too many
    pixels from its header alone (nothing is decoded; the decoder is booby-trapped), whichever
    of Pillow's checks or ours catches it and whether Pillow's DecompressionBombWarning is a
    warning or an error: no Pillow exception escapes (a 500)."""
    bomb = png_bomb(side, side)
    assert len(bomb) < 200_000 and side * side > MAX_PIXELS
    with warnings.catch_warnings(record=True) as warned:  # recorded, not left in pytest's summary
        warnings.simplefilter(bomb_warnings, Image.DecompressionBombWarning)
        with pytest.raises(DomainError) as refused:
            store_image(bomb, "bombs")
    assert refused.value.code == "too_many_pixels" and refused.value.field == "photo"
    assert str(refused.value) == "The photo has too many pixels. Choose a smaller one."
    assert len(warned) == (1 if side == 10000 and bomb_warnings == "always" else 0)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", id="a GIF"),
        pytest.param(
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            id="SVG with script",
        ),
        pytest.param(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", id="a truncated JPEG"),
        pytest.param(b"", id="empty"),
    ],
)
def test_files_that_are_not_allowed_photos_are_refused_by_content(content):
    """Whatever the file is called, only real JPEG/PNG/WebP/HEIC content passes: another image
    format, an SVG with a script, a truncated JPEG or nothing is refused as "not a photo"."""
    with pytest.raises(DomainError) as refused:
        store_image(content, "x")
    assert refused.value.code == "bad_type"


def test_a_file_over_max_bytes_is_refused_before_it_is_opened(no_decoding):
    with pytest.raises(DomainError) as refused:
        store_image(b"\xff\xd8\xff" + b"\0" * MAX_BYTES, "x")
    assert refused.value.code == "too_large" and refused.value.params == {"mb": 10}


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (2400, 1200), "green")
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SecretPhoneMaker"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (31.0, 6.0, 36.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (121.0, 22.0, 48.0)
    buf = io.BytesIO()
    image.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def test_a_jpeg_with_gps_is_stored_without_exif(app, tmp_path):
    """A valid JPEG carrying EXIF with GPS coordinates is accepted and stored as a fresh JPEG,
    scaled to max_side, with no EXIF at all: no GPS block, no maker, no coordinates."""
    app.config["UPLOAD_DIR"] = str(tmp_path)
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # it has GPS
    stored = store_image(original, "photos")
    data = (tmp_path / "photos" / stored.filename).read_bytes()
    with Image.open(io.BytesIO(data)) as kept:
        assert kept.format == "JPEG" and kept.size == (1600, 800) == (stored.width, stored.height)
        assert dict(kept.getexif()) == {} and "exif" not in kept.info
    assert b"Exif" not in data and b"SecretPhoneMaker" not in data


def test_hostile_uploads_on_the_report_page_are_refused_in_words(
    client, session, places, repair_company, make_user, app, tmp_path, frozen
):
    """Through the repairs report page: a decompression bomb and a file over MAX_BYTES are
    refused on the form with a clear message (not a 500), no ticket is filed and nothing is
    stored; a request over MAX_CONTENT_LENGTH is refused with 413."""
    from repairs.models import Ticket

    app.config["UPLOAD_DIR"] = str(tmp_path)
    resident = make_user(home_estate_id=places["estates"][0].id, home_building="5", home_room="301")
    login(english(client), resident.phone)

    def report(photo: bytes, name: str):
        return submit(
            client,
            "/repairs/report",
            {"category": "water", "description": "水管漏水", "photos": [(io.BytesIO(photo), name)]},
            content_type="multipart/form-data",
        )

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        for side in (20000, 10000):
            response = report(png_bomb(side, side), "lift.png")
            assert response.status_code == 200
            assert "The photo has too many pixels. Choose a smaller one." in response.get_data(
                as_text=True
            )
    response = report(b"\xff\xd8\xff" + b"\0" * MAX_BYTES, "big.jpg")
    assert response.status_code == 200
    assert "The photo is larger than 10 MB. Choose a smaller one." in response.get_data(
        as_text=True
    )
    too_big = report(b"\0" * (app.config["MAX_CONTENT_LENGTH"] + 1), "huge.jpg")
    assert too_big.status_code == 413
    assert session.scalar(select(Ticket.id)) is None and not list(tmp_path.rglob("*.jpg"))


# --- 6. Phone numbers and plates masked for staff --------------------------------------------


def test_venue_staff_see_masked_phone_numbers(client, session, make_venue, make_user):
    """Venue staff see a booking's holder by name and 139****5678 on the day list and on the
    door check-in result, never the full number (the CSV export is checked in
    test_venue_pages)."""
    from venues import current_settings
    from venues.services.booking import book_general

    venue = make_venue()
    resident = make_user(phone="13912345678")
    staff = make_user("venue_staff", scope=venue)
    booking = book_general(
        session,
        resident,
        resident,
        slot_at(session, venue.spaces[0], 0, 10).id,
        1,
        settings=current_settings(),
    )
    login(english(client), staff.username)
    day = client.get(
        f"/staff/venues/{venue.id}/bookings?date={clock.today().isoformat()}"
    ).get_data(as_text=True)
    assert booking.reference in day and "139****5678" in day and "13912345678" not in day
    door = submit(client, f"/staff/venues/{venue.id}/door", {"code": booking.door_code}).get_data(
        as_text=True
    )
    assert "Valid: checked in" in door and resident.name in door and "13912345678" not in door


def test_repair_staff_see_masked_phone_numbers(
    client, session, places, repair_company, make_user, frozen
):
    """The estate's property manager sees no number in the queue and, while the report is open,
    the reporter's whole number to call them (tests/test_staff_tools.py: masked once closed);
    a town supervisor sees both the reporter's and the technician's
    numbers masked, in the summary and in the timeline, as does Open311's public feed; the
    resident, who needs to call the technician, gets the full number on the ticket and in the
    inbox, and so does the manager who assigned them."""
    from app.notifications.models import Notification
    from repairs.models import Category
    from repairs.services import tickets

    estate = places["estates"][0]
    resident = make_user(
        phone="13912345678", home_estate_id=estate.id, home_building="5", home_room="301"
    )
    manager = make_user("property_manager", scope=estate)
    town = make_user("town_supervisor", scope=places["towns"][0])
    ticket = tickets.report(
        session, resident, resident, category=Category.WATER, description="厨房水管漏水"
    )
    login(english(client), manager.username)
    queue = client.get("/repairs/queue").get_data(as_text=True)
    assert ticket.reference in queue and "5678" not in queue
    tickets.act(
        session, manager, ticket, "assign", technician_name="王师傅", technician_phone="13811112222"
    )
    page = client.get(f"/repairs/tickets/{ticket.reference}").get_data(as_text=True)
    assert 'href="tel:13912345678"' in page  # the estate's manager may call the reporter
    assert "13811112222" in page  # the manager assigned the technician

    supervisor = english(client.application.test_client())
    login(supervisor, town.username)
    page = supervisor.get(f"/repairs/tickets/{ticket.reference}").get_data(as_text=True)
    assert "139****5678" in page and "138****2222" in page and "王师傅" in page
    assert "13912345678" not in page and "13811112222" not in page
    assert "13811112222" not in client.get(
        f"/open311/v2/requests/{ticket.reference}.json"
    ).get_data(as_text=True)

    own = english(client.application.test_client())
    login(own, resident.phone)
    assert "13811112222" in own.get(f"/repairs/tickets/{ticket.reference}").get_data(as_text=True)
    inbox = session.scalars(select(Notification).where(Notification.user_id == resident.id)).all()
    assert any("13811112222" in str(note.params) for note in inbox)


def test_car_park_operators_see_masked_plates(client, session, car_park, make_user, frozen):
    """On the operator's dashboard a new-energy plate (8 characters) is shown as 沪AD***45 in
    today's reservations and gate events, never in full, and neither is the driver's phone
    number or name (ordinary plates are checked in test_parking_operator)."""
    from parking.models import GateDirection
    from parking.services import gate, reservations, vehicles

    park = car_park.default
    driver = make_user(phone="13912345678", name="陈先生")
    vehicles.register(session, driver, "沪AD12345")
    reservations.reserve(
        session,
        driver,
        driver,
        park,
        "沪AD12345",
        clock.at(clock.today(), 10 * 60),
        settings=parking_settings(),
    )
    frozen.move_to("2026-12-01T10:05:00+08:00")
    gate.record_event(
        session, park, "沪AD12345", GateDirection.ENTRY, clock.now(), settings=parking_settings()
    )
    operator = make_user("carpark_operator", scope=park)
    login(english(client), operator.username)
    html = client.get(f"/parking/operate/{park.id}").get_data(as_text=True)
    # The reservation and the entry, read as text (an English page marks 沪 as Chinese).
    text = re.sub(r"<[^>]+>", "", html)
    assert text.count("沪AD***45") >= 2
    assert "沪AD12345" not in html and "13912345678" not in html and "陈先生" not in html
