"""Plates are claims until a verifier has seen the vehicle licence (issue 10, point 2).

The attack this closes: anyone registered a stranger's plate, then saw where and when that car
parked and what it paid, and the owner was locked out. Now a plate on an account is a claim;
only the VERIFIED holder (at most one per plate, enforced by the database) gets the car's
gate history, fees and 无感支付, from the moment of verification."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from app import clock
from app.accounts.services import issue_token
from app.audit.models import AuditEntry
from app.errors import DomainError
from app.notifications.models import Notification
from parking.models import Charge, GateDirection, ParkingReservation, Vehicle, VehicleStatus
from parking.services import gate, payments, vehicles, verification
from tests.conftest import csrf_token, login, parking_settings, submit, verified_vehicle
from tests.race import race

PLATE = "沪A12345"


def photo(text_colour="navy") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 200), text_colour).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def uploads(app, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path)
    return tmp_path / vehicles.LICENCE_FOLDER


@pytest.fixture
def desk(make_user):
    return make_user("service_desk")


def stay(session, park, entry: str, exit: str):
    """A stay through the gate, times as "HH:MM" today (Asia/Shanghai)."""

    def at(hhmm):
        return clock.at(clock.today(), int(hhmm[:2]) * 60 + int(hhmm[3:]))

    gate.record_event(
        session,
        park,
        PLATE,
        GateDirection.ENTRY,
        at(entry),
        collect=False,
        settings=parking_settings(),
    )
    return gate.record_event(
        session, park, PLATE, GateDirection.EXIT, at(exit), settings=parking_settings()
    )


def signed_in(app, user):
    client = app.test_client()
    login(client, user.login_name)
    return client


def notes(session, user, kind):
    session.rollback()
    return session.scalars(
        select(Notification).where(Notification.user_id == user.id, Notification.kind == kind)
    ).all()


# --- the attack ------------------------------------------------------------------------------


@pytest.mark.now("2026-12-01T08:00:00+08:00")
def test_a_stranger_claiming_the_plate_sees_nothing_and_the_owner_keeps_it(
    app, session, car_park, make_user, frozen
):
    park = car_park.default
    owner = make_user(phone="13911110001", locale="en")
    verified_vehicle(session, owner, PLATE)  # at 08:00
    frozen.move_to("2026-12-01T12:00:00+08:00")
    stay(session, park, "09:00", "10:00")  # the owner's stay, charged to the owner
    stranger = make_user(phone="13911110002", locale="en")
    attacker = signed_in(app, stranger)
    attacker.set_cookie("locale", "en")

    # Claiming someone else's plate is allowed (several accounts may claim one) and locks nobody
    # out...
    added = submit(attacker, "/parking/vehicles", {"plate": PLATE})
    assert added.status_code == 302
    claim = session.scalar(select(Vehicle).where(Vehicle.owner_id == stranger.id))
    assert claim.plate == PLATE and claim.status == VehicleStatus.CLAIMED
    # ...but shows nothing about the car: no stays, no fees, no charge pages.
    stay(session, park, "10:30", "11:30")
    mine = attacker.get("/parking/mine").get_data(as_text=True)
    assert "Test Car Park" not in mine and "¥" not in mine
    charges = session.scalars(select(Charge).order_by(Charge.id)).all()
    assert [c.user_id for c in charges] == [owner.id, owner.id]
    assert all(attacker.get(f"/parking/charges/{c.reference}").status_code == 404 for c in charges)
    assert gate.history(session, stranger.id) == []
    # No 无感支付 for a claim: the page does not offer it and a forged request is refused.
    page = attacker.get("/parking/vehicles").get_data(as_text=True)
    assert "Pay automatically for" not in page and "once the plate is verified" in page
    forged = submit(
        attacker, f"/parking/vehicles/{claim.id}/autopay", {"on": "1"}, form_url="/parking/vehicles"
    )
    assert forged.status_code == 302
    session.rollback()
    assert session.get(Vehicle, claim.id).autopay_method_id is None
    with pytest.raises(DomainError) as refused:
        vehicles.set_autopay(
            session, claim, payments.PROVIDERS["demo_wallet"].open_method(session, stranger)
        )
    assert refused.value.code == "plate_not_verified"
    # The owner still holds the plate, sees both stays and pays for them.
    session.rollback()
    assert vehicles.verified_holder(session, PLATE).owner_id == owner.id
    assert len(gate.history(session, owner.id)) == 2
    owner_page = signed_in(app, owner).get("/parking/mine").get_data(as_text=True)
    assert "Test Car Park" in owner_page


def test_the_real_owner_can_claim_a_plate_someone_claimed_first(app, session, make_user):
    squatter, owner = make_user(), make_user(phone="13911110003")
    vehicles.register(session, squatter, PLATE)
    client = signed_in(app, owner)
    added = submit(client, "/parking/vehicles", {"plate": "沪a 12345"})
    assert added.status_code == 302  # no "registered to another account"
    assert added.headers["Location"].endswith("/licence")  # on to sending the licence
    assert session.scalar(select(func.count(Vehicle.id)).where(Vehicle.plate == PLATE)) == 2


def test_the_api_never_registers_a_plate(client, session, car_park, make_user):
    park = car_park.default
    driver = make_user()
    token = issue_token(session, driver)
    session.commit()
    body = {"carpark_id": park.id, "plate": PLATE, "arrive_at": "2026-12-01T10:00:00+08:00"}
    refused = client.post(
        "/api/v1/parking/reservations", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert refused.status_code == 422
    assert (
        refused.json["error"]["code"] == "unknown_vehicle"
        and PLATE in refused.json["error"]["message"]
    )
    assert session.scalar(select(func.count(Vehicle.id))) == 0
    assert session.scalar(select(func.count(ParkingReservation.id))) == 0
    # a claim (not yet verified) is enough to reserve: the gate matches the plate
    vehicles.register(session, driver, PLATE)
    made = client.post(
        "/api/v1/parking/reservations", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert made.status_code == 201, made.json
    # a refused claim is not one of the driver's vehicles any more
    other = make_user()
    claim = vehicles.register(session, other, "沪B54321")
    claim.status = VehicleStatus.REFUSED
    session.commit()
    with pytest.raises(DomainError) as error:
        vehicles.claimed_plate(session, other.id, "沪B54321")
    assert error.value.status == 422 and error.value.code == "unknown_vehicle"
    openapi = client.get("/api/v1/openapi.json").json
    assert "unknown_vehicle" in str(
        openapi["paths"]["/api/v1/parking/reservations"]["post"]["responses"]["422"]
    )


# --- charges and history follow the verified holder -------------------------------------------


@pytest.mark.now("2026-12-01T08:00:00+08:00")
def test_fees_and_history_go_to_whoever_verifiably_held_the_plate_when_the_stay_began(
    session, car_park, make_user, desk, frozen
):
    park = car_park.default
    seller, buyer = make_user(), make_user()
    vehicles.register(session, seller, PLATE)
    before = stay(session, park, "06:00", "07:30")  # a claim only: the gate's till, nobody's charge
    assert before.charge is None and before.session.fee_fen > 0
    frozen.move_to("2026-12-01T08:00:00+08:00")
    verified_vehicle(session, seller, PLATE, verifier=desk)
    frozen.move_to("2026-12-01T10:00:00+08:00")
    assert stay(session, park, "08:30", "09:30").charge.user_id == seller.id
    gate.record_event(
        session,
        park,
        PLATE,
        GateDirection.ENTRY,
        clock.at(clock.today(), 9 * 60 + 45),
        settings=parking_settings(),
    )
    # the car is sold: the buyer's licence is verified at 10:00, while it is inside
    frozen.move_to("2026-12-01T10:00:00+08:00")
    verified_vehicle(session, buyer, PLATE, verifier=desk)
    leaving = gate.record_event(
        session,
        park,
        PLATE,
        GateDirection.EXIT,
        clock.at(clock.today(), 10 * 60 + 30),
        settings=parking_settings(),
    )
    assert leaving.charge is None  # began before anyone verifiably held it: the gate's till
    assert stay(session, park, "10:40", "10:55").charge is None  # within the free minutes
    frozen.move_to("2026-12-01T13:00:00+08:00")
    assert stay(session, park, "11:00", "12:30").charge.user_id == buyer.id
    assert [s.entered_at.hour for s in gate.history(session, buyer.id)] == [
        3,
        2,
    ]  # UTC: 11:00, 10:40
    assert gate.history(session, seller.id) == []  # dropped: the car's history is no longer theirs
    assert (
        session.scalar(select(func.count(Charge.id)).where(Charge.user_id == seller.id)) == 1
    )  # theirs stays


# --- verifying ---------------------------------------------------------------------------------


def test_verifying_one_claim_drops_the_others_with_a_message(session, make_user, desk, uploads):
    first, second, third = make_user(), make_user(), make_user()
    holder = verified_vehicle(session, third, PLATE, verifier=desk)
    vehicles.set_autopay(
        session, holder, payments.PROVIDERS["demo_wallet"].open_method(session, third)
    )
    a = vehicles.send_licence(session, vehicles.register(session, first, PLATE), photo())
    b = vehicles.send_licence(session, vehicles.register(session, second, PLATE), photo("maroon"))
    files = {a.licence_filename, b.licence_filename}
    assert {p.name for p in uploads.iterdir()} == files
    assert verification.other_claims(session, a) == 2

    verification.approve(session, desk, a)
    session.rollback()
    states = {v.owner_id: v for v in session.scalars(select(Vehicle).where(Vehicle.plate == PLATE))}
    assert (
        states[first.id].status == VehicleStatus.VERIFIED
        and states[first.id].decided_by_id == desk.id
    )
    assert states[second.id].status == states[third.id].status == VehicleStatus.DROPPED
    assert states[third.id].autopay_method_id is None  # the old holder's 无感支付 is cleared
    assert list(uploads.iterdir()) == []  # both photos deleted once decided
    for dropped in (second, third):
        [note] = notes(session, dropped, "parking.plate_dropped")
        assert note.params == {"plate": PLATE} and note.link == "/parking/vehicles"
    assert len(notes(session, first, "parking.plate_verified")) == 1
    entry = session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "parking.plate_verified", AuditEntry.object_id == str(a.id)
        )
    )
    assert entry.actor_id == desk.id and entry.object_id == str(a.id)
    assert sorted(entry.details["dropped"]) == sorted([states[second.id].id, states[third.id].id])
    # deciding it again is refused; a dropped claim may try again with a new photo
    with pytest.raises(DomainError):
        verification.approve(session, desk, b)
    again = vehicles.send_licence(session, session.get(Vehicle, b.id), photo())
    assert again.status == VehicleStatus.PENDING


def test_a_refused_claim_is_told_why_and_may_try_again(session, make_user, desk, uploads):
    driver = make_user()
    claim = vehicles.send_licence(session, vehicles.register(session, driver, PLATE), photo())
    with pytest.raises(DomainError) as no_reason:
        verification.refuse(session, desk, claim, "  ")
    assert no_reason.value.field == "reason"
    verification.refuse(session, desk, claim, "照片看不清")
    session.rollback()
    assert claim.status == VehicleStatus.REFUSED and claim.licence_filename is None
    assert list(uploads.iterdir()) == []
    [note] = notes(session, driver, "parking.plate_refused")
    assert note.params["reason"] == "照片看不清"
    assert (
        session.scalar(select(AuditEntry.action).where(AuditEntry.object_id == str(claim.id)))
        == "parking.plate_refused"
    )
    assert vehicles.usable_vehicles(session, driver.id) == []  # no reservations for a refused plate
    assert vehicles.send_licence(session, claim, photo()).status == VehicleStatus.PENDING


def test_one_verified_holder_per_plate_is_enforced_by_the_database(session, make_user):
    first, second = make_user(), make_user()
    for user in (first, second):
        session.add(
            Vehicle(
                owner_id=user.id, plate=PLATE, status=VehicleStatus.VERIFIED, decided_at=clock.now()
            )
        )
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    session.add(Vehicle(owner_id=first.id, plate=PLATE, status=VehicleStatus.CLAIMED))
    session.add(Vehicle(owner_id=first.id, plate=PLATE, status=VehicleStatus.CLAIMED))
    with pytest.raises(IntegrityError):  # one claim per account and plate
        session.commit()


@pytest.mark.race
def test_two_verifiers_approving_two_claims_of_one_plate_at_once_verify_one(
    app, session, make_user
):
    claims = [vehicles.register(session, make_user(), PLATE) for _ in range(2)]
    for claim in claims:
        claim.status = VehicleStatus.PENDING
    verifiers = [make_user("service_desk"), make_user("service_desk")]
    session.commit()
    ids, verifier_ids = [c.id for c in claims], [v.id for v in verifiers]

    def approve(i):
        from app.accounts.models import User
        from app.extensions import db

        return verification.approve(
            db.session, db.session.get(User, verifier_ids[i]), db.session.get(Vehicle, ids[i])
        ).status

    for _ in range(3):  # a few rounds: the interleavings differ
        results = race(app, 2, approve)
        session.rollback()
        verified = session.scalars(
            select(Vehicle.id).where(
                Vehicle.plate == PLATE, Vehicle.status == VehicleStatus.VERIFIED
            )
        ).all()
        assert len(verified) == 1, results
        assert sum(isinstance(r, DomainError) for r in results) == 1, results
        session.execute(
            Vehicle.__table__.update().values(status=VehicleStatus.PENDING, decided_at=None)
        )
        session.commit()


def test_a_double_submitted_claim_is_one_claim_and_parallel_claims_keep_the_limit(
    app, session, make_user
):
    """register locks the person's row first: the same plate sent twice at once is one claim
    (without the lock the second insert failed on the unique key), and claims of new plates
    sent at once cannot pass MAX_VEHICLES together (each counted the others as not there)."""
    driver_id = make_user().id

    def claim(plates):
        def run(i):
            from app.accounts.models import User
            from app.extensions import db

            return vehicles.register(db.session, db.session.get(User, driver_id), plates[i]).id

        return run

    same = race(app, 4, claim([PLATE] * 4))
    assert all(isinstance(r, int) for r in same) and len(set(same)) == 1, same
    plates = [f"沪B1234{i}" for i in range(vehicles.MAX_VEHICLES + 1)]
    results = race(app, len(plates), claim(plates))
    session.rollback()
    live = session.scalar(
        select(func.count(Vehicle.id)).where(
            Vehicle.owner_id == driver_id, Vehicle.status == VehicleStatus.CLAIMED
        )
    )
    assert live == vehicles.MAX_VEHICLES, results
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == 2 and {r.code for r in refused} == {"too_many"}, results


# --- the pages -----------------------------------------------------------------------------------


def test_licence_photo_goes_to_verifiers_only_and_is_deleted_after_the_decision(
    app, session, car_park, make_user, places, uploads, desk
):
    estate = places["estates"][0]
    driver = make_user(
        phone="13911112222",
        name="刘女士",
        home_estate_id=estate.id,
        home_building="5",
        home_room="301",
    )
    neighbour = make_user(
        phone="13911113333", home_estate_id=estate.id, home_building="6", home_room="502"
    )
    helper = make_user("community_helper")
    operator = make_user("carpark_operator", scope=car_park(name="别的停车场"))
    admin = make_user("administrator")
    client = signed_in(app, driver)
    claim = vehicles.register(session, driver, PLATE)
    form_page = client.get(f"/parking/vehicles/{claim.id}/licence")
    assert form_page.status_code == 200 and 'enctype="multipart/form-data"' in form_page.get_data(
        as_text=True
    )
    # a file that is not a photo is refused on the field, nothing stored
    token = csrf_token(client, f"/parking/vehicles/{claim.id}/licence")
    bad = client.post(
        f"/parking/vehicles/{claim.id}/licence",
        data={"csrf_token": token, "photo": (io.BytesIO(b"%PDF-1.4 not a photo"), "licence.pdf")},
    )
    assert bad.status_code == 200 and 'id="photo-error"' in bad.get_data(as_text=True)
    sent = client.post(
        f"/parking/vehicles/{claim.id}/licence",
        data={"csrf_token": token, "photo": (io.BytesIO(photo()), "licence.jpg")},
    )
    assert sent.status_code == 302
    session.rollback()
    claim = session.get(Vehicle, claim.id)
    assert claim.status == VehicleStatus.PENDING and (uploads / claim.licence_filename).exists()
    url = f"/parking/verify/{claim.id}/licence"

    for verifier in (desk, operator):  # any car park's operator, or a service-desk clerk
        shown = signed_in(app, verifier).get(url)
        assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
        assert shown.headers["Cache-Control"] == "private, no-store"
    for other in (driver, neighbour, helper, admin):
        assert signed_in(app, other).get(url).status_code == 403
        assert signed_in(app, other).get("/parking/verify").status_code == 403
    assert app.test_client().get(url).headers["Location"].startswith("/login")
    # the queue and the claim's page: the plate in full, the name, the masked phone
    queue = signed_in(app, desk).get("/parking/verify").get_data(as_text=True)
    assert (
        PLATE in queue
        and "刘女士" in queue
        and "139****2222" in queue
        and "13911112222" not in queue
    )
    clerk = signed_in(app, desk)
    review = clerk.get(f"/parking/verify/{claim.id}").get_data(as_text=True)
    assert url in review and "139****2222" in review
    # refusing needs a reason (shown on the field); verifying takes one click
    refused = submit(clerk, f"/parking/verify/{claim.id}", {"decision": "refuse", "reason": ""})
    assert refused.status_code == 200 and 'id="reason-error"' in refused.get_data(as_text=True)
    done = submit(clerk, f"/parking/verify/{claim.id}", {"decision": "approve"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/parking/verify")
    session.rollback()
    assert session.get(Vehicle, claim.id).status == VehicleStatus.VERIFIED
    assert list(uploads.iterdir()) == []
    assert clerk.get(url).status_code == 404  # decided: the photo is gone
    assert clerk.get(f"/parking/verify/{claim.id}").status_code == 404
    # the driver now sees it verified and may turn on 无感支付
    page = client.get("/parking/vehicles").get_data(as_text=True)
    assert (
        "已核验" in page and "无感支付" in page and f"/parking/vehicles/{claim.id}/autopay" in page
    )


def test_a_driver_without_a_photo_is_verified_at_the_desk(app, session, make_user, desk, uploads):
    driver = make_user(phone="13911114444", name="赵老伯")
    claim = vehicles.register(session, driver, PLATE)  # no photo: they bring the licence instead
    clerk = signed_in(app, desk)
    assert "赵老伯" not in clerk.get("/parking/verify").get_data(
        as_text=True
    )  # the queue: photos only
    found = clerk.get("/parking/verify", query_string={"plate": "沪a·12345"}).get_data(as_text=True)
    assert "赵老伯" in found and "139****4444" in found and f"/parking/verify/{claim.id}" in found
    refused = clerk.get("/parking/verify", query_string={"plate": "ABC"})
    assert refused.status_code == 200 and 'id="plate-error"' in refused.get_data(as_text=True)
    review = clerk.get(f"/parking/verify/{claim.id}").get_data(as_text=True)
    assert f"/parking/verify/{claim.id}/licence" not in review and "当面出示行驶证" in review
    assert clerk.get(f"/parking/verify/{claim.id}/licence").status_code == 404
    assert submit(clerk, f"/parking/verify/{claim.id}", {"decision": "approve"}).status_code == 302
    session.rollback()
    assert session.get(Vehicle, claim.id).status == VehicleStatus.VERIFIED
    nothing = clerk.get("/parking/verify", query_string={"plate": PLATE}).get_data(as_text=True)
    assert f"/parking/verify/{claim.id}" not in nothing  # decided: not offered again
    assert (
        signed_in(app, driver).get("/parking/verify", query_string={"plate": PLATE}).status_code
        == 403
    )


def test_verifiers_find_the_queue_from_their_pages(app, session, car_park, make_user, desk):
    operator = make_user("carpark_operator", scope=car_park.default)
    for user in (desk, operator):
        home = signed_in(app, user).get("/").get_data(as_text=True)
        assert "/parking/verify" in home and "待核验车牌" in home
    assert "服务窗口工作人员" in signed_in(app, desk).get("/").get_data(as_text=True)
    dashboard = (
        signed_in(app, operator)
        .get(f"/parking/operate/{car_park.default.id}")
        .get_data(as_text=True)
    )
    assert "/parking/verify" in dashboard and "0 条待处理" in dashboard
    admin_dashboard = (
        signed_in(app, make_user("administrator"))
        .get(f"/parking/operate/{car_park.default.id}")
        .get_data(as_text=True)
    )
    assert "/parking/verify" not in admin_dashboard  # administrators do not verify plates


def test_removing_a_claim_deletes_its_licence_photo(app, session, make_user, uploads):
    driver = make_user()
    claim = vehicles.send_licence(session, vehicles.register(session, driver, PLATE), photo())
    assert len(list(uploads.iterdir())) == 1
    replaced = vehicles.send_licence(
        session, claim, photo("olive")
    )  # a second photo replaces the first
    assert [p.name for p in uploads.iterdir()] == [replaced.licence_filename]
    client = signed_in(app, driver)
    assert (
        submit(
            client, f"/parking/vehicles/{claim.id}/remove", {}, form_url="/parking/vehicles"
        ).status_code
        == 302
    )
    assert list(uploads.iterdir()) == []


# --- the migration ---------------------------------------------------------------------------


@pytest.fixture
def plates_database(backend, tmp_path, request):
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'plates.db'}"
    import os

    from tests import pg

    server = pg.PostgresServer(Path("/nonexistent"))
    server.port = int(os.environ["PORTAL_TEST_PG_PORT"])
    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    return server.create_database(f"plates_{worker}")


def test_plates_registered_before_become_unverified_claims(plates_database):
    """Nobody ever saw the licences of the plates registered before 0008: they become claims
    (no history, fees or 无感支付 until verified), and a downgrade keeps one account per plate."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from app import create_app
    from app.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": plates_database, "TESTING": True})
    with app.app_context():
        upgrade(revision="0007")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO user_account (id, phone, name, password_hash, locale, "
                    "display_mode, active, created_at) VALUES (1, '13900000009', 'x', 'x', "
                    "'zh_CN', 'standard', true, '2026-11-01 00:00:00+00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO payment_method (id, user_id, provider, account_ref, created_at) "
                    "VALUES (1, 1, 'demo_wallet', 'demo-1', '2026-11-01 00:00:00+00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO vehicle (id, owner_id, plate, autopay_method_id, created_at) "
                    "VALUES (1, 1, '沪A12345', 1, '2026-11-01 00:00:00+00:00')"
                )
            )
        upgrade()
        with db.engine.begin() as conn:
            row = conn.execute(
                text("SELECT status, autopay_method_id, claimed_at, decision_note FROM vehicle")
            ).one()
            assert row[0] == "claimed" and row[1] is None and row[2] is not None and row[3] == ""
            conn.execute(
                text(
                    "INSERT INTO user_account (id, phone, name, password_hash, locale, "
                    "display_mode, active, created_at) VALUES (2, '13900000008', 'y', 'y', "
                    "'zh_CN', 'standard', true, '2026-11-01 00:00:00+00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO vehicle (id, owner_id, plate, status, claimed_at, decision_note) "
                    "VALUES (2, 2, '沪A12345', 'verified', '2026-11-02 00:00:00+00:00', '')"
                )
            )
        downgrade(revision="0007")
        with db.engine.begin() as conn:
            assert conn.execute(text("SELECT id, owner_id FROM vehicle")).all() == [(2, 2)]
        downgrade(revision="base")
        db.engine.dispose()


def test_a_photo_sent_after_verification_does_not_unverify_the_plate(
    session, make_user, desk, uploads
):
    driver = make_user()
    claim = vehicles.send_licence(session, vehicles.register(session, driver, PLATE), photo())
    verification.approve(session, desk, claim)
    stale = session.get(Vehicle, claim.id)
    # what the driver's page had loaded before the decision (not a change to write)
    set_committed_value(stale, "status", VehicleStatus.PENDING)
    with pytest.raises(DomainError) as refused:
        vehicles.send_licence(session, stale, photo("olive"))
    assert refused.value.code == "already_verified"
    session.rollback()
    assert session.get(Vehicle, claim.id).status == VehicleStatus.VERIFIED
    assert list(uploads.iterdir()) == []  # the late photo is not kept either
