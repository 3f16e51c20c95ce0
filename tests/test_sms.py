"""The SMS gateway (app/sms): verification codes (valid, wrong, expired, tries, single use, the
newest replaces the ones before), rate limits per number and per address with a plain "when",
outbox rows that exist only when the sending unit commits, delivery failures kept on the row,
the `messages list` command, the development outbox page and the production refusal.
Tencent Cloud SMS against a loopback server is in tests/test_sms_tencent.py."""

from __future__ import annotations

import base64
import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.clock import local
from app.db import unit_of_work, utcnow
from app.errors import DomainError
from app.extensions import db
from app.sms.models import SmsMessage, SmsStatus, VerificationCode
from app.sms.services import TooManyCodes, check_code, deliver, issue_code, send
from app.sms.settings import settings_for

PHONE = "13912345678"
ADDRESS = "203.0.113.7"


@pytest.fixture
def settings(app):
    return settings_for(app)


def sent_code(session, phone: str = PHONE) -> str:
    """The code in the newest message to `phone`, read from the development outbox the way a
    person reads their phone."""
    message = session.scalars(
        select(SmsMessage).where(SmsMessage.phone == phone).order_by(SmsMessage.id.desc())
    ).first()
    assert message.kind == "verification_code" and message.status == SmsStatus.STORED
    return message.params[0]


def other_than(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_a_code_works_once_for_its_number_and_purpose(session, settings, frozen):
    row = issue_code(session, "139 1234 5678", "signin", address=ADDRESS, settings=settings)
    code = sent_code(session)
    assert len(code) == 6 and code.isdigit()
    message = session.get(SmsMessage, row.message_id)
    assert message.params == [code, "5"] and message.provider == "outbox"
    assert message.provider_message_id == f"outbox-{message.id}" and message.sent_at is not None
    stored = session.get(VerificationCode, row.id)
    assert code not in (stored.digest, stored.phone, stored.address) and len(stored.digest) == 64
    assert stored.expires_at == utcnow() + timedelta(minutes=5)

    assert check_code(session, PHONE, "register", code, settings) is False  # another purpose
    assert check_code(session, "13912345679", "signin", code, settings) is False  # another number
    wide = code.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})  # full-width digits
    assert check_code(session, "+86 139-1234-5678", "signin", f" {wide} ", settings) is True
    assert check_code(session, PHONE, "signin", code, settings) is False  # single use
    assert session.get(VerificationCode, row.id).used_at is not None


def test_five_wrong_tries_kill_the_code(session, settings, frozen):
    row = issue_code(session, PHONE, "reset", address=ADDRESS, settings=settings)
    code = sent_code(session)
    for _ in range(5):
        assert check_code(session, PHONE, "reset", other_than(code), settings) is False
    assert check_code(session, PHONE, "reset", code, settings) is False
    stored = session.get(VerificationCode, row.id)
    assert stored.tries == 5 and stored.used_at is None


def test_four_wrong_tries_leave_one(session, settings, frozen):
    issue_code(session, PHONE, "reset", address=ADDRESS, settings=settings)
    code = sent_code(session)
    for _ in range(4):
        assert check_code(session, PHONE, "reset", other_than(code), settings) is False
    assert check_code(session, PHONE, "reset", code, settings) is True


def test_a_code_expires_after_five_minutes(session, settings, frozen):
    issue_code(session, PHONE, "signin", address=ADDRESS, settings=settings)
    frozen.shift(timedelta(minutes=4, seconds=59))
    assert check_code(session, PHONE, "signin", sent_code(session), settings) is True
    issue_code(session, PHONE, "signin", address=ADDRESS, settings=settings)
    frozen.shift(timedelta(minutes=5))
    assert check_code(session, PHONE, "signin", sent_code(session), settings) is False


def test_a_new_code_replaces_the_one_before(session, settings, frozen):
    issue_code(session, PHONE, "signin", address=ADDRESS, settings=settings)
    first = sent_code(session)
    frozen.shift(timedelta(seconds=61))
    issue_code(session, PHONE, "signin", address=ADDRESS, settings=settings)
    second = sent_code(session)
    if first != second:
        assert check_code(session, PHONE, "signin", first, settings) is False
    assert check_code(session, PHONE, "signin", second, settings) is True


def test_a_try_stays_counted_when_the_callers_unit_rolls_back(session, settings, frozen):
    row = issue_code(session, PHONE, "signin", address=ADDRESS, settings=settings)
    code = sent_code(session)
    with pytest.raises(DomainError):
        with unit_of_work(session):
            if not check_code(session, PHONE, "signin", other_than(code), settings):
                raise DomainError("wrong code")
    assert session.get(VerificationCode, row.id).tries == 1
    # The right code in an action that then fails: the try is counted, the code not used up.
    with pytest.raises(DomainError):
        with unit_of_work(session):
            assert check_code(session, PHONE, "signin", code, settings) is True
            raise DomainError("the account could not be made")
    stored = session.get(VerificationCode, row.id)
    assert stored.tries == 2 and stored.used_at is None
    assert check_code(session, PHONE, "signin", code, settings) is True


