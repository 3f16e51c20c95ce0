"""Issue 10, point 5: abuse limits and deployment safety.

Rate limits on registration, photo uploads, fee quotes and the anonymous lists (per address and
per account); a pixel budget for image decoding per request; ProxyFix from TRUSTED_PROXIES and
production refusing per-process rate limits with several processes; clear 4xx answers where a
crafted request used to be a 500; staff reading personal data in the audit log; plates past
their retention anonymised by the sweep.
"""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from tests.conftest import (
    PASSWORD,
    IsolatedClient,
    csrf_token,
    login,
    parking_settings,
    register_through_pages,
    submit,
)
from tests.race import race


def english(client):
    from app.i18n import LOCALE_COOKIE

    client.set_cookie(LOCALE_COOKIE, "en")
    return client


# --- 4xx, not 500 ---------------------------------------------------------------------------


@pytest.mark.race
def test_twenty_simultaneous_first_payments_open_one_demo_wallet(app, session, car_park, make_user):
    """One person pays 20 charges at once, before they have a demo wallet: each payment opens
    the wallet on first use. Exactly one wallet and one payment method are opened, every charge
    is paid once and the balance is debited 20 times (before: a unique violation, a 500, on
    PostgreSQL for all but one of them)."""
    from parking.models import (
        Charge,
        ChargeStatus,
        DemoWalletAccount,
        DemoWalletPayment,
        PaymentMethod,
    )
    from parking.services import payments

    driver = make_user()
    park = car_park.default
    references = [
        payments.new_charge(
            session, user_id=driver.id, car_park_id=park.id, plate="沪A12345", amount_fen=100
        ).reference
        for _ in range(20)
    ]
    driver_id = driver.id
    session.commit()

    def pay(i):
        from app.accounts.models import User

        charge = db.session.scalar(select(Charge).where(Charge.reference == references[i]))
        return payments.pay_online(
            db.session, charge, db.session.get(User, driver_id), settings=parking_settings()
        ).outcome

    results = race(app, 20, pay)
    assert results == ["paid"] * 20, results
    session.rollback()
    assert session.scalar(select(func.count(DemoWalletAccount.id))) == 1
    assert session.scalar(select(func.count(PaymentMethod.id))) == 1
    assert session.scalar(select(func.count(DemoWalletPayment.id))) == 20
    assert (
        session.scalar(select(DemoWalletAccount.balance_fen))
        == payments.DEMO_OPENING_BALANCE_FEN - 2000
    )
    assert (
        session.scalar(select(func.count(Charge.id)).where(Charge.status == ChargeStatus.PAID))
        == 20
    )


def auth(session, user) -> dict:
    from app.accounts.services import issue_token

    token = issue_token(session, user)
    session.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("where", ["sign-in", "language", "elderly switch"])
@pytest.mark.parametrize(
    "target",
    ["/venues\r\nSet-Cookie: x=1", "/venues\nX: 1", "/venues\t"],
    ids=["CRLF", "LF", "tab"],
)
def test_a_line_break_in_next_is_a_400_and_changes_nothing(
    where, target, client, session, make_user
):
    """A `next=` with a line break (or any control character) was passed to the redirect, and
    werkzeug refused the header: a 500 after signing in, choosing a language or switching the
    elderly mode. It is now refused first, with a message, and nothing is done: no sign-in, no
    cookie, no header of the attacker's in the answer."""
    from app.i18n import LOCALE_COOKIE

    english(client)
    user = make_user()
    if where == "sign-in":
        url = "/login?next=" + target.replace("\r", "%0D").replace("\n", "%0A").replace("\t", "%09")
        assert client.get(url).status_code == 400
        response = client.post(
            url,
            data={
                "csrf_token": csrf_token(client, "/login"),
                "login": user.phone,
                "password": PASSWORD,
            },
        )
    elif where == "language":
        response = submit(client, "/language", {"locale": "zh_CN", "next": target}, form_url="/")
    else:
        response = submit(client, "/display/elderly", {"next": target}, form_url="/")
    assert response.status_code == 400, response.status_code
    page = response.get_data(as_text=True)
    assert "The address to return to after this is not valid" in page and "Traceback" not in page
    assert "Location" not in response.headers and "X" not in response.headers
    assert "x=1" not in response.headers.get("Set-Cookie", "")
    assert f"{LOCALE_COOKIE}=" not in response.headers.get("Set-Cookie", "")
    assert "display_mode=" not in response.headers.get("Set-Cookie", "")
    if where == "sign-in":
        assert client.get("/profile").status_code == 302  # still signed out
    # The same request with a good return address works.
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("signature", ["é" * 64, "签名", "0" * 63 + "ü"])
def test_a_non_ascii_payment_signature_is_a_400_bad_signature(
    signature, client, session, car_park, make_user
):
    """hmac.compare_digest refuses str with non-ASCII characters (TypeError): a provider callback
    with such an X-Payment-Signature was a 500. It is now refused like any wrong signature."""
    from parking.services import payments

    driver = make_user()
    charge = payments.new_charge(
        session,
        user_id=driver.id,
        car_park_id=car_park.default.id,
        plate="沪A12345",
        amount_fen=1000,
    )
    session.commit()
    body = json.dumps(
        {"charge": charge.reference, "status": "succeeded", "amount_fen": 1000}
    ).encode()
    response = client.post(
        "/api/v1/parking/payments/callback/demo_wallet",
        data=body,
        headers={
            "X-Payment-Signature": signature.encode("utf-8").decode("latin-1"),
            "Accept-Language": "en",
        },
    )
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_signature"
    assert response.json["error"]["message"] == "The callback's signature does not match."
    session.rollback()
    assert session.get(type(charge), charge.id).status.value == "due"


