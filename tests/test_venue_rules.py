"""The venue rules that pages, API and templates share (named predicates in the service), the
settings the services are given from the app's configuration, and operations that are one unit
of work (all or nothing)."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.accounts.services import issue_token
from app.audit.models import AuditEntry
from app.errors import DomainError
from app.notifications.models import Notification
from bookings.models import Booking, BookingStatus, BookingSuspension
from tests.conftest import login, slot_at
from venues import current_settings
from venues.models import Closure, Venue, VenuePhoto
from venues.services import admin, waitlist
from venues.services import booking as svc


def english(client):
    client.set_cookie("locale", "en")
    return client


def api_headers(session, user):
    token = issue_token(session, user)
    return {"Authorization": f"Bearer {token}", "Accept-Language": "en"}


def book(session, person, bucket_id, party):
    return svc.book_general(session, person, person, bucket_id, party, settings=current_settings())


def _offer_past_the_cutoff(session, venue, make_user):
    """A waitlist offer for today's 10:00 slot at 09:00, inside the venue's 2-hour cut-off: the
    holder's booking was cancelled by staff and its places went to the person waiting."""
    slot = slot_at(session, venue.spaces[0], 0, 10)
    holder, waiter, staff = make_user(), make_user(), make_user("venue_admin")
    booking = book(session, holder, slot.id, 2)
    waitlist.join_waitlist(session, waiter, waiter, slot.id, 2, settings=current_settings())
    svc.cancel(session, booking, staff, by_staff=True, reason="闭馆")
    offer = session.scalar(select(Booking).where(Booking.status == BookingStatus.OFFERED))
    assert offer.holder_id == waiter.id
    return offer, waiter


def _confirmed(session, venue, make_user, day_offset):
    person = make_user()
    return book(session, person, slot_at(session, venue.spaces[0], day_offset, 10).id, 1), person


@pytest.mark.parametrize(
    "case, cancellable",
    [("offer past the cut-off", True), ("confirmed past the cut-off", True), ("confirmed", True)],
)
def test_page_api_and_service_agree_on_who_may_cancel(
    client, session, make_venue, make_user, case, cancellable
):
    """The booking page offers to cancel exactly when `can_cancel` says so, and the API's
    DELETE does exactly that. An open waitlist offer may be turned down whatever the cut-off
    (the old page never offered to cancel an offer, though TRANSITIONS allows it). A confirmed
    booking past the cut-off may be cancelled until it starts, counting a no-show: the page
    says so and the API asks for `accept_no_show` (tests/test_booking_traps.py)."""
    venue = make_venue(capacity=2, cancel_cutoff_minutes=120)
    if case.startswith("offer"):
        booking, person = _offer_past_the_cutoff(session, venue, make_user)
    else:
        booking, person = _confirmed(session, venue, make_user, 0 if "past" in case else 1)
    assert svc.can_cancel(session, booking, person) is cancellable
    login(english(client), person.phone)
    html = client.get(f"/bookings/{booking.reference}").get_data(as_text=True)
    assert (f'href="/bookings/{booking.reference}/cancel"' in html) is cancellable
    assert ("It is too late to cancel online" in html) is (not cancellable)
    if case.startswith("offer"):  # its answer buttons too
        assert f'action="/bookings/{booking.reference}/accept"' in html
        assert f'action="/bookings/{booking.reference}/decline"' in html
    headers = api_headers(session, person)
    if case == "confirmed past the cut-off":
        assert "Cancelling now counts as a no-show." in html
        refused = client.delete(f"/api/v1/bookings/{booking.id}", headers=headers)
        assert refused.status_code == 409 and refused.json["error"]["code"] == "past_cutoff"
        response = client.delete(
            f"/api/v1/bookings/{booking.id}?accept_no_show=true", headers=headers
        )
    else:
        response = client.delete(f"/api/v1/bookings/{booking.id}", headers=headers)
    if cancellable:
        assert response.status_code == 200 and response.json["status"] == "cancelled"
    else:
        assert response.status_code == 409 and response.json["error"]["code"] == "past_cutoff"
    session.refresh(booking)
    assert (booking.status == BookingStatus.CANCELLED) is cancellable