def test_one_code_a_minute_and_five_an_hour_per_number(session, settings, frozen):
    started = utcnow()
    issue_code(session, PHONE, "register", address=ADDRESS, settings=settings)
    with pytest.raises(TooManyCodes) as refused:
        issue_code(session, PHONE, "signin", address="198.51.100.1", settings=settings)
    assert refused.value.retry_after == 60 and refused.value.field == "phone"
    assert refused.value.status == 429 and "60" in str(refused.value)
    frozen.shift(timedelta(seconds=45))
    with pytest.raises(TooManyCodes) as refused:
        issue_code(session, PHONE, "register", address=ADDRESS, settings=settings)
    assert refused.value.params["seconds"] == 15
    frozen.shift(timedelta(seconds=15))
    for _ in range(4):
        issue_code(session, PHONE, "register", address=ADDRESS, settings=settings)
        frozen.shift(timedelta(seconds=60))
    assert count(session, VerificationCode) == 5
    with pytest.raises(TooManyCodes) as refused:
        issue_code(session, PHONE, "reset", address="198.51.100.2", settings=settings)
    free_at = started + timedelta(hours=1)
    assert refused.value.params["time"] == local(free_at).strftime("%H:%M")
    assert refused.value.params["minutes"] == 55  # 5 minutes of the hour have passed
    assert refused.value.params["time"] in str(refused.value)
    frozen.move_to(free_at + timedelta(seconds=1))
    issue_code(session, PHONE, "reset", address=ADDRESS, settings=settings)
    assert count(session, VerificationCode) == 6


def test_twenty_codes_an_hour_per_address(session, settings, frozen):
    for n in range(20):
        issue_code(session, f"139000000{n:02d}", "register", address=ADDRESS, settings=settings)
    with pytest.raises(TooManyCodes) as refused:
        issue_code(session, "13900000099", "register", address=ADDRESS, settings=settings)
    assert refused.value.field is None and refused.value.params["minutes"] == 60
    issue_code(session, "13900000099", "register", address="198.51.100.3", settings=settings)
    assert count(session, SmsMessage) == 21


def test_a_number_that_is_not_a_mobile_is_refused(session, settings):
    with pytest.raises(DomainError) as refused:
        issue_code(session, "021 1234 5678", "register", address=ADDRESS, settings=settings)
    assert refused.value.field == "phone"
    assert count(session, VerificationCode) == 0
    assert check_code(session, "not a number", "register", "123456", settings) is False


def test_messages_are_sent_only_when_the_unit_commits(session, settings, frozen):
    with pytest.raises(RuntimeError):
        with unit_of_work(session):
            send(session, PHONE, "account_exists", {}, settings)
            issue_code(session, "13912340000", "register", address=ADDRESS, settings=settings)
            raise RuntimeError("the action failed")
    assert count(session, SmsMessage) == 0 and count(session, VerificationCode) == 0

    with unit_of_work(session):
        message = send(session, PHONE, "account_exists", {"unused": 1}, settings)
        # Written, not yet delivered: delivery waits for the commit.
        status = session.scalar(select(SmsMessage.status).where(SmsMessage.id == message.id))
        assert status == SmsStatus.QUEUED
    stored = session.get(SmsMessage, message.id)
    assert stored.status == SmsStatus.STORED and stored.params == [] and stored.attempts == 1
    assert deliver(session, message.id, settings) is None  # delivered once, never twice


def test_a_kind_needs_its_template_and_parameters(session, settings):
    with pytest.raises(ValueError, match="no SMS template"):
        send(session, PHONE, "no_such_kind", {}, settings)
    with pytest.raises(ValueError, match="minutes"):
        send(session, PHONE, "verification_code", {"code": "123456"}, settings)
    assert count(session, SmsMessage) == 0


def test_a_provider_failure_is_kept_on_the_row(session, settings):
    unconfigured = dataclasses.replace(settings, provider="tencent")
    message = send(session, PHONE, "account_exists", {}, unconfigured)
    failed = session.get(SmsMessage, message.id)
    assert failed.status == SmsStatus.FAILED and failed.sent_at is None
    assert "TENCENT_SMS_SECRET_ID" in failed.error and failed.provider == "tencent"


def test_templates_come_from_the_environment_over_the_defaults():
    from app.config import sms_templates

    templates = sms_templates(
        '{"verification_code": {"template_id": "1234567"}, "reminder": {"params": ["when"]}}'
    )
    assert templates["verification_code"]["template_id"] == "1234567"
    assert templates["verification_code"]["params"] == ["code", "minutes"]
    assert templates["reminder"]["params"] == ["when"] and "account_exists" in templates
    with pytest.raises(RuntimeError, match="SMS_TEMPLATES"):
        sms_templates("{not json")


