"""Homes are claims until verified (issue 10, point 1): the attack that read a neighbour's
private report by typing their address, the manager's claims queue, the "home not yet verified"
report confirmed in one click, the household register, and following that ends with the claim."""

import io
import re
import threading

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.accounts.models import Role, RoleAssignment
from app.notifications.models import Notification
from app.places import services as homes
from app.places.models import ClaimStatus, HomeClaim, Household
from repairs.models import Category, Ticket, TicketFollower, TicketPhoto
from repairs.services import access, tickets
from tests.conftest import csrf_token, login, submit


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def world(session, places, repair_company, make_user, frozen, app, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path)
    estate, other_estate = places["estates"][0], places["estates"][1]
    a = make_user(
        name="甲", home_estate_id=estate.id, home_building="5", home_unit="2", home_room="301"
    )
    report = tickets.report(
        session, a, a, category=Category.WATER, description="卫生间漏水 甲的秘密", photos=[_png()]
    )
    public = tickets.report(
        session,
        a,
        a,
        category=Category.LIFT,
        description="5号楼电梯停了",
        public_area=True,
        area="5号楼门口",
    )
    return {
        "a": a,
        "estate": estate,
        "other_estate": other_estate,
        "report": report,
        "public": public,
        "manager": make_user("property_manager", scope=estate),
        "other_manager": make_user("property_manager", scope=other_estate),
        "b": make_user(name="乙"),
    }


def _signed_in(app, user):
    client = app.test_client()
    client.set_cookie("locale", "en")
    login(client, user.phone or user.username)
    return client


def _claim_home_through_profile(client, user, estate, building, unit, room):
    return submit(
        client,
        "/profile",
        {
            "name": user.name,
            "phone": user.phone,
            "locale": "en",
            "display_mode": "standard",
            "home_estate_id": str(estate.id),
            "home_building": building,
            "home_unit": unit,
            "home_room": room,
        },
    )


def test_typing_a_neighbours_address_shows_nothing_of_their_home(app, session, world):
    """The attack of the issue: B types A's estate/building/unit/room into the profile."""
    b, report = world["b"], world["report"]
    client = _signed_in(app, b)
    response = _claim_home_through_profile(client, b, world["estate"], "5号楼", "2", "301室")
    assert response.status_code == 302
    session.expire_all()
    claim = homes.current_claim(session, b)
    assert claim.status == ClaimStatus.PENDING and claim.household_id == report.household_id
    assert "Waiting for your property manager to confirm" in client.get("/profile").get_data(
        as_text=True
    )
    # Not listed, not shown, photos and joining refused: exactly as for a report that does not
    # exist.
    page = client.get("/repairs/report").get_data(as_text=True)
    assert (
        report.reference not in page
        and "甲的秘密" not in page
        and world["public"].reference not in page
    )
    assert client.get(f"/repairs/tickets/{report.reference}").status_code == 404
    photo = session.scalar(select(TicketPhoto))
    assert client.get(f"/repairs/photos/{photo.filename}").status_code == 404
    assert client.get(f"/repairs/photos/{photo.thumb}").status_code == 404
    token = csrf_token(client, "/repairs/report")
    assert (
        client.post(
            f"/repairs/tickets/{report.reference}/join", data={"csrf_token": token}
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/repairs/tickets/{world['public'].reference}/join", data={"csrf_token": token}
        ).status_code
        == 404
    )
    assert session.scalar(select(func.count(TicketFollower.id))) == 0
    assert not access.visible_to(session, b, report) and not access.can_join(session, b, report)
    assert access.can_join(session, world["a"], report)


