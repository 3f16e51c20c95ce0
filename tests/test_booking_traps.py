"""No commitment traps in venue booking (issue 14, section 1): one booking per person per slot,
changing the number of people of the booking one holds, the cost of a late cancellation said
before anything is committed, and no door code while a booking waits for approval."""

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.accounts.models import HelperConsent
from app.accounts.services import issue_token
from app.audit.models import AuditEntry
from app.errors import Conflict, DomainError
from app.notifications.models import Notification
from bookings.models import Booking, BookingStatus, BookingSuspension, WaitlistEntry
from bookings.noshows import LATE
from bookings.services import SoldOut, ledger_mismatches
from tests.conftest import login, slot_at, submit
from tests.race import race
from venues import current_settings
from venues.services import booking as svc
from venues.services import changes, waitlist
from venues.services.rules import AlreadyBooked


@pytest.fixture
def venue(make_venue):
    return make_venue(capacity=12)


def english(client):
    client.set_cookie("locale", "en")
    return client


def book(session, actor, slot_id, party, holder=None, key=None):
    holder = holder or actor
    return svc.book_general(
        session, actor, holder, slot_id, party, idempotency_key=key, settings=current_settings()
    )


def booked(session, holder):
    session.rollback()
    return session.scalars(select(Booking).where(Booking.holder_id == holder.id)).all()


# --- 1. One booking per person per slot ---------------------------------------------------


def test_a_second_booking_of_the_same_slot_is_refused_naming_the_first(session, venue, make_user):
    """The reported trap: two confirmations with fresh keys held 8 of 12 places. The second
    is refused with the first's reference; a helper booking for the resident is refused too;
    another slot, or another person, is fine."""
    resident, helper = make_user(), make_user("community_helper")
    session.add(HelperConsent(resident_id=resident.id, helper_id=helper.id, venues=True))
    session.commit()
    slot = slot_at(session, venue.spaces[0], 1, 10)
    first = book(session, resident, slot.id, 4, key="a")
    for actor in (resident, helper):
        with pytest.raises(AlreadyBooked) as info:
            book(session, actor, slot.id, 4, holder=resident, key=uuid.uuid4().hex)
        assert info.value.code == "already_booked" and info.value.reference == first.reference
        assert first.reference in str(info.value)
    assert book(session, resident, slot.id, 4, key="a").id == first.id  # a replay is no second
    assert book(session, resident, slot_at(session, venue.spaces[0], 1, 11).id, 1)
    assert book(session, make_user(), slot.id, 4)
    session.refresh(slot)
    assert slot.taken == 8 and ledger_mismatches(session) == []
    # Once cancelled, the slot may be booked again.
    svc.cancel(session, first, resident, settings=current_settings())
    assert book(session, resident, slot.id, 2).quantity == 2


def test_a_whole_space_may_not_be_held_twice_at_overlapping_times(session, venue, make_user):
    person = make_user()
    court = venue.spaces[1]
    start = slot_at(session, court, 1, 10).starts_at

    def span(hour_offset, steps):
        return svc.book_personalised(
            session,
            person,
            person,
            court.id,
            start + timedelta(hours=hour_offset),
            steps,
            settings=current_settings(),
        )

    first = span(0, 2)  # 10:00-12:00
    with pytest.raises(AlreadyBooked) as info:
        span(1, 2)  # 11:00-13:00 overlaps
    assert info.value.reference == first.reference
    assert span(2, 1)  # 12:00-13:00 touches, does not overlap


def test_the_waitlist_refuses_someone_who_holds_the_slot(session, make_venue, make_user):
    venue = make_venue(capacity=2)
    slot = slot_at(session, venue.spaces[0], 1, 10)
    holder = make_user()
    book(session, holder, slot.id, 2)
    with pytest.raises(AlreadyBooked):
        waitlist.join_waitlist(session, holder, holder, slot.id, 1, settings=current_settings())
    assert session.scalar(select(func.count(WaitlistEntry.id))) == 0


