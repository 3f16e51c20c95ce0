"""My data (JSON download) and closing an account (注销): future bookings cancelled through the
services (the slot's places come back), personal data removed, anonymised records kept, the
sessions ended, the mobile number free again. SQLite and PostgreSQL."""

from __future__ import annotations

import json

from sqlalchemy import select

from app.accounts.consents import grant_consent
from app.accounts.models import HelperConsent, User
from app.accounts.mydata import CLOSED_NAME
from app.audit.models import AuditEntry
from app.places.models import HomeClaim
from bookings.models import BookingStatus, CapacityBucket
from parking.models import Vehicle
from repairs.models import Category
from repairs.services import tickets
from tests import test_repairs
from tests.conftest import PASSWORD, login, slot_at, submit, verified_vehicle
from venues import current_settings
from venues.services import booking as venue_booking

world = test_repairs.world  # an estate with its company, a resident with a verified home


def _book(session, person, space, hour):
    slot = slot_at(session, space, 1, hour)
    return venue_booking.book_general(
        session, person, person, slot.id, 2, settings=current_settings()
    )


def test_my_data_has_my_booking_and_not_someone_elses(app, client, session, make_user, make_venue):
    venue = make_venue()
    me, other = make_user(), make_user()
    hall = venue.spaces[0]
    mine, theirs = _book(session, me, hall, 10), _book(session, other, hall, 11)
    verified_vehicle(session, me, "沪A12345")
    login(client, me.phone)
    me.password_set = False  # as the desk registers a resident: a hash nobody knows
    session.commit()
    response = client.get("/account/my-data.json")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["phone"] == me.phone
    references = [b["reference"] for b in data["venues"]["bookings"]]
    assert references == [mine.reference] and theirs.reference not in response.get_data(
        as_text=True
    )
    assert [p["plate"] for p in data["parking"]["plates"]] == ["沪A12345"]
    assert data["repairs"]["reports"] == [] and other.phone not in response.get_data(as_text=True)
    # The inbox as the person reads it (their language, the reference filled in), and no
    # password where the person never set one.
    subjects = [m["subject"] for m in data["messages"]]
    assert any(mine.reference in s for s in subjects), subjects
    assert not any("%(" in m["subject"] + m["body"] for m in data["messages"])
    assert data["account"]["has_password"] is False


def test_closing_an_account(app, client, session, world, make_user, make_venue):
    venue = make_venue()
    resident = world["resident"]
    helper = make_user("community_helper")
    hall = venue.spaces[0]
    booking = _book(session, resident, hall, 10)
    bucket = slot_at(session, hall, 1, 10)
    assert bucket.taken == 2
    ticket = tickets.report(
        session, resident, resident, category=Category.WATER, description="卫生间漏水, 电话 139"
    )
    verified_vehicle(session, resident, "沪B54321")
    grant_consent(session, resident, helper.username, ["venues"])
    phone = resident.phone
    login(client, resident.phone)
    page = client.get("/account/close").get_data(as_text=True)
    assert "会被取消" in page and "不含您的姓名" in page
    wrong = submit(client, "/account/close", {"password": "not-my-password", "confirm": "y"})
    assert "密码不正确" in wrong.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, resident.id).deleted_at is None

    done = submit(client, "/account/close", {"password": PASSWORD, "confirm": "y"})
    assert done.status_code == 302
    session.expire_all()
    closed = session.get(User, resident.id)
    assert closed.deleted_at is not None and not closed.active
    assert (closed.phone, closed.username, closed.roles) == (None, None, [])
    assert closed.name == CLOSED_NAME and not closed.check_password(PASSWORD)
    # The future booking is cancelled through the venue service: the places are back.
    session.refresh(booking)
    assert booking.status == BookingStatus.CANCELLED
    assert session.get(CapacityBucket, bucket.id).taken == 0
    # Personal data gone; the ticket kept without the person.
    assert session.scalar(select(Vehicle).where(Vehicle.owner_id == resident.id)) is None
    assert session.scalar(select(HomeClaim).where(HomeClaim.user_id == resident.id)) is None
    assert session.scalar(select(HelperConsent)) is None
    session.refresh(ticket)
    assert ticket.reporter_id is None and ticket.description == "" and ticket.location == ""
    assert ticket.estate_id == world["estate"].id and ticket.submitted_at is not None
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "account.close"))
    # Signed out, and out for good; the number can register again.
    assert client.get("/profile").status_code == 302
    again = app.test_client()
    refused = submit(again, "/login", {"login": phone, "password": PASSWORD})
    assert refused.status_code == 200
    newcomer = make_user(phone=phone)
    assert newcomer.id != resident.id and newcomer.phone == phone


def test_closing_cancels_the_booking_in_the_callers_unit(session, make_user, make_venue):
    """The deletion is one unit of work: a package that refuses leaves everything as it was."""
    import pytest

    from app.accounts import mydata
    from app.registry import PersonalData, personal_data

    venue = make_venue()
    person = make_user()
    booking = _book(session, person, venue.spaces[0], 10)

    def refuse(session, user):
        raise RuntimeError("a package failed")

    parts = [*personal_data(), PersonalData("broken", lambda s, u: {}, refuse)]
    with pytest.raises(RuntimeError):
        mydata.close_account(session, person, parts, upload_dir="/nonexistent")
    session.expire_all()
    assert session.get(User, person.id).phone is not None
    assert session.get(type(booking), booking.id).status == BookingStatus.CONFIRMED


def test_a_resident_without_a_password_closes_with_a_code(app, client, session, make_user, frozen):
    """Registered at the desk with a mobile number (no password): a code sent to the number
    proves it is them. A wrong code, or nothing, is refused."""
    from app.accounts.models import DisplayMode
    from app.desk.services import DeskSettings
    from app.desk.services import residents as desk
    from tests.conftest import sms_code

    clerk = make_user("service_desk")
    resident, _ = desk.register_in_person(
        session,
        clerk,
        name="赵老伯",
        phone="13912340077",
        display_mode=DisplayMode.ELDERLY,
        settings=DeskSettings.from_config(app.config),
    )
    assert not resident.password_set
    submit(client, "/login/send-code", {"phone": resident.phone}, form_url="/login")
    submit(client, "/login/code", {"code": sms_code(resident.phone)}, form_url="/login")
    assert client.get("/account/close").status_code == 200
    nothing = submit(client, "/account/close", {"confirm": "y"})
    assert "或发送到您手机的验证码" in nothing.get_data(as_text=True)
    frozen.shift(61)  # one code a minute per number
    sent = submit(client, "/account/close", {"action": "send_code"})
    assert sent.status_code == 302, sent.get_data(as_text=True)[-3000:]
    code = sms_code(resident.phone)
    wrong = submit(
        client, "/account/close", {"code": f"{(int(code) + 1) % 10**6:06d}", "confirm": "y"}
    )
    assert wrong.status_code == 200
    done = submit(client, "/account/close", {"code": code, "confirm": "y"})
    assert done.status_code == 302
    session.expire_all()
    assert session.get(User, resident.id).deleted_at is not None