def test_messages_list_shows_codes_in_full(session, settings, runner, frozen):
    issue_code(session, PHONE, "signin", address=ADDRESS, settings=settings)
    send(session, "13800138000", "account_exists", {}, settings)
    code = sent_code(session)
    everything = runner.invoke(args=["messages", "list"])
    assert everything.exit_code == 0, everything.output
    lines = everything.output.splitlines()
    assert len(lines) == 2 and "13800138000" in lines[0] and code in lines[1]  # newest first
    mine = runner.invoke(args=["messages", "list", "--to", "+86 139 1234 5678"])
    assert mine.exit_code == 0 and "13800138000" not in mine.output
    assert f"您的验证码为{code}，5分钟内有效" in mine.output and "stored" in mine.output
    assert runner.invoke(args=["messages", "list", "--to", "12345"]).exit_code == 2


def test_the_development_outbox_page(session, settings, client, frozen):
    issue_code(session, PHONE, "signin", address=ADDRESS, settings=settings)
    code = sent_code(session)
    page = client.get("/dev/outbox").get_data(as_text=True)
    assert code in page and PHONE in page and "开发用短信发件箱" in page
    assert 'href="/dev/outbox"' in client.get("/").get_data(as_text=True)  # the footer link
    client.set_cookie("locale", "en")
    page = client.get("/dev/outbox").get_data(as_text=True)
    assert "Development outbox: messages are not sent" in page and code in page


def test_no_outbox_page_without_the_outbox_provider(database_url):
    from app import create_app

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "SMS_PROVIDER": "tencent"}
    )
    client = app.test_client()
    assert client.get("/dev/outbox").status_code == 404
    assert "/dev/outbox" not in client.get("/").get_data(as_text=True)
    with app.app_context():
        db.engine.dispose()


def test_production_refuses_the_outbox_and_defaults_to_tencent(database_url):
    from app import create_app
    from app.sms.settings import provider_name

    production = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "PREFERRED_URL_SCHEME": "https",
        "SECRET_KEY": "p" * 40,
        # Production's other requirements (app/identity: its key for real names).
        "IDENTITY_ENCRYPTION_KEY": base64.urlsafe_b64encode(bytes(range(32))).decode(),
    }
    with pytest.raises(RuntimeError, match="SMS_PROVIDER is outbox"):
        create_app({**production, "SMS_PROVIDER": "outbox"})
    app = create_app(production)
    assert provider_name(app.config) == "tencent"
    assert app.test_client().get("/dev/outbox", base_url="https://localhost").status_code == 404
    with app.app_context():
        db.engine.dispose()
    with pytest.raises(RuntimeError, match="SMS_PROVIDER must be one of"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SMS_PROVIDER": "carrier-pigeon"})


@pytest.mark.race
def test_concurrent_asks_send_one_code_and_concurrent_checks_use_it_once(app, session, settings):
    from tests.race import race

    asked = race(
        app,
        8,
        lambda i: issue_code(
            db.session, PHONE, "signin", address=f"198.51.100.{i}", settings=settings
        ),
    )
    issued = [r for r in asked if isinstance(r, VerificationCode)]
    assert len(issued) == 1, asked
    assert all(isinstance(r, TooManyCodes) for r in asked if r not in issued), asked
    assert count(session, VerificationCode) == 1 and count(session, SmsMessage) == 1
    code = sent_code(session)
    checked = race(app, 8, lambda i: check_code(db.session, PHONE, "signin", code, settings))
    assert checked.count(True) == 1 and checked.count(False) == 7, checked


def test_the_sweep_deletes_old_codes_and_messages(session, settings, runner, frozen):
    issue_code(session, PHONE, "signin", address=ADDRESS, settings=settings)
    frozen.shift(timedelta(days=1, seconds=1))
    issue_code(session, "13800138000", "signin", address=ADDRESS, settings=settings)
    swept = runner.invoke(args=["sweep"])
    assert swept.exit_code == 0 and "sms codes deleted: 1" in swept.output, swept.output
    assert session.scalars(select(VerificationCode.phone)).all() == ["13800138000"]
    assert count(session, SmsMessage) == 2
    frozen.shift(timedelta(days=29))
    assert "sms messages deleted: 1" in runner.invoke(args=["sweep"]).output
    assert session.scalars(select(SmsMessage.phone)).all() == ["13800138000"]


def test_my_data_shows_and_closing_the_account_deletes_the_numbers_messages(
    app, session, settings, make_user, tmp_path, frozen
):
    from app.accounts.mydata import close_account, export
    from app.registry import personal_data

    user = make_user(phone=PHONE)
    issue_code(session, PHONE, "reset", address=ADDRESS, settings=settings)
    send(session, "13800138000", "account_exists", {}, settings)  # someone else's
    mine = export(session, user, personal_data(app))["sms"]
    assert [m["kind"] for m in mine["text_messages"]] == ["verification_code"]
    assert mine["verification_codes"][0]["purpose"] == "reset"
    assert sent_code(session) not in str(mine)  # no code in the download
    done = close_account(session, user, personal_data(app), upload_dir=str(tmp_path))
    assert done["sms_messages_deleted"] == 1 and done["sms_codes_deleted"] == 1
    assert session.scalars(select(SmsMessage.phone)).all() == ["13800138000"]
    assert count(session, VerificationCode) == 0