def test_one_idempotency_key_for_a_venue_booking_then_a_parking_reservation_is_a_422(
    client, session, make_venue, car_park, make_user
):
    """Both services book through the engine, whose unique (holder, key) made the parking
    reservation find the venue booking and then no reservation for it: a 500. A key names one
    request; used again for something else it is refused with 422 `idempotency_key_reused`
    (in both directions, and for another slot of the same venue), while repeating the same
    request with its key still answers the first booking."""
    from parking.services import vehicles
    from tests.conftest import slot_at

    venue = make_venue(capacity=5)
    driver = make_user()
    vehicles.register(session, driver, "沪A12345")
    headers = {**auth(session, driver), "Accept-Language": "en"}
    slot = slot_at(session, venue.spaces[0], 1, 10)
    other_slot = slot_at(session, venue.spaces[0], 1, 11)
    session.commit()
    booked = client.post(
        "/api/v1/bookings",
        json={"slot_id": slot.id, "party_size": 2},
        headers={**headers, "Idempotency-Key": "k-1"},
    )
    assert booked.status_code == 201
    parking = {
        "carpark_id": car_park.default.id,
        "plate": "沪A12345",
        "arrive_at": "2026-12-01T10:00:00+08:00",
    }
    refused = client.post(
        "/api/v1/parking/reservations", json=parking, headers={**headers, "Idempotency-Key": "k-1"}
    )
    assert refused.status_code == 422, refused.get_data(as_text=True)[:500]
    assert refused.json["error"] == {
        "code": "idempotency_key_reused",
        "message": "This Idempotency-Key was already used for a different booking. "
        "Send a new key for each new booking.",
    }
    other = client.post(
        "/api/v1/bookings",
        json={"slot_id": other_slot.id, "party_size": 2},
        headers={**headers, "Idempotency-Key": "k-1"},
    )
    assert other.status_code == 422 and other.json["error"]["code"] == "idempotency_key_reused"
    again = client.post(
        "/api/v1/bookings",
        json={"slot_id": slot.id, "party_size": 2},
        headers={**headers, "Idempotency-Key": "k-1"},
    )
    assert again.status_code == 201 and again.json["id"] == booked.json["id"]
    reserved = client.post(
        "/api/v1/parking/reservations", json=parking, headers={**headers, "Idempotency-Key": "k-2"}
    )
    assert reserved.status_code == 201
    reused = client.post(
        "/api/v1/bookings",
        json={"slot_id": slot.id, "party_size": 1},
        headers={**headers, "Idempotency-Key": "k-2"},
    )
    assert reused.status_code == 422 and reused.json["error"]["code"] == "idempotency_key_reused"
    from bookings.models import Booking

    session.rollback()
    assert session.scalar(select(func.count(Booking.id))) == 2