def test_a_closed_offer_shows_no_answer_buttons(client, session, make_venue, make_user, frozen):
    venue = make_venue(capacity=2, waitlist_offer_minutes=30)
    offer, waiter = _offer_past_the_cutoff(session, venue, make_user)
    frozen.shift(timedelta(minutes=31))  # the offer has run out; the sweep has not yet run
    assert not waitlist.can_answer_offer(session, offer, waiter)
    login(english(client), waiter.phone)
    html = client.get(f"/bookings/{offer.reference}").get_data(as_text=True)
    assert "/accept" not in html and "/decline" not in html


def test_the_suspended_refusal_and_the_booking_page_say_the_configured_numbers(
    app, client, session, make_venue, make_user
):
    """No '3 within 30 days' or '12345' written into a message or a page: both come from
    VENUE_NO_SHOW_LIMIT, VENUE_NO_SHOW_WINDOW_DAYS and PORTAL_HOTLINE."""
    app.config.update(VENUE_NO_SHOW_LIMIT=2, VENUE_NO_SHOW_WINDOW_DAYS=10)
    app.config["PORTAL_HOTLINE"] = "021-64120000"
    venue = make_venue()
    suspended, other = make_user(), make_user()
    session.add(
        BookingSuspension(
            user_id=suspended.id,
            kind="venue",
            until=clock.now() + timedelta(days=7),
            reason="2 no-shows in 10 days",
        )
    )
    session.commit()
    slot = slot_at(session, venue.spaces[0], 1, 10)
    refused = client.post(
        "/api/v1/bookings", json={"slot_id": slot.id}, headers=api_headers(session, suspended)
    )
    assert refused.status_code == 403 and refused.json["error"]["code"] == "suspended"
    message = refused.json["error"]["message"]
    assert "2 bookings within 10 days" in message and "021-64120000" in message
    zh = client.post(
        "/api/v1/bookings",
        json={"slot_id": slot.id},
        headers={**api_headers(session, suspended), "Accept-Language": "zh-CN"},
    )
    assert "10 天内有 2 次" in zh.json["error"]["message"]
    booking = book(session, other, slot.id, 1)
    login(english(client), other.phone)
    page = client.get(f"/bookings/{booking.reference}?new=1").get_data(as_text=True)
    assert "2 missed bookings in 10 days" in page and "3 missed" not in page


def test_flask_sweep_suspends_by_the_configured_policy(
    app, runner, session, make_venue, make_user, frozen
):
    """`flask sweep` calls the venue sweep with settings built from its app's config when it
    runs: with VENUE_NO_SHOW_LIMIT = 1 one no-show suspends."""
    app.config.update(VENUE_NO_SHOW_LIMIT=1, VENUE_SUSPENSION_DAYS=3)
    venue = make_venue(checkin_grace_minutes=30)
    person = make_user()
    book(session, person, slot_at(session, venue.spaces[0], 0, 10).id, 1)
    assert "no_shows: 0" in runner.invoke(args=["sweep"]).output
    frozen.shift(timedelta(hours=1, minutes=31))  # 10:31, past the 10:00 booking's grace
    assert "no_shows: 1" in runner.invoke(args=["sweep"]).output
    suspension = session.scalar(
        select(BookingSuspension).where(BookingSuspension.user_id == person.id)
    )
    assert suspension.until - suspension.created_at == timedelta(days=3)
    told = session.scalar(
        select(Notification).where(
            Notification.user_id == person.id, Notification.kind == "venue.suspended"
        )
    )
    assert told.params["count"] == 1 and told.params["days"] == 30


def test_bookings_check_reports_what_a_service_registered(app, runner, monkeypatch):
    monkeypatch.setitem(
        app.extensions, "booking_state_checks", [lambda session: [(4242, "paid but never held")]]
    )
    result = runner.invoke(args=["bookings", "check"])
    assert result.exit_code == 1 and "booking 4242: paid but never held" in result.output


