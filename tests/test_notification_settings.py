"""A person's notification settings (app/notifications/preferences.py and its pages): channels
per category with the defaults (SMS for everything in elderly mode), quiet hours with clear
refusals, the e-mail address confirmed only by a signed, expiring link for that account and
address, and each message's delivery status in the inbox and its API."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from app import clock
from app.accounts.models import DisplayMode
from app.db import unit_of_work, utcnow
from app.errors import DomainError
from app.notifications import preferences
from app.notifications.kinds import CATEGORIES, Category
from app.notifications.models import Channel, Delivery, DeliveryStatus, NotificationPreference
from app.notifications.services import notify
from tests.conftest import login, submit
from tests.test_email_channel import smtp_server  # noqa: F401  (the loopback SMTP server)

SETTINGS = preferences.AddressSettings(secret="s" * 32, confirm_hours=48, mail_enabled=True)


def all_channels(**on) -> dict:
    return {c: {ch: on.get(ch.value, False) for ch in Channel} for c in CATEGORIES}


def test_defaults_and_saved_choices(session, make_user):
    elderly, standard = make_user(display_mode=DisplayMode.ELDERLY), make_user()
    assert all(c[Channel.SMS] for c in preferences.effective_channels(session, elderly).values())
    chosen = preferences.effective_channels(session, standard)
    assert chosen[Category.WAITLIST_OFFERS][Channel.SMS]
    assert not chosen[Category.BOOKING_REMINDERS][Channel.SMS]
    assert chosen[Category.BOOKING_REMINDERS][Channel.EMAIL]
    preferences.save_settings(
        session,
        standard,
        channels=all_channels(email=True),
        quiet_hours=True,
        quiet_from="２１：３０",  # full-width, as a Chinese input method types it
        quiet_until="6:45",
    )
    saved = preferences.effective_channels(session, standard)
    assert all(
        c == {Channel.SMS: False, Channel.EMAIL: True, Channel.PUSH: False} for c in saved.values()
    )
    assert (standard.quiet_from, standard.quiet_until) == (21 * 60 + 30, 6 * 60 + 45)
    assert session.scalar(select(NotificationPreference).limit(1)) is not None
    # Repair alerts are staff's: a resident is not asked about them.
    assert Category.REPAIR_ALERTS not in preferences.categories_for(standard)
    assert Category.REPAIR_ALERTS in preferences.categories_for(make_user("district_supervisor"))


@pytest.mark.parametrize(
    ("start", "end", "field", "message"),
    [
        ("25:00", "07:00", "quiet_from", "填写免打扰开始时间"),
        ("22:00", "7", "quiet_until", "填写免打扰结束时间"),
        ("22:00", "22:00", "quiet_until", "不能与开始时间相同"),
    ],
)
def test_wrong_quiet_hours_are_refused_and_nothing_is_saved(
    session, make_user, start, end, field, message
):
    user = make_user()
    with pytest.raises(DomainError) as refused:
        preferences.save_settings(
            session,
            user,
            channels=all_channels(),
            quiet_hours=True,
            quiet_from=start,
            quiet_until=end,
        )
    assert refused.value.field == field and message in str(refused.value)
    assert session.scalar(select(NotificationPreference)) is None
    # Off, the times do not matter: the saved ones stay.
    preferences.save_settings(
        session, user, channels={}, quiet_hours=False, quiet_from=start, quiet_until=end
    )
    assert (user.quiet_hours, user.quiet_from, user.quiet_until) == (False, 22 * 60, 7 * 60)


def test_the_confirmation_link(session, make_user):
    user, other = make_user(), make_user()
    token = preferences.set_email(session, user, " Li.Lei@Example.COM ", SETTINGS)
    assert user.email == "Li.Lei@example.com" and user.email_confirmed_at is None
    refusals = {
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"): "link_invalid",
        preferences.confirmation_token(SETTINGS, other.id, user.email): "link_other_account",
    }
    for bad, code in refusals.items():
        with pytest.raises(DomainError) as refused:
            preferences.confirm_email(session, user, bad, SETTINGS)
        assert refused.value.code == code
    with time_machine.travel(clock.now() + timedelta(hours=49)):
        with pytest.raises(DomainError) as late:
            preferences.confirm_email(session, user, token, SETTINGS)
        assert late.value.code == "link_expired"
    assert preferences.confirm_email(session, user, token, SETTINGS) == "Li.Lei@example.com"
    assert user.email_confirmed_at is not None
    # A new address is unconfirmed at once, and the old address's link opens nothing.
    assert preferences.set_email(session, user, "new@example.com", SETTINGS)
    assert user.email_confirmed_at is None
    with pytest.raises(DomainError) as old:
        preferences.confirm_email(session, user, token, SETTINGS)
    assert old.value.code == "link_old_address" and user.email_confirmed_at is None
    with pytest.raises(DomainError) as invalid:
        preferences.set_email(session, user, "not an address", SETTINGS)
    assert invalid.value.field == "email"
    assert preferences.set_email(session, user, "", SETTINGS) is None and user.email is None


def test_address_confirmed_through_the_pages(client, session, make_user, smtp_server):  # noqa: F811
    user = make_user(locale="en")
    login(client, user.phone)
    client.set_cookie("locale", "en")
    answer = submit(client, "/profile/email", {"email": "li.lei@example.com"})
    assert answer.status_code == 302
    [mail] = smtp_server.messages
    assert mail["To"] == "li.lei@example.com" and mail["List-Unsubscribe"] is None
    # The link starts with PORTAL_URL (the tests' https://portal.test.invalid).
    link = re.search(
        r"https://portal\.test\.invalid(/profile/email/confirm/\S+)",
        mail.get_body(("plain",)).get_content(),
    )
    assert ">Confirm this address</a>" in mail.get_body(("html",)).get_content()
    page = client.get("/profile/notifications").text
    assert "To li.lei@example.com" in page and "not confirmed" in page
    done = client.get(link.group(1), follow_redirects=True)
    assert "li.lei@example.com is confirmed" in done.text
    session.refresh(user)
    assert user.email_confirmed_at is not None
    # Now messages go there.
    with unit_of_work(session):
        notify(session, user.id, kind="venue.reminder", subject="Tomorrow")
    rows = session.scalars(select(Delivery).where(Delivery.user_id == user.id)).all()
    assert [(r.channel, r.address) for r in rows] == [(Channel.EMAIL, "li.lei@example.com")]


def test_the_settings_page_keeps_answers_after_an_error(client, session, make_user):
    user = make_user(locale="en", phone_verified_at=utcnow())
    login(client, user.phone)
    client.set_cookie("locale", "en")
    page = client.get("/profile/notifications").text
    assert "To 139****" in page and "This portal does not send e-mail." in page
    assert re.search(r'<input checked[^>]*id="waitlist_offers_sms"', page)  # the default
    assert 'id="repair_alerts_sms"' not in page  # staff only
    assert "except these, which cannot wait: Waitlist offers." in page
    answers = {"quiet_hours": "y", "quiet_from": "22:60", "quiet_until": "", "parking_push": "y"}
    refused = submit(client, "/profile/notifications", answers)
    assert refused.status_code == 200
    assert 'href="#quiet_from"' in refused.text and 'href="#quiet_until"' in refused.text
    assert 'value="22:60"' in refused.text
    assert re.search(r'<input checked[^>]*id="parking_push"', refused.text)
    assert not re.search(r'<input checked[^>]*id="waitlist_offers_sms"', refused.text)
    assert session.scalar(select(NotificationPreference)) is None
    saved = submit(
        client, "/profile/notifications", {**answers, "quiet_from": "23:00", "quiet_until": "06:30"}
    )
    assert saved.status_code == 302
    session.refresh(user)
    assert (user.quiet_from, user.quiet_until) == (23 * 60, 6 * 60 + 30)


def test_a_helper_acting_for_a_resident_is_refused(client, session, make_user):
    from app.accounts.consents import grant_consent

    resident, helper = make_user(), make_user("community_helper")
    grant_consent(session, resident, helper.username, ["venues"])
    session.commit()
    login(client, helper.username)
    submit(client, "/bookings/helping", {"resident_id": str(resident.id)})
    assert client.get("/profile/notifications").status_code == 403
    assert submit(client, "/profile/notifications", {}, form_url="/profile").status_code == 403


@pytest.mark.now("2026-12-01T23:00:00+08:00")
def test_changed_quiet_hours_replan_the_held_messages(session, make_user, frozen):
    user = make_user(phone_verified_at=utcnow(), email="a@example.com", email_confirmed_at=utcnow())
    with unit_of_work(session):
        held = notify(session, user.id, kind="venue.reminder", subject="Tomorrow")  # e-mail
        urgent = notify(session, user.id, kind="venue.offer", subject="Offer")  # SMS, e-mail
        retried = notify(session, user.id, kind="venue.decision", subject="Approved")
    session.flush()
    [mail] = held.deliveries
    [retry] = retried.deliveries
    now = clock.now()
    assert mail.next_attempt_at == now + timedelta(hours=8)  # 07:00 in Shanghai
    with unit_of_work(session):
        retry.attempts, retry.next_attempt_at = 1, now + timedelta(minutes=5)  # a backoff
    urgent_due = {d.id: d.next_attempt_at for d in urgent.deliveries}

    def save(on: bool, start: str = "22:30", end: str = "06:00") -> None:
        chosen = preferences.effective_channels(session, user)
        preferences.save_settings(
            session, user, channels=chosen, quiet_hours=on, quiet_from=start, quiet_until=end
        )

    save(True)  # now (23:00) is inside 22:30-06:00: held until 06:00 instead
    session.refresh(mail)
    assert mail.next_attempt_at == now + timedelta(hours=7)
    save(True, "23:30", "06:00")  # now is outside the new quiet hours: due at once
    session.refresh(mail)
    assert mail.next_attempt_at == now
    save(True, "22:00", "07:00")  # a message already due is not held back again
    session.refresh(mail)
    assert mail.next_attempt_at == now
    with unit_of_work(session):
        late = notify(session, user.id, kind="venue.reminder", subject="Later")
    session.flush()
    [late_mail] = late.deliveries
    assert late_mail.next_attempt_at == now + timedelta(hours=8)
    save(False)  # quiet hours off: everything held is due now
    for delivery in (late_mail, retry, *urgent.deliveries):
        session.refresh(delivery)
    assert late_mail.next_attempt_at == now
    assert retry.next_attempt_at == now + timedelta(minutes=5)  # a retry keeps its backoff
    assert {d.id: d.next_attempt_at for d in urgent.deliveries} == urgent_due


@pytest.mark.now("2026-12-01T23:00:00+08:00")
def test_the_inbox_shows_how_far_each_message_got(client, session, make_user, frozen):
    user = make_user(phone_verified_at=utcnow(), email="a@example.com", email_confirmed_at=utcnow())
    with unit_of_work(session):
        # Not urgent, by e-mail only (the default): held back by the quiet hours.
        notify(session, user.id, kind="venue.reminder", subject="Tomorrow")
        sent = notify(session, user.id, kind="venue.offer", subject="Offer")  # urgent
    session.flush()
    sms, mail = sorted(sent.deliveries, key=lambda d: d.channel != Channel.SMS)
    with unit_of_work(session):
        sms.status, sms.sent_at = DeliveryStatus.SENT, clock.now()
        mail.status, mail.error = DeliveryStatus.FAILED, "recipient refused: 550 No such user"
    login(client, user.phone)
    inbox = client.get("/inbox").text
    assert "已短信发送 23:00" in inbox
    # A resident reads a plain reason; the provider's own error is for administrators.
    assert "邮件：未能发送" in inbox and "550 No such user" not in inbox
    assert "邮件：将在 07:00 后发送（免打扰）" in inbox
    hints = client.get("/profile/notifications").text  # Chinese sentences: no space between
    assert "为您限时保留的名额。免打扰时段也会发送。始终保留在收件箱中。" in hints
    assert 'class="input input-width-5" id="quiet_from"' in hints
    with unit_of_work(session):
        user.locale = "en"  # a signed-in person reads in their account's language
    shown = client.get(f"/inbox/{sent.id}").text
    assert "Sent by text message 23:00" in shown and "E-mail: could not be sent" in shown
    assert "Tue 1 Dec, 23:00" in shown or "Tue 1 Dec 2026, 23:00" in shown  # no "+0800"
    from app.accounts.services import issue_token

    headers = {"Authorization": f"Bearer {issue_token(session, user)}"}
    listed = {
        n["id"]: n["deliveries"] for n in client.get("/api/v1/notifications", headers=headers).json
    }
    states = {(d["channel"], d["status"], d["quiet"]) for d in listed[sent.id]}
    assert states == {("sms", "sent", False), ("email", "failed", False)}
    reasons = [d["reason"] for d in listed[sent.id] if d["channel"] == "email"]
    assert reasons == ["could not be sent"]  # plain words; the raw error is for administrators
    [waiting] = [v for k, v in listed.items() if k != sent.id]
    assert [(d["channel"], d["quiet"], d["at"]) for d in waiting] == [
        ("email", True, "2026-12-01T23:00:00+00:00")  # 07:00 in Shanghai
    ]


def test_my_data_lists_the_address_and_closing_the_account_forgets_it(session, make_user):
    from app.accounts import mydata
    from app.registry import personal_data

    user = make_user(email="a@example.com", email_confirmed_at=utcnow())
    preferences.save_settings(
        session,
        user,
        channels=all_channels(sms=True),
        quiet_hours=False,
        quiet_from="",
        quiet_until="",
    )
    parts = personal_data()
    exported = mydata.export(session, user, parts)["notification_settings"]
    assert exported["email"] == "a@example.com" and exported["quiet_hours"]["on"] is False
    assert exported["channels"]["parking"] == {"sms": True, "email": False, "push": False}
    done = mydata.close_account(session, user, parts, upload_dir="/nonexistent")
    assert done["email_addresses"] == 1 and done["notification_preferences"] == len(CATEGORIES)
    assert (user.email, user.email_confirmed_at) == (None, None)
    assert session.scalar(select(NotificationPreference)) is None


def test_an_administrator_reads_the_providers_own_error(client, session, make_user):
    admin = make_user("administrator")
    with unit_of_work(session):
        note = notify(session, admin.id, kind="venue.offer", subject="Offer")
        note.deliveries.append(
            Delivery(
                user_id=admin.id,
                channel=Channel.SMS,
                address="13900000000",
                status=DeliveryStatus.FAILED,
                error="template not approved",
            )
        )
    login(client, admin.login_name)
    assert "短信发送失败：template not approved" in client.get(f"/inbox/{note.id}").text