@pytest.mark.parametrize(
    "arrive_at",
    [
        "9999-12-31T23:45:00+08:00",
        "9999-12-31T23:45:00+00:00",
        "9999-12-31T15:45:00-09:00",
        "0001-01-01T00:00:00+08:00",
    ],
)
def test_an_arrival_in_the_year_9999_is_a_clear_400_on_the_api(
    arrive_at, client, session, car_park, make_user
):
    """arrive_at at the very end of the calendar overflowed converting to local time or adding
    the grace period (a 500). It is refused as too far ahead (or as past), in words."""
    from parking.services import vehicles

    driver = make_user()
    vehicles.register(session, driver, "沪A12345")
    headers = {**auth(session, driver), "Accept-Language": "en"}
    response = client.post(
        "/api/v1/parking/reservations",
        headers=headers,
        json={"carpark_id": car_park.default.id, "plate": "沪A12345", "arrive_at": arrive_at},
    )
    assert response.status_code == 400, response.get_data(as_text=True)[:500]
    assert response.json["error"]["code"] in ("too_early", "too_late")
    assert response.json["error"]["message"] in (
        "You can reserve up to 2 days ahead.",
        "That time has passed. Choose a later arrival time.",
    )


def test_an_arrival_in_the_year_9999_is_refused_on_the_form(client, session, car_park, make_user):
    """The reservation form with a day of 9999-12-31 (not one of its choices) and the last
    quarter hour: the form again with its error, not a 500."""
    from parking.services import vehicles

    driver = make_user()
    vehicles.register(session, driver, "沪A12345")
    login(english(client), driver.phone)
    url = f"/parking/{car_park.default.id}/reserve"
    for day in ("9999-12-31", "0001-01-01"):
        response = submit(
            client, url, {"plate": "沪A12345", "day": day, "time": "23:45", "idempotency_key": "x"}
        )
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        assert "error-summary-title" in response.get_data(as_text=True)


# --- Rate limits ----------------------------------------------------------------------------


def make_app(database_url, **overrides):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TESTING": True,
            "SECRET_KEY": "testing-secret",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "RATELIMIT_ENABLED": True,
            **overrides,
        }
    )
    app.test_client_class = IsolatedClient
    return app


@pytest.fixture
def limited_app(database_url, tmp_path):
    """An app of its own with small abuse limits."""
    app = make_app(
        database_url,
        REGISTRATION_RATE="2 per hour",
        UPLOAD_RATE="3 per hour",
        QUOTE_RATE="2 per minute",
        PUBLIC_LIST_RATE="3 per minute",
        UPLOAD_DIR=str(tmp_path),
    )
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def from_address(client, address: str):
    client.environ_base["REMOTE_ADDR"] = address
    return client


def assert_too_many_page(response):
    html = response.get_data(as_text=True)
    assert response.status_code == 429, html[:300]
    assert "Too many requests" in html and "Please wait a minute and try again." in html
    assert int(response.headers["Retry-After"]) > 0


def assert_too_many_json(response):
    assert response.status_code == 429 and response.mimetype == "application/json"
    assert response.json["error"] == {
        "code": "too_many_requests",
        "message": "Too many requests. Wait a little and try again.",
    }
    assert int(response.headers["Retry-After"]) > 0


def register(client, n: int):
    """A registration through the pages (the number, then the code, a name and consent): the
    answer to its last step, the one that makes the account."""
    return register_through_pages(client, f"1398888000{n}", f"居民{n}", password=PASSWORD)


def test_registrations_per_address_are_limited(limited_app):
    """REGISTRATION_RATE (here 2 per hour) accounts from one address; the third gets the
    portal's 429 page and no account; another address can still register."""
    from app.accounts.models import User

    client = english(limited_app.test_client())
    for n in range(2):
        assert register(client, n).status_code == 302
        client.post("/logout", data={"csrf_token": csrf_token(client, "/profile")})
    assert_too_many_page(register(client, 2))
    assert db.session.scalar(select(func.count(User.id))) == 2
    other = from_address(english(limited_app.test_client()), "10.9.8.7")
    assert register(other, 3).status_code == 302


