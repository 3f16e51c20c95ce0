"""Dead letters (app/notifications/deadletters.py, /admin/deliveries): administrators see the
messages the dispatcher gave up on, masked, newest first, and queue one again; the dispatcher
then sends it. Nobody else sees the page (tests/test_authorization_matrix.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.db import unit_of_work, utcnow
from app.errors import Conflict, NotFound
from app.notifications import deadletters
from app.notifications.channels import DeliveryError, register
from app.notifications.models import Channel, Delivery, DeliveryStatus
from app.notifications.services import notify
from tests.conftest import csrf_token, login
from tests.test_delivery import Recording, dispatch


def alert(session, user):
    with unit_of_work(session):
        notify(session, user.id, kind="venue.offer", subject="A place is held for you")


@pytest.fixture
def failed(app, session, make_user):
    """Two residents' offers refused for good by the SMS provider: two dead letters."""
    refusing = Recording(fail=DeliveryError("template not approved", permanent=True))
    register(app, Channel.SMS, lambda _app: refusing)
    people = [make_user(phone_verified_at=utcnow()) for _ in range(2)]
    for person in people:
        alert(session, person)
    dispatch(app, session)
    return people


def test_dead_letters_are_listed_masked_and_newest_first_and_counted(session, failed):
    rows = deadletters.dead_letters(session)
    assert [r.id for r in rows] == sorted((r.id for r in rows), reverse=True)
    first = rows[-1]
    assert first.address == failed[0].phone[:3] + "****" + failed[0].phone[-4:]
    assert (first.kind, first.attempts, first.error) == ("venue.offer", 1, "template not approved")
    assert deadletters.dead_letters(session, channel=Channel.EMAIL) == []
    counts = deadletters.status_counts(session)
    assert counts[DeliveryStatus.FAILED] == 2 and counts[DeliveryStatus.SENT] == 0


def test_try_again_queues_one_row_audited_and_the_dispatcher_sends_it(
    app, session, make_user, failed
):
    admin = make_user("administrator")
    target = deadletters.dead_letters(session)[0]
    deadletters.retry(session, admin, target.id)
    row = session.get(Delivery, target.id)
    session.refresh(row)
    assert (row.status, row.attempts, row.claimed_by) == (DeliveryStatus.QUEUED, 0, None)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "delivery.retry"))
    assert (entry.actor_id, entry.object_id) == (admin.id, str(target.id))
    assert entry.details["attempts"] == 1 and entry.details["error"] == "template not approved"
    with pytest.raises(Conflict):  # a second press: it is no longer failed
        deadletters.retry(session, admin, target.id)
    with pytest.raises(NotFound):
        deadletters.retry(session, admin, 10**9)

    working = Recording()
    register(app, Channel.SMS, lambda _app: working)
    dispatch(app, session)
    assert [m.delivery_id for m in working.sent] == [target.id]  # the other stays dead
    session.refresh(row)
    assert row.status == DeliveryStatus.SENT and row.attempts == 1


def test_the_page_lists_them_and_its_button_queues_one(app, client, session, make_user, failed):
    admin = make_user("administrator")
    login(client, admin.login_name)
    page = client.get("/admin/deliveries?channel=sms").get_data(as_text=True)
    masked = failed[1].phone[:3] + "****" + failed[1].phone[-4:]
    assert masked in page and failed[1].phone not in page and "template not approved" in page
    target = deadletters.dead_letters(session)[0]
    answer = client.post(
        "/admin/deliveries/retry",
        data={
            "delivery_id": target.id,
            "channel": "sms",
            "csrf_token": csrf_token(client, "/admin/deliveries"),
        },
    )
    assert answer.status_code == 302 and answer.location.endswith("/admin/deliveries?channel=sms")
    status = session.scalar(select(Delivery.status).where(Delivery.id == target.id))
    assert status == DeliveryStatus.QUEUED

    # Refused again: the page counts the attempts before "try again" too (from the audit log),
    # names the person and the kind in words, and explains retrying without jargon.
    dispatch(app, session)
    [again] = [r for r in deadletters.dead_letters(session) if r.id == target.id]
    assert (again.attempts, again.total_attempts, again.retried) == (1, 2, 1)
    page = client.get("/admin/deliveries").get_data(as_text=True)
    [row] = [part for part in page.split("<tr>") if f'value="{target.id}"' in part]
    assert failed[1].name in page and "候补名额" in page and "venue.offer" not in page
    assert "已重试 1 次" in row and ">2<br>" in row and "幂等键" not in page
