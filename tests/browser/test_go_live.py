"""Going live, end to end in a browser (issue 15's "Done means"), from an empty database on each
backend: the first administrator (made by `flask create-user`) adds a district in
/admin/places; imports its towns (a GBK CSV), estates (an XLSX, after a broken CSV is answered
row by row and cannot be saved), the property company managing them, the household register,
a car park and a deputy manager for the company (a staff file), each checked (a dry run) before
it is saved; invites the company's property manager in /admin/staff, for the whole company (not
an estate). A resident registers with an SMS code, gives a home there and reports a leak; the
invited manager signs in with the code from the development outbox, finds the report in the
queue and confirms the resident's home, both through the company's scope (confirming is the
default way a claim is verified: a district's register numbers are trusted only once
HOUSEHOLD_REGISTER_TRUSTS_PHONE is turned on).

Two walks: standard mode in Chinese on a desktop on SQLite, elderly mode in English on a phone
on PostgreSQL, each its own district (so they could share a database)."""

from __future__ import annotations

import csv
import io
import logging
import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app.places.models import Estate, Household
from repairs.models import PropertyCompany
from tests.browser.conftest import LiveServer
from tests.browser.test_signin_pages import outbox_code, submit_form
from tests.conftest import PASSWORD, PG_PORT_ENV, migrate_to_head

# Each walk on one backend (sqlite for the first, postgresql for the second, or whichever
# `--db` leaves), so both modes, both languages and both databases are walked in two runs
# rather than four.
RUNS = [
    ("standard", "zh_CN", (1280, 800), ("宝山区", "Baoshan District", "310113"), "1", "sqlite"),
    ("elderly", "en", (390, 844), ("嘉定区", "Jiading District", "310114"), "2", "postgresql"),
]
RUN_IDS = ["standard-zh-desktop", "elderly-en-phone"]


def pytest_generate_tests(metafunc):
    """Pair each walk with its backend (conftest's `backend` would make four runs)."""
    if "golive_backend" not in metafunc.fixturenames:
        return
    backends = metafunc.config.portal_backends
    params = []
    for (*walk, preferred), name in zip(RUNS, RUN_IDS, strict=True):
        backend = preferred if preferred in backends else backends[0]
        params.append(pytest.param(backend, *walk, id=f"{name}-{backend}"))
    metafunc.parametrize(
        "golive_backend, mode, locale, viewport, district, n", params, scope="module"
    )


TOWNS = {"310113": ("罗店镇", "Luodian Town"), "310114": ("南翔镇", "Nanxiang Town")}
TEXT = {
    "zh_CN": {
        "sent": "报修已提交",
        "pending": "等待物业核实",
        "confirm_home": "核实此住址",
        "company": "物业公司：%s",
    },
    "en": {
        "sent": "Report sent",
        "pending": "Waiting for your property manager to confirm",
        "confirm_home": "Confirm this home",
        "company": "Property company: %s",
    },
}


@pytest.fixture(scope="module")
def empty_portal(golive_backend, tmp_path_factory, request):
    """A live portal on a new, empty database of `golive_backend`: migrated, nothing seeded."""
    backend = golive_backend
    from app import create_app
    from tests import pg

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('golive') / 'portal.db'}"
    else:
        server = pg.PostgresServer(Path("/nonexistent"))
        server.port = int(os.environ[PG_PORT_ENV])
        worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
        url = server.create_database(f"golive_{worker}")
    migrate_to_head(url)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "TESTING": True,
            "UPLOAD_DIR": str(tmp_path_factory.mktemp("golive-uploads")),
            "SECRET_KEY": "go-live-secret",
            "RATELIMIT_ENABLED": False,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    yield LiveServer(app, f"http://127.0.0.1:{http.server_port}")
    http.shutdown()
    with app.app_context():
        from app.extensions import db

        db.engine.dispose()


