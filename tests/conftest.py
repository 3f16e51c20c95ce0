"""Shared fixtures: an app per test on each database backend, a client, users of each role.

Every test that takes `app` (or anything built on it) runs once on SQLite and once on PostgreSQL
(`--db` chooses; both by default), except in the modules of ONE_BACKEND_MODULES below. The
schema always comes from the Alembic migrations, built once per session and copied (SQLite) or
truncated between tests (PostgreSQL).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from tests import pg, speedups

speedups.install()  # an app per test without recompiling every URL rule (tests/speedups.py)

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_PORT_ENV = "PORTAL_TEST_PG_PORT"
PASSWORD = "correct-horse-9"
# Production refuses to start without a key for real names (app/config.py check_identity_key):
# the production apps and nodes the tests build (and their subprocesses) get this test-only one.
os.environ.setdefault("IDENTITY_ENCRYPTION_KEY", "dGVzdC1vbmx5LWlkZW50aXR5LWtleS0zMi1ieXRlcyE=")
# And without the public address links in messages start with (check_portal_url).
os.environ.setdefault("PORTAL_URL", "https://portal.test.invalid")
# push-pwa: and without VAPID keys while Web Push is on (check_push): a test-only pair.
os.environ.setdefault("VAPID_PRIVATE_KEY", "yQsYdjmR-UYw4SVlKMkkosnc1vVJ1iif_uQGEZKiAvk")
os.environ.setdefault(
    "VAPID_PUBLIC_KEY",
    "BMRNE6lEHPSGulcRJSlgXAvra8Ui-tUPFtVHonb5q3AYTTKIyAwObiJ8erEUAXVa4GQdguXhNkT_FgTzPtR_aBI",
)
os.environ.setdefault("VAPID_SUBJECT", "mailto:push-test@example.gov.cn")
# Read-aloud recordings of test apps (and of the sweeps tests run) stay out of the instance folder.
os.environ.setdefault("READALOUD_CACHE_DIR", tempfile.mkdtemp(prefix="portal-readaloud-"))


def pytest_addoption(parser):
    parser.addoption(
        "--db",
        default="sqlite,postgresql",
        help="comma-separated database backends to run on: sqlite, postgresql",
    )


def pytest_configure(config):
    backends = [b.strip() for b in config.getoption("--db").split(",") if b.strip()]
    config.portal_backends = backends
    is_worker = hasattr(config, "workerinput")
    if "postgresql" in backends and not is_worker and not os.environ.get(PG_PORT_ENV):
        if not pg.available():
            if CI:
                raise pytest.UsageError(
                    "PostgreSQL binaries not found, and CI must test PostgreSQL"
                )
            config.portal_backends = [b for b in backends if b != "postgresql"]
            return
        base = Path(tempfile.mkdtemp(prefix="portal-pg-"))
        server = pg.PostgresServer(base).start()
        config.portal_pg_server = server
        os.environ[PG_PORT_ENV] = str(server.port)


def pytest_unconfigure(config):
    server = getattr(config, "portal_pg_server", None)
    if server is not None:
        server.stop()
        shutil.rmtree(server.base, ignore_errors=True)
        os.environ.pop(PG_PORT_ENV, None)


# Modules whose subject is not the database: what a page or an answer says, who may see it,
# limits, formats, providers. They run on ONE backend, PostgreSQL when it is there (production's,
# and the stricter one: NUL characters, integer ranges, GROUP BY), SQLite otherwise. Everything
# that writes, counts, locks or races (services, engine, API, migrations, sweeps, CLI) still runs
# on both. This keeps `make test` inside its budget without testing any rule less.
ONE_BACKEND_MODULES = {
    "test_fuzz",  # form and API fuzzing: PostgreSQL is where odd input breaks things
    "test_abuse_limits",  # rate and size limits (counters live in memory or Redis)
    "test_output_policy",  # masking of personal data in pages, exports and the API
    "test_authorization_matrix",  # who may open which route
    "test_security",  # headers, CSRF, cookies, uploads
    "test_display_and_language",
    "test_templating",
    "test_page_cache",
    "test_signin_wording",
    "test_i18n_and_forms",
    "test_message_language",
    "test_checkbox_macro",
    "test_sms_tencent",  # request signing against a local HTTP server
    "test_email_channel",  # SMTP against aiosmtpd
    "test_venue_pages",
    "test_repairs_pages",
    # Accounts, sign-in and messages: flows and wording over ordinary reads and writes (every
    # datetime goes through app.db.UTCDateTime, so the backends agree on time); their races
    # (marked `race`) still run on both.
    "test_signin",
    "test_sessions",
    "test_accounts",
    "test_identity",
    "test_identity_sso",
    "test_sms",
    "test_push",
    "test_notification_settings",
    "test_desk",
    "test_tokens",
    "test_mydata",
    "test_helper_consent",
    "test_roles",
}


def backends_for(metafunc) -> list[str]:
    backends = metafunc.config.portal_backends
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    one = module in ONE_BACKEND_MODULES and not metafunc.definition.get_closest_marker("race")
    if one and len(backends) > 1:
        return ["postgresql"] if "postgresql" in backends else backends[:1]
    return backends


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", backends_for(metafunc), scope="session")


def _worker_id(request) -> str:
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


def migrate_to_head(url: str) -> None:
    """Build the schema the way production does: `flask db upgrade` against `url`."""
    from flask_migrate import upgrade

    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        upgrade()
        from app.extensions import db

        db.engine.dispose()


@pytest.fixture(scope="session")
def pg_server_url():
    port = os.environ.get(PG_PORT_ENV)
    if not port:
        pytest.fail("PostgreSQL test server is not running")
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}"


@pytest.fixture(scope="session")
def database_template(backend, request, tmp_path_factory):
    """A migrated database for this session: a SQLite file to copy, or a PostgreSQL database."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "template.db"
        migrate_to_head(f"sqlite:///{path}")
        return {"backend": backend, "path": path}
    port = os.environ.get(PG_PORT_ENV)
    if not port:
        pytest.fail("PostgreSQL test server is not running")
    server = pg.PostgresServer(Path("/nonexistent"))
    server.port = int(port)
    url = server.create_database(f"portal_{_worker_id(request)}")
    migrate_to_head(url)
    return {"backend": backend, "url": url}