def test_verified_members_see_their_home_and_their_estates_public_reports(
    app, session, world, make_user
):
    report, public = world["report"], world["public"]
    housemate = make_user(
        home_estate_id=world["estate"].id, home_building="5", home_unit="2", home_room="301"
    )
    neighbour = make_user(home_estate_id=world["estate"].id, home_building="6", home_room="502")
    elsewhere = make_user(
        home_estate_id=world["other_estate"].id, home_building="5", home_unit="2", home_room="301"
    )
    client = _signed_in(app, housemate)
    page = client.get("/repairs/report").get_data(as_text=True)
    assert report.reference in page and public.reference in page
    assert client.get(f"/repairs/tickets/{report.reference}").status_code == 200
    client = _signed_in(app, neighbour)
    page = client.get("/repairs/report").get_data(as_text=True)
    assert public.reference in page and report.reference not in page
    assert client.get(f"/repairs/tickets/{report.reference}").status_code == 404
    assert client.get(f"/repairs/tickets/{public.reference}").status_code == 200
    client = _signed_in(app, elsewhere)
    assert public.reference not in client.get("/repairs/report").get_data(as_text=True)
    assert client.get(f"/repairs/tickets/{public.reference}").status_code == 404
    # Staff whose scope covers the estate, and nobody else's staff.
    assert access.visible_to(session, world["manager"], report)
    assert not access.visible_to(session, world["other_manager"], report)


def test_moving_out_ends_access_and_following_at_once(app, session, world, make_user):
    report, manager = world["report"], world["manager"]
    housemate = make_user(
        home_estate_id=world["estate"].id, home_building="5", home_unit="2", home_room="301"
    )
    client = _signed_in(app, housemate)
    token = csrf_token(client, "/repairs/report")
    assert (
        client.post(
            f"/repairs/tickets/{report.reference}/join", data={"csrf_token": token}
        ).status_code
        == 302
    )
    assert session.scalar(select(func.count(TicketFollower.id))) == 1
    tickets.act(
        session, manager, report, "assign", technician_name="王师傅", technician_phone="13811112222"
    )
    inbox = select(func.count(Notification.id)).where(Notification.user_id == housemate.id)
    before = session.scalar(inbox)
    assert before >= 1
    # Back to another address: the old household's report is gone from view, and from the inbox.
    _claim_home_through_profile(client, housemate, world["estate"], "9", "", "909")
    session.expire_all()
    assert client.get(f"/repairs/tickets/{report.reference}").status_code == 404
    assert session.scalar(select(func.count(TicketFollower.id))) == 0
    assert (
        session.scalar(
            select(HomeClaim.status).where(
                HomeClaim.user_id == housemate.id, HomeClaim.household_id == report.household_id
            )
        )
        == ClaimStatus.ENDED
    )
    tickets.act(session, manager, session.get(Ticket, report.id), "reply", message="明天上午来修")
    assert session.scalar(inbox) == before


def test_a_follower_kept_as_a_row_still_gets_nothing_once_the_claim_is_gone(
    session, world, make_user
):
    """Defence in depth: even a follower row that survived (written before this rule) sends no
    updates and shows nothing to someone who no longer lives there."""
    report = world["report"]
    stranger = make_user(home_estate_id=world["other_estate"].id)
    session.add(TicketFollower(ticket_id=report.id, user_id=stranger.id))
    session.commit()
    assert not access.visible_to(session, stranger, report)
    tickets.act(session, world["manager"], report, "acknowledge")
    assert (
        session.scalar(
            select(func.count(Notification.id)).where(Notification.user_id == stranger.id)
        )
        == 0
    )