def test_anonymous_lists_share_one_limit_per_address(limited_app, session, car_park):
    """The venue search, the car park list and their APIs count together against
    PUBLIC_LIST_RATE (here 3 a minute) per address: the fourth is refused, a page with the
    portal's 429 page, the API in its JSON format; another address is not affected."""
    client = english(limited_app.test_client())
    assert [
        client.get(path).status_code for path in ("/venues", "/parking", "/api/v1/carparks")
    ] == [200, 200, 200]
    assert_too_many_page(client.get("/venues?q=library"))
    assert_too_many_page(client.get("/parking"))
    assert_too_many_json(client.get("/api/v1/venues", headers={"Accept-Language": "en"}))
    assert_too_many_json(client.get("/api/v1/carparks", headers={"Accept-Language": "en"}))
    assert from_address(limited_app.test_client(), "10.1.2.3").get("/venues").status_code == 200
    assert client.get("/").status_code == 200  # the home page is not a list


def test_fee_quotes_are_limited_per_account_across_addresses(
    limited_app, session, car_park, make_user
):
    """QUOTE_RATE (here 2 a minute) counts per account as well as per address: a signed-in
    person moving to another address (mobile data, then Wi-Fi) keeps their count, and the
    page and the API share it. A visitor on a fresh address is not affected."""
    driver = make_user()
    headers = {**auth(session, driver), "Accept-Language": "en"}
    park = car_park.default.id
    quote = (
        f"/parking/quote?car_park={park}&entry_day-year=2026&entry_day-month=12&entry_day-day=1"
        "&entry_time=09:00&exit_day-year=2026&exit_day-month=12&exit_day-day=1&exit_time=11:00"
    )
    api = (
        f"/api/v1/parking/quote?carpark_id={park}"
        "&entry=2026-12-01T09:00:00%2B08:00&exit=2026-12-01T11:00:00%2B08:00"
    )
    first = from_address(limited_app.test_client(), "10.0.0.1")
    assert first.get(api, headers=headers).status_code == 200
    second = from_address(limited_app.test_client(), "10.0.0.2")
    assert second.get(api, headers=headers).status_code == 200
    assert_too_many_json(
        from_address(limited_app.test_client(), "10.0.0.3").get(api, headers=headers)
    )
    visitor = english(from_address(limited_app.test_client(), "10.0.0.4"))
    for _ in range(2):
        page = visitor.get(quote)
        assert page.status_code == 200 and "Fee: ¥" in page.get_data(as_text=True)
    assert_too_many_page(visitor.get(quote))


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, "PNG")
    return out.getvalue()


def test_photo_uploads_are_limited_on_any_upload_form(limited_app, session, make_venue, make_user):
    """UPLOAD_RATE (here 3 an hour) counts photos received by any form that takes files (the
    venue admin's photo page here): the fourth photo is refused with the 429 page and not
    stored, also from another address (the account's count); a form of the same person
    without a file is not counted."""
    from venues.models import VenuePhoto

    venue = make_venue()
    admin = make_user("venue_admin")
    client = english(limited_app.test_client())
    login(client, admin.username)
    url = f"/staff/venues/{venue.id}/photos"

    def upload(c):
        return submit(
            c,
            url,
            {"photo": (io.BytesIO(png(40, 30)), "hall.png"), "alt_zh": "大厅", "alt_en": "Hall"},
            content_type="multipart/form-data",
        )

    assert [upload(client).status_code for _ in range(3)] == [302, 302, 302]
    assert_too_many_page(upload(client))
    elsewhere = english(from_address(limited_app.test_client(), "10.7.7.7"))
    login(elsewhere, admin.username)
    assert_too_many_page(upload(elsewhere))
    assert db.session.scalar(select(func.count(VenuePhoto.id))) == 3
    # a form without a file is not an upload
    response = submit(client, f"/staff/venues/{venue.id}/photos", {"alt_zh": "大厅"})
    assert response.status_code == 200 and "Choose a photo to upload" in response.get_data(
        as_text=True
    )