@pytest.fixture
def database_url(database_template, tmp_path):
    if database_template["backend"] == "sqlite":
        path = tmp_path / "portal.db"
        shutil.copy(database_template["path"], path)
        yield f"sqlite:///{path}"
        return
    yield database_template["url"]
    _truncate_all(database_template["url"])


_RESET_ENGINES: dict = {}


def _truncate_all(url: str) -> None:
    """Empty every table and restart every id sequence, as a fresh migrated database has them.

    Only the tables that hold rows are emptied, with DELETE and the foreign-key triggers off
    (session_replication_role): a TRUNCATE of all of them made new files for every table and
    index, 0.16 s after each of some 900 PostgreSQL tests. One engine per database, kept."""
    from sqlalchemy import create_engine

    from app.extensions import db

    engine = _RESET_ENGINES.get(url)
    if engine is None:
        # pre-ping: a test may restart the server (tests/test_scale_out.py)
        engine = _RESET_ENGINES[url] = create_engine(url, pool_size=1, pool_pre_ping=True)
    tables = [t.name for t in db.metadata.sorted_tables]
    with engine.begin() as conn:
        holding = conn.execute(
            text(
                " UNION ALL ".join(
                    f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in tables
                )
            )
        ).scalars()
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in holding.all():
            conn.execute(text(f'DELETE FROM "{table}"'))
        conn.execute(
            text(
                "SELECT setval(format('%I.%I', schemaname, sequencename), 1, false) "
                "FROM pg_sequences WHERE last_value IS NOT NULL"
            )
        )


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production.

    The test itself holds an app context (to call services directly); without this, requests
    would share its `g` (Flask-Login's user, Flask-Babel's locale) and its database session.
    The test's own session is committed first, so the request sees what the test set up and
    the test re-reads whatever the request changed.
    """

    def open(self, *args, **kwargs):
        from app.extensions import db

        db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(database_url):
    from app import create_app
    from app.extensions import db

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TESTING": True,
            "SECRET_KEY": "testing-secret",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "REPAIRS_RATING_CACHE_SECONDS": 0,
            # Tests travel days and months in time with a browser signed in: sessions outlive
            # them here; tests/test_sessions.py sets real limits where it tests them.
            "SESSION_IDLE_MINUTES": 10**6,
            "SESSION_ABSOLUTE_HOURS": 10**5,
            "STAFF_SESSION_IDLE_MINUTES": 10**6,
            "STAFF_SESSION_ABSOLUTE_HOURS": 10**5,
            # Room for every thread of a race test to hold its own connection.
            "SQLALCHEMY_ENGINE_OPTIONS": {
                "pool_pre_ping": True,
                "pool_size": 110,
                "max_overflow": 20,
            },
        }
    )
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def session(app):
    from app.extensions import db

    return db.session


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, url: str) -> str:
    page = client.get(url)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def submit(client, url: str, data: dict, *, form_url: str | None = None, **kwargs):
    """POST a form the way a browser does: fetch the page, take its CSRF token, send."""
    token = csrf_token(client, form_url or url)
    return client.post(url, data={"csrf_token": token, **data}, **kwargs)


def login(client, login_name: str, password: str = PASSWORD):
    response = submit(client, "/login", {"login": login_name, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response


def sms_code(phone: str) -> str:
    """The code in the newest verification text sent to `phone`, read from the SMS outbox table
    as the person would read it on their phone (app/sms: the development outbox keeps it)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.sms.models import SmsMessage

    db.session.commit()  # a fresh read: the request that sent it committed in its own session
    message = db.session.scalar(
        select(SmsMessage)
        .where(SmsMessage.phone == phone, SmsMessage.kind == "verification_code")
        .order_by(SmsMessage.id.desc())
        .limit(1)
    )
    assert message is not None, f"no code was sent to {phone}"
    return message.params[0]


