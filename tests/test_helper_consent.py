"""帮办代办 consent names the services: a community helper acting for a resident gets what the
consented services need and nothing else (no wallet, payments, vehicles, gate history, and no
private repair reports without repairs consent). On SQLite and PostgreSQL."""

import pytest
from sqlalchemy import select

from app.accounts.consents import can_act_for, consented_services, grant_consent, revoke_consent
from app.accounts.models import HelperConsent, HelpService
from app.errors import DomainError, Forbidden, NotFound
from repairs.models import Category
from repairs.services import access, tickets
from tests import test_repairs
from tests.conftest import login, parking_settings, submit

world = test_repairs.world  # the repairs fixture: an estate, a resident with a home


def test_consent_is_per_service(session, make_user):
    resident, helper = make_user(), make_user("community_helper")
    assert not can_act_for(session, helper, resident, HelpService.VENUES)
    consent = grant_consent(session, resident, helper.username, ["venues"])
    assert consent.services == [HelpService.VENUES]
    assert can_act_for(session, helper, resident, "venues")
    assert not can_act_for(session, helper, resident, "parking")
    assert not can_act_for(session, helper, resident, "repairs")
    # Granting again replaces what the consent names.
    grant_consent(session, resident, helper.username, ["parking", "repairs"])
    assert consented_services(session, helper, resident) == [
        HelpService.PARKING,
        HelpService.REPAIRS,
    ]
    assert not can_act_for(session, helper, resident, "venues")
    revoke_consent(session, resident, consent.id)
    assert consented_services(session, helper, resident) == []
    assert can_act_for(session, resident, resident, "parking")  # oneself, always


def test_a_consent_must_name_a_service_and_a_helper(session, make_user):
    resident, helper, neighbour = make_user(), make_user("community_helper"), make_user()
    with pytest.raises(DomainError) as refused:
        grant_consent(session, resident, helper.username, [])
    assert refused.value.field == "services"
    with pytest.raises(NotFound):
        grant_consent(session, resident, neighbour.phone, ["venues"])
    with pytest.raises(NotFound):
        revoke_consent(session, neighbour, 1)
    assert session.scalar(select(HelperConsent)) is None


def test_the_consent_page_names_the_services(client, session, make_user):
    resident, helper = make_user(locale="en"), make_user("community_helper")
    login(client, resident.phone)
    client.set_cookie("locale", "en")
    page = client.get("/bookings/helpers").get_data(as_text=True)
    assert "Not your wallet, payments or where your car has parked." in page
    response = submit(client, "/bookings/helpers", {"helper": helper.username})
    assert "Choose at least one service the helper may act in." in response.get_data(as_text=True)
    assert session.scalar(select(HelperConsent)) is None
    submit(
        client, "/bookings/helpers", {"helper": helper.username, "services": ["parking", "repairs"]}
    )
    consent = session.scalar(select(HelperConsent))
    assert (consent.venues, consent.parking, consent.repairs) == (False, True, True)
    assert "May act for you in: Parking, Repair reports" in client.get(
        "/bookings/helpers"
    ).get_data(as_text=True)


def _acting(client, helper, resident):
    login(client, helper.username)
    client.set_cookie("locale", "en")
    submit(client, "/bookings/helping", {"resident_id": str(resident.id)})
    return client


