from app.audit import services as audit
from app.i18n import N_
from app.notifications import services as inbox
from tests.conftest import login, submit


def _note(session, user, **params):
    note = inbox.notify(
        session,
        user.id,
        kind="test",
        subject=N_("Your details are saved."),
        params=params,
        link="/profile",
    )
    session.commit()
    return note


def test_unread_count_shows_in_header_and_reading_clears_it(client, session, make_user):
    user = make_user()
    note = _note(session, user)
    _note(session, user)
    login(client, user.phone)
    html = client.get("/").get_data(as_text=True)
    assert 'class="badge">2' in html
    page = client.get(f"/inbox/{note.id}").get_data(as_text=True)
    assert "您的资料已保存" in page  # stored as a message id, shown translated
    assert 'class="badge">1' in client.get("/").get_data(as_text=True)
    assert inbox.unread_count(session, user.id) == 1
    submit(client, "/inbox/read-all", {}, form_url="/inbox")
    assert inbox.unread_count(session, user.id) == 0
    assert 'class="badge"' not in client.get("/").get_data(as_text=True)


def test_inbox_message_is_shown_in_the_readers_language(client, session, make_user):
    user = make_user(locale="en")
    note = _note(session, user)
    login(client, user.phone)
    assert "Your details are saved." in client.get(f"/inbox/{note.id}").get_data(as_text=True)


def test_someone_elses_message_is_not_found(client, session, make_user):
    owner, other = make_user(), make_user()
    note = _note(session, owner)
    login(client, other.phone)
    assert client.get(f"/inbox/{note.id}").status_code == 404
    assert inbox.unread_count(session, owner.id) == 1


def test_audit_entries_record_who_what_when_and_for_whom(client, session, make_user):
    admin, helper, resident = make_user("administrator"), make_user("community_helper"), make_user()
    audit.record(
        session, helper, "booking.create", resident, on_behalf_of=resident, note="电话代办"
    )
    session.commit()
    [entry] = audit.search(session, action="booking.create")
    assert entry.actor_id == helper.id and entry.on_behalf_of_id == resident.id
    assert entry.object_type == "user_account" and entry.object_id == str(resident.id)
    assert entry.created_at.tzinfo is not None
    login(client, admin.username)
    html = client.get("/audit?action=booking.create").get_data(as_text=True)
    assert "booking.create" in html and helper.name in html and resident.name in html
    assert "booking.create" not in client.get("/audit?action=other").get_data(as_text=True)


def test_reading_a_message_marks_it_read_once_and_only_for_its_owner(session, make_user):
    from app.notifications.models import Notification

    owner, other = make_user(), make_user()
    note = _note(session, owner)
    assert inbox.read(session, other.id, note.id) is None
    first = inbox.read(session, owner.id, note.id).read_at
    session.rollback()  # committed by the service
    assert first is not None and session.get(Notification, note.id).read_at == first
    assert inbox.read(session, owner.id, note.id).read_at == first  # the first reading stays
    assert inbox.unread_count(session, other.id) == 0


def test_an_access_record_is_committed_at_once_and_keeps_what_the_page_loaded(session, make_user):
    from sqlalchemy import inspect

    staff, resident = make_user("administrator"), make_user()
    session.refresh(resident)
    audit.record_access(session, staff, "test.read", resident, resident_id=resident.id)
    assert not inspect(resident).expired  # the page goes on showing it without reloading
    session.rollback()  # the trace stays whatever the page does next
    [entry] = audit.search(session, action="test.read")
    assert entry.actor_id == staff.id and entry.details["resident_id"] == resident.id
