"""Booking a venue through the services: the rules, cancellation, waitlist, approval."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.errors import Conflict, DomainError, Forbidden, NotFound
from app.notifications.models import Notification
from bookings.models import Booking, BookingStatus, WaitlistEntry, WaitlistStatus
from bookings.services import SoldOut, ledger_mismatches
from tests.conftest import slot_at
from venues import current_settings
from venues.services import booking as svc
from venues.services import waitlist


def book(session, person, bucket_id: int, party: int):
    """`person` books `party` places of a general slot for themself, as the pages do."""
    return svc.book_general(session, person, person, bucket_id, party, settings=current_settings())


@pytest.fixture
def venue(make_venue):
    return make_venue(capacity=5)


def hall(venue):
    return venue.spaces[0]


def court(venue):
    return venue.spaces[1]


def test_general_booking_takes_places_and_tells_the_resident(session, venue, make_user):
    user = make_user()
    slot = slot_at(session, hall(venue), 1, 10)
    booking = book(session, user, slot.id, 3)
    session.refresh(slot)
    assert (booking.status, booking.quantity, slot.taken) == (BookingStatus.CONFIRMED, 3, 3)
    note = session.scalar(select(Notification).where(Notification.user_id == user.id))
    assert booking.reference in note.params["ref"] and note.link == f"/bookings/{booking.reference}"


@pytest.mark.parametrize("party", [0, 5])
def test_party_size_is_bounded_by_the_venue(session, venue, make_user, party):
    user = make_user()
    with pytest.raises(DomainError) as info:
        book(session, user, slot_at(session, hall(venue), 1, 10).id, party)
    assert info.value.field == "party_size"


def test_slot_that_started_is_refused(session, venue, make_user):
    user = make_user()
    with pytest.raises(DomainError) as info:
        book(session, user, slot_at(session, hall(venue), 0, 9).id, 1)
    assert info.value.code == "too_late"


def test_booking_opens_days_ahead_at_the_set_time(session, make_venue, make_user, frozen):
    venue = make_venue(opens_days_ahead=2, opens_at_minutes=10 * 60)
    user = make_user()
    with pytest.raises(DomainError) as info:  # 2 days ahead opens today at 10:00; it is 09:00
        book(session, user, slot_at(session, hall(venue), 2, 10).id, 1)
    assert info.value.code == "not_open_yet" and "10:00" in str(info.value)
    frozen.shift(timedelta(hours=1))
    assert book(session, user, slot_at(session, hall(venue), 2, 10).id, 1)


def test_daily_and_weekly_limits(session, make_venue, make_user):
    venue = make_venue(max_per_day=2, max_per_week=3)
    user = make_user()
    for hour in (10, 11):
        book(session, user, slot_at(session, hall(venue), 1, hour).id, 1)
    with pytest.raises(Conflict) as info:
        book(session, user, slot_at(session, hall(venue), 1, 12).id, 1)
    assert info.value.code == "daily_limit"
    book(session, user, slot_at(session, hall(venue), 2, 10).id, 1)
    with pytest.raises(Conflict) as info:  # Wed, Thu, Fri are one week (Mon-Sun)
        book(session, user, slot_at(session, hall(venue), 3, 10).id, 1)
    assert info.value.code == "weekly_limit"
    # A cancelled booking no longer counts.
    first = session.scalar(select(Booking).order_by(Booking.id))
    svc.cancel(session, first, user)
    assert book(session, user, slot_at(session, hall(venue), 3, 10).id, 1)


def test_a_limit_of_one_is_told_in_the_singular(app, session, make_venue, make_user):
    from flask_babel import force_locale

    venue = make_venue(max_per_day=1)
    user = make_user()
    book(session, user, slot_at(session, hall(venue), 1, 10).id, 1)
    with pytest.raises(Conflict) as info:
        book(session, user, slot_at(session, hall(venue), 1, 11).id, 1)
    with app.test_request_context(), force_locale("en"):
        assert "You already have 1 booking at this venue that day" in str(info.value)
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        assert "当天在这个场馆已有 1 个预约" in str(info.value)


def test_sold_out_is_a_clear_refusal(session, venue, make_user):
    slot = slot_at(session, hall(venue), 1, 10)
    a, b = make_user(), make_user()
    book(session, a, slot.id, 4)
    with pytest.raises(SoldOut):
        book(session, b, slot.id, 2)
    assert book(session, b, slot.id, 1)


def test_cancel_until_cutoff_frees_places(session, make_venue, make_user, frozen):
    venue = make_venue(cancel_cutoff_minutes=120)
    user = make_user()
    slot = slot_at(session, hall(venue), 0, 12)  # today 12:00; cut-off 10:00
    booking = book(session, user, slot.id, 2)
    frozen.shift(timedelta(minutes=61))  # 10:01
    with pytest.raises(Conflict) as info:
        svc.cancel(session, booking, user)
    assert info.value.code == "past_cutoff"
    frozen.shift(timedelta(minutes=-2))  # 09:59
    svc.cancel(session, booking, user)
    session.refresh(slot)
    assert booking.status == BookingStatus.CANCELLED and slot.taken == 0
    assert ledger_mismatches(session) == []


def test_someone_else_cannot_cancel(session, venue, make_user):
    owner, other = make_user(), make_user()
    booking = book(session, owner, slot_at(session, hall(venue), 1, 10).id, 1)
    with pytest.raises(NotFound):
        svc.cancel(session, booking, other)


def test_helper_books_only_with_consent(session, venue, make_user):
    from app.accounts.models import HelperConsent
    from app.audit.models import AuditEntry

    resident, helper = make_user(), make_user("community_helper")
    slot = slot_at(session, hall(venue), 1, 10)
    with pytest.raises(Forbidden):
        svc.book_general(session, helper, resident, slot.id, 1, settings=current_settings())
    session.add(HelperConsent(resident_id=resident.id, helper_id=helper.id, venues=True))
    session.commit()
    booking = svc.book_general(session, helper, resident, slot.id, 1, settings=current_settings())
    assert booking.holder_id == resident.id and booking.booked_by_id == helper.id
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "booking.create"))
    assert entry.actor_id == helper.id and entry.on_behalf_of_id == resident.id
    svc.cancel(session, booking, helper)
    assert (
        session.scalar(
            select(func.count(AuditEntry.id)).where(
                AuditEntry.action == "booking.cancel", AuditEntry.on_behalf_of_id == resident.id
            )
        )
        == 1
    )


def test_waitlist_offer_accept_and_expiry(session, make_venue, make_user, frozen):
    venue = make_venue(capacity=2, waitlist_offer_minutes=30)
    slot = slot_at(session, hall(venue), 1, 10)
    a, b, c, d = (make_user() for _ in range(4))
    first = book(session, a, slot.id, 2)
    with pytest.raises(Conflict):  # there is no room to wait for while places are free
        waitlist.join_waitlist(
            session, b, b, slot_at(session, hall(venue), 1, 11).id, 1, settings=current_settings()
        )
    waitlist.join_waitlist(session, b, b, slot.id, 2, settings=current_settings())
    waitlist.join_waitlist(session, c, c, slot.id, 1, settings=current_settings())
    waitlist.join_waitlist(session, d, d, slot.id, 1, settings=current_settings())
    svc.cancel(session, first, a)
    offers = session.scalars(select(Booking).where(Booking.status == BookingStatus.OFFERED)).all()
    assert [o.holder_id for o in offers] == [b.id]  # first in line, whole party fits
    session.refresh(slot)
    assert slot.taken == 2  # held for b: nobody else can take it
    with pytest.raises(SoldOut):
        book(session, d, slot.id, 1)
    # b lets the offer lapse: it passes on, places held for c and d in turn
    frozen.shift(timedelta(minutes=31))
    assert waitlist.expire_offers(session) == 1
    offers = session.scalars(
        select(Booking).where(Booking.status == BookingStatus.OFFERED).order_by(Booking.id)
    ).all()
    assert [o.holder_id for o in offers] == [c.id, d.id]
    waitlist.accept_offer(session, offers[0], c, settings=current_settings())
    assert offers[0].status == BookingStatus.CONFIRMED
    entry = session.scalar(select(WaitlistEntry).where(WaitlistEntry.user_id == c.id))
    assert entry.status == WaitlistStatus.ACCEPTED
    with pytest.raises(NotFound):
        waitlist.accept_offer(session, offers[1], c, settings=current_settings())  # not c's offer
    assert ledger_mismatches(session) == []


def test_personalised_span_overlap_and_approval(session, make_venue, make_user):
    venue = make_venue(approval=True)
    staff, a, b = make_user("venue_staff", scope=venue), make_user(), make_user()
    start = slot_at(session, court(venue), 1, 10).starts_at
    booking = svc.book_personalised(
        session, a, a, court(venue).id, start, 2, settings=current_settings()
    )
    assert (
        booking.status == BookingStatus.PENDING
        and booking.ends_at - booking.starts_at == timedelta(hours=2)
    )
    with pytest.raises(SoldOut) as info:
        svc.book_personalised(
            session,
            b,
            b,
            court(venue).id,
            start + timedelta(hours=1),
            1,
            settings=current_settings(),
        )
    assert "部分已被别人预约" in str(info.value)  # says why: part of the span is taken
    with pytest.raises(DomainError):
        svc.decide(session, booking, staff, approve=False, reason=" ")
    svc.decide(session, booking, staff, approve=False, reason="场地维修")
    assert booking.status == BookingStatus.REJECTED and booking.status_reason == "场地维修"
    assert svc.book_personalised(
        session, b, b, court(venue).id, start + timedelta(hours=1), 1, settings=current_settings()
    )
    assert ledger_mismatches(session) == []


def test_span_longer_than_allowed_or_outside_hours(session, venue, make_user):
    user = make_user()
    start = slot_at(session, court(venue), 1, 15).starts_at
    with pytest.raises(DomainError):
        svc.book_personalised(
            session, user, user, court(venue).id, start, 4, settings=current_settings()
        )
    with pytest.raises(DomainError) as info:  # 15:00 + 3 h runs past closing at 17:00
        svc.book_personalised(
            session, user, user, court(venue).id, start, 3, settings=current_settings()
        )
    assert info.value.code == "not_bookable"