def register_through_pages(client, phone: str, name: str, *, password: str | None = None):
    """Register a resident the way a person does: the number, the code from the text message,
    a name and consent to the privacy notice (and a password when given). The last answer."""
    first = submit(client, "/register", {"phone": phone})
    assert first.status_code == 302, first.get_data(as_text=True)[:2000]
    answers = {"code": sms_code(phone), "name": name, "consent": "y"}
    if password:
        answers.update(password=password, confirm=password)
    return submit(client, "/register/details", answers)


@pytest.fixture
def places(session):
    """Two towns with an estate each."""
    from app.places.models import District, Estate, Town

    district = District(code="310112", name_zh="闵行区", name_en="Minhang District")
    towns = [
        Town(district=district, code="xinzhuang", name_zh="莘庄镇", name_en="Xinzhuang Town"),
        Town(district=district, code="qibao", name_zh="七宝镇", name_en="Qibao Town"),
    ]
    estates = [
        Estate(
            town=towns[0],
            name_zh="莘城苑",
            name_en="Xincheng Garden",
            address_zh="上海市闵行区莘庄镇莘松路100弄",
            address_en="Lane 100, Xinsong Road",
            latitude=31.11,
            longitude=121.37,
        ),
        Estate(
            town=towns[1],
            name_zh="七宝新村",
            name_en="Qibao New Village",
            address_zh="上海市闵行区七宝镇七莘路200弄",
            address_en="Lane 200, Qixin Road",
            latitude=31.15,
            longitude=121.35,
        ),
    ]
    session.add_all(towns + estates)
    session.commit()
    return {"towns": towns, "estates": estates}


@pytest.fixture
def make_user(session):
    """Create a user: make_user("resident") or make_user("property_manager", scope=estate)."""
    from app.accounts import services
    from app.accounts.models import Role

    counter = iter(range(1, 10_000))

    def make(
        role: str = "resident",
        *,
        scope=None,
        phone: str | None = None,
        name: str | None = None,
        home_estate_id=None,
        home_building="1",
        home_unit="",
        home_room="101",
        home_verified: bool = True,
        **attrs,
    ):
        n = next(counter)
        role = Role(role)
        if role == Role.RESIDENT:
            user = services.register_resident(
                session,
                phone=phone or f"1390000{n:04d}",
                name=name or f"居民{n}",
                password=PASSWORD,
            )
        else:
            scope_ref = f"{scope.scope_kind}:{scope.id}" if scope is not None else None
            user = services.create_user(
                session,
                username=f"{role.value}-{n}",
                password=PASSWORD,
                name=name or f"{role.label}{n}",
                phone=phone,
                roles=[(role, scope_ref)],
            )
        for key, value in attrs.items():
            setattr(user, key, value)
        if home_estate_id is not None:
            give_home(
                session,
                user,
                home_estate_id,
                home_building,
                home_unit,
                home_room,
                verified=home_verified,
            )
        session.commit()
        return user

    return make


