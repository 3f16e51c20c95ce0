"""The service desk (社区事务受理服务中心): written consents limited by service and time, with a
slip only three parties may see; registering a resident without a phone, whose printed card
signs in once; desk actions listed to the resident and nobody else. SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from app import clock
from app.accounts.consents import can_act_for, consented_services, grant_consent
from app.accounts.models import ConsentRelation, DisplayMode, HelperConsent, User
from app.desk import pending_slips
from app.desk.services import DeskSettings, desk_actions_for
from app.desk.services import residents as desk
from app.desk.services.written_consents import record_written_consent
from app.errors import DomainError, Forbidden
from tests.conftest import login, slot_at, submit
from venues import current_settings
from venues.services import booking as venue_booking


def _settings(app) -> DeskSettings:
    return DeskSettings.from_config(app.config)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(out, "PNG")
    return out.getvalue()


def _record(app, session, clerk, resident, helper_login, **changes):
    """A written consent recorded at the desk: for venues, from today for 30 days, no slip,
    unless `changes` say otherwise."""
    values = {
        "relation": ConsentRelation.HELPER,
        "services": ["venues"],
        "starts_on": None,
        "ends_on": clock.today() + timedelta(days=30),
        "slip": None,
        "settings": _settings(app),
    } | changes
    return record_written_consent(session, clerk, resident, helper_login=helper_login, **values)


@pytest.fixture
def clerk(make_user):
    return make_user("service_desk", locale="en")


def _register_without_phone(session, clerk, app, name="王阿婆"):
    return desk.register_in_person(
        session,
        clerk,
        name=name,
        phone=None,
        display_mode=DisplayMode.ELDERLY,
        settings=_settings(app),
    )


def test_a_consent_stops_working_the_day_after_it_ends(
    app, session, make_user, make_venue, frozen, clerk
):
    venue = make_venue()
    resident, helper = make_user(), make_user("community_helper")
    _record(
        app, session, clerk, resident, helper.username, ends_on=clock.today() + timedelta(days=2)
    )
    hall = venue.spaces[0]
    first = venue_booking.book_general(
        session, helper, resident, slot_at(session, hall, 1, 10).id, 1, settings=current_settings()
    )
    assert first.holder_id == resident.id and first.booked_by_id == helper.id
    frozen.shift(timedelta(days=2))  # the last day: still valid
    assert can_act_for(session, helper, resident, "venues")
    frozen.shift(timedelta(days=1))  # the day after: nothing
    assert not can_act_for(session, helper, resident, "venues")
    assert consented_services(session, helper, resident) == []
    with pytest.raises(Forbidden):
        venue_booking.book_general(
            session,
            helper,
            resident,
            slot_at(session, hall, 1, 11).id,
            1,
            settings=current_settings(),
        )


def test_an_expired_consent_ends_acting_on_the_pages(
    app, client, session, make_user, make_venue, frozen
):
    make_venue()
    resident, helper = make_user(), make_user("community_helper", locale="en")
    grant_consent(session, resident, helper.username, ["venues"], ends_on=clock.today())
    login(client, helper.username)
    submit(client, "/bookings/helping", {"resident_id": str(resident.id)})
    assert "You are acting for" in client.get("/venues").get_data(as_text=True)
    frozen.shift(timedelta(days=1))
    page = client.get("/venues").get_data(as_text=True)
    assert "You are acting for" not in page


def test_a_consent_period_is_checked(app, session, make_user, clerk, frozen):
    resident, helper = make_user(), make_user("community_helper")
    today = clock.today()
    for ends_on, code in (
        (None, "no_end"),
        (today - timedelta(days=1), "ends_before_start"),
        (today + timedelta(days=400), "too_long"),
    ):
        with pytest.raises(DomainError) as refused:
            _record(
                app, session, clerk, resident, helper.username, starts_on=today, ends_on=ends_on
            )
        assert refused.value.code == code and refused.value.field == "ends_on"
    assert session.scalar(select(HelperConsent)) is None
    # A family member needs an account, not the helper role.
    daughter = make_user()
    consent = _record(
        app,
        session,
        clerk,
        resident,
        daughter.phone,
        relation=ConsentRelation.FAMILY,
        services=["repairs"],
        starts_on=today + timedelta(days=3),
        ends_on=today + timedelta(days=30),
    )
    assert consent.relation == ConsentRelation.FAMILY and consent.recorded_by_id == clerk.id
    assert not can_act_for(session, daughter, resident, "repairs")  # not started yet


def test_the_slip_is_seen_by_the_resident_the_helper_and_the_desk_only(
    app, client, session, make_user, clerk, frozen
):
    resident, helper, neighbour = make_user(), make_user("community_helper"), make_user()
    consent = _record(
        app,
        session,
        clerk,
        resident,
        helper.username,
        services=["venues", "parking"],
        ends_on=clock.today() + timedelta(days=90),
        slip=_png(),
    )
    url = f"/desk/consents/{consent.id}/slip"
    for person, status in (
        (resident.phone, 200),
        (helper.username, 200),
        (neighbour.phone, 404),
        (clerk.username, 200),
    ):
        client = app.test_client()
        login(client, person)
        response = client.get(url)
        assert response.status_code == status, person
        if status == 200:
            assert response.mimetype == "image/jpeg"
            assert "no-store" in response.headers["Cache-Control"]
    # A PDF is kept as sent; anything else is refused on the slip field.
    with pytest.raises(DomainError) as refused:
        _record(
            app,
            session,
            clerk,
            resident,
            helper.username,
            ends_on=clock.today() + timedelta(days=9),
            slip=b"MZ\x90\x00 not a slip",
        )
    assert refused.value.field == "slip"
    pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
    consent = _record(
        app,
        session,
        clerk,
        resident,
        helper.username,
        ends_on=clock.today() + timedelta(days=9),
        slip=pdf,
    )
    assert consent.slip_filename.endswith(".pdf")
    response = client.get(url)  # the clerk is signed in
    assert response.get_data() == pdf and "attachment" in response.headers["Content-Disposition"]


def test_a_resident_without_a_phone_signs_in_once_with_the_card(
    app, client, session, clerk, frozen
):
    resident, code = _register_without_phone(session, clerk, app)
    assert resident.phone is None and resident.username.startswith("8") and len(code) == 8
    assert resident.display_mode == DisplayMode.ELDERLY
    assert desk.sign_in_with_card(session, resident.username, "00000000") is None
    form = {"account": resident.username, "code": f"{code[:4]} {code[4:]}"}
    response = submit(client, "/card-signin", form)
    assert response.status_code == 302
    assert resident.name in client.get("/profile").get_data(as_text=True)
    client = app.test_client()
    again = submit(client, "/card-signin", form)  # used up
    assert again.status_code == 200 and "账号或登录码不正确" in again.get_data(as_text=True)
    # A new card voids the old one; an expired card does not sign in.
    first = desk.issue_card(session, clerk, resident, _settings(app))
    second = desk.issue_card(session, clerk, resident, _settings(app))
    assert desk.sign_in_with_card(session, resident.username, first) is None
    frozen.shift(timedelta(days=app.config["DESK_CARD_VALID_DAYS"], seconds=1))
    assert desk.sign_in_with_card(session, resident.username, second) is None


def test_desk_actions_are_listed_to_the_resident_and_nobody_else(
    app, client, session, make_user, clerk, frozen
):
    resident, code = _register_without_phone(session, clerk, app)
    helper, other = make_user("community_helper"), make_user(locale="en")
    _record(app, session, clerk, resident, helper.username)
    actions = [a.action for a in desk_actions_for(session, resident)]
    assert actions == ["desk.consent", "desk.card", "desk.register"]
    assert desk_actions_for(session, other) == []
    submit(client, "/card-signin", {"account": resident.username, "code": code})
    page = client.get("/account/desk-actions").get_data(as_text=True)
    assert "登记了书面帮办授权" in page and clerk.name in page  # in the resident's language
    client = app.test_client()
    login(client, other.phone)
    client.set_cookie("locale", "en")
    page = client.get("/account/desk-actions").get_data(as_text=True)
    assert "Recorded a written consent" not in page and "Nothing yet." in page


def test_the_desk_pages(app, client, session, make_user, clerk, frozen):
    resident = make_user(name="李老伯", locale="en")
    helper = make_user("community_helper")
    login(client, clerk.username)
    client.set_cookie("locale", "en")
    found = client.get("/desk", query_string={"q": resident.phone}).get_data(as_text=True)
    assert "李老伯" in found and f"{resident.phone[:3]}****{resident.phone[-4:]}" in found
    assert "李老伯" in client.get("/desk", query_string={"q": "李"}).get_data(as_text=True)
    card = submit(
        client, "/desk/register", {"name": "张阿姨", "display_mode": "elderly", "privacy": "y"}
    )
    assert card.status_code == 200 and "One-time sign-in code" in card.get_data(as_text=True)
    registered = session.scalar(select(User).where(User.name == "张阿姨"))
    assert registered.username and registered.phone is None
    taken = submit(
        client,
        "/desk/register",
        {"name": "冒名", "phone": resident.phone, "display_mode": "elderly", "privacy": "y"},
    )
    assert "already has an account" in taken.get_data(as_text=True)
    url = f"/desk/residents/{registered.id}/consent"
    ends = clock.today() + timedelta(days=60)
    # Every error at once (the form's and the consent rules'), and the chosen slip kept for the
    # retry, by the desk: a browser cannot keep a file input.
    missing = submit(
        client,
        url,
        {
            "helper": "nobody-here",
            "relation": "helper",
            "services": ["venues"],
            "slip": (io.BytesIO(_png()), "slip.png"),
        },
        content_type="multipart/form-data",
    )
    assert "Enter the last day" in missing.text and "no community helper with that" in missing.text
    kept = re.search(r'name="slip_kept" type="hidden" value="([^"]+)"', missing.text).group(1)
    assert "The slip you chose is kept" in missing.text
    upload_dir = _settings(app).upload_dir
    assert pending_slips.take(upload_dir, helper.id, kept) is None  # another person's: nothing
    done = submit(
        client,
        url,
        {
            "helper": helper.username,
            "relation": "helper",
            "services": ["venues"],
            "ends_on-year": str(ends.year),
            "ends_on-month": str(ends.month),
            "ends_on-day": str(ends.day),
            "slip_kept": kept,
        },
        content_type="multipart/form-data",
    )
    assert done.status_code == 302
    assert pending_slips.take(upload_dir, clerk.id, kept) is None  # recorded, then forgotten
    consent = session.scalar(
        select(HelperConsent).where(HelperConsent.resident_id == registered.id)
    )
    assert consent.ends_on == ends and consent.slip_filename and consent.venues
    page = client.get(f"/desk/residents/{registered.id}").get_data(as_text=True)
    assert "Signed slip" in page and "Recorded a written consent" in page
    reprint = submit(
        client,
        f"/desk/residents/{registered.id}/card",
        {},
        form_url=f"/desk/residents/{registered.id}",
    )
    assert "One-time sign-in code" in reprint.get_data(as_text=True)


def test_desk_pages_refuse_residents_and_helpers(app, make_user):
    resident, helper = make_user(), make_user("community_helper")
    for person in (resident.phone, helper.username):
        client = app.test_client()
        login(client, person)
        for url in ("/desk", "/desk/register", "/desk/residents/1", "/desk/residents/1/consent"):
            assert client.get(url).status_code == 403, (person, url)


def test_consents_given_online_run_a_year_by_default(session, make_user, frozen):
    resident, helper = make_user(), make_user("community_helper")
    consent = grant_consent(session, resident, helper.username, ["venues"])
    assert consent.starts_on == clock.today()
    assert consent.ends_on == clock.today() + timedelta(days=365)
    assert isinstance(consent.ends_on, date)


def test_a_real_name_verified_at_the_desk_shows_on_the_residents_page(
    app, client, session, make_user, make_venue, clerk, frozen
):
    resident = make_user(locale="en")
    login(client, clerk.username)
    url = f"/desk/residents/{resident.id}/real-name"
    unseen = submit(client, url, {"name": "王阿婆", "id_number": "11010519491231002X"})
    assert "Confirm that you have seen the ID card" in unseen.get_data(as_text=True)
    done = submit(client, url, {"name": "王阿婆", "id_number": "11010519491231002X", "seen": "y"})
    assert done.status_code == 302
    page = client.get(f"/desk/residents/{resident.id}").get_data(as_text=True)
    assert "Verified in person at a service desk" in page and "11010519491231002X" not in page
    own = app.test_client()
    login(own, resident.phone)
    own.set_cookie("locale", "en")
    mine = own.get("/identity/real-name").get_data(as_text=True)
    assert "Verified in person at a service desk" in mine
    desk_page = own.get("/account/desk-actions").get_data(as_text=True)
    assert "Verified the real name with the ID card" in desk_page and "desk." not in desk_page
    # The resident's helper page lists what a helper did under their consent, in words with the
    # reference; not the clerk's verification (it is on the desk-actions page), never a code.
    helper = make_user("community_helper")
    grant_consent(session, resident, helper.username, ["venues"])
    slot = slot_at(session, make_venue().spaces[0], 1, 10)
    booked = venue_booking.book_general(
        session, helper, resident, slot.id, 1, settings=current_settings()
    )
    helped = own.get("/bookings/helpers").get_data(as_text=True)
    assert f"Booked a venue: booking {booked.reference}" in helped and helper.name in helped
    assert "booking.create" not in helped and "real_name" not in helped
    assert clerk.name not in helped


def as_text(html: str) -> str:
    """The page's words without tags (an English page wraps Chinese names in lang spans)."""
    return re.sub(r"<[^>]+>", "", html)


