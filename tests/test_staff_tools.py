"""Staff tools that fit the work (issue 14, part 4): the manager's ticket page (one form per
action open now, a date-time picker for the visit, nothing typed dropped, the resident's number
to call), the phone-width queue and rating, the venue approval queue and crowd count, the
operator's dashboard."""

import re

import pytest
import time_machine
from sqlalchemy import select

from app import clock
from app.notifications.models import Notification
from repairs.models import Category, State
from repairs.services import access, tickets
from tests.conftest import csrf_token, login


@pytest.fixture
def world(session, places, repair_company, make_user, frozen):
    estate = places["estates"][0]
    resident = make_user(home_estate_id=estate.id, home_building="5", home_room="301")
    ticket = tickets.report(
        session, resident, resident, category=Category.WATER, description="厨房水管漏水"
    )
    return {
        "resident": resident,
        "manager": make_user("property_manager", scope=estate),
        "town": make_user("town_supervisor", scope=places["towns"][0]),
        "ticket": ticket,
        "url": f"/repairs/tickets/{ticket.reference}",
    }


def _act(client, url, action, **fields):
    token = csrf_token(client, url)
    data = {f"{action}-csrf_token": token, "action": action}
    data.update({f"{action}-{name}": value for name, value in fields.items()})
    return client.post(url + "/act", data=data)


def _forms(page: str) -> list[str]:
    return re.findall(r'name="action" value="(\w+)"', page)


def test_one_form_per_action_open_now(client, session, world):
    login(client, world["manager"].username)
    page = client.get(world["url"]).get_data(as_text=True)
    assert _forms(page) == [
        "acknowledge", "reply", "assign", "visit", "start", "resolve", "duplicate"
    ]  # fmt: skip
    # each form carries its own fields only: the picker is in the visit's form alone
    assert page.count('type="datetime-local"') == 1 and 'id="visit-visit_at"' in page
    tickets.act(session, world["manager"], world["ticket"], "start")
    page = client.get(world["url"]).get_data(as_text=True)
    assert _forms(page) == ["reply", "assign", "visit", "resolve"]
    assert all(tickets.manager_may(world["ticket"], a) for a in _forms(page))


@pytest.mark.parametrize("typed", ["2026-12-02T14:30", "2026-12-02 14:30"])
def test_a_visit_keeps_the_technician_and_both_time_forms_are_accepted(
    client, session, world, typed
):
    login(client, world["manager"].username)
    response = _act(
        client,
        world["url"],
        "visit",
        visit_at=typed,
        technician_name="王师傅",
        technician_phone="13911112222",
    )
    assert response.status_code == 302
    ticket = world["ticket"]
    session.refresh(ticket)
    assert ticket.technician_name == "王师傅" and ticket.technician_phone == "13911112222"
    assert clock.local(ticket.visit_at).strftime("%Y-%m-%d %H:%M") == "2026-12-02 14:30"
    resident = client.application.test_client()
    login(resident, world["resident"].phone)
    page = resident.get(world["url"]).get_data(as_text=True)
    # On the timeline and in the inbox, the visit's time in the reader's human format.
    assert "：12月2日（周三）14:30 王师傅" in page and "2026-12-02" not in page
    assert "13911112222" in page  # the resident sees whom to expect and can call them
    assert "水管和下水：厨房水管漏水" in page  # Chinese text joined with the Chinese colon
    notice = session.scalars(
        select(Notification)
        .where(Notification.user_id == world["resident"].id)
        .order_by(Notification.id.desc())
    ).first()
    assert notice.params["body"] == "王师傅 13911112222"
    inbox = resident.get("/inbox").get_data(as_text=True)
    assert "12月2日（周三）14:30" in inbox and "2026-12-02" not in inbox
    world["resident"].locale = "en"
    session.commit()
    inbox = resident.get("/inbox").get_data(as_text=True)
    assert "scheduled for Wed 2 Dec, 14:30. <span" in inbox and "2026-12-02" not in inbox
    # the visit form offers the technician again next time
    manager_page = client.get(world["url"]).get_data(as_text=True)
    # A visit is the response: the report is acknowledged, and Acknowledge is not offered.
    assert ticket.state == State.ACKNOWLEDGED and "acknowledge" not in _forms(manager_page)
    assert 'id="visit-technician_name"' in manager_page and 'value="王师傅"' in manager_page


def test_a_refused_action_is_shown_on_its_form_with_the_answers_kept(client, session, world):
    login(client, world["manager"].username)
    response = _act(client, world["url"], "visit", visit_at="明天下午", technician_name="李师傅")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<title>错误：" in page
    assert 'href="#visit-visit_at"' in page and 'value="李师傅"' in page
    response = _act(client, world["url"], "assign", technician_phone="13911112222")
    page = response.get_data(as_text=True)
    assert 'href="#assign-technician_name"' in page and 'value="13911112222"' in page
    response = _act(client, world["url"], "visit", visit_at="2026-11-30T10:00")
    assert 'href="#visit-visit_at"' in response.get_data(as_text=True)  # in the past
    session.refresh(world["ticket"])
    assert world["ticket"].state == State.SUBMITTED and world["ticket"].visit_at is None