def give_home(session, user, estate_id, building="1", unit="", room="101", *, verified=True):
    """Claim a home for `user`, confirmed as if by the estate's manager unless verified=False."""
    from app import clock
    from app.places import services as homes
    from app.places.models import ClaimStatus

    claim = homes.set_home(session, user, estate_id, building, unit, room)
    if verified and claim is not None and claim.status != ClaimStatus.VERIFIED:
        claim.status, claim.decided_at, claim.decision_note = (
            ClaimStatus.VERIFIED,
            clock.now(),
            "test",
        )
        session.flush()
        session.expire(user, ["home_claim"])
    return claim


# --- Venues ---------------------------------------------------------------------------------

NOW = "2026-12-01T09:00:00+08:00"  # a Tuesday morning in Shanghai


@pytest.fixture
def frozen(request):
    """Freeze the clock at NOW (or at the test's @pytest.mark.now("...") time)."""
    import time_machine

    marker = request.node.get_closest_marker("now")
    with time_machine.travel(marker.args[0] if marker else NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def make_venue(session, places, frozen):
    """make_venue(capacity=5, ...) -> a museum with a general hall (60-minute slots, 09-17 every
    day) and a personalised court (60-minute steps), slots materialised for 15 days."""
    from venues.demo import add_venue
    from venues.models import BookingMode, Space, VenueType
    from venues.services.catalogue import materialise

    def make(capacity=5, *, name="测试博物馆", town=None, approval=False, **rules):
        venue = add_venue(
            session,
            name_zh=name,
            name_en="Test Museum",
            town=town or places["towns"][0],
            type=VenueType.MUSEUM,
            address_zh="测试路 1 号",
            address_en="1 Test Road",
        )
        from venues.services.admin import replace_hours

        replace_hours(session, venue, {d: (9 * 60, 17 * 60) for d in range(7)})
        hall = venue.spaces[0]
        hall.capacity, hall.max_party_size = capacity, 4
        from bookings.services import create_resource

        court_resource = create_resource(session, "venue", "court")
        venue.spaces.append(
            Space(
                resource_id=court_resource.id,
                name_zh="球场",
                name_en="Court",
                mode=BookingMode.PERSONALISED,
                capacity=1,
                slot_minutes=60,
                max_steps=3,
                requires_approval=approval,
            )
        )
        for key, value in rules.items():
            setattr(venue, key, value)
        session.commit()
        materialise(session, venue)
        return venue

    return make


def slot_at(session, space, day_offset: int, hour: int):
    """The bucket of `space` starting at `hour`:00 local, `day_offset` days from today."""
    from datetime import timedelta

    from sqlalchemy import select

    from app import clock
    from bookings.models import CapacityBucket

    start = clock.at(clock.today() + timedelta(days=day_offset), hour * 60)
    return session.scalar(
        select(CapacityBucket).where(
            CapacityBucket.resource_id == space.resource_id, CapacityBucket.starts_at == start
        )
    )


def ensure_bucket(session, resource_id: int, starts_at, ends_at, capacity: int):
    """The bucket starting at `starts_at`, created with `capacity` if missing, else given
    `capacity` (never below what it has taken). Tests make the exact slots they need with it;
    the services make theirs with `bookings.services.insert_missing_buckets`."""
    from sqlalchemy import select

    from bookings.models import CapacityBucket
    from bookings.services import set_capacity

    bucket = session.scalar(
        select(CapacityBucket).where(
            CapacityBucket.resource_id == resource_id, CapacityBucket.starts_at == starts_at
        )
    )
    if bucket is None:
        bucket = CapacityBucket(
            resource_id=resource_id,
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=capacity,
            taken=0,
        )
        session.add(bucket)
        session.flush()
    else:
        set_capacity(session, capacity, CapacityBucket.id == bucket.id)
        session.refresh(bucket)
    return bucket


def two_managed_estates(session, places):
    """Estate A managed by 测试物业 and estate B by 别家物业 (each answering in 30 minutes):
    (company, other company, estate A, estate B)."""
    from repairs.models import EstateManagement, PropertyCompany

    company = PropertyCompany(name_zh="测试物业", name_en="Test Property", response_minutes=30)
    other = PropertyCompany(name_zh="别家物业", name_en="Other Property", response_minutes=30)
    session.add_all([company, other])
    session.flush()
    estate_a, estate_b = places["estates"]
    session.add_all(
        [
            EstateManagement(estate_id=estate_a.id, company_id=company.id),
            EstateManagement(estate_id=estate_b.id, company_id=other.id),
        ]
    )
    session.commit()
    return company, other, estate_a, estate_b


@pytest.fixture
def repair_company(session, places):
    """A property company managing both estates of `places`."""
    from repairs.models import EstateManagement, PropertyCompany

    company = PropertyCompany(name_zh="测试物业", name_en="Test Property")
    session.add(company)
    session.flush()
    for estate in places["estates"]:
        session.add(EstateManagement(estate_id=estate.id, company_id=company.id))
    session.commit()
    return company


# --- Parking --------------------------------------------------------------------------------


def parking_settings(**changes):
    """The running app's ParkingSettings (parking's services take them as an argument), with
    `changes` (field=value) for a test that needs other numbers."""
    from dataclasses import replace

    from flask import current_app

    from parking.services import ParkingSettings

    return replace(ParkingSettings.from_config(current_app.config), **changes)


def verified_vehicle(session, user, plate: str, verifier=None):
    """`user`'s claim of `plate`, verified through the real service (as if the licence photo had
    been sent and a service-desk clerk had approved it): the plate's history, fees and 无感支付
    are theirs from now on."""
    from sqlalchemy import select

    from app.accounts import services
    from app.accounts.models import Role, User
    from parking.models import VehicleStatus
    from parking.services import vehicles, verification

    vehicle = vehicles.register(session, user, plate)
    if vehicle.is_verified:
        return vehicle
    if verifier is None:
        verifier = session.scalar(
            select(User).where(User.username == "test-service-desk")
        ) or services.create_user(
            session,
            username="test-service-desk",
            password=PASSWORD,
            name="窗口",
            roles=[(Role.SERVICE_DESK, None)],
        )
        session.commit()
    vehicle.status = (
        VehicleStatus.PENDING
    )  # the photo itself is tested in tests/test_parking_plates.py
    session.commit()
    return verification.approve(session, verifier, vehicle)


@pytest.fixture
def car_park(session, places, frozen):
    """A public car park (100 spaces, 20 occupied, a reservable pool of 5, grace and cut-off 30
    minutes) with the Qibao tariff: 15 minutes free, first hour ¥10, then ¥5 per 30 minutes by
    day (07:00-19:00), ¥2 per period at night, at most ¥60 per 24 hours."""
    from parking.models import CarPark, CarParkKind, Tariff
    from parking.services.reservations import materialise_pool

    def make(*, name="测试停车场", reservable=5, total=100, occupied=20, kind=CarParkKind.PUBLIC):
        park = CarPark(
            name_zh=name,
            name_en="Test Car Park",
            kind=kind,
            town=places["towns"][0],
            address_zh="测试路 9 号",
            address_en="9 Test Road",
            latitude=31.11,
            longitude=121.38,
            total_spaces=total,
            occupied=occupied,
            reservable_spaces=reservable,
        )
        park.tariff = Tariff(
            free_minutes=15,
            first_hour_fen=1000,
            period_minutes=30,
            period_fen=500,
            night_unit_fen=200,
            daily_cap_fen=6000,
        )
        session.add(park)
        session.commit()
        if reservable:
            materialise_pool(session, park, parking_settings().pool_days)
        return park

    make.default = make()
    return make