def test_a_family_member_named_at_the_desk_acts_for_the_resident(
    app, client, session, make_user, make_venue, clerk, frozen
):
    venue = make_venue()
    resident, daughter = _register_without_phone(session, clerk, app)[0], make_user(locale="en")
    _record(app, session, clerk, resident, daughter.phone, relation=ConsentRelation.FAMILY)
    login(client, daughter.phone)
    helping = client.get("/bookings/helping").get_data(as_text=True)
    assert resident.name in helping and f"{resident.name} ·" not in helping  # no phone to show
    acting = submit(client, "/bookings/helping", {"resident_id": str(resident.id)})
    assert acting.status_code == 302
    assert client.get("/venues").get_data(as_text=True).count("You are acting for") == 1
    slot = slot_at(session, venue.spaces[0], 1, 10)
    # The questions and messages address the resident; the times read without zone or seconds.
    party = client.get(f"/venues/slots/{slot.id}/book").get_data(as_text=True)
    party = as_text(party)  # Chinese names on an English page are marked lang="zh-CN"
    assert f"including {resident.name}?" in party and "including you?" not in party
    assert "10:00–11:00" in party and "10:00:00" not in party
    booking = venue_booking.book_general(
        session, daughter, resident, slot.id, 1, settings=current_settings()
    )
    assert (booking.holder_id, booking.booked_by_id) == (resident.id, daughter.id)
    shown = as_text(client.get(f"/bookings/{booking.reference}?new=1").get_data(as_text=True))
    assert f"the inbox of {resident.name}" in shown and "to your inbox" not in shown
    assert f"Reference number of {resident.name}" in shown
    assert f"booked by {daughter.name}" in shown and ", community helper" not in shown
    assert "10:00–11:00" in shown and "10:00:00" not in shown


