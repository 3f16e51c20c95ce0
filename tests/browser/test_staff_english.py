"""Issue 14's staff tools in English, end to end in a real browser (their Chinese walks are in
test_venue_pages, test_repairs_pages and test_parking_story): venue staff approve a request
from the queue their home page counts and check a booking in at the door by its short code; a
property manager works a report from the queue (acknowledge, a visit chosen with the native
date-time picker, mark fixed); a car-park operator reads the day; a town supervisor reads the
dashboard and the companies' rating. One test per flow, modes and widths alternating.

Every page is also read for words left in the wrong language: on an English page, every run of
Chinese is marked lang="zh-CN" and is data (a name, an address, a report's words: text found in
the database), never an untranslated label; the Chinese pages the flows pass through anyway (the
manager's ticket page) have no English words beyond the data and a few names that stay
English."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible
from tests.browser.test_stacked_tables import PHONE

# Every text node of the page, with the language it is marked with (its closest lang), and the
# document's title (titles stay text: test_lang_marking).
_TEXTS_JS = """
() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const out = [{text: document.title, lang: 'title'}];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!el || el.closest('script, style, template, textarea')) continue;  // a textarea: a value
    const marked = el.closest('[lang]');
    out.push({text: node.textContent, lang: marked ? marked.getAttribute('lang') : ''});
  }
  return out;
}
"""
CHINESE = re.compile(r"[\u3400-\u9fff]+")
ENGLISH_WORD = re.compile(r"[A-Za-z][A-Za-z'’]{2,}")
# Names that stay as they are on a Chinese page: the language option, formats, standards.
CHINESE_KEPT = {"中文"}  # the language option, in its own language
ENGLISH_KEPT = {"English", "CSV", "API", "Open311", "PDF", "SMS", "ICS", "JSON", "XML"}
# Tables whose words are people's and places' data, never the interface's.
NOT_DATA = ("notification", "outbox", "audit", "session", "api_token", "alembic", "readaloud")


def _data_words(live_server) -> str:
    """Every text value the database holds outside messages and logs: the haystack a marked
    run of Chinese (or an English word on a Chinese page) must be found in to be data."""

    def read(session):
        from sqlalchemy import String, Text, select

        from app.extensions import db

        values = []
        for table in db.metadata.sorted_tables:
            if table.name.startswith(NOT_DATA):
                continue
            columns = [c for c in table.columns if isinstance(c.type, (String, Text))]
            if columns:
                for row in session.execute(select(*columns)):
                    values.extend(v for v in row if v)
        return "\n".join(values)

    return live_server.run(read)


_haystack = {"words": ""}  # the data words last read; read again only when a word is missing


def wrong_language(page, live_server, locale: str) -> list[str]:
    """The words on the page in the other language that are not data (empty when none)."""
    texts = page.evaluate(_TEXTS_JS)
    problems = _wrong_words(page, texts, _haystack["words"], locale)
    if problems:
        _haystack["words"] = _data_words(live_server)
        problems = _wrong_words(page, texts, _haystack["words"], locale)
    return problems


def _wrong_words(page, texts, data: str, locale: str) -> list[str]:
    page_lang = page.evaluate("document.documentElement.lang")
    problems = [] if page_lang == locale.replace("_", "-") else [f"the page is in {page_lang}"]
    for item in texts:
        if locale == "en":
            for run in CHINESE.findall(item["text"]):
                if item["lang"] not in ("zh-CN", "title"):
                    problems.append(f"Chinese not marked lang=zh-CN: {run!r} in {item['text']!r}")
                elif run not in data and run not in CHINESE_KEPT:
                    problems.append(f"untranslated: {run!r} in {item['text']!r}")
        else:
            for word in ENGLISH_WORD.findall(item["text"]):
                if item["lang"] == "en" and item["text"].strip() == "English":
                    continue  # the language option, marked lang="en"
                if word not in ENGLISH_KEPT and word not in data:
                    problems.append(f"untranslated: {word!r} in {item['text']!r}")
    return sorted(set(problems))


def assert_one_language(page, live_server, locale="en"):
    problems = wrong_language(page, live_server, locale)
    assert not problems, f"{page.url} ({locale}):\n" + "\n".join(problems)


def test_venue_staff_approve_from_the_counted_queue_and_check_in_at_the_door(
    open_page, live_server
):
    resident = live_server.create_user()

    def bookings(session):
        """A booking for a slot starting in two minutes, and a request for the centre's room
        that needs approval."""
        from sqlalchemy import select

        from app import clock
        from app.accounts.services import find_by_login
        from tests.conftest import ensure_bucket
        from venues import current_settings
        from venues.models import Space, Venue
        from venues.services.booking import book_general, book_personalised

        user = find_by_login(session, resident)
        venue = session.scalar(select(Venue).where(Venue.name_zh == "莘庄文化体育活动中心"))
        start = clock.now().replace(second=0, microsecond=0) + timedelta(minutes=2)
        bucket = ensure_bucket(
            session, venue.spaces[0].resource_id, start, start + timedelta(minutes=60), 50
        )
        session.flush()
        booking = book_general(session, user, user, bucket.id, 1, settings=current_settings())
        room = session.scalar(
            select(Space).where(Space.venue_id == venue.id, Space.requires_approval.is_(True))
        )
        starts = clock.at(clock.today() + timedelta(days=5), 15 * 60)
        pending = book_personalised(
            session, user, user, room.id, starts, 1, settings=current_settings()
        )
        return venue.id, booking.reference, booking.door_code, pending.reference

    venue_id, reference, code, pending = live_server.run(bookings)
    staff = live_server.create_user("venue_staff", f"venue:{venue_id}")
    page = open_page("/", locale="en", user=staff)
    queue = page.locator("main a", has_text=re.compile(r"Bookings waiting for approval: \d+"))
    assert_one_language(page, live_server)
    queue.click()
    row = page.locator(f"#booking-{pending}")
    expect(row).to_be_visible()
    assert_one_language(page, live_server)
    row.locator("button[name=decision][value=approve]").click()
    assert f"Booking {pending} approved" in page.locator(".flash, .notice, main").first.inner_text()
    assert page.locator(f"#booking-{pending}").count() == 0
    assert_one_language(page, live_server)

    page.goto(f"{live_server.url}/staff/venues/{venue_id}/door")
    page.fill("#code", code)
    page.get_by_role("button", name="Check in").click()
    result = page.locator(".result").inner_text()
    assert "valid" in result.lower(), result
    assert_one_language(page, live_server)

    def states(session):
        from venues.services.booking import booking_for

        return booking_for(session, reference).status.value, booking_for(
            session, pending
        ).status.value

    assert live_server.run(states) == ("checked_in", "confirmed")


def _estate_with_company(live_server):
    from tests.browser.test_repairs_pages import _estate_with_company as find

    return find(live_server)


def _file(live_server, resident, description):
    def file(session):
        from app.accounts.services import find_by_login
        from repairs.models import Category
        from repairs.services.tickets import report

        user = find_by_login(session, resident)
        return report(session, user, user, category=Category.LIFT, description=description)

    return live_server.run(lambda session: file(session).reference)


def test_a_manager_works_a_report_from_the_queue_on_a_phone(open_page, live_server):
    estate_id, _town = _estate_with_company(live_server)
    resident = live_server.create_user(home_estate_id=estate_id, home_building="2", home_room="602")
    reference = _file(live_server, resident, "电梯按钮失灵")
    manager = live_server.create_user("property_manager", f"estate:{estate_id}")
    page = open_page("/repairs/queue", mode="elderly", locale="en", user=manager, width=PHONE)
    assert_one_language(page, live_server)
    page.locator("#queue a", has_text=reference).click()
    page.wait_for_url(f"**/repairs/tickets/{reference}")
    assert_one_language(page, live_server)
    page.locator("form:has(input[value=acknowledge]) button[type=submit]").click()
    assert page.locator("form:has(input[value=acknowledge])").count() == 0  # done, not offered
    # The visit with the native date-time picker; the technician is kept.
    assert page.locator("#visit-visit_at").get_attribute("type") == "datetime-local"
    page.fill("#visit-visit_at", "2030-12-02T14:30")
    page.fill("#visit-technician_name", "王师傅")
    page.locator("form:has(#visit-visit_at) button[type=submit]").click()
    timeline = page.locator(".timeline").inner_text()
    assert "王师傅" in timeline and "Mon 2 Dec 2030, 14:30" in timeline, timeline
    page.fill("#resolve-message", "Replaced the button panel.")
    page.locator("form:has(input[value=resolve]) button[type=submit]").click()
    assert (
        "Fixed" in page.locator("main").inner_text()
        or "Resolved" in page.locator("main").inner_text()
    )
    assert_one_language(page, live_server)
    assert_accessible(page, "elderly")

    def state(session):
        from repairs.services.tickets import get

        return get(session, reference).state.value

    assert live_server.run(state) == "resolved"
    # The page's title joins the district and the service with a space (it did not).
    assert page.title().endswith("District Citizen services"), page.title()
    # The same page for a colleague who reads Chinese has no English in it but the data.
    colleague = live_server.create_user("property_manager", f"estate:{estate_id}")
    page = open_page(f"/repairs/tickets/{reference}", locale="zh_CN", user=colleague)
    assert_one_language(page, live_server, "zh_CN")


def test_a_car_park_operator_reads_tomorrows_reservations(open_page, live_server):
    from tests.browser.test_parking_story import _ids

    park_id, _estate_park = _ids(live_server)
    driver = live_server.create_user()
    plate = "沪A8E014"

    def reserve(session):
        from app import clock
        from app.accounts.services import find_by_login
        from parking import current_settings
        from parking.models import CarPark
        from parking.services.reservations import reserve
        from tests.conftest import verified_vehicle

        user = find_by_login(session, driver)
        verified_vehicle(session, user, plate)
        arrive = clock.at(clock.today() + timedelta(days=1), 9 * 60)
        park = session.get(CarPark, park_id)
        return reserve(
            session, user, user, park, plate, arrive, settings=current_settings()
        ).booking.reference

    reference = live_server.run(reserve)
    operator = live_server.create_user("carpark_operator", f"carpark:{park_id}")
    page = open_page("/parking/operate", locale="en", user=operator)
    page.wait_for_url(f"**/parking/operate/{park_id}")
    row = page.locator("#tomorrow-table tr", has_text=reference)
    assert row.count() == 1 and "沪A8**14" in row.inner_text() and plate not in row.inner_text()
    assert (
        "Cars inside (from 0 to" in page.locator("#occupancy ~ figure, figure").first.inner_text()
    )
    assert_one_language(page, live_server)


def test_a_town_supervisor_follows_the_dashboard_to_the_report_and_the_rating(
    open_page, live_server
):
    estate_id, town_id = _estate_with_company(live_server)
    resident = live_server.create_user(home_estate_id=estate_id, home_building="4", home_room="401")
    reference = _file(live_server, resident, "楼道灯不亮")

    def company_name(session):
        from repairs.services.tickets import get

        return get(session, reference).company.name_en

    company = live_server.run(company_name)
    town = live_server.create_user("town_supervisor", f"town:{town_id}")
    page = open_page("/repairs/supervise", mode="elderly", locale="en", user=town, width=PHONE)
    assert_one_language(page, live_server)
    page.locator("main dl a").first.click()  # Open now: the count is a link to the reports
    assert page.locator("main a", has_text=reference).count() == 1
    assert_one_language(page, live_server)
    page.goto(f"{live_server.url}/repairs/supervise")
    page.locator("main a", has_text="Property company rating").click()
    assert company in page.locator("main").inner_text()
    assert_one_language(page, live_server)