def test_the_estate_manager_calls_the_resident_while_the_report_is_open(client, session, world):
    phone = world["resident"].phone
    login(client, world["manager"].username)
    page = client.get(world["url"]).get_data(as_text=True)
    assert f'href="tel:{phone}"' in page
    supervisor = client.application.test_client()
    login(supervisor, world["town"].username)
    page = supervisor.get(world["url"]).get_data(as_text=True)
    assert phone not in page and phone[:3] + "****" + phone[-4:] in page
    assert not access.may_call_resident(world["town"], world["ticket"])
    tickets.act(session, world["manager"], world["ticket"], "resolve")
    page = client.get(world["url"]).get_data(as_text=True)
    assert f"tel:{phone}" not in page and phone not in page


def test_queue_and_rating_are_cards_with_whole_names(client, session, world, make_user):
    login(client, world["manager"].username)
    queue = client.get("/repairs/queue").get_data(as_text=True)
    assert 'class="table table-stack" id="queue"' in queue
    assert queue.count('data-label="') == 4  # deadline, report, state, the Acknowledge button
    tickets.act(session, world["manager"], world["ticket"], "acknowledge")
    queue = client.get("/repairs/queue").get_data(as_text=True)
    assert 'class="stack-empty"' in queue  # no label over an empty action cell
    district = client.application.test_client()
    login(district, make_user("district_supervisor").username)
    world["ticket"].company.name_zh = "上海万科物业服务有限公司闵行分公司"
    session.commit()
    page = district.get("/repairs/rating?month=2026-12").get_data(as_text=True)
    assert '<span class="bar-name">上海万科物业服务有限公司闵行分公司</span>' in page
    assert '<span class="bar-value">100%</span>' in page  # acknowledged at once
    assert 'data-label="报修单数"' in page


# --- Venue staff -------------------------------------------------------------------------------


def test_people_let_in_early_for_the_next_slot_are_in_the_venue(session, make_venue, make_user):
    from datetime import timedelta

    from tests.conftest import slot_at
    from venues import current_settings
    from venues.services import booking as svc
    from venues.services import door

    venue = make_venue(capacity=60)
    staff, people = make_user("venue_staff", scope=venue), [make_user(), make_user()]
    ten = slot_at(session, venue.spaces[0], 0, 10)  # frozen at 09:00: the 09:00 slot runs
    booked = [
        svc.book_general(session, p, p, ten.id, 1, settings=current_settings()) for p in people
    ]
    for booking in booked:
        assert door.check_in(session, venue, booking.door_code, staff).ok  # an hour early
    [level] = door.crowd_levels(session, [venue])
    assert (level.inside_now, level.capacity_now, level.checked_in_today) == (2, 60, 2)
    with time_machine.travel(ten.ends_at + timedelta(minutes=1), tick=False):
        [level] = door.crowd_levels(session, [venue])
    assert level.inside_now == 0 and level.checked_in_today == 2  # their slot is over


@pytest.fixture
def approvals(session, make_venue, make_user, frozen):
    from tests.conftest import slot_at
    from venues import current_settings
    from venues.services import booking as svc

    venue = make_venue(approval=True)
    other = make_venue(name="别的馆")
    staff = make_user("venue_staff", scope=venue)
    elsewhere = make_user("venue_staff", scope=other)
    resident = make_user()
    court = venue.spaces[1]
    start = slot_at(session, court, 1, 10).starts_at
    booking = svc.book_personalised(
        session, resident, resident, court.id, start, 1, settings=current_settings()
    )
    return {
        "venue": venue,
        "staff": staff,
        "elsewhere": elsewhere,
        "resident": resident,
        "booking": booking,
        "url": f"/staff/venues/{venue.id}/approvals",
    }


def test_a_booking_request_reaches_the_venue_staff_and_the_home_page_counts_it(
    client, session, approvals
):
    from app.notifications.kinds import Category, category_of

    booking = approvals["booking"]
    [note] = session.scalars(
        select(Notification).where(Notification.kind == "venue.approval_request")
    ).all()
    assert note.user_id == approvals["staff"].id and note.params["ref"] == booking.reference
    assert note.link == approvals["url"] and "code" not in note.params
    assert category_of("venue.approval_request") == Category.VENUE_REQUESTS
    login(client, approvals["staff"].username)
    home = client.get("/").get_data(as_text=True)
    assert f'href="{approvals["url"]}"' in home and "待审核的预约：1" in home
    page = client.get(approvals["url"]).get_data(as_text=True)
    assert booking.reference in page and booking.door_code not in page
    elsewhere = client.application.test_client()
    login(elsewhere, approvals["elsewhere"].username)
    assert elsewhere.get(approvals["url"]).status_code == 403
    assert "待审核" not in elsewhere.get("/").get_data(as_text=True)  # no approval spaces