def test_the_test_apps_default_limits_leave_ordinary_use_alone(
    client, session, make_venue, car_park, make_user, app, tmp_path
):
    """With the default limits (the `app` fixture's), a busy minute of one person is not
    refused: 40 list pages, 20 quotes, a few photos."""
    from venues.models import VenuePhoto

    app.config["UPLOAD_DIR"] = str(tmp_path)
    venue = make_venue()
    admin = make_user("venue_admin")
    english(client)
    for n in range(40):
        assert (
            client.get(
                ("/venues", "/parking", "/api/v1/carparks", "/api/v1/venues")[n % 4]
            ).status_code
            == 200
        )
    for _ in range(20):
        assert (
            client.get(
                f"/api/v1/parking/quote?carpark_id={car_park.default.id}&entry=2026-12-01T09:00:00%2B08:00"
                "&exit=2026-12-01T11:00:00%2B08:00"
            ).status_code
            == 200
        )
    login(client, admin.username)
    for _ in range(5):
        assert (
            submit(
                client,
                f"/staff/venues/{venue.id}/photos",
                {
                    "photo": (io.BytesIO(png(40, 30)), "hall.png"),
                    "alt_zh": "大厅",
                    "alt_en": "Hall",
                },
                content_type="multipart/form-data",
            ).status_code
            == 302
        )
    assert session.scalar(select(func.count(VenuePhoto.id))) == 5


# --- The pixel budget -----------------------------------------------------------------------


def test_the_default_pixel_budget_takes_six_phone_photos_but_not_six_huge_pngs(app):
    """UPLOAD_PIXEL_BUDGET (default 100 megapixels a request): six 12-megapixel phone photos
    fit; of six 6300 x 6300 PNGs (38 KB each, 11 s of a worker before) the third is refused
    from its header, before it is decoded, with a clear message on the field."""
    from app.errors import DomainError
    from app.uploads import charge_pixels

    assert app.config["UPLOAD_PIXEL_BUDGET"] == 100_000_000
    with app.test_request_context("/repairs/report", method="POST"):
        for _ in range(6):
            charge_pixels(4000 * 3000, "photos")
    with app.test_request_context("/repairs/report", method="POST"):
        charge_pixels(6300 * 6300, "photos")
        charge_pixels(6300 * 6300, "photos")
        with pytest.raises(DomainError) as refused:
            charge_pixels(6300 * 6300, "photos")
    assert refused.value.code == "pixel_budget" and refused.value.field == "photos"
    with app.test_request_context("/"):  # Chinese by default
        assert str(refused.value) == "这些照片的像素总数太多。请少传几张，或换小一些的照片。"
    with app.test_request_context("/repairs/report", method="POST"):  # a new request, a new budget
        charge_pixels(6300 * 6300, "photos")


def test_a_report_over_the_pixel_budget_is_refused_on_the_form_without_decoding(
    client, session, places, repair_company, make_user, app, tmp_path, monkeypatch
):
    """Through the repairs report page, with a budget of 10 megapixels: of four photos of about
    2000 x 2000, two fit and the third is refused on the photos field in words; neither it nor
    the fourth is ever decoded (the decoder records what it decodes), and no report is filed."""
    from PIL import ImageFile

    from repairs.models import Ticket

    app.config.update(UPLOAD_DIR=str(tmp_path), UPLOAD_PIXEL_BUDGET=10_000_000)
    resident = make_user(home_estate_id=places["estates"][0].id, home_building="5", home_room="301")
    login(english(client), resident.phone)
    decoded = []
    real_load = ImageFile.ImageFile.load

    def counting_load(self):
        decoded.append(self.size)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)
    photos = [(io.BytesIO(png(2000, 2000 + n)), f"p{n}.png") for n in range(4)]
    response = submit(
        client,
        "/repairs/report",
        {"category": "water", "description": "水管漏水", "photos": photos},
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "These photos have too many pixels together. Send fewer or smaller photos." in html
    assert 'href="#photos"' in html
    assert (
        set(decoded) == {(2000, 2000), (2000, 2001)} and session.scalar(select(Ticket.id)) is None
    )


# --- Proxies and production -----------------------------------------------------------------


@pytest.mark.parametrize("proxies", [0, 1])
def test_forwarded_addresses_count_only_behind_trusted_proxies(proxies, database_url):
    """With TRUSTED_PROXIES=0 (the default) X-Forwarded-For is ignored: a client varying it
    still has one count. With 1, the proxy's X-Forwarded-For is the client's address: two
    clients behind the proxy count separately, and the scheme follows X-Forwarded-Proto."""
    app = make_app(database_url, PUBLIC_LIST_RATE="2 per minute", TRUSTED_PROXIES=proxies)
    with app.app_context():
        client = app.test_client()
        statuses = [
            client.get(
                "/api/v1/carparks",
                headers={"X-Forwarded-For": f"203.0.113.{n}", "X-Forwarded-Proto": "https"},
            ).status_code
            for n in range(3)
        ]
        assert statuses == ([200, 200, 429] if proxies == 0 else [200, 200, 200])
        with app.test_request_context(
            "/",
            headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
            environ_base={"REMOTE_ADDR": "10.0.0.1"},
        ):
            from flask import request

            # test_request_context bypasses app.wsgi_app; the middleware is what the server calls
            assert app.wsgi_app.__class__.__name__ == ("ProxyFix" if proxies else "method")
            assert request.remote_addr == "10.0.0.1"
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize(
    "settings, refused",
    [
        ({"WEB_CONCURRENCY": 4}, True),
        ({"PORTAL_NODES": 2}, True),
        ({"WEB_CONCURRENCY": 1, "PORTAL_NODES": 1}, False),
        ({"WEB_CONCURRENCY": 4, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}, False),
    ],
)
def test_production_refuses_memory_rate_limits_with_several_processes(
    settings, refused, database_url
):
    """In production, `memory://` counters with more than one process (WEB_CONCURRENCY
    workers x PORTAL_NODES nodes) would let each count alone: create_app refuses to build
    the app and says what to set. One process, or a shared store, is fine."""
    config = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "PREFERRED_URL_SCHEME": "https",
        "SECRET_KEY": "p" * 40,
        "RATELIMIT_STORAGE_URI": "memory://",
        **settings,
    }
    if refused:
        with pytest.raises(
            RuntimeError, match="RATELIMIT_STORAGE_URI is memory:// but .* processes"
        ):
            create_app(config)
    else:
        assert create_app(config).config["WEB_CONCURRENCY"] == settings["WEB_CONCURRENCY"]


