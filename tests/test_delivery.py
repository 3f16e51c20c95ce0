"""The notifications outbox and its dispatcher (app/notifications): a message's delivery rows
are written with it or not at all, go only to addresses proven to be the person's, wait for
quiet hours unless urgent, and are sent once each by any number of dispatchers, with retries,
backoff, dead letters and abandoned claims taken again."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.accounts.models import DisplayMode
from app.db import unit_of_work, utcnow
from app.extensions import db
from app.notifications.channels import DeliveryError, register
from app.notifications.dispatch import Dispatcher, claim, worker_name
from app.notifications.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationPreference,
)
from app.notifications.services import insert_notification, notify
from app.notifications.settings import DeliverySettings, settings_for


def offer(session, user, kind="venue.offer"):
    with unit_of_work(session):
        note = notify(
            session,
            user.id,
            kind=kind,
            subject="A place for %(venue)s is held for you",
            params={"venue": "闵行博物馆"},
            link="/venues/offers/1",
        )
    return note


def deliveries(session, user=None):
    query = select(Delivery).order_by(Delivery.id)
    if user is not None:
        query = query.where(Delivery.user_id == user.id)
    return list(session.scalars(query))


class Recording:
    """A provider that keeps what it was given and fails as told."""

    name = "recording"
    delivered_status = DeliveryStatus.SENT

    def __init__(self, fail: Exception | None = None):
        self.fail = fail
        self.sent = []
        self.lock = threading.Lock()

    def deliver(self, message):
        if self.fail is not None:
            raise self.fail
        with self.lock:
            self.sent.append(message)
        return f"rec-{message.delivery_id}"


@pytest.fixture
def recording(app):
    provider = Recording()
    for channel in Channel:
        register(app, channel, lambda _app: provider)
    return provider


@pytest.fixture
def resident(make_user):
    return make_user(phone_verified_at=utcnow())


def dispatch(app, session, **changes):
    settings = settings_for(app)
    if changes:
        import dataclasses

        settings = dataclasses.replace(settings, **changes)
    dispatcher = Dispatcher(app, session, settings)
    try:
        return dispatcher.run(once=True)
    finally:
        dispatcher.close()


def test_a_message_goes_by_sms_only_to_a_number_proven_to_be_the_persons(
    session, make_user, resident
):
    offer(session, resident)
    [row] = deliveries(session, resident)
    assert (row.channel, row.address, row.status) == (
        Channel.SMS,
        resident.phone,
        DeliveryStatus.QUEUED,
    )
    assert row.notification.kind == "venue.offer" and len(row.idempotency_key) == 36
    unproven = make_user()  # registered with a password: the number is only what was typed
    offer(session, unproven)
    assert deliveries(session, unproven) == []
    assert session.scalar(
        select(func.count()).select_from(Notification).where(Notification.user_id == unproven.id)
    )


def test_inbox_only_kinds_and_rolled_back_actions_write_no_delivery(session, resident):
    offer(session, resident, kind="venue.booking")  # a confirmation seen on its own page
    assert deliveries(session) == []
    with pytest.raises(RuntimeError), unit_of_work(session):
        notify(session, resident.id, kind="venue.offer", subject="x")
        raise RuntimeError("the action failed")
    assert deliveries(session) == []
    assert session.scalar(select(func.count()).select_from(Notification)) == 1


def test_the_plain_insert_path_writes_deliveries_too(session, resident):
    with unit_of_work(session):
        insert_notification(session, resident.id, kind="venue.offer", subject="x", link="/x")
    [row] = deliveries(session, resident)
    assert row.channel == Channel.SMS and row.notification.link == "/x"


def test_choices_defaults_and_elderly_mode(session, make_user):
    resident = make_user(phone_verified_at=utcnow())
    offer(session, resident, kind="venue.reminder")  # not time-limited: no SMS by default
    assert deliveries(session, resident) == []
    elderly = make_user(phone_verified_at=utcnow(), display_mode=DisplayMode.ELDERLY)
    offer(session, elderly, kind="venue.reminder")
    assert [d.channel for d in deliveries(session, elderly)] == [Channel.SMS]
    session.add(
        NotificationPreference(
            user_id=elderly.id, category="booking_reminders", sms=False, email=True, push=True
        )
    )
    session.commit()
    offer(session, elderly, kind="venue.reminder")  # no e-mail, no browser: inbox only
    assert len(deliveries(session, elderly)) == 1
    elderly.email, elderly.email_confirmed_at = "lao@example.cn", utcnow()
    session.commit()
    offer(session, elderly, kind="venue.reminder")
    assert [d.channel for d in deliveries(session, elderly)][-1] == Channel.EMAIL


@pytest.mark.now("2026-12-01T23:30:00+08:00")
def test_quiet_hours_hold_what_is_not_urgent(session, make_user, frozen):
    resident = make_user(phone_verified_at=utcnow(), display_mode=DisplayMode.ELDERLY)
    offer(session, resident, kind="venue.reminder")
    offer(session, resident, kind="venue.offer")  # urgent: a place held for 60 minutes
    reminder, urgent = deliveries(session, resident)
    assert clock.local(reminder.next_attempt_at).isoformat() == "2026-12-02T07:00:00+08:00"
    assert urgent.next_attempt_at == utcnow()
    resident.quiet_hours = False
    session.commit()
    offer(session, resident, kind="venue.reminder")
    assert deliveries(session, resident)[-1].next_attempt_at == utcnow()


def test_the_dispatcher_sends_each_due_message_once_and_records_it(
    app, session, resident, recording
):
    note = offer(session, resident)
    totals = dispatch(app, session)
    assert totals["claimed"] == 1 and totals["sent"] == 1
    [message] = recording.sent
    assert message.subject == "A place for 闵行博物馆 is held for you"
    assert message.url.endswith("/venues/offers/1") and message.address == resident.phone
    session.expire_all()
    [row] = deliveries(session)
    assert row.status == DeliveryStatus.SENT and row.provider_message_id == f"rec-{row.id}"
    assert row.sent_at is not None and row.attempts == 1 and row.notification_id == note.id
    assert dispatch(app, session)["claimed"] == 0  # nothing twice
    assert len(recording.sent) == 1


def test_the_development_outbox_keeps_sms_notifications(app, session, resident):
    offer(session, resident)
    assert dispatch(app, session).get("stored") == 1
    session.expire_all()
    [row] = deliveries(session)
    assert row.status == DeliveryStatus.STORED and row.provider == "outbox"


def test_failures_back_off_then_become_dead_letters(app, session, resident, frozen):
    provider = Recording(fail=DeliveryError("gateway timeout"))
    register(app, Channel.SMS, lambda _app: provider)
    offer(session, resident)
    for attempt in range(1, 4):
        totals = dispatch(app, session, max_attempts=3)
        session.expire_all()
        [row] = deliveries(session)
        assert row.attempts == attempt and row.error == "gateway timeout"
        if attempt < 3:
            assert totals == {"claimed": 1, "requeued": 0, "retrying": 1}
            assert row.status == DeliveryStatus.QUEUED
            delay = (row.next_attempt_at - utcnow()).total_seconds()
            assert 30 * 2 ** (attempt - 1) * 0.9 <= delay <= 30 * 2 ** (attempt - 1) * 1.1
            assert dispatch(app, session)["claimed"] == 0  # not due yet
            frozen.shift(timedelta(hours=1))
    assert row.status == DeliveryStatus.FAILED and row.sent_at is None


def test_a_permanent_refusal_fails_at_once(app, session, resident):
    provider = Recording(fail=DeliveryError("number refused", permanent=True))
    register(app, Channel.SMS, lambda _app: provider)
    offer(session, resident)
    dispatch(app, session)
    session.expire_all()
    [row] = deliveries(session)
    assert (row.status, row.attempts, row.error) == (DeliveryStatus.FAILED, 1, "number refused")


def test_an_abandoned_claim_is_taken_again_after_the_lease(
    app, session, resident, recording, frozen
):
    offer(session, resident)
    settings = settings_for(app)
    [claimed] = claim(session, "dead-dispatcher", settings, clock.now())  # then it died
    assert dispatch(app, session)["claimed"] == 0  # still within the lease
    frozen.shift(settings.lease + timedelta(seconds=1))
    totals = dispatch(app, session)
    assert totals["requeued"] == 1 and totals["sent"] == 1
    [message] = recording.sent
    assert message.idempotency_key == claimed.idempotency_key and message.attempt == 2


def test_competing_dispatchers_send_every_message_exactly_once(app, recording, make_user):
    users = [make_user(phone_verified_at=utcnow()) for _ in range(4)]
    for _ in range(30):
        for user in users:
            offer(db.session, user)
    db.session.remove()
    errors = []

    def one_dispatcher():
        with app.app_context():
            try:
                dispatch(app, db.session, batch=7)
            except Exception as error:  # pragma: no cover - reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=one_dispatcher) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    sent = Counter(message.delivery_id for message in recording.sent)
    assert len(sent) == 120 and set(sent.values()) == {1}
    statuses = db.session.scalars(select(Delivery.status)).all()
    assert Counter(statuses) == {DeliveryStatus.SENT: 120}
    workers = db.session.scalars(select(func.count(func.distinct(Delivery.claimed_by)))).one()
    assert workers >= 1


def test_the_deliver_command_runs_once(app, runner, session, resident, recording):
    offer(session, resident)
    result = runner.invoke(args=["deliver", "--once"])
    assert result.exit_code == 0, result.output
    assert "claimed: 1" in result.output and "sent: 1" in result.output
    assert len(recording.sent) == 1


def test_settings_double_the_backoff_up_to_its_ceiling():
    settings = DeliverySettings(portal_url="https://portal.example")
    assert [settings.retry_delay(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert settings.retry_delay(20) == timedelta(hours=1)
    assert worker_name() != worker_name()