def test_an_offer_is_not_accepted_by_someone_who_booked_the_slot_meanwhile(
    session, make_venue, make_user
):
    """Waiting for 2 places, the person booked 1 that came free; then 2 more come free and are
    offered to them: accepting would make two bookings of one slot, so it is refused."""
    venue = make_venue(capacity=3)
    slot = slot_at(session, venue.spaces[0], 1, 10)
    first, second, waiter = make_user(), make_user(), make_user()
    one = book(session, first, slot.id, 1)
    two = book(session, second, slot.id, 2)
    waitlist.join_waitlist(session, waiter, waiter, slot.id, 2, settings=current_settings())
    svc.cancel(session, one, first, settings=current_settings())  # 1 free: too few for the offer
    own = book(session, waiter, slot.id, 1)
    svc.cancel(session, two, second, settings=current_settings())
    # The waiter holds the slot: the freed places are not offered to them at all.
    assert session.scalar(select(func.count()).where(Booking.status == BookingStatus.OFFERED)) == 0
    entry = session.scalar(select(WaitlistEntry))
    assert entry.status.value == "cancelled" and own.status == BookingStatus.CONFIRMED


@pytest.mark.race
def test_one_person_confirming_n_times_at_once_holds_one_booking(app, session, venue, make_user):
    """Back, reload, confirm, many times over, all at once: different idempotency keys, one
    booking (decided under the holder's row lock, on SQLite and PostgreSQL)."""
    person = make_user()
    person_id, slot_id = person.id, slot_at(session, venue.spaces[0], 1, 10).id
    n = 8

    def confirm(i):
        from app.accounts.models import User
        from app.extensions import db

        me = db.session.get(User, person_id)
        return book(db.session, me, slot_id, 4, key=f"key-{i}").reference

    results = race(app, n, confirm)
    made = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, AlreadyBooked)]
    assert len(made) == 1 and len(refused) == n - 1, results
    assert {r.reference for r in refused} == set(made)
    rows = booked(session, person)
    assert len(rows) == 1 and rows[0].quantity == 4
    assert ledger_mismatches(session) == []


def test_the_api_answers_409_already_booked_with_the_reference(client, session, venue, make_user):
    person = make_user()
    headers = {"Authorization": f"Bearer {issue_token(session, person)}"}
    session.commit()
    slot = slot_at(session, venue.spaces[0], 1, 10)
    first = client.post(
        "/api/v1/bookings",
        json={"slot_id": slot.id, "party_size": 2},
        headers={**headers, "Idempotency-Key": "one"},
    )
    again = client.post(
        "/api/v1/bookings",
        json={"slot_id": slot.id, "party_size": 2},
        headers={**headers, "Idempotency-Key": "two"},
    )
    assert first.status_code == 201 and again.status_code == 409
    error = again.json["error"]
    assert error["code"] == "already_booked" and error["reference"] == first.json["reference"]
    assert first.json["reference"] in error["message"]


def test_the_check_page_says_so_before_the_confirm_button(client, session, venue, make_user):
    """Back to the check page after booking (a fresh key on reload): it says the time is booked,
    links to changing the number of people, and offers no confirm button; a confirm sent anyway
    (an old tab) is refused, and still one booking."""
    person = make_user()
    login(client, person.phone)  # Chinese, the default
    slot = slot_at(session, venue.spaces[0], 1, 10)
    first = book(session, person, slot.id, 4)
    check = f"/venues/slots/{slot.id}/check?party_size=4"
    html = client.get(check).get_data(as_text=True)
    assert "您已预约此时段" in html and first.reference in html
    assert f'href="/bookings/{first.reference}/people"' in html
    assert "确认预约" not in html and 'name="idempotency_key"' not in html
    party = client.get(f"/venues/slots/{slot.id}/book").get_data(as_text=True)
    assert "您已预约此时段" in party and 'name="party_size"' not in party
    assert '<h1 class="page-title">已有预约</h1>' in party  # not the question, unasked
    response = submit(
        client,
        f"/venues/slots/{slot.id}/confirm?party_size=4",
        {"idempotency_key": uuid.uuid4().hex},
        form_url=f"/venues/slots/{slot.id}/book",
    )
    assert response.status_code == 409 and "您已预约此时段" in response.get_data(as_text=True)
    assert len(booked(session, person)) == 1


# --- 2. Changing the number of people ------------------------------------------------------


