"""物业百事通 through its pages: the issue's story, dashboards, rating export, who may see what."""

import io
import re
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from repairs.models import Category, State, Ticket, TicketPhoto
from repairs.services import sweep
from tests.conftest import login, submit


@pytest.fixture
def world(session, places, repair_company, make_user, frozen, app, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path)
    estate = places["estates"][0]
    return {
        "resident": make_user(home_estate_id=estate.id, home_building="5", home_room="301"),
        "manager": make_user("property_manager", scope=estate),
        "town": make_user("town_supervisor", scope=places["towns"][0]),
        "other_town": make_user("town_supervisor", scope=places["towns"][1]),
        "district": make_user("district_supervisor"),
        "tmp": tmp_path,
    }


def english(client):
    client.set_cookie("locale", "en")
    return client


def photo_bytes():
    image = Image.new("RGB", (80, 60), "blue")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    buf = io.BytesIO()
    image.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def report(client, **fields):
    html = client.get("/repairs/report").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    data = {"csrf_token": token, "category": "water", "description": "厨房水管漏水", **fields}
    return client.post("/repairs/report", data=data, content_type="multipart/form-data")


def test_leaking_pipe_with_photo_acknowledged_in_time(client, session, world, frozen):
    login(english(client), world["resident"].phone)
    response = report(client, photos=[(io.BytesIO(photo_bytes()), "pipe.jpg")])
    assert response.status_code == 302
    ticket = session.scalar(select(Ticket))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Report sent" in page and ticket.reference in page and "30 minutes left" in page
    [photo] = session.scalars(select(TicketPhoto)).all()
    stored = (world["tmp"] / "repairs" / photo.filename).read_bytes()
    assert b"PhoneMaker" not in stored and Image.open(io.BytesIO(stored)).getexif() == {}
    assert client.get(f"/repairs/photos/{photo.thumb}").status_code == 200
    frozen.shift(timedelta(minutes=12))
    manager = english(client.application.test_client())
    login(manager, world["manager"].username)
    queue = manager.get("/repairs/queue").get_data(as_text=True)
    assert ticket.reference in queue and "18 minutes left" in queue
    submit(
        manager,
        f"/repairs/tickets/{ticket.reference}/act",
        {"action": "acknowledge", "from": "queue"},
        form_url="/repairs/queue",
    )
    session.refresh(ticket)
    assert (
        ticket.state == State.ACKNOWLEDGED
        and ticket.responded_at - ticket.submitted_at == timedelta(minutes=12)
    )
    assert "answered in 12 minutes" in client.get(f"/repairs/tickets/{ticket.reference}").get_data(
        as_text=True
    )
    # A stranger sees neither the ticket nor its photos.
    stranger = client.application.test_client()
    login(stranger, world["other_town"].username)
    assert stranger.get(f"/repairs/tickets/{ticket.reference}").status_code == 404
    assert stranger.get(f"/repairs/photos/{photo.filename}").status_code == 404


def test_town_supervisor_sees_a_ticket_escalate(client, session, world, frozen):
    login(client, world["resident"].phone)
    report(client, description="电梯坏了", category="lift")
    ticket = session.scalar(select(Ticket))
    supervisor = english(client.application.test_client())
    login(supervisor, world["town"].username)
    assert "Breached now" in supervisor.get("/repairs/supervise").get_data(as_text=True)
    frozen.shift(timedelta(minutes=31))
    sweep.sweep(session)
    dashboard = supervisor.get("/repairs/supervise").get_data(as_text=True)
    assert re.search(r'flag=breached">1<', dashboard)
    assert ticket.reference in supervisor.get("/repairs/supervise/tickets?flag=breached").get_data(
        as_text=True
    )
    inbox = supervisor.get("/inbox").get_data(as_text=True)
    assert ticket.reference in inbox
    page = supervisor.get(f"/repairs/tickets/{ticket.reference}").get_data(as_text=True)
    assert "Escalated to the company and the town" in page
    submit(supervisor, f"/repairs/tickets/{ticket.reference}/note", {"message": "请物业立即处理"})
    assert "请物业立即处理" in supervisor.get(f"/repairs/tickets/{ticket.reference}").get_data(
        as_text=True
    )
    assert "请物业立即处理" not in client.get(f"/repairs/tickets/{ticket.reference}").get_data(
        as_text=True
    )