def test_declining_needs_a_reason_and_approving_sends_the_code(
    client, session, approvals, make_user
):
    from bookings.models import BookingStatus

    booking, url = approvals["booking"], approvals["url"]
    login(client, approvals["staff"].username)
    token = csrf_token(client, url)
    prefix = f"b{booking.id}"
    response = client.post(
        f"{url}/{booking.reference}", data={f"{prefix}-csrf_token": token, "decision": "reject"}
    )
    page = response.get_data(as_text=True)
    assert "<title>错误：" in page and f'href="#{prefix}-reason"' in page
    session.refresh(booking)
    assert booking.status == BookingStatus.PENDING
    response = client.post(
        f"{url}/{booking.reference}",
        data={f"{prefix}-csrf_token": token, "decision": "reject", f"{prefix}-reason": "场地维修"},
    )
    assert response.status_code == 302
    session.refresh(booking)
    assert booking.status == BookingStatus.REJECTED
    told = session.scalars(
        select(Notification).where(
            Notification.user_id == approvals["resident"].id, Notification.kind == "venue.decision"
        )
    ).one()
    assert told.params["reason"] == "场地维修"
    assert "没有待审核的预约" in client.get(url).get_data(as_text=True)


# --- Car-park operator ---------------------------------------------------------------------------


def test_the_dashboard_lists_tomorrows_reservations_and_explains_its_chart(
    client, session, car_park, make_user, frozen
):
    from datetime import timedelta

    from parking.services import reservations, vehicles
    from tests.conftest import parking_settings

    park = car_park.default
    user = make_user("carpark_operator", scope=park, locale="en")
    tomorrow = clock.today() + timedelta(days=1)
    login(client, user.username)
    html = client.get(f"/parking/operate/{park.id}").get_data(as_text=True)
    assert re.search(r"<p>No reservations for [^<]*2[^<]* yet\.</p>", html)  # not "0 ... to come"
    kept, cancelled = make_user(), make_user()
    vehicles.register(session, kept, "沪A12345")
    vehicles.register(session, cancelled, "沪B67890")
    made = {
        plate: reservations.reserve(
            session, who, who, park, plate, clock.at(tomorrow, minutes), settings=parking_settings()
        )
        for who, plate, minutes in ((kept, "沪A12345", 8 * 60), (cancelled, "沪B67890", 9 * 60))
    }
    reservations.cancel(session, made["沪B67890"], cancelled, settings=parking_settings())
    html = client.get(f"/parking/operate/{park.id}").get_data(as_text=True)
    tomorrow_part = html[html.index('id="tomorrow"') :]
    assert re.search(r"<p>1 reservation for [^<]*2[^<]* still to come\.</p>", tomorrow_part)
    assert "**45" in tomorrow_part and made["沪A12345"].booking.reference in tomorrow_part
    assert "沪A12345" not in html and "**90" not in tomorrow_part  # masked; cancelled left out
    assert "Cars inside (from 0 to 100)" in html and "Across: the hours of today" in html
    assert "Red dashed line: all 100 spaces taken" in html


def test_reads_that_show_the_full_number_are_on_the_record(client, session, world):
    from app.audit.models import AuditEntry

    login(client, world["manager"].username)
    client.get(world["url"])
    supervisor = client.application.test_client()
    login(supervisor, world["town"].username)
    supervisor.get(world["url"])
    reads = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "repairs.ticket_read").order_by(AuditEntry.id)
    ).all()
    assert [(e.actor_id, e.details["phone_shown"]) for e in reads] == [
        (world["manager"].id, True),
        (world["town"].id, False),
    ]


def test_marking_a_duplicate_asks_first(client, session, world):
    first = tickets.report(
        session,
        world["resident"],
        world["resident"],
        category=Category.WATER,
        description="厨房水管又漏水",
    )
    login(client, world["manager"].username)
    response = _act(client, world["url"], "duplicate", duplicate_of=first.reference.lower())
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "不能撤销" in page and 'name="confirmed"' in page
    session.refresh(world["ticket"])
    assert world["ticket"].state == State.SUBMITTED  # nothing done yet
    token = csrf_token(client, world["url"])
    response = client.post(
        world["url"] + "/act",
        data={
            "duplicate-csrf_token": token,
            "action": "duplicate",
            "confirmed": "1",
            "duplicate-duplicate_of": first.reference,
        },
    )
    assert response.status_code == 302
    session.refresh(world["ticket"])
    assert world["ticket"].state == State.DUPLICATE and world["ticket"].duplicate_of_id == first.id
