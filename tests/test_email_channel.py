"""The e-mail channel (app/notifications/email.py) against a real SMTP server on loopback
(aiosmtpd): the message arrives with a plain-text and an HTML part, the link and the settings
footer; a 4xx answer or a refused connection is retried, a 550 fails for good."""

from __future__ import annotations

import socket
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from app.db import unit_of_work, utcnow
from app.notifications.channels import DeliveryError, Outgoing, provider_of
from app.notifications.dispatch import Dispatcher
from app.notifications.models import Channel, Delivery, DeliveryStatus
from app.notifications.services import notify


class Mailbox:
    """An SMTP server's handler: keeps every message, or answers RCPT with `refuse`."""

    def __init__(self) -> None:
        self.messages = []
        self.refuse: str | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(app):
    """A real SMTP server on loopback, and the app configured to send through it."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=controller.port,
        MAIL_USE_TLS=False,
        MAIL_FROM="物业百事通 <noreply@portal.test>",
        MAIL_TIMEOUT=5,
    )
    app.extensions.get("delivery_providers", {}).pop(Channel.EMAIL, None)  # built anew
    yield mailbox
    controller.stop()


def mail_user(make_user, **attrs):
    """A resident whose e-mail address is confirmed; e-mail only (no SMS)."""
    return make_user(email="li.lei@example.com", email_confirmed_at=utcnow(), **attrs)


def offer(session, user, venue="闵行<b>博物馆</b>"):
    with unit_of_work(session):
        notify(
            session,
            user.id,
            kind="venue.offer",
            subject="A place for %(venue)s is held for you",
            params={"venue": venue},
            link="/venues/offers/1",
        )


def dispatch(app, session):
    dispatcher = Dispatcher(app, session)
    try:
        return dispatcher.run(once=True)
    finally:
        dispatcher.close()


def email_row(session):
    session.commit()
    return session.scalars(
        select(Delivery).where(Delivery.channel == Channel.EMAIL).order_by(Delivery.id.desc())
    ).first()


def test_a_message_arrives_with_a_text_and_an_html_part(app, session, make_user, smtp_server):
    user = mail_user(make_user, locale="en")
    offer(session, user)
    dispatch(app, session)
    [mail] = smtp_server.messages
    row = email_row(session)
    assert row.status == DeliveryStatus.SENT and row.provider == "smtp"
    assert mail["To"] == "li.lei@example.com"
    assert mail["Subject"] == "A place for 闵行<b>博物馆</b> is held for you"
    assert mail["Message-ID"] == f"<{row.idempotency_key}@portal.test>" == row.provider_message_id
    assert mail["List-Unsubscribe"] == "<https://portal.test.invalid/profile/notifications>"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "https://portal.test.invalid/venues/offers/1" in text
    assert "闵行<b>博物馆</b>" in text  # plain text is not HTML: nothing to escape
    assert 'href="https://portal.test.invalid/venues/offers/1"' in html
    assert "闵行&lt;b&gt;博物馆&lt;/b&gt;" in html and "<b>" not in html
    assert "https://portal.test.invalid/profile/notifications" in text
    assert 'lang="en"' in html
    # Readable on a phone: the page fits the screen, the link says where it goes, and the
    # long address wraps (inline styles: many mail clients drop <style>).
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert ">Open the page this message is about</a>" in html
    assert 'word-break: break-all;">https://portal.test.invalid/venues/offers/1</p>' in html


def test_a_4xx_answer_is_retried_and_a_550_fails_for_good(app, session, make_user, smtp_server):
    user = mail_user(make_user)
    smtp_server.refuse = "451 4.3.0 Mailbox busy, try later"
    offer(session, user)
    dispatch(app, session)
    row = email_row(session)
    assert (row.status, row.attempts) == (DeliveryStatus.QUEUED, 1)
    assert "451" in row.error and row.next_attempt_at > utcnow()
    # The server is back: the retry (due now) goes through, once.
    smtp_server.refuse = None
    with unit_of_work(session):
        session.execute(update(Delivery).values(next_attempt_at=utcnow()))
    dispatch(app, session)
    row = email_row(session)
    assert (row.status, row.attempts) == (DeliveryStatus.SENT, 2)
    assert len(smtp_server.messages) == 1
    # No such mailbox: failed at once, never tried again.
    smtp_server.refuse = "550 5.1.1 No such user"
    offer(session, user)
    dispatch(app, session)
    row = email_row(session)
    assert (row.status, row.attempts) == (DeliveryStatus.FAILED, 1)
    assert "550" in row.error and len(smtp_server.messages) == 1


def _message(address="a@example.com") -> Outgoing:
    return Outgoing(
        delivery_id=1,
        idempotency_key="00000000-0000-0000-0000-000000000001",
        channel=Channel.EMAIL,
        address=address,
        kind="venue.offer",
        locale="zh_CN",
        subject="测试",
        body="",
        url="https://portal.test.invalid/inbox",
    )


def test_no_server_listening_is_retried_and_no_mail_server_fails_clearly(app, smtp_server):
    app.config["MAIL_PORT"] = free_port()  # nothing listens there
    app.extensions["delivery_providers"].pop(Channel.EMAIL, None)
    with pytest.raises(DeliveryError) as unreachable:
        provider_of(app, Channel.EMAIL).deliver(_message())
    assert not unreachable.value.permanent and "unreachable" in str(unreachable.value)
    app.config["MAIL_SERVER"] = ""
    app.extensions["delivery_providers"].pop(Channel.EMAIL, None)
    with pytest.raises(DeliveryError) as off:
        provider_of(app, Channel.EMAIL).deliver(_message())
    assert off.value.permanent and "MAIL_SERVER is not set" in str(off.value)


def test_production_refuses_mail_in_clear_over_the_network():
    from app.config import check_mail

    check_mail({"MAIL_SERVER": ""})  # e-mail off: nothing to check
    check_mail({"MAIL_SERVER": "localhost", "MAIL_FROM": "a@b.cn", "MAIL_USE_TLS": False})
    with pytest.raises(RuntimeError, match="MAIL_FROM"):
        check_mail({"MAIL_SERVER": "smtp.example.com", "MAIL_USE_TLS": True})
    with pytest.raises(RuntimeError, match="clear"):
        check_mail({"MAIL_SERVER": "smtp.example.com", "MAIL_FROM": "a@b.cn"})


def test_the_html_link_says_where_it_goes_in_chinese(app):
    from app.notifications.email import CONFIRM_KIND, MailSettings, build_message

    settings = MailSettings.from_config(app.config, "https://portal.test.invalid")

    def html(kind: str) -> str:
        message = Outgoing(
            delivery_id=1,
            idempotency_key="k" * 36,
            channel=Channel.EMAIL,
            address="li.lei@example.com",
            kind=kind,
            locale="zh_Hans_CN",
            subject="确认邮箱",
            body="",
            url="https://portal.test.invalid/" + "x" * 80,
        )
        with app.app_context():
            return build_message(message, settings, app.jinja_env).get_body(("html",)).get_content()

    assert ">确认此邮箱地址</a>" in html(CONFIRM_KIND)
    offer_html = html("venue.offer")
    assert ">打开消息所在页面</a>" in offer_html and 'lang="zh-CN"' in offer_html