def test_rating_page_chart_and_csv(client, session, world, frozen):
    login(client, world["resident"].phone)
    report(client)
    login(english(client.application.test_client()), world["district"].username)
    district = client.application.test_client()
    login(english(district), world["district"].username)
    page = district.get("/repairs/rating?month=2026-12").get_data(as_text=True)
    assert 'class="bar-list"' in page and '<span class="bar-name">Test Property</span>' in page
    csv_text = district.get("/repairs/rating.csv?month=2026-12").get_data(as_text=True)
    assert csv_text.splitlines()[1].startswith("1,Test Property,1,")


def test_a_kept_rating_names_companies_in_each_readers_language(client, session, world, app):
    """The rating kept for a minute serves every reader: the company's name follows the
    reader's language, not the language of whoever asked first."""
    from repairs.services.rating import RatingCache

    login(client, world["resident"].phone)
    report(client)
    app.extensions["repairs_rating_cache"] = RatingCache(60)
    chinese = client.application.test_client()
    login(chinese, world["district"].username)
    assert "测试物业" in chinese.get("/repairs/rating?month=2026-12").get_data(as_text=True)
    reader = english(client.application.test_client())
    login(reader, world["district"].username)
    page = reader.get("/repairs/rating?month=2026-12").get_data(as_text=True)
    assert "Test Property" in page and "测试物业" not in page


def test_managers_and_residents_cannot_supervise(client, world):
    login(client, world["manager"].username)
    assert client.get("/repairs/supervise").status_code == 403
    resident = client.application.test_client()
    login(resident, world["resident"].phone)
    assert resident.get("/repairs/queue").status_code == 403
    assert resident.get("/repairs/rating").status_code == 403


def test_report_errors_keep_answers(client, world):
    login(client, world["resident"].phone)
    html = report(client, description="", preferred_time="周末").get_data(as_text=True)
    assert "<title>错误：" in html and 'value="周末"' in html and 'href="#description"' in html
    html = report(
        client, photos=[(io.BytesIO(b"not an image"), "x.jpg")], description="漏水了"
    ).get_data(as_text=True)
    assert 'href="#photos"' in html and "漏水了" in html


def test_an_estate_without_a_company_names_its_districts_hotline(
    app, client, session, world, places
):
    from repairs.models import EstateManagement

    app.config["PORTAL_HOTLINE"] = "021-12345"  # only where the district has none
    places["estates"][0].town.district.hotline = "021-96000"
    session.delete(
        session.scalar(select(EstateManagement).filter_by(estate_id=places["estates"][0].id))
    )
    login(english(client), world["resident"].phone)
    html = report(client).get_data(as_text=True)
    assert "no property company on record. Call 021-96000." in html


def test_the_ticket_page_and_queue_offer_what_the_services_accept(client, session, world):
    """The forms shown come from the services' named decisions (resident_may, can_respond,
    manager_may), not from states re-listed in the templates."""
    from repairs.services import tickets

    resident, manager = world["resident"], world["manager"]
    ticket = tickets.report(
        session, resident, resident, category=Category.WATER, description="厨房水管漏水"
    )
    login(english(client), resident.phone)
    staff = english(client.application.test_client())
    login(staff, manager.username)
    forms = {
        "confirm": "Yes, it is fixed",
        "reopen": "Reopen the report",
        "rate": "Send rating",
        "add_info": "Add information",
        "cancel": "Cancel this report",
    }

    def offered(page: str) -> set[str]:
        return {action for action, label in forms.items() if label in page}

    url = f"/repairs/tickets/{ticket.reference}"
    assert offered(client.get(url).get_data(as_text=True)) == {"add_info", "cancel"}
    assert "Respond" in staff.get(url).get_data(as_text=True)
    assert f'Acknowledge<span class="visually-hidden"> {ticket.reference}' in staff.get(
        "/repairs/queue"
    ).get_data(as_text=True)
    assert 'value="acknowledge"' in staff.get(url).get_data(as_text=True)
    tickets.act(session, manager, ticket, "acknowledge")
    assert f"> {ticket.reference}</span>" not in staff.get("/repairs/queue").get_data(as_text=True)
    page = staff.get(url).get_data(as_text=True)  # the button goes with the action (manager_may)
    assert 'value="acknowledge"' not in page and 'value="reply"' in page
    tickets.act(session, manager, ticket, "resolve")
    assert offered(client.get(url).get_data(as_text=True)) == {"confirm", "reopen", "rate"}
    assert ">Respond<" not in staff.get(url).get_data(as_text=True)
    tickets.confirm_fixed(session, resident, ticket)
    assert offered(client.get(url).get_data(as_text=True)) == {"reopen", "rate"}