def test_production_from_the_environment_refuses_to_start(database_url):
    """The way it is run: PORTAL_ENV=production and WEB_CONCURRENCY=3 (gunicorn's worker
    count) with the default memory:// storage; building the app (`wsgi:app`) fails with the
    message, before serving anything."""
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "PORTAL_ENV": "production",
        "SECRET_KEY": "s" * 40,
        "DATABASE_URL": database_url,
        "WEB_CONCURRENCY": "3",
    }
    env.pop("RATELIMIT_STORAGE_URI", None)
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        env=env,
        capture_output=True,
        text=True,
        cwd=os.path.dirname(os.path.dirname(__file__)),
        timeout=120,
    )
    assert result.returncode != 0
    assert "RATELIMIT_STORAGE_URI is memory:// but 3 processes serve the app" in result.stderr
    env["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:6379/0"
    assert (
        subprocess.run(
            [sys.executable, "-c", "import wsgi"],
            env=env,
            capture_output=True,
            cwd=os.path.dirname(os.path.dirname(__file__)),
            timeout=120,
        ).returncode
        == 0
    )


# --- Staff reading personal data, on the record ---------------------------------------------


def audit_rows(session, action):
    from app.audit.models import AuditEntry

    session.rollback()
    return list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    )


def test_staff_opening_a_residents_repair_ticket_is_recorded(
    client, session, places, repair_company, make_user
):
    """The estate's property manager opening a resident's report leaves one audit entry per
    view (who, which ticket, whose); the reporter opening their own report leaves none."""
    from repairs.models import Category
    from repairs.services import tickets

    estate = places["estates"][0]
    resident = make_user(home_estate_id=estate.id, home_building="5", home_room="301")
    manager = make_user("property_manager", scope=estate)
    ticket = tickets.report(
        session, resident, resident, category=Category.WATER, description="水管漏水"
    )
    reference, resident_id, manager_id = ticket.reference, resident.id, manager.id
    login(client, resident.phone)
    assert client.get(f"/repairs/tickets/{reference}").status_code == 200
    assert audit_rows(session, "repairs.ticket_read") == []
    client.post("/logout", data={"csrf_token": csrf_token(client, "/profile")})
    login(client, manager.username)
    for _ in range(2):
        assert client.get(f"/repairs/tickets/{reference}").status_code == 200
    rows = audit_rows(session, "repairs.ticket_read")
    assert [
        (r.actor_id, r.object_type, r.details["resident_id"], r.details["reference"]) for r in rows
    ] == [(manager_id, "repair_ticket", resident_id, reference)] * 2
    assert all(r.on_behalf_of_id is None for r in rows)  # not shown as a helper acting for them


