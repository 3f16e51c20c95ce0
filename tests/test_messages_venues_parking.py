"""Venue and parking messages leave the inbox as the issue asks: the waitlist offer by SMS with
its hold and a link that, signed in by SMS code if need be, accepts it; what a helper does for a
resident reaches the resident by their own channels; the parking reminder, once per
reservation, half an hour before the arrival time."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app import clock
from app.accounts.models import DisplayMode, HelperConsent
from app.db import utcnow
from app.notifications.kinds import KIND_CATEGORY
from app.notifications.models import Channel, Delivery, Notification
from app.sms.channel import SmsChannel
from app.sms.settings import settings_for as sms_settings
from bookings.models import Booking, BookingStatus
from parking.services import reminders, reservations
from tests.conftest import parking_settings, slot_at, sms_code, submit, verified_vehicle
from tests.test_delivery import Recording, dispatch
from venues import current_settings
from venues.services import booking as svc
from venues.services import waitlist

PLATE = "沪A12345"


def deliveries_of(session, user, kind):
    return list(
        session.scalars(
            select(Delivery)
            .join(Notification, Notification.id == Delivery.notification_id)
            .where(Notification.user_id == user.id, Notification.kind == kind)
        )
    )


@pytest.fixture
def recording(app):
    from app.notifications.channels import register

    provider = Recording()
    register(app, Channel.SMS, lambda _app: provider)
    return provider


def test_every_venue_and_parking_message_can_leave_the_inbox():
    kinds = (
        "venue.offer venue.decision venue.cancelled venue.reminder venue.suspended "
        "venue.no_show venue.booked_for venue.waitlist_joined parking.reminder "
        "parking.no_show parking.receipt parking.contract parking.contract_lapsed "
        "parking.reserved_for"
    ).split()
    assert [kind for kind in kinds if kind not in KIND_CATEGORY] == []


def test_the_waitlist_offer_goes_by_sms_with_its_hold_and_its_link_accepts_it(
    app, client, session, make_venue, make_user, recording, frozen
):
    venue = make_venue(capacity=1, waitlist_offer_minutes=60)
    slot = slot_at(session, venue.spaces[0], 1, 10)
    first = make_user()
    waiting = make_user(phone_verified_at=utcnow())
    booking = svc.book_general(session, first, first, slot.id, 1, settings=current_settings())
    waitlist.join_waitlist(session, waiting, waiting, slot.id, 1, settings=current_settings())
    svc.cancel(session, booking, first)
    offer = session.scalar(select(Booking).where(Booking.status == BookingStatus.OFFERED))
    assert offer.holder_id == waiting.id

    dispatch(app, session)
    [message] = recording.sent
    assert (message.kind, message.address) == ("venue.offer", waiting.phone)
    text = SmsChannel(sms_settings(app)).text_of(message)
    until = clock.local(offer.offer_expires_at).strftime("%H:%M")
    assert "60分钟" in text and until in text and venue.name_zh in text
    starts = clock.local(slot.starts_at)  # which slot: its day and time, in Chinese
    assert f"{venue.name_zh} {starts.month}月{starts.day}日 {starts:%H:%M}有1个位置" in text
    assert (
        text.endswith(message.url) and urlsplit(message.url).path == f"/bookings/{offer.reference}"
    )

    # The link, opened on the phone: sign in by SMS code, back to the offer, accept it.
    path = urlsplit(message.url).path
    answer = client.get(path)
    assert answer.status_code == 302 and urlsplit(answer.location).path == "/login"
    login_page = answer.location
    sent = submit(
        client,
        f"/login/send-code?{urlsplit(login_page).query}",
        {"phone": waiting.phone},
        form_url=login_page,
    )
    code_page = sent.headers["Location"]
    signed_in = submit(client, code_page, {"code": sms_code(waiting.phone)})
    assert signed_in.headers["Location"] == path
    page = client.get(path).get_data(as_text=True)
    assert f"/bookings/{offer.reference}/accept" in page
    accepted = submit(client, f"{path}/accept", {}, form_url=path)
    assert accepted.status_code == 302
    session.refresh(offer)
    assert offer.status == BookingStatus.CONFIRMED


def test_what_a_helper_does_reaches_the_resident_by_their_own_channels(
    session, make_venue, make_user, car_park
):
    # An elderly resident (SMS by default for everything) with a proven number.
    resident = make_user(phone_verified_at=utcnow(), display_mode=DisplayMode.ELDERLY)
    helper = make_user("community_helper")
    session.add(
        HelperConsent(resident_id=resident.id, helper_id=helper.id, venues=True, parking=True)
    )
    session.commit()
    venue = make_venue(capacity=1)
    slot = slot_at(session, venue.spaces[0], 1, 10)
    svc.book_general(session, helper, resident, slot.id, 1, settings=current_settings())
    full = slot_at(session, venue.spaces[0], 1, 11)
    other = make_user()
    svc.book_general(session, other, other, full.id, 1, settings=current_settings())
    waitlist.join_waitlist(session, helper, resident, full.id, 1, settings=current_settings())
    verified_vehicle(session, resident, PLATE)
    reservations.reserve(
        session,
        helper,
        resident,
        car_park.default,
        PLATE,
        clock.at(clock.today() + timedelta(days=1), 11 * 60),
        settings=parking_settings(),
    )
    for kind in ("venue.booked_for", "venue.waitlist_joined", "parking.reserved_for"):
        [row] = deliveries_of(session, resident, kind)
        assert (row.channel, row.address) == (Channel.SMS, resident.phone), kind
    note = session.scalar(select(Notification).where(Notification.kind == "venue.booked_for"))
    assert helper.name in note.subject_text
    # Booked by the resident themself, the confirmation stays in the inbox.
    own = make_user(phone_verified_at=utcnow(), display_mode=DisplayMode.ELDERLY)
    svc.book_general(
        session,
        own,
        own,
        slot_at(session, venue.spaces[0], 2, 10).id,
        1,
        settings=current_settings(),
    )
    assert session.scalars(select(Delivery).where(Delivery.user_id == own.id)).all() == []


def test_a_parking_reservation_is_reminded_once_half_an_hour_before(
    app, session, make_user, car_park, frozen
):
    driver = make_user(phone_verified_at=utcnow(), display_mode=DisplayMode.ELDERLY)
    verified_vehicle(session, driver, PLATE)
    arrive = clock.at(clock.today(), 11 * 60)  # made at 09:00 for 11:00
    reservation = reservations.reserve(
        session, driver, driver, car_park.default, PLATE, arrive, settings=parking_settings()
    )
    assert reminders.send_reminders(session) == 0  # two hours ahead: not yet
    frozen.move_to(arrive - timedelta(minutes=25))
    assert reminders.send_reminders(session) == 1
    assert reminders.send_reminders(session) == 0  # once
    [row] = deliveries_of(session, driver, "parking.reminder")
    assert row.channel == Channel.SMS
    session.refresh(reservation)
    assert reservation.reminded_at is not None
    sms = SmsChannel(sms_settings(app))
    from app.notifications.dispatch import claim
    from app.notifications.settings import settings_for

    [message] = [
        m
        for m in claim(session, "test", settings_for(app), clock.now())
        if m.kind == row.notification.kind
    ]
    text = sms.text_of(message)
    assert "11:00" in text and car_park.default.name_zh in text and text.endswith(message.url)
