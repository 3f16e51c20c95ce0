"""The SMS provider's webhooks (app/notifications/webhooks.py): signed requests only; a manager's
reply "1" to a repair alert acknowledges the ticket, nothing else does; delivery receipts mark
the delivery delivered or failed (issue 13)."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.db import unit_of_work
from app.extensions import db
from app.notifications.dispatch import Dispatcher
from app.notifications.models import Channel, Delivery, DeliveryStatus, InboundSms, Notification
from app.notifications.services import notify
from app.notifications.webhooks import signature
from app.sms.replies import reply_handlers
from app.sms.services import inbound
from app.sms.settings import settings_for
from repairs.models import Category as RepairCategory
from repairs.models import EventKind, State, TicketEvent
from repairs.services import tickets
from tests.test_sms_alerts import build_world, file_report
from tests.test_sms_tencent import tencent as tencent_stand_in  # noqa: F401  (the fixture)

SECRET = "webhook-secret-for-tests"


@pytest.fixture
def estate_world(session, places, make_user, frozen):
    return build_world(session, places, make_user)


@pytest.fixture
def signed_app(app):
    app.config["SMS_WEBHOOK_SECRET"] = SECRET
    app.extensions.pop("sms_settings", None)
    return app


def post(client, path, payload, *, secret=SECRET, age=0, tamper=False):
    body = json.dumps(payload, ensure_ascii=False).encode()
    timestamp = str(int(time.time()) - age)
    sig = signature(secret.encode(), timestamp, body)
    if tamper:
        body = body.replace(b"1", b"2")
    return client.post(
        path,
        data=body,
        content_type="application/json",
        headers={"X-Portal-Timestamp": timestamp, "X-Portal-Signature": sig},
    )


def reply(phone, text, at=None):
    return {
        "extend": "",
        "mobile": phone,
        "nationcode": "86",
        "sign": "闵行区政务服务",
        "text": text,
        "time": int(at if at is not None else time.time()),
    }


def dispatch(app, session):
    dispatcher = Dispatcher(app, session)
    try:
        dispatcher.run(once=True)
    finally:
        dispatcher.close()


@pytest.fixture
def alerted(signed_app, session, estate_world):
    """A report filed and its alert sent (kept by the development outbox) to the manager."""
    ticket = file_report(session, estate_world)
    dispatch(signed_app, session)
    return ticket


def inbound_rows(session):
    return list(session.scalars(select(InboundSms).order_by(InboundSms.id)))


def test_only_a_fresh_request_signed_with_the_secret_is_taken(signed_app, client, session):
    payload = reply("13800009999", "你好")
    assert post(client, "/hooks/sms/inbound", payload).get_json() == {"result": 0, "errmsg": "OK"}
    refused = [
        post(client, "/hooks/sms/inbound", payload, secret="another-secret"),
        post(client, "/hooks/sms/inbound", payload, tamper=True),
        post(client, "/hooks/sms/inbound", payload, age=301),  # older than five minutes
        client.post("/hooks/sms/inbound", json=payload),  # unsigned
        post(client, "/hooks/sms/receipts", [], secret="another-secret"),
    ]
    assert [r.status_code for r in refused] == [401] * 5
    assert post(client, "/hooks/sms/inbound", payload, age=290).status_code == 200
    assert [r.text for r in inbound_rows(session)] == ["你好"]  # the same message, once
    assert post(client, "/hooks/sms/inbound", {"text": "1"}).status_code == 400


def test_without_a_secret_every_request_is_refused(app, client):
    assert app.config["SMS_WEBHOOK_SECRET"] == ""
    assert post(client, "/hooks/sms/inbound", reply("13800009999", "1")).status_code == 401


def test_the_managers_reply_acknowledges_the_ticket_once(
    signed_app, client, session, estate_world, alerted
):
    manager = estate_world["manager"]
    payload = reply(manager.phone, " １ ")  # full-width, padded
    assert post(client, "/hooks/sms/inbound", payload).status_code == 200
    assert post(client, "/hooks/sms/inbound", payload).status_code == 200  # resent: once
    session.expire_all()
    assert alerted.state == State.ACKNOWLEDGED and alerted.responder_id == manager.id
    assert alerted.responded_at is not None  # the 30-minute clock stopped
    [row] = inbound_rows(session)
    assert row.outcome == inbound.ACKNOWLEDGED and row.delivery_id is not None
    events = session.scalars(
        select(TicketEvent).where(TicketEvent.kind == EventKind.ACKNOWLEDGED_BY_SMS)
    ).all()
    assert [(e.ticket_id, e.actor_id, e.public) for e in events] == [(alerted.id, manager.id, True)]
    # The reply is the manager's personal data: in "my data", gone with the account.
    from app.sms import personal_data

    assert [r["text"] for r in personal_data.export(session, manager)["replies"]] == [" １ "]
    assert personal_data.erase(session, manager)["sms_replies_deleted"] == 1
    # The resident hears of it as from the web button.
    assert session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.kind == "repair.update", Notification.user_id == alerted.reporter_id)
    )


def answer(session, app, phone, text, *, at=None):
    at = at or time.time()
    from datetime import UTC, datetime

    return inbound.receive(
        session,
        inbound.Inbound(phone, text, f"test-{phone}-{text}-{at}", datetime.fromtimestamp(at, UTC)),
        reply_handlers(app),
        settings_for(app).reply_window,
    )


def escalate_to(session, user, ticket) -> None:
    """A company-wide escalation about `ticket` reaches `user` (a manager of another estate)."""
    with unit_of_work(session):
        notify(
            session,
            user.id,
            kind="repair.escalated",
            subject="x",
            params={"ref": ticket.reference, "estate": "莘城苑", "deadline": "09:30"},
            link=f"/repairs/tickets/{ticket.reference}",
        )


def test_other_replies_change_nothing(signed_app, session, estate_world, alerted, frozen):
    w = estate_world
    # An escalation reached a manager of another estate (a company-wide alert): not theirs.
    escalate_to(session, w["other_manager"], alerted)
    dispatch(signed_app, session)
    outcomes = [
        answer(session, signed_app, w["manager"].phone, "好的").outcome,  # not "1"
        answer(session, signed_app, "13700000000", "1").outcome,  # a number never alerted
        answer(session, signed_app, w["unproven"].phone, "1").outcome,  # no SMS went to it
        answer(session, signed_app, w["other_manager"].phone, "受理").outcome,
        answer(session, signed_app, w["town"].phone, "1").outcome,
    ]
    assert outcomes == [
        inbound.IGNORED,
        inbound.NO_ALERT,
        inbound.NO_ALERT,
        inbound.NOT_ALLOWED,
        inbound.NO_ALERT,
    ]
    frozen.shift(timedelta(hours=2, minutes=1))  # the alert is too old to be answered
    assert answer(session, signed_app, w["manager"].phone, "1").outcome == inbound.NO_ALERT
    session.expire_all()
    assert alerted.state == State.SUBMITTED and alerted.responded_at is None
    assert len(inbound_rows(session)) == 6


def test_a_reply_answers_the_newest_alert_still_waiting(
    signed_app, session, estate_world, alerted, frozen
):
    w = estate_world
    frozen.shift(timedelta(minutes=5))
    newer = file_report(session, w)
    dispatch(signed_app, session)
    assert answer(session, signed_app, w["manager"].phone, "1").outcome == inbound.ACKNOWLEDGED
    session.expire_all()
    assert (newer.state, alerted.state) == (State.ACKNOWLEDGED, State.SUBMITTED)
    frozen.shift(timedelta(minutes=1))
    assert answer(session, signed_app, w["manager"].phone, "1").outcome == inbound.ACKNOWLEDGED
    session.expire_all()
    assert alerted.state == State.ACKNOWLEDGED


def test_an_alert_the_number_may_not_act_on_hides_no_older_one_it_may(
    signed_app, session, estate_world, alerted, places, make_user, frozen
):
    w = estate_world
    # Estate B's own report alerts its manager; then a company-wide escalation about estate
    # A's report (not theirs) reaches the same number: the newest alert, but not theirs.
    resident_b = make_user(home_estate_id=places["estates"][1].id)
    own = tickets.report(
        session, resident_b, resident_b, category=RepairCategory.WATER, description="电梯故障"
    )
    dispatch(signed_app, session)
    frozen.shift(timedelta(minutes=1))
    escalate_to(session, w["other_manager"], alerted)
    dispatch(signed_app, session)
    frozen.shift(timedelta(minutes=1))
    row = answer(session, signed_app, w["other_manager"].phone, "1")
    assert (row.outcome, inbound.answered_ref(session, row)) == (
        inbound.ACKNOWLEDGED,
        own.reference,
    )
    session.expire_all()
    assert (own.state, alerted.state) == (State.ACKNOWLEDGED, State.SUBMITTED)
    # A second "1": their report was acknowledged already (not "not allowed").
    frozen.shift(timedelta(minutes=1))
    row = answer(session, signed_app, w["other_manager"].phone, "1")
    assert (row.outcome, inbound.answered_ref(session, row)) == (
        inbound.ALREADY_ACKNOWLEDGED,
        own.reference,
    )


def test_receipts_mark_deliveries_delivered_or_failed(
    app,
    client,
    session,
    estate_world,
    tencent_stand_in,  # noqa: F811  (the fixture)
):
    """Sent through Tencent (a stand-in on loopback): the delivery keeps its SerialNo, which the
    status callback names."""
    from app.accounts.models import DisplayMode
    from app.notifications.channels import register
    from app.sms.channel import SmsChannel
    from app.sms.settings import SmsTemplate
    from tests.test_sms_tencent import tencent_settings

    app.config.update(SMS_WEBHOOK_SECRET=SECRET, SMS_PROVIDER="tencent")
    app.extensions.pop("sms_settings", None)
    settings = tencent_settings(app, tencent_stand_in.url)
    templates = dict(settings.templates)
    for kind in ("repair.new", "repair.submitted"):
        templates[kind] = dataclasses.replace(templates[kind], template_id="3000001")
    settings = dataclasses.replace(settings, templates=templates)
    assert isinstance(templates["repair.new"], SmsTemplate)
    register(app, Channel.SMS, lambda _app: SmsChannel(settings))
    estate_world["resident"].display_mode = DisplayMode.ELDERLY  # her receipt goes by SMS too
    session.commit()
    file_report(session, estate_world)
    dispatch(app, session)
    rows = {d.user_id: d for d in session.scalars(select(Delivery))}
    manager, resident = rows[estate_world["manager"].id], rows[estate_world["resident"].id]
    assert manager.provider == "tencent" and manager.provider_message_id.startswith("5000:")
    assert manager.status == DeliveryStatus.SENT
    answer = post(
        client,
        "/hooks/sms/receipts",
        [
            {
                "user_receive_time": "2026-12-01 09:00:05",
                "nationcode": "86",
                "mobile": manager.address,
                "report_status": "SUCCESS",
                "errmsg": "DELIVRD",
                "description": "用户短信接收成功",
                "sid": manager.provider_message_id,
            },
            {
                "user_receive_time": "2026-12-01 09:00:06",
                "nationcode": "86",
                "mobile": resident.address,
                "report_status": "FAIL",
                "errmsg": "MK:0001",
                "description": "空号",
                "sid": resident.provider_message_id,
            },
            {"report_status": "SUCCESS", "sid": "not-ours", "mobile": "13900000000"},
        ],
    )
    assert answer.get_json() == {"result": 0, "errmsg": "OK"}
    db.session.expire_all()
    assert manager.status == DeliveryStatus.DELIVERED
    assert manager.delivered_at.isoformat() == "2026-12-01T01:00:05+00:00"
    assert (resident.status, resident.error) == (DeliveryStatus.FAILED, "MK:0001 空号")


def test_development_outbox_lists_the_alert_and_replies_to_it(
    app, client, runner, session, estate_world, frozen
):
    from tests.conftest import submit

    ticket = file_report(session, estate_world)
    dispatch(app, session)
    page = client.get("/dev/outbox").get_data(as_text=True)
    assert "莘城苑新报修，09:30前响应，回复1受理。" in page and 'name="delivery"' in page
    listed = runner.invoke(args=["messages", "list", "--to", estate_world["manager"].phone])
    assert "repair.new  stored  【报修】莘城苑新报修" in listed.output
    delivery = session.scalar(
        select(Delivery.id).where(Delivery.user_id == estate_world["manager"].id)
    )
    empty = submit(
        client, "/dev/outbox/reply", {"delivery": delivery, "text": " "}, form_url="/dev/outbox"
    )
    assert empty.status_code == 200 and f'href="#reply-{delivery}"' in empty.get_data(as_text=True)
    answered = submit(
        client, "/dev/outbox/reply", {"delivery": delivery, "text": "1"}, form_url="/dev/outbox"
    )
    assert answered.status_code == 302
    flashed = client.get("/dev/outbox").get_data(as_text=True)
    assert f"报修单 {ticket.reference} 已受理" in flashed  # names the report it acknowledged
    session.expire_all()
    assert ticket.state == State.ACKNOWLEDGED
    app.config["SMS_PROVIDER"] = "tencent"  # no development outbox: no page, no replies
    assert client.get("/dev/outbox").status_code == 404
    gone = submit(
        client, "/dev/outbox/reply", {"delivery": delivery, "text": "1"}, form_url="/display"
    )
    assert gone.status_code == 404


def test_staff_see_the_alerts_delivery_status_on_the_ticket_page(
    app, client, session, estate_world, frozen
):
    from tests.conftest import login

    ticket = file_report(session, estate_world)
    dispatch(app, session)
    answer(session, app, estate_world["manager"].phone, "1")
    login(client, estate_world["manager"].login_name)
    page = client.get(f"/repairs/tickets/{ticket.reference}").get_data(as_text=True)
    manager = estate_world["manager"]
    assert "已通过短信回复受理" in page
    assert f"新报修提醒：短信已存入开发发件箱 09:00 → {manager.name} 138****1111" in page
    assert f"新报修提醒：仅站内消息 → {estate_world['unproven'].name}" in page
    resident = app.test_client()
    login(resident, estate_world["resident"].login_name)
    page = resident.get(f"/repairs/tickets/{ticket.reference}").get_data(as_text=True)
    assert "已通过短信回复受理" in page and "发给工作人员的提醒" not in page