def test_a_manager_of_another_estate_of_the_company_reads_the_ticket(
    client, session, world, places, make_user
):
    """The company's managers are alerted at a breach: the link opens, read-only."""
    from repairs.services import tickets

    resident = world["resident"]
    ticket = tickets.report(
        session, resident, resident, category=Category.WATER, description="厨房水管漏水"
    )
    colleague = make_user("property_manager", scope=places["estates"][1])  # same company
    login(english(client), colleague.username)
    response = client.get(f"/repairs/tickets/{ticket.reference}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and ticket.reference in page
    assert "Respond" not in page and 'value="acknowledge"' not in page


def test_the_queue_links_and_times_read_as_url_for_and_babel_write_them(app):
    """The queue builds its row links from one url_for (views.link_by) and writes deadlines
    with strftime (views.local_time): the same text url_for and Babel's 'HH:mm' give."""
    from datetime import UTC, datetime

    from flask import url_for
    from flask_babel import format_datetime

    from repairs.views import link_by, local_time

    with app.test_request_context("/repairs/queue"):
        for reference in ("BX7KQ2M9P", "a b/c?d"):
            assert link_by("repairs.ticket", "reference")(reference) == url_for(
                "repairs.ticket", reference=reference
            )
            assert link_by("repairs.act", "reference")(reference) == url_for(
                "repairs.act", reference=reference
            )
        for moment in (
            datetime(2026, 12, 1, 15, 59, tzinfo=UTC),
            datetime(2026, 6, 30, 16, 0, tzinfo=UTC),
        ):
            assert local_time(moment) == format_datetime(moment, "HH:mm")


def test_a_company_manager_queue_names_and_filters_estates(
    client, session, world, places, make_user, repair_company, app
):
    """A manager held for the whole company works every estate's reports in one queue: each
    row names its estate and the queue narrows to one estate; the company's page lists them."""
    from repairs.services import tickets

    first, second = places["estates"]
    neighbour = make_user(home_estate_id=second.id, home_building="2", home_room="101")
    here = tickets.report(
        session, world["resident"], world["resident"], category=Category.WATER, description="漏水"
    )
    there = tickets.report(
        session,
        neighbour,
        neighbour,
        category=Category.LIFT,
        description="电梯停",
        public_area=True,
        area="2号楼电梯",
    )
    boss = make_user("property_manager", scope=repair_company, name="周总")
    login(client, boss.username)
    queue = client.get("/repairs/queue").get_data(as_text=True)
    assert here.reference in queue and there.reference in queue
    assert f"{first.name_zh} · " in queue and f"{second.name_zh} · " in queue
    assert "测试物业：" in queue  # whom the queue covers: the company first
    assert "2号楼电梯（公共区域）" in queue
    only = client.get(f"/repairs/queue?estate={second.id}").get_data(as_text=True)
    assert there.reference in only and here.reference not in only
    # The estate's own manager sees one estate: no estate filter, no estate on the rows.
    own_client = app.test_client()
    login(own_client, world["manager"].username)
    own = own_client.get("/repairs/queue").get_data(as_text=True)
    assert here.reference in own and there.reference not in own and 'id="estate"' not in own
    admin_client = app.test_client()
    login(admin_client, make_user("administrator").username)
    page = admin_client.get(f"/admin/companies/{repair_company.id}").get_data(as_text=True)
    assert "周总" in page and f"scope=company:{repair_company.id}" in page
    mine = admin_client.get(f"/admin/staff?scope=company:{repair_company.id}").get_data(
        as_text=True
    )
    assert "负责范围：物业公司：测试物业。" in mine and "周总" in mine
    assert f'name="scope" value="company:{repair_company.id}"' in mine  # kept by a search
