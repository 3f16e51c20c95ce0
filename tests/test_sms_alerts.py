"""Repair alerts by SMS (issue 13): the estate's managers get a text when a report is filed, at
10 minutes before its deadline and at a breach (then the company and the town, later the
district), each once; residents get their updates; each kind has its own template that fits one
segment with the link."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import utcnow
from app.notifications.channels import Outgoing
from app.notifications.kinds import KIND_CATEGORY, Category
from app.notifications.models import Channel, Delivery, Notification
from app.sms.channel import LONGEST, SEGMENT, SmsChannel
from app.sms.settings import settings_for
from repairs.models import Category as RepairCategory
from repairs.services import sweep, tickets
from tests.conftest import two_managed_estates

PROVEN = {"phone_verified_at": utcnow()}


@pytest.fixture
def estate_world(session, places, make_user, frozen):
    return build_world(session, places, make_user)


def build_world(session, places, make_user):
    """A company managing estate A (two managers: one with a proven number, one without) and
    another company managing estate B; the town and district supervisors; a resident of A."""
    _company, _other, estate_a, estate_b = two_managed_estates(session, places)
    return {
        "estate": estate_a,
        "resident": make_user(home_estate_id=estate_a.id, **PROVEN),
        "manager": make_user("property_manager", scope=estate_a, phone="13800001111", **PROVEN),
        "unproven": make_user("property_manager", scope=estate_a, phone="13800002222"),
        "other_manager": make_user(
            "property_manager", scope=estate_b, phone="13800003333", **PROVEN
        ),
        "town": make_user(
            "town_supervisor", scope=places["towns"][0], phone="13800004444", **PROVEN
        ),
        "district": make_user("district_supervisor", phone="13800005555", **PROVEN),
    }


def file_report(session, world):
    resident = world["resident"]
    return tickets.report(
        session, resident, resident, category=RepairCategory.WATER, description="水管漏水"
    )


def sms_to(session, kind):
    """{user id: number of SMS deliveries} of notifications of `kind`."""
    rows = session.execute(
        select(Delivery.user_id, Delivery.address)
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(Notification.kind == kind, Delivery.channel == Channel.SMS)
    ).all()
    counts: dict[int, int] = {}
    for user_id, _address in rows:
        counts[user_id] = counts.get(user_id, 0) + 1
    return counts


def test_a_new_report_alerts_the_estates_managers_by_sms_in_the_same_unit(session, estate_world):
    w = estate_world
    ticket = file_report(session, w)
    assert sms_to(session, "repair.new") == {w["manager"].id: 1}
    # The manager without a proven number still has it in the inbox; the other estate's not.
    inbox = set(
        session.scalars(select(Notification.user_id).where(Notification.kind == "repair.new"))
    )
    assert inbox == {w["manager"].id, w["unproven"].id}
    note = session.scalar(
        select(Notification).where(
            Notification.kind == "repair.new", Notification.user_id == w["manager"].id
        )
    )
    assert note.link == f"/repairs/tickets/{ticket.reference}"
    assert note.params["ref"] == ticket.reference and note.params["deadline"] == "09:30"


def test_warning_and_escalations_go_out_once_each_by_sms(session, estate_world, frozen):
    w = estate_world
    file_report(session, w)
    frozen.shift(timedelta(minutes=21))
    assert sweep.warn(session) == 1 and sweep.warn(session) == 0
    assert sms_to(session, "repair.warning") == {w["manager"].id: 1}
    frozen.shift(timedelta(minutes=10))
    assert sweep.escalate(session) == (1, 0) and sweep.escalate(session) == (0, 0)
    # The company's managers (estate A's only: estate B is another company's) and the town.
    assert sms_to(session, "repair.escalated") == {w["manager"].id: 1, w["town"].id: 1}
    frozen.shift(timedelta(minutes=30))
    assert sweep.escalate(session) == (0, 1) and sweep.escalate(session) == (0, 0)
    assert sms_to(session, "repair.escalated_district") == {w["district"].id: 1}


def test_residents_updates_are_categorised_and_reach_an_elderly_resident_by_sms(
    session, estate_world
):
    from app.accounts.models import DisplayMode

    w = estate_world
    w["resident"].display_mode = DisplayMode.ELDERLY  # elderly mode defaults to SMS
    session.commit()
    ticket = file_report(session, w)
    assert KIND_CATEGORY["repair.update"] == Category.REPAIR_UPDATES
    assert KIND_CATEGORY["repair.new"] == Category.REPAIR_ALERTS
    manager = w["manager"]
    tickets.act(session, manager, ticket, "acknowledge")
    tickets.act(
        session, manager, ticket, "visit", visit_at=ticket.submitted_at + timedelta(hours=3)
    )
    tickets.act(session, manager, ticket, "resolve")
    subjects = session.scalars(
        select(Notification.subject)
        .join(Delivery, Delivery.notification_id == Notification.id)
        .where(Notification.kind == "repair.update", Delivery.channel == Channel.SMS)
        .order_by(Notification.id)
    ).all()
    assert subjects == [
        tickets.RESIDENT_MESSAGES["acknowledge"],
        tickets.RESIDENT_MESSAGES["visit"],
        tickets.RESIDENT_MESSAGES["resolve"],
    ]
    assert sms_to(session, "repair.submitted") == {w["resident"].id: 1}


def outgoing(kind, params, subject="", url="https://mh.gov.cn/repairs/tickets/BX1234567"):
    return Outgoing(
        delivery_id=1,
        idempotency_key="k",
        channel=Channel.SMS,
        address="13800001111",
        kind=kind,
        locale="zh_CN",
        subject=subject,
        body="",
        url=url,
        params=params,
    )


@pytest.mark.parametrize(
    "kind",
    ["repair.new", "repair.warning", "repair.escalated", "repair.escalated_district"],
)
def test_each_alert_has_its_own_template_within_one_segment_with_the_link(app, kind):
    channel = SmsChannel(settings_for(app))
    assert channel.template_for(kind).kind == kind
    message = outgoing(kind, {"ref": "BX1234567", "estate": "莘城苑", "deadline": "10:32"})
    text = channel.text_of(message)
    assert message.url in text and "莘城苑" in text and len(text) <= SEGMENT
    if kind in ("repair.new", "repair.warning"):
        assert "10:32" in text and "回复1受理" in text
    # A long estate name goes whole in a long SMS of two segments; only beyond two is it
    # shortened. The link is never cut.
    long_name = outgoing(
        kind, {"estate": "莘庄镇七宝新村第三居民委员会小区东区", "deadline": "10:32"}
    )
    text = channel.text_of(long_name)
    assert SEGMENT < len(text) <= LONGEST and "莘庄镇七宝新村第三居民委员会小区东区" in text
    longer = outgoing(kind, {"estate": "莘庄镇七宝新村第三居民委员会小区东区" * 5, "deadline": "1"})
    text = channel.text_of(longer)
    assert len(text) == LONGEST and text.endswith(longer.url) and "…" in text


def test_a_residents_update_names_the_ticket_and_its_status_within_two_segments(app):
    channel = SmsChannel(settings_for(app))
    subject = (
        "您的物业回复了报修BX1234567："
        + "师傅明天上午九点到十点之间上门，请家里留人开门，谢谢配合" * 4
    )
    params = {"ref": "BX1234567", "state": "acknowledged"}
    message = outgoing("repair.update", params, subject=subject)
    text = channel.text_of(message)
    assert len(text) == LONGEST and text.endswith(message.url) and "…" in text
    assert text.startswith("【报修进度】报修单BX1234567已受理。您的物业回复了报修BX1234567")
    short = channel.text_of(outgoing("repair.update", params, subject="报修已受理"))
    assert short == f"【报修进度】报修单BX1234567已受理。报修已受理 {message.url}"  # 71: not cut
    # Written before the template had a state (none in its params): the generic notice.
    assert channel.text_of(outgoing("repair.update", {}, subject="报修已受理")).startswith("报修")


def test_demo_staff_numbers_are_proven_so_alerts_reach_them(session, places, make_user):
    from app.demo import give_staff_phones

    manager = make_user("property_manager", scope=places["estates"][0])
    assert manager.phone is None
    give_staff_phones(session)
    session.commit()
    assert manager.phone and manager.phone_verified_at is not None
