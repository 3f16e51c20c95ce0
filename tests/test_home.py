"""The home page: the three services as tiles, and for a resident "我的" (issue 14, section 2):
the next booking, the next parking reservation, open repair reports, what there is to pay and
unread messages, each a link to the page that shows it, read in a few statements."""

from __future__ import annotations

import re

from sqlalchemy import event

from app import clock
from app.db import unit_of_work
from app.i18n import N_
from app.notifications.services import notify, unread_count
from parking.services import vehicles
from parking.services.payments import new_charge
from parking.services.reservations import reserve
from repairs.models import Category
from repairs.services import tickets
from tests.conftest import login, parking_settings, slot_at, two_managed_estates
from venues import current_settings
from venues.services.booking import book_general


def _mine(html: str) -> dict[str, tuple[str, str]]:
    """The "我的" block as {label: (link, text)}."""
    block = html.split('id="mine-title"', 1)[1].split("</section>", 1)[0]
    rows = re.findall(
        r'<a class="mine-link[^"]*" href="([^"]+)">\s*<span class="mine-label">([^<]+)</span>'
        r'\s*<span class="mine-value">(.*?)</span>\s*</a>',
        block,
        re.S,
    )
    return {label: (href, re.sub(r"<[^>]+>", "", text).strip()) for href, label, text in rows}


def test_a_visitor_sees_the_three_services_first_and_no_mine(client):
    html = client.get("/").get_data(as_text=True)
    tiles = re.findall(r'<a class="service-tile" href="([^"]+)">', html)
    assert tiles == ["/venues", "/parking", "/repairs"]
    assert html.index('class="service-tiles"') < html.index('class="lead"')
    assert 'id="mine-title"' not in html


def test_a_new_resident_sees_mine_with_nothing_waiting(client, make_user):
    user = make_user()
    login(client, user.phone)
    mine = _mine(client.get("/").get_data(as_text=True))
    assert mine == {
        "下次预约": ("/bookings", "暂无预约"),
        "停车预约": ("/parking/mine", "暂无预约"),
        "处理中的报修": ("/repairs", "暂无"),
        "待支付": ("/parking/mine", "无需支付"),
        "未读消息": ("/inbox", "暂无"),
    }


def test_mine_shows_what_each_service_holds_for_the_resident(
    app, client, session, places, make_user, make_venue, car_park, frozen
):
    _company, _other, estate, _estate_b = two_managed_estates(session, places)
    user = make_user(home_estate_id=estate.id)
    other = make_user(home_estate_id=estate.id)
    venue = make_venue(name="闵行博物馆")
    hall = venue.spaces[0]
    later = book_general(
        session, user, user, slot_at(session, hall, 2, 10).id, 1, settings=current_settings()
    )
    booking = book_general(
        session, user, user, slot_at(session, hall, 1, 10).id, 2, settings=current_settings()
    )
    book_general(  # someone else's earlier booking is not theirs
        session, other, other, slot_at(session, hall, 0, 11).id, 1, settings=current_settings()
    )
    park = car_park(name="莘庄停车场")
    vehicles.register(session, user, "沪A12345")
    reservation = reserve(
        session,
        user,
        user,
        park,
        "沪A12345",
        clock.at(clock.today(), 11 * 60),
        settings=parking_settings(),
    )
    tickets.report(session, user, user, category=Category.WATER, description="水管漏水")
    tickets.report(session, other, other, category=Category.LIFT, description="电梯坏了")
    with unit_of_work(session):
        for amount in (1500, 250):
            new_charge(
                session, user_id=user.id, car_park_id=park.id, plate="沪A12345", amount_fen=amount
            )
        new_charge(session, user_id=other.id, car_park_id=park.id, plate="沪B1", amount_fen=900)
        notify(session, user.id, kind="test", subject=N_("Your details are saved."), link="/")
    login(client, user.phone)

    statements = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(app.extensions["sqlalchemy"].engine, "before_cursor_execute", listen)
    try:
        html = client.get("/").get_data(as_text=True)
    finally:
        event.remove(app.extensions["sqlalchemy"].engine, "before_cursor_execute", listen)
    mine = _mine(html)
    assert later.starts_at > booking.starts_at
    assert mine["下次预约"][0] == f"/bookings/{booking.reference}"
    assert "闵行博物馆" in mine["下次预约"][1] and "10:00" in mine["下次预约"][1]
    assert mine["停车预约"][0] == f"/parking/reservations/{reservation.booking.reference}"
    assert "莘庄停车场" in mine["停车预约"][1] and "11:00" in mine["停车预约"][1]
    assert mine["处理中的报修"] == ("/repairs", "1 项处理中")
    assert mine["待支付"][0] == "/parking/mine"
    assert mine["待支付"][1].startswith("¥17.50") and mine["待支付"][1].endswith("（共 2 笔）")
    unread = unread_count(session, user.id)  # the booking notices and the test's message
    assert unread >= 1 and mine["未读消息"] == ("/inbox", f"{unread} 条未读")
    # One statement per service line (the inbox count comes with the account): a hot path.
    mine_reads = [s for s in statements if "repair_ticket" in s or "parking_charge" in s]
    assert len(mine_reads) == 2, mine_reads

    # A cancelled report is no longer open.
    tickets.cancel(session, user, tickets.my_tickets(session, user)[0])
    assert _mine(client.get("/").get_data(as_text=True))["处理中的报修"][1] == "暂无"


def test_staff_see_their_workspace_not_mine(client, make_user):
    staff = make_user("district_supervisor")
    login(client, staff.login_name)
    html = client.get("/").get_data(as_text=True)
    assert 'id="mine-title"' not in html and 'id="workspace-title"' in html
