"""Stored messages count people in the reader's plural form (issue 14): "1 person", "3 people",
Chinese "3 人", never "place(s)" or "1 people". A message keeps its message id and parameters
and is rendered when read, so the plural is chosen there (app/notifications/params.counted)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.notifications.models import Notification
from app.notifications.params import counted, render_params
from tests.conftest import slot_at
from venues import current_settings
from venues.services import booking as svc
from venues.services import changes, waitlist


def read(app, note: Notification, locale: str) -> str:
    with app.test_request_context(), force_locale(locale):
        return f"{note.subject_text} | {note.body_text}"


def notes(session, kind: str) -> list[Notification]:
    return list(
        session.scalars(select(Notification).where(Notification.kind == kind).order_by("id"))
    )


def test_a_count_is_rendered_in_the_readers_plural_form(app):
    params = {
        "one": counted(1, "%(num)d person", "%(num)d people"),
        "three": counted(3, "%(num)d person", "%(num)d people"),
    }
    with app.app_context():
        en, zh = render_params(params, "en"), render_params(params, "zh_CN")
    assert (en["one"], en["three"]) == ("1 person", "3 people")
    assert (zh["one"], zh["three"]) == ("1 人", "3 人")


def test_booking_messages_say_1_person_and_3_people(app, session, make_venue, make_user):
    slot = slot_at(session, make_venue(capacity=12).spaces[0], 1, 10)
    for party in (1, 3):
        person = make_user()
        svc.book_general(session, person, person, slot.id, party, settings=current_settings())
    one, three = notes(session, "venue.booking")
    assert ", 1 person. Show code " in read(app, one, "en")
    assert ", 3 people. Show code " in read(app, three, "en")
    assert "，3 人。到场请出示核销码" in read(app, three, "zh_CN")
    assert all("place(s)" not in read(app, n, "en") for n in (one, three))


def test_a_change_and_the_offer_it_frees_count_people_rightly(app, session, make_venue, make_user):
    slot = slot_at(session, make_venue(capacity=4).spaces[0], 1, 10)
    person, other, waiter = make_user(), make_user(), make_user(locale="en")
    booking = svc.book_general(session, person, person, slot.id, 2, settings=current_settings())
    svc.book_general(session, other, other, slot.id, 2, settings=current_settings())  # full
    waitlist.join_waitlist(session, waiter, waiter, slot.id, 1, settings=current_settings())
    changes.change_party_size(session, booking, person, 1, settings=current_settings())
    [changed] = notes(session, "venue.changed")
    english = read(app, changed, "en")
    assert " is now for 1 person | " in english and english.endswith("It was for 2 people.")
    assert "已改为 1 人" in read(app, changed, "zh_CN")
    [offer] = notes(session, "venue.offer")
    assert offer.user_id == waiter.id and ", 1 person. Accept by " in read(app, offer, "en")
    assert offer.params["places"] == 1  # the SMS template's plain number stays


def test_the_staffs_approval_request_counts_people(app, session, make_venue, make_user):
    venue = make_venue(approval=True)
    staff = make_user("venue_staff", scope=venue)
    person = make_user()
    court = venue.spaces[1]  # one person at a time, with the staff's approval
    start = slot_at(session, court, 1, 10).starts_at
    svc.book_personalised(session, person, person, court.id, start, 1, settings=current_settings())
    [request] = notes(session, "venue.approval_request")
    assert request.user_id == staff.id
    assert ", 1 person. Approve or decline it" in read(app, request, "en")
    assert "，1 人。请在审核页面" in read(app, request, "zh_CN")
    [pending] = notes(session, "venue.booking")
    assert ", 1 person. Staff will approve" in read(app, pending, "en")


def test_suspension_messages_count_in_the_readers_plural_form(app, session, make_user):
    from dataclasses import replace

    from app import clock
    from app.db import unit_of_work
    from parking import current_settings as parking_settings
    from parking.services.reservations import _tell_suspended
    from venues.services.rules import tell_suspended

    person = make_user()
    until = clock.now() + timedelta(days=7)
    policy = replace(current_settings().no_shows, window_days=1)
    parking = parking_settings()
    parking = replace(parking, no_shows=replace(parking.no_shows, window_days=30))
    with unit_of_work(session):
        tell_suspended(session, person.id, until, 1, policy)
        _tell_suspended(session, person.id, until, 3, settings=parking)
    [venue] = notes(session, "venue.suspended")
    assert "You did not come to 1 booking within 1 day without" in read(app, venue, "en")
    assert "您在 1 天内有 1 个预约没有到场" in read(app, venue, "zh_CN")
    [park] = notes(session, "parking.suspended")
    assert "3 parking reservations not used or cancelled late within 30 days." in read(
        app, park, "en"
    )
    assert "30 天内有 3 次车位预约未使用或逾期取消" in read(app, park, "zh_CN")


def test_a_person_passed_over_at_their_daily_limit_reads_1_booking(
    app, session, make_venue, make_user
):
    venue = make_venue(capacity=1, max_per_day=1)
    ten, eleven = (slot_at(session, venue.spaces[0], 1, hour) for hour in (10, 11))
    holder, waiter = make_user(), make_user()
    booking = svc.book_general(session, holder, holder, ten.id, 1, settings=current_settings())
    waitlist.join_waitlist(session, waiter, waiter, ten.id, 1, settings=current_settings())
    svc.book_general(session, waiter, waiter, eleven.id, 1, settings=current_settings())
    svc.cancel(session, booking, holder, settings=current_settings())
    [skipped] = notes(session, "venue.waitlist_skipped")
    assert "You already have 1 booking at this venue that day" in read(app, skipped, "en")
    assert "您当天在该场馆已有 1 个预约" in read(app, skipped, "zh_CN")


def test_the_party_pages_and_refusal_say_1_place(client, session, make_venue, make_user):
    from app.errors import DomainError
    from tests.conftest import login

    slot = slot_at(session, make_venue(capacity=2).spaces[0], 1, 10)
    person, other = make_user(locale="en"), make_user(locale="en")
    booking = svc.book_general(session, person, person, slot.id, 1, settings=current_settings())
    login(client, other.login_name)
    page = client.get(f"/venues/slots/{slot.id}/book").get_data(as_text=True)
    assert "1 place is left at this time." in page
    mine = client.application.test_client()
    login(mine, person.login_name)
    page = mine.get(f"/bookings/{booking.reference}/people").get_data(as_text=True)
    assert "1 more place is free at this time." in page
    with pytest.raises(DomainError) as refused:
        changes.change_party_size(session, booking, person, 3, settings=current_settings())
    with client.application.test_request_context(), force_locale("en"):
        assert str(refused.value) == "Only 1 more place is free at that time."
    with client.application.test_request_context(), force_locale("zh_CN"):
        assert str(refused.value) == "该时段只能再增加 1 人。"
