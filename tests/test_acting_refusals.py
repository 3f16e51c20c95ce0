"""A refusal names the resident, not "you", when a community helper acts for them (app/acting.py;
app.errors.addressed words it): booking, cancelling, a parking reservation, a repair report. The
resident acting for themselves is still told "you"."""

from datetime import timedelta

import pytest
from flask_babel import force_locale

from app import clock
from app.accounts.consents import grant_consent
from app.errors import DomainError
from parking.services import reservations
from repairs.models import Category
from repairs.services import tickets
from tests.conftest import parking_settings, slot_at
from venues import current_settings
from venues.services import booking as venue_booking
from venues.services import waitlist


@pytest.fixture
def pair(session, make_user):
    resident, helper = make_user(), make_user("community_helper")
    grant_consent(session, resident, helper.username, ["venues", "parking", "repairs"])
    session.commit()
    return resident, helper


def refusal(call) -> tuple[str, str]:
    """The refusal `call()` raises, in Chinese and in English."""
    with pytest.raises(DomainError) as info:
        call()
    error = info.value
    with force_locale("zh_Hans_CN"):
        chinese = str(error)
    with force_locale("en"):
        english = str(error)
    return chinese, english


def test_booking_a_time_the_resident_holds(session, make_venue, pair):
    resident, helper = pair
    slot = slot_at(session, make_venue(capacity=12).spaces[0], 1, 10)

    def book(actor):
        return lambda: venue_booking.book_general(
            session, actor, resident, slot.id, 1, settings=current_settings()
        )

    first = book(resident)()
    chinese, english = refusal(book(helper))
    assert chinese == f"该居民已预约此时段（预约号 {first.reference}）。"
    assert (
        english == f"This resident already has a booking for this time (booking {first.reference})."
    )
    session.rollback()
    assert refusal(book(resident))[0] == f"您已预约此时段（预约号 {first.reference}）。"


def test_joining_a_waitlist_the_resident_is_on(session, make_venue, make_user, pair):
    resident, helper = pair
    slot = slot_at(session, make_venue(capacity=1).spaces[0], 1, 10)
    other = make_user()
    venue_booking.book_general(session, other, other, slot.id, 1, settings=current_settings())
    waitlist.join_waitlist(session, resident, resident, slot.id, 1, settings=current_settings())

    def join(actor):
        return lambda: waitlist.join_waitlist(
            session, actor, resident, slot.id, 1, settings=current_settings()
        )

    assert refusal(join(helper)) == (
        "该居民已经登记了这个时间的候补。",
        "This resident is already on the waitlist for this time.",
    )
    session.rollback()
    assert refusal(join(resident))[0] == "您已经登记了这个时间的候补。"


def test_cancelling_late_for_the_resident(session, make_venue, pair, frozen):
    resident, helper = pair
    venue = make_venue(capacity=6, cancel_cutoff_minutes=120)
    slot = slot_at(session, venue.spaces[0], 0, 10)  # 09:00 now: inside the cut-off
    booking = venue_booking.book_general(
        session, resident, resident, slot.id, 1, settings=current_settings()
    )

    def cancel(actor):
        return lambda: venue_booking.cancel(session, booking, actor, settings=current_settings())

    chinese, english = refusal(cancel(helper))
    assert "将为该居民计一次爽约" in chinese and "no-show for this resident" in english
    session.rollback()
    assert "现在取消将计为爽约" in refusal(cancel(resident))[0]


def test_reserving_parking_with_a_plate_not_the_residents(session, car_park, pair):
    resident, helper = pair

    def reserve(actor):
        return lambda: reservations.reserve(
            session,
            actor,
            resident,
            car_park.default,
            "沪A99999",
            clock.now() + timedelta(hours=2),
            settings=parking_settings(),
        )

    chinese, english = refusal(reserve(helper))
    assert chinese.startswith("沪A99999 不是该居民账户中的车辆")
    assert english.startswith("沪A99999 is not one of this resident's vehicles")
    session.rollback()
    assert refusal(reserve(resident))[0].startswith("沪A99999 不是您账户中的车辆")


def test_reporting_a_repair_for_a_resident_without_a_home(session, pair):
    resident, helper = pair

    def report(actor):
        return lambda: tickets.report(
            session, actor, resident, category=Category.WATER, description="厨房水管漏水"
        )

    chinese, english = refusal(report(helper))
    assert chinese == "该居民还没有在“我的资料”里填写住址，我们不知道到哪里维修。"
    assert english.startswith("This resident has no home address")
    session.rollback()
    assert refusal(report(resident))[0].startswith("请先在“我的资料”里填写住址")