def test_changing_the_party_moves_the_slot_by_the_difference(session, make_venue, make_user):
    venue = make_venue(capacity=6)
    slot = slot_at(session, venue.spaces[0], 1, 10)
    person, other = make_user(), make_user()
    booking = book(session, person, slot.id, 2)
    book(session, other, slot.id, 3)  # 1 left
    assert changes.change_party_size(session, booking, person, 3, settings=current_settings()) == 1
    session.refresh(slot)
    assert (booking.quantity, slot.taken) == (3, 6)
    with pytest.raises(SoldOut) as info:  # at most 4 per booking, but no place is left
        changes.change_party_size(session, booking, person, 4, settings=current_settings())
    assert "0" in str(info.value)
    with pytest.raises(DomainError) as info:
        changes.change_party_size(session, booking, person, 5, settings=current_settings())
    assert info.value.field == "party_size"
    assert changes.change_party_size(session, booking, person, 1, settings=current_settings()) == -2
    session.refresh(slot)
    assert (booking.quantity, slot.taken) == (1, 4) and ledger_mismatches(session) == []
    note = session.scalar(select(Notification).where(Notification.kind == "venue.changed"))
    assert note.user_id == person.id and note.params["places"] == 3
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "booking.change_party")
    ).all()
    assert [(e.details["before"], e.details["after"]) for e in entries] == [(2, 3), (3, 1)]


def test_places_given_back_go_to_the_waitlist(session, make_venue, make_user):
    venue = make_venue(capacity=4)
    slot = slot_at(session, venue.spaces[0], 1, 10)
    person, waiter = make_user(), make_user()
    booking = book(session, person, slot.id, 4)
    waitlist.join_waitlist(session, waiter, waiter, slot.id, 2, settings=current_settings())
    changes.change_party_size(session, booking, person, 2, settings=current_settings())
    offer = session.scalar(select(Booking).where(Booking.status == BookingStatus.OFFERED))
    assert offer.holder_id == waiter.id and offer.quantity == 2
    assert ledger_mismatches(session) == []


def test_fewer_people_only_before_the_cutoff_and_never_once_started(
    session, make_venue, make_user, frozen
):
    venue = make_venue(capacity=6, cancel_cutoff_minutes=120)
    person = make_user()
    booking = book(session, person, slot_at(session, venue.spaces[0], 0, 10).id, 2)  # 09:00 now
    with pytest.raises(Conflict) as info:
        changes.change_party_size(session, booking, person, 1, settings=current_settings())
    assert info.value.code == "past_cutoff"
    assert changes.change_party_size(session, booking, person, 3, settings=current_settings())
    frozen.shift(timedelta(hours=1, minutes=1))
    assert changes.change_refusal(session, booking, person).code == "too_late"


@pytest.mark.race
def test_parallel_changes_never_oversell(app, session, make_venue, make_user):
    """Six people with 1 place each add 3 more at once, 6 places left: exactly two succeed."""
    venue = make_venue(capacity=12)
    slot = slot_at(session, venue.spaces[0], 1, 10)
    people = [make_user() for _ in range(6)]
    refs = [book(session, p, slot.id, 1).reference for p in people]
    ids = [p.id for p in people]

    def grow(i):
        from app.accounts.models import User
        from app.extensions import db

        booking = svc.booking_for(db.session, refs[i])
        me = db.session.get(User, ids[i])
        return changes.change_party_size(db.session, booking, me, 4, settings=current_settings())

    results = race(app, 6, grow)
    assert results.count(3) == 2 and sum(isinstance(r, SoldOut) for r in results) == 4, results
    session.rollback()
    session.refresh(slot)
    assert slot.taken == 12 and ledger_mismatches(session) == []


def test_the_change_page_in_both_languages(client, session, make_venue, make_user):
    venue = make_venue(capacity=12)
    slot = slot_at(session, venue.spaces[0], 1, 10)
    person = make_user()
    booking = book(session, person, slot.id, 4)
    login(client, person.phone)
    url = f"/bookings/{booking.reference}/people"
    assert "修改人数" in client.get(url).get_data(as_text=True)
    person.locale = "en"  # (as the language setting stores it)
    session.commit()
    page = client.get(url).get_data(as_text=True)
    assert "How many people are coming, including you?" in page
    assert re.search(r'checked[^>]*value="4"', page) and "8 more places are free" in page
    same = submit(client, url, {"party_size": "4"})
    assert same.status_code == 409 and 'href="#party_size' in same.get_data(as_text=True)
    done = submit(client, url, {"party_size": "2"})
    assert done.status_code == 302 and done.headers["Location"] == f"/bookings/{booking.reference}"
    session.refresh(booking)
    assert booking.quantity == 2
    assert "is now for 2 people" in client.get(done.headers["Location"]).get_data(as_text=True)


