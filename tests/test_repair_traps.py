"""Issue 14, no commitment traps in 物业百事通: a report sent twice is one report; a report like
the one just sent is offered as that one first; cancelling a report asks first."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.notifications.models import Notification
from repairs.models import Category, State, Ticket
from repairs.services import resubmit, tickets
from tests.conftest import csrf_token, login, two_managed_estates
from tests.race import race


@pytest.fixture
def world(session, places, make_user, frozen):
    _company, _other, estate, _estate_b = two_managed_estates(session, places)
    return {
        "estate": estate,
        "resident": make_user(home_estate_id=estate.id, home_building="5", home_room="301"),
        "manager": make_user("property_manager", scope=estate),
    }


def count(session, model, *where):
    session.rollback()
    return session.scalar(select(func.count()).select_from(model).where(*where))


def send(session, world, key=None, minutes=10, **kw):
    r = world["resident"]
    fields = {"category": Category.WATER, "description": "厨房水管漏水", **kw}
    return tickets.report_once(
        session, r, r, idempotency_key=key, similar_minutes=minutes, **fields
    )


def test_the_same_key_twice_is_one_report_and_one_alert(session, world):
    first, made = send(session, world, key="k1")
    again, made_again = send(session, world, key="k1", description="完全不同的话")
    assert made and not made_again and again.id == first.id
    assert count(session, Ticket) == 1
    assert count(session, Notification, Notification.kind == "repair.new") == 1
    assert count(session, Notification, Notification.kind == "repair.submitted") == 1


@pytest.mark.parametrize(
    ("a", "b", "alike"),
    [
        ("厨房水管漏水", "厨房水管漏水。", True),
        ("厨房水管漏水", "厨房的水管在漏水", True),
        ("Kitchen tap leaking", "kitchen tap is leaking badly", True),
        ("厨房水管漏水", "客厅灯不亮", False),
        ("", "客厅灯不亮", False),
    ],
)
def test_similar_descriptions(a, b, alike):
    assert resubmit.similar_description(a, b) is alike


def test_a_similar_report_from_the_same_home_is_offered_first(session, world, frozen, make_user):
    first, _ = send(session, world, key="k1")
    with pytest.raises(resubmit.LooksLikeRecent) as info:
        send(session, world, key="k2", description="厨房水管在漏水")
    assert info.value.twin.id == first.id and info.value.code == "looks_like_recent"
    # Another member of the same household sending it is offered the same report.
    partner = make_user(home_estate_id=world["estate"].id, home_building="5", home_room="301")
    with pytest.raises(resubmit.LooksLikeRecent):
        tickets.report_once(
            session,
            partner,
            partner,
            category=Category.WATER,
            description="厨房水管漏水",
            similar_minutes=10,
        )
    # Another category, sending anyway (minutes=0) and a later report are new reports.
    assert send(session, world, key="k3", category=Category.ELECTRICITY)[1]
    assert send(session, world, key="k4", minutes=0)[1]
    frozen.shift(timedelta(minutes=11))
    assert send(session, world, key="k5")[1]
    assert count(session, Ticket) == 4


@pytest.mark.race
def test_two_submits_with_the_same_key_at_once_make_one_report(app, session, world):
    resident_id = world["resident"].id

    def submit(i):
        from app.accounts.models import User
        from app.extensions import db

        r = db.session.get(User, resident_id)
        ticket, _made = tickets.report_once(
            db.session, r, r, category=Category.LIFT, description="电梯坏了", idempotency_key="same"
        )
        return ticket.reference

    results = race(app, 4, submit)
    assert all(isinstance(r, str) for r in results), results
    assert len(set(results)) == 1
    assert count(session, Ticket) == 1
    assert count(session, Notification, Notification.kind == "repair.new") == 1


def post_report(client, html=None, **fields):
    html = html or client.get("/repairs/report").get_data(as_text=True)
    data = {
        "csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1),
        "idempotency_key": re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', html).group(1),
        "category": "water",
        "description": "厨房水管漏水",
        **fields,
    }
    return client.post("/repairs/report", data=data, content_type="multipart/form-data")


def test_back_and_submit_shows_the_first_report(client, session, world):
    login(client, world["resident"].phone)
    form = client.get("/repairs/report").get_data(as_text=True)
    first = post_report(client, form)
    again = post_report(client, form)  # Back to the same form, sent again
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"].split("?")[0] == again.headers["Location"]
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "您已经发送过这个报修" in page
    assert count(session, Ticket) == 1


def test_a_fresh_form_saying_the_same_is_offered_as_the_one_just_sent(client, session, world):
    login(client, world["resident"].phone)
    post_report(client)
    first = session.scalar(select(Ticket))
    page = post_report(client, description="厨房水管在漏水")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "这看起来像您刚发送的报修" in html
    assert f'href="/repairs/tickets/{first.reference}"' in html
    assert count(session, Ticket) == 1
    sent = post_report(client, html, description="厨房水管在漏水", send_anyway="1")
    assert sent.status_code == 302 and count(session, Ticket) == 2
    english = client.application.test_client()
    english.set_cookie("locale", "en")
    login(english, world["resident"].phone)
    html = post_report(english, description="厨房水管漏水!").get_data(as_text=True)
    assert "This looks like the report you just sent" in html
    assert "Send it as a new report" in html


def test_cancelling_a_report_asks_first(client, session, world):
    ticket, _ = send(session, world)
    reference = ticket.reference
    login(client, world["resident"].phone)
    page = client.get(f"/repairs/tickets/{reference}").get_data(as_text=True)
    # The ticket page links to the question; it cancels nothing itself.
    assert f'href="/repairs/tickets/{reference}/cancel"' in page
    question = client.get(f"/repairs/tickets/{reference}/cancel").get_data(as_text=True)
    assert "确定要撤销报修" in question and "button-warning" in question
    assert count(session, Ticket, Ticket.state == State.CANCELLED) == 0
    token = csrf_token(client, f"/repairs/tickets/{reference}/cancel")
    done = client.post(f"/repairs/tickets/{reference}/cancel", data={"csrf_token": token})
    assert done.status_code == 302
    assert count(session, Ticket, Ticket.state == State.CANCELLED) == 1
    # A cancelled report has no question to ask.
    assert client.get(f"/repairs/tickets/{reference}/cancel").status_code == 302


def test_someone_else_cannot_see_the_cancel_question(client, session, world, make_user):
    ticket, _ = send(session, world)
    stranger = make_user()
    login(client, stranger.phone)
    assert client.get(f"/repairs/tickets/{ticket.reference}/cancel").status_code == 404


def test_moved_out_is_asked_first(client, session, world):
    from app.places import services as homes

    claim = homes.current_claim(session, world["resident"])
    login(client, world["manager"].username)
    listing = client.get("/homes/claims").get_data(as_text=True)
    assert f'href="/homes/claims/{claim.id}/end"' in listing
    assert 'value="end"' not in listing  # no one-tap ending on the list
    page = client.get(f"/homes/claims/{claim.id}/end").get_data(as_text=True)
    assert "确定要结束" in page and "button-warning" in page and 'value="end"' in page
    session.rollback()
    assert homes.current_claim(session, world["resident"]) is not None
    token = csrf_token(client, f"/homes/claims/{claim.id}/end")
    client.post(f"/homes/claims/{claim.id}/decide", data={"csrf_token": token, "decision": "end"})
    session.rollback()
    assert homes.current_claim(session, world["resident"]) is None
    assert client.get(f"/homes/claims/{claim.id}/end").status_code == 302


def test_my_reports_list_open_first_with_a_snippet_a_page_at_a_time(client, session, world, frozen):
    resident = world["resident"]
    sent = []
    for n in range(22):
        ticket, _ = send(session, world, minutes=0, description=f"第{n}号问题：厨房水管漏水")
        sent.append(ticket.reference)
        frozen.shift(timedelta(minutes=1))
    tickets.cancel(session, resident, tickets.get(session, sent[-1]))  # the newest, not open
    assert tickets.count_my_tickets(session, resident) == 22
    first = tickets.my_tickets(session, resident, limit=20)
    assert first[0].reference == sent[-2] and sent[-1] not in [t.reference for t in first]
    login(client, resident.phone)
    page = client.get("/repairs").get_data(as_text=True)
    assert "第20号问题：厨房水管漏水" in page and "第21号问题" not in page
    assert "第 1 页，共 2 页" in page and 'href="/repairs?page=2"' in page
    second = client.get("/repairs?page=2").get_data(as_text=True)
    assert "第21号问题" in second and sent[-1] in second and "第0号问题" in second


def test_a_lost_session_keeps_the_report_across_signing_in(client, session, world):
    """The session (and its token) is lost before the report is sent: the page says to sign in,
    and after signing in the form has what was typed; no photo was chosen, so none is mentioned."""
    client.get("/")
    client.delete_cookie("session")
    sent = client.post(
        "/repairs/report",
        data={"category": "water", "description": "厨房水管漏水很久了", "area": "5号楼门口"},
    )
    html = sent.get_data(as_text=True)
    assert sent.status_code == 400 and "请先登录再查看此页面" not in html
    assert "照片" not in html and 'href="/login?next=/repairs/report"' in html
    login(client, world["resident"].phone)
    form = client.get("/repairs/report").get_data(as_text=True)
    assert "厨房水管漏水很久了" in form and 'value="5号楼门口"' in form
    assert "厨房水管漏水很久了" not in client.get("/repairs/report").get_data(as_text=True)
    assert count(session, Ticket) == 0