def test_the_resident_and_the_helper_see_the_last_day_and_the_slip(
    app, client, session, make_user, clerk, frozen
):
    resident, helper = make_user(), make_user("community_helper")
    consent = _record(app, session, clerk, resident, helper.username, slip=_png())
    slip = f"/desk/consents/{consent.id}/slip"
    for person, url in (
        (resident.phone, "/bookings/helpers"),
        (helper.username, "/bookings/helping"),
    ):
        client = app.test_client()
        login(client, person)
        page = client.get(url).get_data(as_text=True)
        assert slip in page and "2026年12月31日" in page, url


def test_the_desk_closes_an_account_for_a_resident_without_a_phone(
    app, client, session, make_user, make_venue, clerk, frozen
):
    venue = make_venue()
    resident, _code = _register_without_phone(session, clerk, app)
    helper = make_user("community_helper")
    _record(app, session, clerk, resident, helper.username)
    booking = venue_booking.book_general(
        session,
        helper,
        resident,
        slot_at(session, venue.spaces[0], 1, 10).id,
        1,
        settings=current_settings(),
    )
    login(client, clerk.username)
    url = f"/desk/residents/{resident.id}/close"
    unconfirmed = submit(client, url, {})
    assert unconfirmed.status_code == 200 and 'class="error-summary"' in unconfirmed.text
    assert submit(client, url, {"confirm": "y"}).status_code == 302
    session.expire_all()
    closed = session.get(User, resident.id)
    assert closed.deleted_at is not None and closed.username is None
    assert session.get(type(booking), booking.id).status.value == "cancelled"
    assert client.get(f"/desk/residents/{resident.id}").status_code == 404
    from app.audit.models import AuditEntry

    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "account.close"))
    assert entry.actor_id == clerk.id and entry.object_id == str(resident.id)


def test_a_resident_chooses_the_last_day_online(app, client, session, make_user, frozen):
    resident, helper = make_user(locale="en"), make_user("community_helper")
    login(client, resident.phone)
    too_long = submit(
        client,
        "/bookings/helpers",
        {
            "helper": helper.username,
            "services": ["venues"],
            "ends_on-year": "2028",
            "ends_on-month": "1",
            "ends_on-day": "1",
        },
    )
    assert (
        "at most a year" in too_long.get_data(as_text=True) and 'href="#ends_on"' in too_long.text
    )
    submit(
        client,
        "/bookings/helpers",
        {
            "helper": helper.username,
            "services": ["venues"],
            "ends_on-year": "2027",
            "ends_on-month": "1",
            "ends_on-day": "31",
        },
    )
    consent = session.scalar(select(HelperConsent))
    assert consent.ends_on == date(2027, 1, 31) and consent.starts_on == clock.today()