# --- 3. The cost of cancelling, said before the commitment ----------------------------------


def test_a_late_slot_says_cancelling_counts_as_a_no_show(client, session, make_venue, make_user):
    venue = make_venue(capacity=12, cancel_cutoff_minutes=120)
    person = make_user()
    login(client, person.phone)
    late, early = slot_at(session, venue.spaces[0], 0, 10), slot_at(session, venue.spaces[0], 0, 12)
    for page in (f"/venues/slots/{late.id}/book", f"/venues/slots/{late.id}/check?party_size=1"):
        assert "取消将计为爽约" in client.get(page).get_data(as_text=True)
    for page in (f"/venues/slots/{early.id}/book", f"/venues/slots/{early.id}/check?party_size=1"):
        assert "取消将计为爽约" not in client.get(page).get_data(as_text=True)
    court = venue.spaces[1]
    span = client.get(f"/venues/{venue.id}/spaces/{court.id}/2026-12-01/book")
    assert span.get_data(as_text=True).count("取消将计为爽约") == 1  # 10:00 only (09:00 began)


def test_a_late_cancellation_is_confirmed_knowing_its_cost_and_counts(
    client, session, make_venue, make_user, frozen
):
    """Past the cut-off the cancel page says this would be no-show 1 of 3 in 30 days, with a
    warning button apart from "keep it"; confirmed, it counts, and the limit suspends."""
    venue = make_venue(capacity=12, cancel_cutoff_minutes=480)  # 09:00 now: late all day
    person = make_user()
    login(english(client), person.phone)
    settings = current_settings()
    limit, days = settings.no_shows.limit, settings.no_shows.window_days
    for n in range(1, limit + 1):
        booking = book(session, person, slot_at(session, venue.spaces[0], 0, 9 + n).id, 1)
        show = client.get(f"/bookings/{booking.reference}").get_data(as_text=True)
        assert "Cancelling now counts as a no-show." in show and "button-warning" in show
        html = client.get(f"/bookings/{booking.reference}/cancel").get_data(as_text=True)
        assert f"This would be your no-show {n} of {limit} in {days} days." in html
        assert ("would then be paused" in html) is (n == limit)
        assert re.search(r'class="button button-warning">Yes, cancel it and count a no-show', html)
        response = submit(client, f"/bookings/{booking.reference}/cancel", {"accept_cost": "1"})
        assert response.status_code == 302
        said = client.get(response.headers["Location"]).get_data(as_text=True)
        assert f"It counted as a no-show: {n} of {limit} in {days} days." in said
        assert "Thank you for letting someone else go" not in said
        session.refresh(booking)
        assert booking.status == BookingStatus.CANCELLED and booking.status_reason == LATE
    assert session.scalar(select(func.count(BookingSuspension.id))) == 1
    note = session.scalar(select(Notification).where(Notification.kind == "venue.suspended"))
    assert note.user_id == person.id


def test_a_cancellation_that_became_late_on_the_open_page_is_not_charged(
    client, session, make_venue, make_user, frozen
):
    venue = make_venue(capacity=12, cancel_cutoff_minutes=120)
    person = make_user()
    login(english(client), person.phone)
    booking = book(session, person, slot_at(session, venue.spaces[0], 0, 12).id, 1)
    url = f"/bookings/{booking.reference}/cancel"
    html = client.get(url).get_data(as_text=True)
    assert "Cancelling is free until 120 minutes before the start." in html
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    frozen.shift(timedelta(minutes=61))  # 10:01: past the 10:00 cut-off
    response = client.post(url, data={"csrf_token": token, "accept_cost": ""})
    assert response.status_code == 409
    again = response.get_data(as_text=True)
    assert "counts as a no-show" in again and "This would be your no-show 1 of" in again
    session.refresh(booking)
    assert booking.status == BookingStatus.CONFIRMED


