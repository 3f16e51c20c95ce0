"""Check-in at the door, crowd levels, and the sweep: no-shows, suspensions, reminders, slots."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.errors import Forbidden
from app.notifications.models import Notification
from bookings.models import BookingStatus, BookingSuspension, CapacityBucket
from bookings.services import ledger_mismatches
from tests.conftest import slot_at
from venues import current_settings
from venues.services import booking as svc
from venues.services import door
from venues.services.catalogue import materialise
from venues.services.sweep import mark_no_shows, send_reminders, sweep


def book(session, person, bucket_id: int, party: int):
    """`person` books `party` places of a general slot for themself, as the pages do."""
    return svc.book_general(session, person, person, bucket_id, party, settings=current_settings())


@pytest.fixture
def venue(make_venue):
    return make_venue(
        capacity=10, checkin_grace_minutes=30, crowd_warning_percent=50, max_per_day=5
    )


def test_door_check_in_results(session, venue, make_user, frozen):
    staff, a, b = make_user("venue_staff", scope=venue), make_user(), make_user()
    today = book(session, a, slot_at(session, venue.spaces[0], 0, 10).id, 2)
    tomorrow = book(session, b, slot_at(session, venue.spaces[0], 1, 10).id, 1)
    assert door.check_in(session, venue, "0000 0000", staff).result == door.DoorResult.NOT_FOUND
    assert (
        door.check_in(session, venue, tomorrow.door_code, staff).result == door.DoorResult.WRONG_DAY
    )
    outcome = door.check_in(session, venue, f"{today.door_code[:4]} {today.door_code[4:]}", staff)
    assert outcome.ok and outcome.booking.status == BookingStatus.CHECKED_IN
    assert (
        door.check_in(session, venue, today.door_code, staff).result == door.DoorResult.ALREADY_USED
    )
    svc.cancel(session, tomorrow, b)
    frozen.shift(timedelta(days=1))
    assert (
        door.check_in(session, venue, tomorrow.door_code, staff).result == door.DoorResult.CANCELLED
    )


def test_door_refuses_too_early_and_codes_of_other_venues(session, make_venue, make_user, places):
    venue, other = make_venue(), make_venue(name="另一个馆")
    staff, user = make_user("venue_staff", scope=venue), make_user()
    later = book(session, user, slot_at(session, venue.spaces[0], 0, 16).id, 1)
    assert door.check_in(session, venue, later.door_code, staff).result == door.DoorResult.TOO_EARLY
    assert door.check_in(session, other, later.door_code, staff).result == door.DoorResult.NOT_FOUND


def test_a_slot_just_after_midnight_is_let_in_shortly_before_it(session, venue, make_user, frozen):
    """The early check-in window is the same hour whether or not midnight falls inside it: a
    00:00 slot is valid at 23:58, and a slot the next day at 09:00 is still the wrong day."""
    from app import clock
    from tests.conftest import ensure_bucket

    staff, night_owl, early_bird = make_user("venue_staff", scope=venue), make_user(), make_user()
    midnight = clock.at(clock.today() + timedelta(days=1), 0)
    space = venue.spaces[0]
    slot = ensure_bucket(session, space.resource_id, midnight, midnight + timedelta(hours=1), 5)
    session.commit()
    late = book(session, night_owl, slot.id, 1)
    morning = book(session, early_bird, slot_at(session, space, 1, 9).id, 1)
    frozen.move_to(midnight - timedelta(minutes=2))
    refused = door.check_in(session, venue, morning.door_code, staff)
    assert refused.result == door.DoorResult.WRONG_DAY
    assert door.check_in(session, venue, late.door_code, staff).ok


def test_crowd_level_warns_past_the_threshold(session, venue, make_user, frozen):
    staff = make_user("venue_staff", scope=venue)
    people = [make_user() for _ in range(3)]
    frozen.shift(timedelta(minutes=-30))  # book at 08:30, before the 09:00 slot starts
    bookings = [book(session, p, slot_at(session, venue.spaces[0], 0, 9).id, 2) for p in people]
    frozen.shift(timedelta(minutes=35))  # 09:05, inside the 09:00 slot
    [level] = door.crowd_levels(session, [venue])
    assert (level.inside_now, level.capacity_now, level.warning) == (0, 10, False)
    for booking in bookings:
        door.check_in(session, venue, booking.door_code, staff)
    [level] = door.crowd_levels(session, [venue])
    assert (level.inside_now, level.percent_now, level.booked_today, level.warning) == (
        6,
        60,
        6,
        True,
    )


def test_no_shows_release_places_and_three_suspend(session, venue, make_user, frozen, app):
    user = make_user()
    for hour in (10, 11, 12):
        book(session, user, slot_at(session, venue.spaces[0], 0, hour).id, 1)
    frozen.shift(timedelta(hours=1, minutes=29))  # 10:29: within grace of the 10:00 booking
    assert mark_no_shows(session, current_settings().no_shows) == 0
    frozen.shift(timedelta(minutes=2))  # 10:31
    assert mark_no_shows(session, current_settings().no_shows) == 1
    assert mark_no_shows(session, current_settings().no_shows) == 0  # idempotent
    assert slot_at(session, venue.spaces[0], 0, 10).taken == 0
    frozen.shift(timedelta(hours=2))  # 12:31: the other two
    assert mark_no_shows(session, current_settings().no_shows) == 2
    suspension = session.scalar(
        select(BookingSuspension).where(BookingSuspension.user_id == user.id)
    )
    assert suspension.until - suspension.created_at == timedelta(
        days=app.config["VENUE_SUSPENSION_DAYS"]
    )
    with pytest.raises(Forbidden) as info:
        book(session, user, slot_at(session, venue.spaces[0], 1, 10).id, 1)
    assert info.value.code == "suspended"
    assert "12月15日（周二）" in str(info.value)  # 14 days after the third no-show, told plainly
    assert (
        session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == user.id, Notification.kind == "venue.suspended"
            )
        )
        == 1
    )
    assert ledger_mismatches(session) == []


def test_reminders_are_sent_once_in_the_day_before(session, venue, make_user):
    user = make_user()
    soon = book(session, user, slot_at(session, venue.spaces[0], 1, 8 + 1).id, 1)
    book(session, user, slot_at(session, venue.spaces[0], 3, 10).id, 1)
    assert send_reminders(session) == 1
    assert send_reminders(session) == 0
    session.refresh(soon)
    assert soon.reminded_at is not None


def test_sweep_materialises_the_next_fortnight(session, venue, frozen):
    frozen.shift(timedelta(days=3))
    result = sweep(session, current_settings())
    last_day = slot_at(session, venue.spaces[0], 14, 9)
    assert last_day is not None and result["venue_slots"] > 0


def test_materialise_keeps_booked_slots_and_capacity_above_taken(session, venue, make_user):
    user = make_user()
    slot = slot_at(session, venue.spaces[0], 1, 10)
    book(session, user, slot.id, 4)
    venue.spaces[0].capacity = 2
    session.commit()
    materialise(session, venue)
    session.refresh(slot)
    assert (slot.capacity, slot.taken) == (4, 4)  # never below what is taken
    assert slot_at(session, venue.spaces[0], 1, 11).capacity == 2
    before = session.scalar(select(func.count(CapacityBucket.id)))
    materialise(session, venue)
    assert session.scalar(select(func.count(CapacityBucket.id))) == before


def test_closure_cancels_bookings_with_notice_and_removes_slots(session, venue, make_user, frozen):
    from datetime import date

    from venues.services.admin import add_closure

    admin, user = make_user("venue_admin"), make_user()
    booking = book(session, user, slot_at(session, venue.spaces[0], 2, 10).id, 1)
    _closure, count = add_closure(
        session, admin, venue, date(2026, 12, 3), date(2026, 12, 4), "设备检修"
    )
    assert count == 1
    session.refresh(booking)
    assert booking.status == BookingStatus.CANCELLED and booking.status_reason == "设备检修"
    note = session.scalar(select(Notification).where(Notification.kind == "venue.cancelled"))
    assert note.user_id == user.id and note.params["reason"] == "设备检修"
    assert slot_at(session, venue.spaces[0], 2, 11) is None
    assert slot_at(session, venue.spaces[0], 4, 11) is not None


def test_a_closure_offers_nothing_and_tells_the_waiting(session, make_venue, make_user, frozen):
    """Places a closure frees are not offered to the closed slot's waitlist (an offer for a day
    the venue is closed would be a booking nobody can use), and the people waiting for it are
    told that it is gone instead of vanishing from their list."""
    from datetime import date

    from bookings.models import Booking, WaitlistEntry
    from venues.services.admin import add_closure
    from venues.services.waitlist import join_waitlist

    venue = make_venue(capacity=1)
    admin, holder, waiter = make_user("venue_admin"), make_user(), make_user()
    slot = slot_at(session, venue.spaces[0], 2, 10)
    booking = book(session, holder, slot.id, 1)
    join_waitlist(session, waiter, waiter, slot.id, 1, settings=current_settings())
    add_closure(session, admin, venue, date(2026, 12, 3), date(2026, 12, 3), "设备检修")
    session.refresh(booking)
    assert booking.status == BookingStatus.CANCELLED
    assert not session.scalars(select(Booking).where(Booking.holder_id == waiter.id)).all()
    assert slot_at(session, venue.spaces[0], 2, 10) is None
    assert not session.scalars(select(WaitlistEntry)).all()
    told = session.scalar(
        select(Notification).where(
            Notification.user_id == waiter.id, Notification.kind == "venue.waitlist_slot_removed"
        )
    )
    assert told is not None and told.link == f"/venues/{venue.id}"
    assert ledger_mismatches(session) == []