def test_exporting_a_venues_bookings_is_recorded(client, session, make_venue, make_user):
    """The day's bookings CSV (names and masked phones) is personal data: each export is an
    audit entry naming the venue and the day."""
    from app import clock
    from tests.conftest import slot_at
    from venues import current_settings
    from venues.services.booking import book_general

    venue = make_venue()
    resident = make_user()
    staff = make_user("venue_staff", scope=venue)
    book_general(
        session,
        resident,
        resident,
        slot_at(session, venue.spaces[0], 0, 10).id,
        1,
        settings=current_settings(),
    )
    venue_id, staff_id = venue.id, staff.id
    login(client, staff.username)
    day = clock.today().isoformat()
    response = client.get(f"/staff/venues/{venue_id}/bookings.csv?date={day}")
    assert response.status_code == 200 and resident.name in response.get_data(as_text=True)
    rows = audit_rows(session, "venues.bookings_exported")
    assert [(r.actor_id, r.object_type, r.object_id, r.details["day"]) for r in rows] == [
        (staff_id, "venue", str(venue_id), day)
    ]


def test_an_operator_viewing_the_days_plates_is_recorded(client, session, car_park, make_user):
    """The car park dashboard lists the day's gate events and reservations with their plates:
    each view is an audit entry for the car park."""
    park = car_park.default
    operator = make_user("carpark_operator", scope=park)
    park_id, operator_id = park.id, operator.id
    login(client, operator.username)
    assert client.get(f"/parking/operate/{park_id}").status_code == 200
    rows = audit_rows(session, "parking.plates_viewed")
    assert [(r.actor_id, r.object_type, r.object_id) for r in rows] == [
        (operator_id, "car_park", str(park_id))
    ]


# --- Retention ------------------------------------------------------------------------------


def test_the_sweep_anonymises_plates_past_retention_and_keeps_the_figures(
    app, session, car_park, make_user, frozen, runner, monkeypatch
):
    """Seven months ago: a stay (paid), another stay (still unpaid) and a reservation; today a
    stay. `flask sweep` replaces the old plates (gate events, the stays, the reservation, the
    paid charge) with anonymous markers, in batches, keeping fees, amounts and times; the
    unpaid charge keeps its plate while it is owed, and today's rows are untouched. A second
    sweep changes nothing; with a longer retention nothing would have changed."""
    from app import clock
    from parking.models import (
        Charge,
        ChargeStatus,
        GateDirection,
        GateEvent,
        ParkingReservation,
        ParkingSession,
    )
    from parking.services import gate, reservations, retention, vehicles
    from tests.conftest import verified_vehicle

    monkeypatch.setattr(retention, "BATCH", 2)  # several batches per table
    park = car_park.default
    driver = make_user()
    vehicles.register(session, driver, "沪C77777")
    frozen.move_to("2026-05-01T08:00:00+08:00")
    for plate in ("沪A12345", "沪B54321"):  # the fee is charged to a verified holder
        verified_vehicle(session, make_user(), plate)
    reservations.materialise_pool(session, park, parking_settings().pool_days)
    reservations.reserve(
        session,
        driver,
        driver,
        park,
        "沪C77777",
        clock.at(clock.today(), 10 * 60),
        settings=parking_settings(),
    )
    for plate, minutes in (("沪A12345", 0), ("沪B54321", 5)):
        gate.record_event(
            session,
            park,
            plate,
            GateDirection.ENTRY,
            clock.at(clock.today(), 9 * 60 + minutes),
            settings=parking_settings(),
        )
        gate.record_event(
            session,
            park,
            plate,
            GateDirection.EXIT,
            clock.at(clock.today(), 11 * 60 + minutes),
            settings=parking_settings(),
        )
    paid = session.scalar(select(Charge).where(Charge.plate == "沪A12345"))
    paid.status = ChargeStatus.PAID
    session.commit()
    frozen.move_to("2026-12-01T08:00:00+08:00")
    gate.record_event(
        session, park, "沪D99999", GateDirection.ENTRY, clock.now(), settings=parking_settings()
    )
    session.commit()

    app.config["PARKING_RETENTION_DAYS"] = 365
    assert "gate events anonymised: 0" in runner.invoke(args=["sweep"]).output
    app.config["PARKING_RETENTION_DAYS"] = 180
    output = runner.invoke(args=["sweep"]).output
    for line in (
        "gate events anonymised: 4",
        "parking stays anonymised: 2",
        "reservations anonymised: 1",
        "charges anonymised: 1",
    ):
        assert line in output, output
    session.rollback()
    events = session.scalars(select(GateEvent).order_by(GateEvent.id)).all()
    assert [e.plate for e in events] == [retention.anonymous_plate(e.id) for e in events[:4]] + [
        "沪D99999"
    ]
    assert all(retention.is_anonymous(e.plate) and len(e.plate) <= 10 for e in events[:4])
    stays = session.scalars(
        select(ParkingSession).where(ParkingSession.exited_at.is_not(None))
    ).all()
    assert len(stays) == 2 and all(retention.is_anonymous(s.plate) and s.fee_fen for s in stays)
    assert retention.is_anonymous(session.scalar(select(ParkingReservation.plate)))
    charges = {c.status: c for c in session.scalars(select(Charge))}
    assert (
        retention.is_anonymous(charges[ChargeStatus.PAID].plate)
        and charges[ChargeStatus.PAID].amount_fen > 0
    )
    assert charges[ChargeStatus.DUE].plate == "沪B54321"  # still owed
    assert all(
        " 0" in line
        for line in runner.invoke(args=["sweep"]).output.splitlines()
        if "anonymised" in line
    )