def test_manager_confirms_and_refuses_claims_from_the_queue(app, session, world, make_user):
    b = world["b"]
    b.phone = "13912345678"
    session.commit()
    homes.set_home(session, b, world["estate"].id, "7", "1", "702")
    session.commit()
    manager = _signed_in(app, world["manager"])
    page = manager.get("/homes/claims").get_data(as_text=True)
    assert (
        "Building 7, unit 1, room 702" in page
        and "乙" in page
        and "139****5678" in page
        and "13912345678" not in page
    )
    from app.audit.models import AuditEntry

    assert (
        session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "homes.claims_viewed",
                AuditEntry.actor_id == world["manager"].id,
            )
        )
        is not None
    )
    claim = homes.current_claim(session, b)
    # Another estate's manager cannot see or decide it; a resident has no queue at all.
    other = _signed_in(app, world["other_manager"])
    assert "702" not in other.get("/homes/claims").get_data(as_text=True)
    token = csrf_token(other, "/homes/claims")
    assert (
        other.post(
            f"/homes/claims/{claim.id}/decide", data={"csrf_token": token, "decision": "approve"}
        ).status_code
        == 404
    )
    assert _signed_in(app, world["a"]).get("/homes/claims").status_code == 403
    response = submit(
        manager,
        f"/homes/claims/{claim.id}/decide",
        {"decision": "approve"},
        form_url="/homes/claims",
    )
    assert response.status_code == 302
    session.expire_all()
    assert homes.current_claim(session, b).status == ClaimStatus.VERIFIED
    assert (
        session.scalar(
            select(Notification).where(
                Notification.user_id == b.id, Notification.kind == "home.decision"
            )
        )
        is not None
    )
    # Deciding twice is refused with a message, not applied twice.
    page = manager.get(
        submit(
            manager,
            f"/homes/claims/{claim.id}/decide",
            {"decision": "approve"},
            form_url="/homes/claims",
        ).headers["Location"]
    ).get_data(as_text=True)
    assert "already decided" in page
    # A refused claim says why, and gives nothing.
    c = make_user()
    homes.set_home(session, c, world["estate"].id, "5", "2", "301")
    session.commit()
    claim_c = homes.current_claim(session, c)
    page = manager.get(
        submit(
            manager,
            f"/homes/claims/{claim_c.id}/decide",
            {"decision": "refuse", "reason": " "},
            form_url="/homes/claims",
        ).headers["Location"]
    ).get_data(as_text=True)
    assert "Say why you refuse" in page  # the resident is told why, so a reason is needed
    session.expire_all()
    assert session.get(HomeClaim, claim_c.id).status == ClaimStatus.PENDING
    submit(
        manager,
        f"/homes/claims/{claim_c.id}/decide",
        {"decision": "refuse", "reason": "业主名册无此人"},
        form_url="/homes/claims",
    )
    profile = _signed_in(app, c).get("/profile").get_data(as_text=True)
    assert "Not confirmed by your property manager" in profile and "业主名册无此人" in profile
    session.expire_all()
    assert session.get(HomeClaim, claim_c.id).status == ClaimStatus.REFUSED
    assert homes.current_claim(session, c) is None
    message = session.scalar(
        select(Notification).where(
            Notification.user_id == c.id, Notification.kind == "home.decision"
        )
    )
    assert message.params["reason"] == "业主名册无此人"
    # A verified member who moved out is removed by the manager; access ends.
    member = make_user(
        home_estate_id=world["estate"].id, home_building="5", home_unit="2", home_room="301"
    )
    assert access.visible_to(session, member, world["report"])
    submit(
        manager,
        f"/homes/claims/{homes.current_claim(session, member).id}/decide",
        {"decision": "end"},
        form_url="/homes/claims",
    )
    session.expire_all()
    assert not access.visible_to(session, member, session.get(Ticket, world["report"].id))