def _csv(rows, encoding="utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode(encoding)


def _xlsx(rows) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _check(page, url, kind, name, data) -> dict:
    """Upload a file of `kind` (the dry run) and read the counts on its results page."""
    page.goto(url + "/admin/imports")
    page.check(f"input[name=kind][value={kind}]")
    page.set_input_files("#file", files=[{"name": name, "mimeType": "text/csv", "buffer": data}])
    page.click("#upload-form button[type=submit]")
    page.wait_for_load_state()
    counts = page.locator("#import-counts dd").all_inner_texts()
    return dict(zip(("error", "create", "update", "unchanged"), map(int, counts), strict=True))


def _save(page) -> None:
    """From a clean dry run: continue to the confirmation, save, and see it saved."""
    page.click("#import-continue")
    page.wait_for_load_state()
    page.click("#apply-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#import-saved").count() == 1, page.locator("main").inner_text()


def test_a_new_district_goes_live(browser, empty_portal, mode, locale, viewport, district, n):
    from click.testing import CliRunner

    from app.cli import create_user

    portal, text = empty_portal, TEXT[locale]
    url = portal.url
    zh, en, code = district
    town, town_en = TOWNS[code]
    estate, estate2 = f"{town[:2]}新苑", f"{town[:2]}花园"

    def context():
        width, height = viewport
        ctx = browser.new_context(viewport={"width": width, "height": height})
        ctx.set_default_timeout(10_000)
        ctx.add_cookies(
            [
                {"name": "display_mode", "value": mode, "url": url},
                {"name": "locale", "value": locale, "url": url},
            ]
        )
        return ctx.new_page()

    # The first administrator, as the README's Go live section makes them.
    admin_name = f"admin{n}"
    with portal.app.app_context():
        result = CliRunner().invoke(
            create_user, [admin_name, "--role", "administrator", "--password", PASSWORD]
        )
    assert result.exit_code == 0, result.output
    admin = context()
    admin.goto(url + "/login?with=password")
    admin.fill("#login", admin_name)
    admin.fill("#password", PASSWORD)
    submit_form(admin)

    # The district, in the places administration.
    admin.goto(url + "/admin/districts/new")
    assert admin.locator("#name_zh").count() == 1, admin.url + admin.locator("main").inner_text()
    admin.fill("#name_zh", zh)
    admin.fill("#name_en", en)
    admin.fill("#code", code)
    submit_form(admin)
    assert "/admin/districts/" in admin.url and code in admin.locator("main").inner_text()

    # Towns from a CSV saved by Excel in GBK.
    towns = _csv([["district", "name", "name_en"], [code, town, town_en]], "gbk")
    assert _check(admin, url, "towns", "towns.csv", towns) == dict(
        error=0, create=1, update=0, unchanged=0
    )
    _save(admin)

    # A broken estates file: answered row by row, and nothing can be saved.
    head = ["district", "town", "name", "address", "latitude", "longitude"]
    broken = _csv(
        [
            head,
            [zh, town, estate, "一路1弄", "31.35", "121.35"],
            [zh, "没有这个镇", "别处苑", "二路2弄", "", ""],
            [zh, town, "坐标苑", "三路3弄", "121.35", "31.35"],
            [zh, town, estate, "四路4弄", "31.35", "121.35"],
        ]
    )
    assert _check(admin, url, "estates", "broken.csv", broken)["error"] == 3
    errors = admin.locator("#import-rows tr.import-error").all_inner_texts()
    assert [e.split()[0] for e in errors] == ["3", "4", "5"], errors  # every bad line, in order
    assert "没有这个镇" in errors[0] and "latitude" in errors[1] and "address" in errors[2]
    assert admin.locator("#import-continue").count() == 0

    # The estates as XLSX, the company managing them, the household register, a car park.
    estates = _xlsx(
        [
            [*head, "name_en"],
            [zh, town, estate, "一路1弄", 31.35, 121.35, f"{town_en} New Garden"],
            [zh, town, estate2, "五路5弄", 31.36, 121.36, None],
        ]
    )
    assert _check(admin, url, "estates", "estates.xlsx", estates)["create"] == 2
    _save(admin)
    company = f"{zh}物业{n}"
    companies = _csv(
        [
            ["name", "name_en", "district", "town", "estate"],
            [company, f"{en} Property", zh, town, estate],
            [company, f"{en} Property", zh, town, estate2],
        ]
    )
    checked = _check(admin, url, "companies", "companies.csv", companies)
    assert checked == dict(error=0, create=1, update=1, unchanged=0)  # the second row: an estate
    _save(admin)
    register = [["district", "town", "estate", "building", "unit", "room"]]
    register += [[zh, town, estate, "8", "1", f"{room}01"] for room in range(1, 6)]
    assert _check(admin, url, "households", "register.csv", _csv(register))["create"] == 5
    _save(admin)
    carparks = _csv(
        [
            ["district", "town", "name", "kind", "address", "latitude", "longitude"]
            + ["total_spaces", "reservable_spaces"],
            [zh, town, f"{town}公共停车场", "public", "一路2号", "31.351", "121.352", "120", "20"],
        ]
    )
    assert _check(admin, url, "carparks", "carparks.csv", carparks)["create"] == 1
    _save(admin)
    # A deputy manager for the whole company, from a staff file (scope_kind "company").
    deputy_phone = f"1375700000{n}"
    staff = _csv(
        [
            ["phone", "name", "role", "scope_kind", "scope_name"],
            [deputy_phone, f"{zh}副经理", "property_manager", "company", company],
        ]
    )
    assert _check(admin, url, "staff", "staff.csv", staff) == dict(
        error=0, create=1, update=0, unchanged=0
    )
    _save(admin)

    # The company's property manager, invited by mobile number for the whole company: the place
    # step lists the estates and the companies ("kind:id"); held for the company, the role covers
    # every estate it manages today, and the reports made to it.
    manager_phone = f"1375800000{n}"
    admin.goto(url + "/admin/staff/invite")
    admin.fill("#phone", manager_phone)
    admin.fill("#name", f"{zh}经理")
    admin.select_option("#role", "property_manager")
    submit_form(admin)
    admin.fill("#q", company)
    admin.click("button[name=action][value=filter]")
    admin.wait_for_load_state()
    estate_id, company_id = portal.run(
        lambda s: (
            s.scalar(select(Estate.id).where(Estate.name_zh == estate)),
            s.scalar(select(PropertyCompany.id).where(PropertyCompany.name_zh == company)),
        )
    )
    option = f"company:{company_id}"
    if admin.locator("select#scope").count():
        label = admin.locator(f'#scope option[value="{option}"]').inner_text()
        admin.select_option("#scope", option)
    else:
        radio = admin.locator(f'input[name=scope][value="{option}"]')
        label = admin.locator(f'label[for="{radio.get_attribute("id")}"]').inner_text()
        radio.check()
    company_name = company if locale == "zh_CN" else f"{en} Property"
    assert label == text["company"] % company_name, label
    admin.click("button[name=action][value=save]")
    admin.wait_for_load_state()
    assert manager_phone in admin.locator("main").inner_text()

    # A resident of the district registers with an SMS code, gives their home, reports a leak.
    resident_phone = f"1375900000{n}"
    resident = context()
    resident.goto(url + "/register")
    resident.fill("#phone", resident_phone)
    submit_form(resident)
    resident.fill("#code", outbox_code(portal, resident_phone))
    resident.fill("#name", "新居民")
    resident.check("#consent")
    submit_form(resident)
    assert resident.url.endswith("/profile")
    resident.select_option("#home_estate_id", str(estate_id))
    resident.fill("#home_building", "8")
    resident.fill("#home_unit", "1")
    resident.fill("#home_room", "301")
    resident.locator("main form button[type=submit]").click()
    resident.wait_for_load_state()
    assert text["pending"] in resident.locator("#home-status").inner_text()
    resident.goto(url + "/repairs/report")
    resident.locator("input[name=category][value=water]").check()
    resident.fill("#description", f"{estate}8号楼厨房水管漏水")
    resident.locator("main form[enctype] button[type=submit]").click()
    resident.wait_for_load_state()
    assert text["sent"] in resident.locator(".panel").inner_text()
    reference = resident.url.split("/tickets/")[1].split("?")[0]

    # The invited company manager signs in with a code, finds the report (made to the company,
    # about one of its estates) in the queue, and confirms the home there.
    manager = context()
    manager.goto(url + "/login")
    manager.fill("#phone", manager_phone)
    submit_form(manager)
    manager.fill("#code", outbox_code(portal, manager_phone))
    submit_form(manager)
    manager.goto(url + "/repairs/queue")
    manager.locator(f"main a[href*='/repairs/tickets/{reference}']").first.click()
    manager.wait_for_load_state()
    manager.get_by_role("button", name=text["confirm_home"]).click()
    manager.wait_for_load_state()
    assert manager.locator("#home-claim").count() == 0

    def outcome(session):
        from app.accounts.services import find_by_login
        from app.places.services import current_claim
        from repairs.models import Ticket

        ticket = session.scalar(select(Ticket).where(Ticket.reference == reference))
        claim = current_claim(session, find_by_login(session, resident_phone))
        owner = session.get(PropertyCompany, ticket.company_id)
        homes = session.scalar(
            select(func.count(Household.id)).where(Household.estate_id == estate_id)
        )
        held = [
            [(a.scope_kind, a.scope_id) for a in find_by_login(session, phone).roles]
            for phone in (manager_phone, deputy_phone)
        ]
        return ticket.estate_id, owner.name_zh, claim.status.value, homes, held

    # The report is the new estate's, with its imported company; the claim is verified and was
    # matched to a row of the imported register (no household was added for it); the manager
    # who did it holds the role for the company alone, not for the estate, as does the deputy
    # imported from the staff file.
    company_role = [("company", company_id)]
    assert portal.run(outcome) == (estate_id, company, "verified", 5, [company_role] * 2)
    for page in (admin, resident, manager):
        page.context.close()