def test_anonymous_markers_are_never_plates_and_fit_the_column():
    from app.errors import DomainError
    from parking.services.plates import normalize_plate
    from parking.services.retention import anonymous_plate, is_anonymous

    assert (
        anonymous_plate(0) == "#0" and anonymous_plate(35) == "#z" and anonymous_plate(36) == "#10"
    )
    assert len(anonymous_plate(2**31 - 1)) <= 10 and is_anonymous(anonymous_plate(7))
    with pytest.raises(DomainError):
        normalize_plate(anonymous_plate(12345))


def test_a_contract_past_retention_loses_its_plate_and_its_plate_bearing_key(
    app, session, car_park, make_user, frozen
):
    """A sharing contract's plate is also in its engine booking's idempotency key
    (`share:<window>:<month>:<plate>`): once the month is past retention both are gone; a
    current contract keeps both."""
    from datetime import date

    from parking.models import CarParkKind, DayPattern, SharingContract
    from parking.services import retention, sharing, vehicles

    park = car_park(
        name="莘城苑共享车位", kind=CarParkKind.RESIDENTIAL, total=60, occupied=10, reservable=0
    )
    frozen.move_to("2026-04-01T08:00:00+08:00")
    window = sharing.create_window(
        session,
        park,
        name_zh="夜间",
        name_en="Nights",
        days=DayPattern.EVERY_DAY,
        start_minute=19 * 60,
        end_minute=7 * 60 + 30,
        spaces=10,
        monthly_fee_fen=20000,
    )
    old_driver, new_driver = make_user(), make_user()
    vehicles.register(session, old_driver, "沪A12345")
    vehicles.register(session, new_driver, "沪B54321")
    old = sharing.sign(
        session,
        old_driver,
        window,
        "沪A12345",
        date(2026, 4, 1),
        renew=False,
        idempotency_key=f"share:{window.id}:2026-04-01:沪A12345",
        settings=parking_settings(),
    )
    frozen.move_to("2026-12-01T08:00:00+08:00")
    new = sharing.sign(
        session,
        new_driver,
        window,
        "沪B54321",
        date(2026, 12, 1),
        renew=False,
        idempotency_key=f"share:{window.id}:2026-12-01:沪B54321",
        settings=parking_settings(),
    )
    old_id, new_id = old.id, new.id
    assert (
        retention.anonymise_old_plates(session, settings=parking_settings())["contracts anonymised"]
        == 1
    )
    session.rollback()
    old, new = session.get(SharingContract, old_id), session.get(SharingContract, new_id)
    assert old.plate == retention.anonymous_plate(old_id) and old.booking.idempotency_key is None
    assert new.plate == "沪B54321" and new.booking.idempotency_key.endswith("沪B54321")