# --- One unit of work: all or nothing ---------------------------------------------------------


def _fail(*args, **kwargs):
    raise RuntimeError("the database went away")


def test_a_closure_is_all_or_nothing(session, make_venue, make_user, monkeypatch):
    """The closure, its cancellations and the slots are one unit: a failure while removing the
    slots leaves no closure and every booking as it was (it used to commit the closure, then
    cancel each booking in its own transaction)."""
    venue = make_venue()
    booking, person = _confirmed(session, venue, make_user, 2)
    staff = make_user("venue_admin")
    monkeypatch.setattr(admin, "materialise", _fail)
    day = clock.local(booking.starts_at).date()
    with pytest.raises(RuntimeError):
        admin.add_closure(session, staff, venue, day, day, "检修")
    assert session.scalar(select(func.count(Closure.id))) == 0
    session.refresh(booking)
    assert booking.status == BookingStatus.CONFIRMED
    assert (
        session.scalar(
            select(func.count(Notification.id)).where(Notification.kind == "venue.cancelled")
        )
        == 0
    )
    monkeypatch.undo()
    closure, cancelled = admin.add_closure(session, staff, venue, day, day, "检修")
    session.refresh(booking)
    assert cancelled == 1 and booking.status == BookingStatus.CANCELLED and closure.id


def test_a_venue_is_saved_with_its_slots_or_not_at_all(session, places, make_user, monkeypatch):
    staff = make_user("administrator")
    data = {
        "name_zh": "新馆",
        "name_en": "New hall",
        "type": "museum",
        "town_id": places["towns"][0].id,
        "address_zh": "新路 1 号",
        "address_en": "1 New Road",
        "phone": "021-00000000",
        "opens_at": "08:00",
        "opens_days_ahead": 7,
        "max_per_day": 2,
        "max_per_week": 5,
        "cancel_cutoff_minutes": 120,
        "checkin_grace_minutes": 30,
        "crowd_warning_percent": 80,
        "waitlist_offer_minutes": 60,
        "active": True,
    }
    monkeypatch.setattr(admin, "materialise", _fail)
    with pytest.raises(RuntimeError):
        admin.save_venue(session, staff, None, data)
    assert session.scalar(select(func.count(Venue.id))) == 0
    assert session.scalar(select(func.count(AuditEntry.id))) == 0
    monkeypatch.undo()
    assert admin.save_venue(session, staff, None, data).id


def test_a_photo_whose_record_fails_leaves_no_file(
    app, session, make_venue, make_user, monkeypatch, tmp_path
):
    from io import BytesIO

    from PIL import Image

    app.config["UPLOAD_DIR"] = str(tmp_path)
    venue, staff = make_venue(), make_user("venue_admin")
    image = BytesIO()
    Image.new("RGB", (40, 30), "red").save(image, "PNG")
    from venues.services import photos

    monkeypatch.setattr(photos, "record", _fail)  # the audit entry, in the photo's unit of work
    with pytest.raises(RuntimeError):
        admin.add_photo(session, staff, venue, image.getvalue(), "红色", "Red")
    assert list((tmp_path / "venues").iterdir()) == []
    assert session.scalar(select(func.count(VenuePhoto.id))) == 0
    monkeypatch.undo()
    photo = admin.add_photo(session, staff, venue, image.getvalue(), "红色", "Red")
    assert sorted(p.name for p in (tmp_path / "venues").iterdir()) == sorted(
        [photo.filename, photo.thumb]
    )
    admin.delete_photo(session, staff, photo)
    assert list((tmp_path / "venues").iterdir()) == []


def test_parse_hhmm_answers_on_the_field():
    assert admin.parse_hhmm(" 08:30 ", "opens_at") == 510
    with pytest.raises(DomainError) as refused:
        admin.parse_hhmm("25:00", "opens_0")
    assert refused.value.field == "opens_0"