# --- 4. Waiting for approval: no door code --------------------------------------------------


def test_a_pending_booking_shows_no_door_code_anywhere(client, session, make_venue, make_user):
    venue = make_venue(approval=True)
    person = make_user()
    court = venue.spaces[1]
    booking = svc.book_personalised(
        session,
        person,
        person,
        court.id,
        slot_at(session, court, 1, 10).starts_at,
        1,
        settings=current_settings(),
    )
    assert booking.status == BookingStatus.PENDING
    login(english(client), person.phone)
    html = client.get(f"/bookings/{booking.reference}?new=1").get_data(as_text=True)
    assert booking.door_code not in html and "<svg" not in html and "Door code" not in html
    assert "What happens next" in html and "approve or decline" in html
    note = session.scalar(select(Notification).where(Notification.kind == "venue.booking"))
    assert booking.door_code not in note.body_text
    ics = client.get(f"/bookings/{booking.reference}.ics").data.decode()
    assert booking.door_code not in ics
    headers = {"Authorization": f"Bearer {issue_token(session, person)}"}
    session.commit()
    assert client.get(f"/api/v1/bookings/{booking.id}", headers=headers).json["code"] is None
    staff = make_user("venue_admin")
    svc.decide(session, booking, staff, approve=True)
    html = client.get(f"/bookings/{booking.reference}").get_data(as_text=True)
    assert f"{booking.door_code[:4]} {booking.door_code[4:]}" in html
    approved = session.scalar(select(Notification).where(Notification.kind == "venue.decision"))
    assert booking.door_code in approved.body_text


# --- 5. Waitlists named; a helper's pages address the resident -------------------------------


def test_my_waitlists_name_the_venue_and_space(client, session, make_venue, make_user):
    venue = make_venue(capacity=1)
    slot = slot_at(session, venue.spaces[0], 1, 10)
    book(session, make_user(), slot.id, 1)
    waiter = make_user()
    waitlist.join_waitlist(session, waiter, waiter, slot.id, 1, settings=current_settings())
    login(client, waiter.phone)
    html = client.get("/bookings").get_data(as_text=True)
    waits = html[html.index("候补") :]
    assert "测试博物馆 · " in waits and venue.spaces[0].name_zh in waits
    assert re.search(r'class="button button-warning">[^<]+</button>', waits)  # leave: in red


def test_a_helper_is_shown_the_residents_booking_not_their_own(client, session, venue, make_user):
    resident = make_user(name="赵老伯")
    helper = make_user("community_helper")
    session.add(HelperConsent(resident_id=resident.id, helper_id=helper.id, venues=True))
    session.commit()
    slot = slot_at(session, venue.spaces[0], 1, 10)
    book(session, resident, slot.id, 2)
    login(english(client), helper.login_name)
    assert submit(client, "/bookings/helping", {"resident_id": str(resident.id)}).status_code == 302
    page = client.get(f"/venues/slots/{slot.id}/check?party_size=1").get_data(as_text=True)
    html = re.sub(r"<span lang=\"zh-CN\">([^<]*)</span>", r"\1", page)  # Chinese marked
    assert "Check the booking for 赵老伯" in html and "赵老伯 has already booked this time." in html
    assert "You have already booked" not in html


def test_the_api_changes_the_party_size(client, session, make_venue, make_user):
    venue = make_venue(capacity=5)
    slot = slot_at(session, venue.spaces[0], 1, 10)
    person = make_user()
    book(session, make_user(), slot.id, 2)
    booking = book(session, person, slot.id, 1)
    headers = {"Authorization": f"Bearer {issue_token(session, person)}"}
    session.commit()
    url = f"/api/v1/bookings/{booking.id}"
    grown = client.patch(url, json={"party_size": 3}, headers=headers)
    assert grown.status_code == 200 and grown.json["party_size"] == 3
    full = client.patch(url, json={"party_size": 4}, headers=headers)
    assert full.status_code == 409 and full.json["error"]["code"] == "sold_out"
    session.refresh(slot)
    assert slot.taken == 5 and ledger_mismatches(session) == []