def test_venues_only_consent_shows_no_parking_at_all(client, session, make_user, car_park):
    from parking.services import payments, vehicles

    resident, helper = make_user(), make_user("community_helper", locale="en")
    vehicles.register(session, resident, "沪A12345")
    charge = payments.new_charge(
        session,
        user_id=resident.id,
        car_park_id=car_park.default.id,
        plate="沪A12345",
        amount_fen=1500,
    )
    session.commit()
    grant_consent(session, resident, helper.username, ["venues"])
    _acting(client, helper, resident)
    for url in (
        "/parking/mine",
        "/parking/vehicles",
        f"/parking/charges/{charge.reference}",
        f"/parking/{car_park.default.id}/reserve",
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "沪A12345" not in response.get_data(as_text=True)
        assert "15.00" not in response.get_data(as_text=True)


def test_parking_consent_reserves_but_never_shows_money_or_history(
    client, session, make_user, car_park
):
    from datetime import timedelta

    from app import clock
    from parking.services import payments, reservations, vehicles

    park = car_park.default
    resident, helper = make_user(), make_user("community_helper", locale="en")
    vehicles.register(session, resident, "沪A12345")
    charge = payments.new_charge(
        session, user_id=resident.id, car_park_id=park.id, plate="沪A12345", amount_fen=1500
    )
    session.commit()
    with pytest.raises(Forbidden):  # the service refuses too, not only the page
        reservations.reserve(
            session,
            helper,
            resident,
            park,
            "沪A12345",
            clock.now() + timedelta(hours=2),
            settings=parking_settings(),
        )
    session.rollback()
    grant_consent(session, resident, helper.username, ["parking"])
    reservation = reservations.reserve(
        session,
        helper,
        resident,
        park,
        "沪A12345",
        clock.now() + timedelta(hours=2),
        settings=parking_settings(),
    )
    assert (
        reservation.booking.holder_id == resident.id
        and reservation.booking.booked_by_id == helper.id
    )
    _acting(client, helper, resident)
    page = client.get("/parking/mine").get_data(as_text=True)
    assert reservation.booking.reference in page  # the reservation, to manage it
    assert "To pay" not in page and "Parking history" not in page and "15.00" not in page
    assert client.get("/parking/vehicles").status_code == 403
    assert client.get(f"/parking/charges/{charge.reference}").status_code == 403
    assert client.get(f"/parking/reservations/{reservation.booking.reference}").status_code == 200
    reservations.cancel(session, reservation, helper, settings=parking_settings())
    session.refresh(reservation.booking)
    assert reservation.booking.status.value == "cancelled"


def test_private_repair_reports_need_repairs_consent(session, world, make_user):  # noqa: F811
    resident = world["resident"]
    ticket = tickets.report(
        session, resident, resident, category=Category.WATER, description="卫生间漏水"
    )
    helper = make_user("community_helper")
    grant_consent(session, resident, helper.username, ["venues", "parking"])
    assert not access.visible_to(session, helper, ticket)
    with pytest.raises(Forbidden):
        tickets.report(session, helper, resident, category=Category.DOORS, description="门锁坏了")
    session.rollback()
    grant_consent(session, resident, helper.username, ["repairs"])
    assert access.visible_to(session, helper, ticket)
    reported = tickets.report(
        session, helper, resident, category=Category.DOORS, description="门锁坏了"
    )
    assert (reported.reporter_id, reported.reported_by_id) == (resident.id, helper.id)


def test_a_helper_without_repairs_consent_cannot_open_a_private_report(
    client, session, world, make_user
):
    resident = world["resident"]
    ticket = tickets.report(
        session, resident, resident, category=Category.WATER, description="卫生间漏水"
    )
    helper = make_user("community_helper", locale="en")
    grant_consent(session, resident, helper.username, ["venues"])
    _acting(client, helper, resident)
    assert client.get(f"/repairs/tickets/{ticket.reference}").status_code == 404
    refused = client.get("/repairs/report")
    assert (
        refused.status_code == 403
        and "has not given you consent for Repair reports" in refused.get_data(as_text=True)
    )
    grant_consent(session, resident, helper.username, ["venues", "repairs"])
    page = client.get(f"/repairs/tickets/{ticket.reference}")
    assert page.status_code == 200 and "卫生间漏水" in page.get_data(as_text=True)


def test_granting_consent_joins_the_callers_unit_of_work(session, make_user):
    """Granting is a service with its own unit; inside a caller's unit it is part of it, so an
    operation that fails later leaves no consent behind."""
    from app.db import unit_of_work

    resident, helper = make_user(), make_user("community_helper")
    with pytest.raises(RuntimeError), unit_of_work(session):
        grant_consent(session, resident, helper.username, ["venues"])
        raise RuntimeError("a later step failed")
    assert not can_act_for(session, helper, resident, HelpService.VENUES)
    consent = grant_consent(session, resident, helper.username, ["venues"])
    session.rollback()  # alone, it has committed
    assert can_act_for(session, helper, resident, HelpService.VENUES)
    revoke_consent(session, resident, consent.id)
    session.rollback()
    assert not can_act_for(session, helper, resident, HelpService.VENUES)