def test_unverified_resident_reports_and_the_manager_confirms_in_the_same_click(
    app, session, world, make_user
):
    newcomer = make_user(
        home_estate_id=world["estate"].id, home_building="8", home_room="801", home_verified=False
    )
    client = _signed_in(app, newcomer)
    page = client.get("/repairs/report").get_data(as_text=True)
    assert "not yet confirmed" in page and world["public"].reference not in page
    token = csrf_token(client, "/repairs/report")
    response = client.post(
        "/repairs/report",
        data={"csrf_token": token, "category": "water", "description": "水管爆了"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    ticket = session.scalar(select(Ticket).where(Ticket.reporter_id == newcomer.id))
    assert ticket.home_unverified and ticket.location == "8号楼 801室"
    manager = _signed_in(app, world["manager"])
    assert "Home not yet verified" in manager.get("/repairs/queue").get_data(as_text=True)
    page = manager.get(f"/repairs/tickets/{ticket.reference}").get_data(as_text=True)
    assert "Home not yet verified" in page and "Confirm this home" in page
    form_action = re.search(r'action="(/homes/claims/\d+/decide)"', page).group(1)
    response = submit(
        manager,
        form_action,
        {"decision": "approve", "next": f"/repairs/tickets/{ticket.reference}"},
        form_url=f"/repairs/tickets/{ticket.reference}",
    )
    assert response.headers["Location"].endswith(f"/repairs/tickets/{ticket.reference}")
    session.expire_all()
    assert not session.get(Ticket, ticket.id).home_unverified
    assert homes.current_claim(session, newcomer).status == ClaimStatus.VERIFIED
    # The manager's "next" never leaves the site.
    response = submit(
        manager,
        form_action,
        {"decision": "end", "next": "https://evil.example/"},
        form_url="/homes/claims",
    )
    assert "evil" not in response.headers["Location"]


def test_a_report_cannot_be_merged_into_another_homes_private_report(session, world, make_user):
    other_home = make_user(home_estate_id=world["estate"].id, home_building="6", home_room="502")
    theirs = tickets.report(
        session, other_home, other_home, category=Category.WATER, description="楼上漏水"
    )
    with pytest.raises(Exception) as refused:
        tickets.act(
            session, world["manager"], theirs, "duplicate", duplicate_of=world["report"].reference
        )
    assert getattr(refused.value, "code", "") == "other_home"
    session.rollback()
    tickets.act(
        session, world["manager"], theirs, "duplicate", duplicate_of=world["public"].reference
    )


def test_one_current_claim_per_person_even_when_two_saves_race(app, session, world):
    b = world["b"]
    homes.set_home(session, b, world["estate"].id, "1", "", "101")
    session.commit()
    household = session.scalar(select(Household).where(Household.room == "101"))
    session.add(
        HomeClaim(
            user_id=b.id,
            household_id=household.id,
            estate_id=household.estate_id,
            status=ClaimStatus.PENDING,
        )
    )
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    from app.accounts.models import User
    from app.extensions import db

    user_id, estate_id = b.id, world["estate"].id
    session.commit()  # the test's own transaction must not hold SQLite's write lock
    saved, refused = [], []

    def save(room):
        with app.app_context():
            try:  # set_home is one unit of work: it commits, or rolls back and raises
                homes.set_home(db.session, db.session.get(User, user_id), estate_id, "3", "", room)
                saved.append(room)
            except IntegrityError:  # a loser of the race on PostgreSQL: refused, nothing half-done
                refused.append(room)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=save, args=(str(300 + n),)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(saved) == 6 and not refused  # serialised on the person's row: none refused
    session.expire_all()
    [current] = session.scalars(
        select(HomeClaim).where(
            HomeClaim.user_id == user_id,
            HomeClaim.status.in_([ClaimStatus.PENDING, ClaimStatus.VERIFIED]),
        )
    ).all()
    assert current.household.room in saved


def test_household_register_import(app, session, world, runner, make_user):
    estate, town = world["estate"], world["estate"].town
    csv_text = (
        "town,estate,building,unit,room,phone\n"
        f"{town.name_zh},{estate.name_zh},5号楼,2,301,\n"
        f"{town.name_en},{estate.name_en},12,,1201,13900009999\n"
        "\n"
        f"{town.name_zh},{estate.name_zh},12,,1201,13900009999\n"
        f"{town.name_zh},没有这个小区,1,,1,\n"
        f"不存在镇,{estate.name_zh},1,,1,\n"
        f"{town.name_zh},{estate.name_zh},一,,1,\n"
    )
    path = app.instance_path + "/register.csv"
    with open(path, "w", encoding="utf-8") as f:
        f.write(csv_text)
    result = runner.invoke(args=["import", "households", path])
    assert result.exit_code != 0 and "nothing was written" in result.output
    assert "line 6: error: estate: " in result.output and "没有这个小区" in result.output
    assert "line 7: error: town: " in result.output and "不存在镇" in result.output
    assert "line 8: error: building" in result.output
    assert (
        session.scalar(select(func.count(Household.id)).where(Household.registered.is_(True))) == 0
    )
    good = "\n".join(csv_text.splitlines()[:5]) + "\n"
    with open(path, "w", encoding="gbk") as f:  # as Excel on a Chinese Windows saves it
        f.write(good)
    result = runner.invoke(args=["import", "households", path, "--dry-run"])
    assert (
        result.exit_code == 0
        and "line 2: update" in result.output
        and "line 3: create" in result.output
    )
    assert "line 5: unchanged" in result.output and "dry run" in result.output
    assert (
        session.scalar(select(func.count(Household.id)).where(Household.registered.is_(True))) == 0
    )
    assert runner.invoke(args=["import", "households", path]).exit_code == 0
    again = runner.invoke(args=["import", "households", path])
    assert again.exit_code == 0 and "create" not in again.output and "update" not in again.output
    session.expire_all()
    # The estate has a register now: an address not in it is refused at once, with a message.
    c = make_user()
    with pytest.raises(Exception) as refused:
        homes.set_home(session, c, estate.id, "99", "", "9901")
    assert getattr(refused.value, "code", "") == "not_in_register"
    session.rollback()
    # An address in the register alone proves nothing: the claim waits for the manager...
    homes.set_home(session, c, estate.id, "5", "2", "301")
    session.commit()
    assert homes.current_claim(session, c).status == ClaimStatus.PENDING
    # ...and the register's phone confirms only where the portal trusts sign-in numbers, and
    # only a number proven by an SMS code (tests/test_signin.py: one that is not, is not).
    from app.db import utcnow

    d = make_user(phone="13900009999", phone_verified_at=utcnow())
    homes.set_home(session, d, estate.id, "12", "", "1201")
    assert homes.current_claim(session, d).status == ClaimStatus.PENDING
    homes.set_home(session, d, None)
    homes.set_home(session, d, estate.id, "12", "", "1201", register_phone_match=True)
    assert homes.current_claim(session, d).status == ClaimStatus.VERIFIED


def test_an_import_is_its_own_unit_of_work(session, world):
    """An import may have to discard everything it wrote, so it never joins a caller's unit
    (whose other writes it would discard, or commit half of)."""
    from app.db import unit_of_work

    town, estate = world["estate"].town, world["estate"]
    data = f"town,estate,building,unit,room\n{town.name_zh},{estate.name_zh},7,,701\n".encode()
    with pytest.raises(RuntimeError), unit_of_work(session):
        homes.import_households(session, data)
    assert [o.outcome for o in homes.import_households(session, data, dry_run=True)] == ["create"]
    assert homes.find_household(session, estate.id, "7", "", "701") is None
    assert [o.outcome for o in homes.import_households(session, data)] == ["create"]
    session.rollback()
    assert homes.find_household(session, estate.id, "7", "", "701").registered


@pytest.mark.parametrize(
    "typed, expected",
    [
        (("５号楼", "２单元", "301室"), ("5", "2", "301")),
        ((" 12 ", "", "1201"), ("12", "", "1201")),
        (("12a", "", "3号"), ("12A", "", "3")),
        (("5幢", "1", "101"), ("5", "1", "101")),
    ],
)
def test_addresses_are_one_household_however_typed(typed, expected):
    assert homes.clean_address(*typed) == expected


@pytest.mark.parametrize(
    "typed, field",
    [
        (("", "", "101"), "home_building"),
        (("5", "", ""), "home_room"),
        (("五", "", "101"), "home_building"),
        (("5", "", "1<b>"), "home_room"),
    ],
)
def test_bad_addresses_are_answered_on_their_field(typed, field):
    with pytest.raises(Exception) as refused:
        homes.clean_address(*typed)
    assert refused.value.field == field


def test_a_manager_of_several_estates_narrows_the_claims_to_one(app, session, places, make_user):
    """A manager of several estates (a company's) lists one estate's claims at a time: waiting
    and confirmed ones."""
    first, second = places["estates"]
    make_user(home_estate_id=first.id, home_room="301", name="甲", home_verified=False)
    make_user(home_estate_id=second.id, home_room="101", name="乙")
    manager = make_user("property_manager", scope=first)
    homes_assign = RoleAssignment(
        user_id=manager.id, role=Role.PROPERTY_MANAGER, scope_kind="estate", scope_id=second.id
    )
    session.add(homes_assign)
    session.commit()
    client = app.test_client()
    login(client, manager.username)
    both = client.get("/homes/claims").get_data(as_text=True)
    assert "甲" in both and "乙" in both and 'id="estate"' in both
    one = client.get(f"/homes/claims?estate={second.id}").get_data(as_text=True)
    assert "乙" in one and "甲" not in one
