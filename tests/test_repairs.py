"""物业百事通 services: the clock, the state machine, escalation, and the company rating."""

import io
from datetime import UTC, datetime, timedelta, timezone

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.errors import Conflict, DomainError, Forbidden, NotFound
from app.notifications.models import Notification
from repairs.models import (
    Category,
    EstateManagement,
    EventKind,
    State,
    Ticket,
    TicketEvent,
    TicketFollower,
)
from repairs.services import access, companies, rating, supervision, sweep, tickets
from repairs.services import clock as rclock
from tests.conftest import two_managed_estates
from tests.race import race


@pytest.fixture
def world(session, places, make_user, frozen):
    company, other, estate_a, estate_b = two_managed_estates(session, places)
    resident = make_user(
        home_estate_id=estate_a.id, home_building="5", home_unit="2", home_room="301"
    )
    return {
        "company": company,
        "other": other,
        "estate": estate_a,
        "estate_b": estate_b,
        "resident": resident,
        "manager": make_user("property_manager", scope=estate_a),
        "other_manager": make_user("property_manager", scope=estate_b),
        "town": make_user("town_supervisor", scope=places["towns"][0]),
        "other_town": make_user("town_supervisor", scope=places["towns"][1]),
        "district": make_user("district_supervisor"),
    }


def file(session, world, category=Category.WATER, **kw):
    r = world["resident"]
    return tickets.report(
        session, r, r, category=category, description=kw.pop("description", "水管漏水"), **kw
    )


def test_report_fills_the_home_and_fixes_the_deadline(session, world):
    ticket = file(session, world, preferred_time="晚上")
    assert ticket.location == "5号楼 2单元 301室" and ticket.estate_id == world["estate"].id
    assert ticket.respond_by - ticket.submitted_at == timedelta(minutes=30)
    assert ticket.company_id == world["company"].id and ticket.state == State.SUBMITTED
    note = session.scalar(select(Notification).where(Notification.user_id == world["resident"].id))
    assert note.params["ref"] == ticket.reference


def test_report_needs_a_home_and_a_description(session, world, make_user):
    homeless = make_user()
    with pytest.raises(DomainError) as info:
        tickets.report(session, homeless, homeless, category=Category.LIFT, description="电梯坏了")
    assert info.value.code == "no_home"
    with pytest.raises(DomainError) as info:
        file(session, world, description=" ")
    assert info.value.field == "description"


def test_working_hours_calendar_moves_the_deadline(session, world):
    company = world["company"]
    company.work_starts, company.work_ends, company.work_days = 9 * 60, 17 * 60, "01234"
    shanghai = timezone(timedelta(hours=8))
    friday_late = datetime(2026, 12, 4, 16, 50, tzinfo=shanghai)
    assert rclock.respond_by(company, friday_late) == datetime(2026, 12, 7, 9, 20, tzinfo=shanghai)
    saturday = datetime(2026, 12, 5, 10, 0, tzinfo=shanghai)
    assert rclock.respond_by(company, saturday) == datetime(2026, 12, 7, 9, 30, tzinfo=shanghai)
    company.work_starts = None
    assert rclock.respond_by(company, saturday) == saturday + timedelta(minutes=30)


def test_first_human_action_is_the_response_and_is_derived_on_read(session, world, frozen):
    ticket = file(session, world)
    frozen.shift(timedelta(minutes=21))
    assert rclock.at_risk(ticket) and not rclock.breached(ticket)
    assert rclock.minutes_left(ticket) == 9 and " 9 " in str(
        rclock.deadline_words(ticket)
    )  # 还剩 9 分钟
    tickets.act(session, world["manager"], ticket, "acknowledge")
    frozen.shift(timedelta(minutes=5))
    tickets.act(session, world["manager"], ticket, "reply", message="马上到")
    session.refresh(ticket)
    assert ticket.responded_at - ticket.submitted_at == timedelta(
        minutes=21
    )  # the first one counts
    frozen.shift(timedelta(hours=2))
    assert not rclock.breached(ticket) and not rclock.at_risk(ticket)


def test_automatic_messages_do_not_stop_the_clock(session, world, frozen):
    ticket = file(session, world)
    frozen.shift(timedelta(minutes=25))
    assert sweep.warn(session) == 1
    session.refresh(ticket)
    assert ticket.responded_at is None and ticket.warned_at is not None


@pytest.mark.parametrize(
    "action, from_state",
    [
        ("acknowledge", State.IN_PROGRESS),
        ("start", State.RESOLVED),
        ("resolve", State.CLOSED),
        ("duplicate", State.ASSIGNED),
    ],
)
def test_invalid_transitions_are_refused(session, world, action, from_state):
    ticket = file(session, world)
    ticket.state = from_state
    session.commit()
    with pytest.raises(Conflict) as info:
        tickets.act(session, world["manager"], ticket, action)
    assert info.value.code == "invalid_transition"


def test_only_the_estates_managers_act(session, world):
    ticket = file(session, world)
    with pytest.raises(Forbidden):
        tickets.act(session, world["other_manager"], ticket, "acknowledge")
    assert access.visible_to(session, world["town"], ticket)
    assert not access.visible_to(session, world["other_town"], ticket)
    assert not access.visible_to(session, world["other_manager"], ticket)


def test_a_manager_of_another_estate_of_the_company_reads_but_does_not_act(session, world):
    """Escalations go to all the company's managers: they can open the ticket, not act on it."""
    from repairs.models import EstateManagement

    ticket = file(session, world)
    other_manager = world["other_manager"]
    assert not access.is_company_manager_for(session, other_manager, ticket)  # another company
    session.scalar(
        select(EstateManagement).filter_by(estate_id=world["estate_b"].id)
    ).company_id = world["company"].id
    session.commit()
    assert access.readable_by(session, other_manager, ticket)
    assert not access.visible_to(session, other_manager, ticket)  # the forms acting on it: 404
    assert access.is_company_manager_for(session, other_manager, ticket)
    assert not access.is_manager_for(other_manager, ticket)
    with pytest.raises(Forbidden):
        tickets.act(session, other_manager, ticket, "acknowledge")
    assert not access.readable_by(session, world["other_town"], ticket)


def test_resident_confirms_reopens_within_period_and_rates(session, world, frozen):
    ticket = file(session, world)
    m = world["manager"]
    tickets.act(
        session, m, ticket, "assign", technician_name="王师傅", technician_phone="13911112222"
    )
    tickets.act(session, m, ticket, "resolve", message="已更换水管")
    with pytest.raises(Conflict):
        tickets.cancel(session, world["resident"], ticket)
    tickets.rate(session, world["resident"], ticket, 4, "很快")
    tickets.confirm_fixed(session, world["resident"], ticket)
    assert ticket.state == State.CLOSED and ticket.rating == 4
    tickets.reopen(session, world["resident"], ticket, "又漏了")
    assert ticket.state == State.REOPENED and ticket.reopen_count == 1
    tickets.act(session, m, ticket, "resolve")
    frozen.shift(timedelta(days=8))
    with pytest.raises(Conflict) as info:
        tickets.reopen(session, world["resident"], ticket, "还是漏")
    assert info.value.code == "reopen_period"
    with pytest.raises(NotFound):
        tickets.rate(session, world["other_manager"], ticket, 1)
    assert sweep.auto_close(session) == 1


def test_duplicates_are_shown_joined_and_marked(session, world, make_user):
    first = file(session, world, category=Category.LIFT, public_area=True, area="5号楼电梯")
    neighbour = make_user(home_estate_id=world["estate"].id)
    assert tickets.open_for_place(session, neighbour) == [first]
    tickets.join(session, neighbour, first)
    second = tickets.report(
        session,
        neighbour,
        neighbour,
        category=Category.LIFT,
        description="电梯坏",
        public_area=True,
        area="5号楼",
    )
    tickets.act(session, world["manager"], second, "duplicate", duplicate_of=first.reference)
    assert second.state == State.DUPLICATE and second.duplicate_of_id == first.id
    tickets.act(session, world["manager"], first, "acknowledge")
    assert (
        session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == neighbour.id, Notification.kind == "repair.update"
            )
        )
        >= 2
    )


def test_escalation_to_company_town_then_district_each_once(session, world, frozen, make_user):
    colleague = make_user("property_manager", scope=world["estate"])  # same company, same estate
    ticket = file(session, world)
    frozen.shift(timedelta(minutes=31))
    assert sweep.escalate(session) == (1, 0)
    assert sweep.escalate(session) == (0, 0)
    alerted = set(
        session.scalars(select(Notification.user_id).where(Notification.kind == "repair.escalated"))
    )
    assert alerted == {world["manager"].id, colleague.id, world["town"].id}
    frozen.shift(timedelta(minutes=30))
    assert sweep.escalate(session) == (0, 1)
    assert set(
        session.scalars(
            select(Notification.user_id).where(Notification.kind == "repair.escalated_district")
        )
    ) == {world["district"].id}
    kinds = [
        e.kind
        for e in session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))
    ]
    assert EventKind.ESCALATED in kinds and EventKind.ESCALATED_DISTRICT in kinds


@pytest.mark.race
def test_sweep_on_two_nodes_at_once_sends_each_alert_once(app, session, world, frozen):
    for _ in range(5):
        file(session, world)
    frozen.shift(timedelta(minutes=62))

    def node(i):
        from app.extensions import db

        return sweep.sweep(db.session)

    results = race(app, 4, node)
    assert sum(r["repair_escalations"] for r in results) == 5, results
    assert sum(r["repair_district_escalations"] for r in results) == 5
    session.rollback()
    assert (
        session.scalar(
            select(func.count(Notification.id)).where(
                Notification.kind == "repair.escalated_district"
            )
        )
        == 5
    )


def test_company_rating_matches_the_tickets_exactly(session, world, frozen):
    """Five tickets in December with known timings; every figure computed by hand."""
    company = world["company"]
    base = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)

    def make(
        offset_hours,
        responded_after=None,
        resolved_after=None,
        state=State.CLOSED,
        rating=None,
        reopened=0,
    ):
        submitted = base + timedelta(hours=offset_hours)
        t = Ticket(
            reference=f"T{offset_hours:04d}",
            estate_id=world["estate"].id,
            company_id=company.id,
            town_id=world["estate"].town_id,
            category=Category.WATER,
            description="x",
            location="",
            state=state,
            submitted_at=submitted,
            respond_by=submitted + timedelta(minutes=30),
            responded_at=submitted + timedelta(minutes=responded_after)
            if responded_after is not None
            else None,
            resolved_at=submitted + timedelta(hours=resolved_after)
            if resolved_after is not None
            else None,
            rating=rating,
            reopen_count=reopened,
        )
        session.add(t)

    make(0, responded_after=10, resolved_after=2, rating=5)
    make(1, responded_after=20, resolved_after=4, rating=4, reopened=1)
    make(2, responded_after=45, resolved_after=6)  # late
    make(3, responded_after=None, state=State.SUBMITTED)  # open and overdue
    make(4, responded_after=None, state=State.CANCELLED)  # cancelled unanswered: not counted
    make(-48, responded_after=5)  # November: other month
    session.commit()
    frozen.move_to(datetime(2026, 12, 2, 12, 0, tzinfo=UTC))
    [figures] = [
        r
        for r in rating.company_ratings(session, datetime(2026, 12, 1).date())
        if r.key == company.id
    ]
    assert figures.tickets == 5
    assert (figures.responded, figures.on_time, figures.open_overdue) == (3, 2, 1)
    assert figures.on_time_rate == pytest.approx(2 / 4)
    assert figures.median_response == pytest.approx(20)
    assert figures.p90_response == pytest.approx(45)
    assert figures.median_resolution == pytest.approx(4)
    assert figures.reopen_rate == pytest.approx(1 / 3)
    assert figures.average_rating == pytest.approx(4.5)


def test_rating_medians_and_percentile_follow_their_definitions(session, world, frozen):
    """The SQL figures equal Python's definitions (statistics.median; the nearest-rank 90th
    percentile, the smallest value with at least 90% at or below it) for groups of odd and even
    sizes, response times in minutes and resolution times in hours, on both databases."""
    import math
    import statistics

    base = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    plans = {  # company -> [(response minutes, resolution hours or None)]
        world["company"]: [(7, 5), (3, 2), (41, None), (12, 9), (29, 1), (12, 30), (55, 4)],
        world["other"]: [(m, None) for m in [18, 2, 33, 9, 60, 21, 4, 47, 16, 11]],
    }
    n = 0
    for company, plan in plans.items():
        estate = world["estate"] if company is world["company"] else world["estate_b"]
        for minutes, hours in plan:
            n += 1
            submitted = base + timedelta(minutes=n)
            session.add(
                Ticket(
                    reference=f"S{n:04d}",
                    estate_id=estate.id,
                    company_id=company.id,
                    town_id=estate.town_id,
                    category=Category.WATER,
                    description="x",
                    location="",
                    state=State.CLOSED,
                    submitted_at=submitted,
                    respond_by=submitted + timedelta(minutes=30),
                    responded_at=submitted + timedelta(minutes=minutes, seconds=n),
                    resolved_at=submitted + timedelta(hours=hours) if hours else None,
                )
            )
    session.commit()
    frozen.move_to(datetime(2026, 12, 20, tzinfo=UTC))
    figures = {r.key: r for r in rating.company_ratings(session, base.date())}
    n = 0
    for company, plan in plans.items():
        responses = []
        for minutes, _hours in plan:
            n += 1
            responses.append(minutes + n / 60)
        resolutions = [h for _m, h in plan if h]
        got = figures[company.id]
        assert got.median_response == pytest.approx(statistics.median(responses))
        nearest = sorted(responses)[math.ceil(0.9 * len(responses)) - 1]
        assert got.p90_response == pytest.approx(nearest)
        assert got.median_resolution == (
            pytest.approx(statistics.median(resolutions)) if resolutions else None
        )
        assert got.on_time == sum(1 for m, _h in plan if m < 30)


def test_the_rating_cache_computes_once_for_readers_waiting_together():
    """Sixteen request threads find the same rating missing: one computes, the others wait for
    its answer (each used to compute it again). At most `size` keys are kept."""
    import threading
    import time

    cache = rating.RatingCache(60, size=2)
    calls = []

    def compute():
        calls.append(1)
        time.sleep(0.05)
        return ["figures"]

    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get("2026-12", compute)))
        for _ in range(16)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and results == [["figures"]] * 16
    for key in ("a", "b", "c"):
        cache.get(key, list)
    assert list(cache._entries) == ["b", "c"]


def test_a_dashboard_shows_the_most_breached_and_counts_all(session, world, frozen, monkeypatch):
    """Only the rows a dashboard shows are named (the district has hundreds of estates); the
    totals count every open report."""
    file(session, world)
    other = world["resident"]
    tickets.report(session, other, other, category=Category.LIFT, description="电梯坏了")
    late = Ticket(
        reference="LATE0001",
        estate_id=world["estate_b"].id,
        company_id=world["other"].id,
        town_id=world["estate_b"].town_id,
        category=Category.WATER,
        description="x",
        location="",
        state=State.SUBMITTED,
        submitted_at=clock_now() - timedelta(hours=1),
        respond_by=clock_now() - timedelta(minutes=30),
    )
    session.add(late)
    session.commit()
    monkeypatch.setattr(supervision, "SHOWN", 1)
    board = supervision.dashboard(session)
    assert [key for key, _ in board.by_estate] == [world["estate_b"].id]
    assert [key for key, _ in board.by_company] == [world["other"].id]
    assert set(board.estates) == {world["estate_b"].id}
    assert board.companies[world["other"].id].name == "别家物业"
    assert (board.total.open, board.total.breached) == (3, 1)


def test_dashboard_counts_are_derived_now(session, world, frozen):
    late = file(session, world)
    frozen.shift(timedelta(minutes=25))
    soon = file(session, world)
    frozen.shift(timedelta(minutes=15))  # late: 40 min old (breached); soon: 15 min old
    frozen.shift(timedelta(minutes=1))
    counts = supervision.live_counts(session, town_ids=[world["estate"].town_id])
    assert counts[world["estate"].id].open == 2 and counts[world["estate"].id].breached == 1
    assert counts[world["estate"].id].at_risk == 0
    frozen.shift(timedelta(minutes=4))  # soon is now 20 min old: within 10 minutes of its deadline
    assert supervision.live_counts(session)[world["estate"].id].at_risk == 1
    assert supervision.live_counts(session, town_ids=[world["estate_b"].town_id]) == {}
    assert late.id != soon.id


def test_helper_reports_for_a_consenting_resident(session, world, make_user):
    from app.accounts.models import HelperConsent
    from app.audit.models import AuditEntry

    helper = make_user("community_helper")
    with pytest.raises(Forbidden):
        tickets.report(
            session, helper, world["resident"], category=Category.DOORS, description="门锁坏了"
        )
    session.add(HelperConsent(resident_id=world["resident"].id, helper_id=helper.id, repairs=True))
    session.commit()
    ticket = tickets.report(
        session, helper, world["resident"], category=Category.DOORS, description="门锁坏了"
    )
    assert (ticket.reporter_id, ticket.reported_by_id) == (world["resident"].id, helper.id)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "repair.report"))
    assert entry.actor_id == helper.id and entry.on_behalf_of_id == world["resident"].id


def test_company_settings_apply_to_new_reports(session, world):
    companies.save_company_settings(
        session,
        world["district"],
        world["company"],
        response_minutes=45,
        work_starts="",
        work_ends="",
        work_days=[],
        reopen_days=7,
        auto_close_days=7,
    )
    assert file(session, world).respond_by - clock_now() == timedelta(minutes=45)
    with pytest.raises(DomainError) as info:
        companies.save_company_settings(
            session,
            world["district"],
            world["company"],
            response_minutes=30,
            work_starts="09:00",
            work_ends="",
            work_days=["0"],
            reopen_days=7,
            auto_close_days=7,
        )
    assert info.value.field == "work_ends"


def clock_now():
    from app import clock

    return clock.now()


def test_the_service_refuses_a_join_that_can_join_refuses(session, world, make_user):
    """The join rule is the service's, not only the page's: called directly for a resident of
    another estate, an unverified neighbour or another home, it refuses and records nothing."""
    home = file(session, world)
    public = file(session, world, category=Category.LIFT, public_area=True, area="5号楼电梯")
    outsider = make_user(home_estate_id=world["estate_b"].id)
    unverified = make_user(home_estate_id=world["estate"].id, home_verified=False)
    neighbour = make_user(home_estate_id=world["estate"].id, home_building="6")
    for user, ticket in [(outsider, public), (unverified, public), (neighbour, home)]:
        assert not access.can_join(session, user, ticket)
        with pytest.raises(NotFound):
            tickets.join(session, user, ticket)
    assert session.scalar(select(func.count(TicketFollower.id))) == 0
    tickets.join(session, neighbour, public)
    assert session.scalar(select(func.count(TicketFollower.id))) == 1


def _ticket_due(session, world, deadline, responded_at=None):
    ticket = Ticket(
        reference=f"D{session.scalar(select(func.count(Ticket.id))):05d}",
        estate_id=world["estate"].id,
        company_id=world["company"].id,
        town_id=world["estate"].town_id,
        category=Category.WATER,
        description="x",
        location="",
        state=State.SUBMITTED,
        submitted_at=deadline - timedelta(minutes=30),
        respond_by=deadline,
        responded_at=responded_at,
    )
    session.add(ticket)
    session.flush()
    return ticket


def test_the_deadline_rule_is_one_rule_in_python_and_in_sql(session, world, frozen):
    """Breached and at risk are each one expression, read in Python for a ticket and in SQL by
    the queue, the dashboards and the sweep: they agree at the boundaries too (exactly at the
    deadline; exactly WARN_BEFORE before it). Python once said "not breached" at the deadline
    while SQL said "breached"."""
    now = clock_now()
    for seconds in (-61, -1, 0, 1, 599, 600, 601, 3600):
        _ticket_due(session, world, now + timedelta(seconds=seconds))
    _ticket_due(session, world, now - timedelta(minutes=5), responded_at=now - timedelta(hours=1))
    session.commit()
    rows = session.scalars(select(Ticket)).all()
    for rule in (rclock.breached, rclock.at_risk):
        in_python = {t.id for t in rows if rule(t, now)}
        assert in_python == set(session.scalars(select(Ticket.id).where(rule(Ticket, now))))
        flag = "breached" if rule is rclock.breached else "at_risk"
        assert {t.id for t in supervision.tickets_for(session, flag=flag)} == in_python
    lateness = sorted((t.respond_by - now).total_seconds() for t in rows if rclock.breached(t))
    assert lateness == [-61, -1, 0]
    soon = sorted((t.respond_by - now).total_seconds() for t in rows if rclock.at_risk(t))
    assert soon == [1, 599, 600]
    counts = supervision.live_counts(session)[world["estate"].id]
    assert (counts.open, counts.breached, counts.at_risk) == (9, 3, 3)
    assert sweep.warn(session) == 3 and sweep.escalate(session) == (3, 0)


def test_the_rating_cache_belongs_to_its_app_and_expires(app, session, world, frozen):
    from app import clock

    month = clock.month_start(clock.today())
    cache = rating.RatingCache(60)
    assert rating.company_ratings(session, month, cache=cache) == []
    file(session, world)
    assert rating.company_ratings(session, month, cache=cache) == []  # kept a minute
    assert [r.tickets for r in rating.company_ratings(session, month)] == [1]
    fresh = rating.RatingCache(60)  # another app's (another node's, another test's)
    assert [r.tickets for r in rating.company_ratings(session, month, cache=fresh)] == [1]
    frozen.shift(timedelta(seconds=61))
    assert [r.tickets for r in rating.company_ratings(session, month, cache=cache)] == [1]
    # Each app makes its own from its configuration (tests/conftest.py turns it off).
    assert app.extensions["repairs_rating_cache"].seconds == 0


def test_information_is_added_to_open_reports_only(session, world):
    """The page offers "Add information" while the report is open (resident_may); the service
    accepted additions to a closed report."""
    ticket = file(session, world)
    resident = world["resident"]
    tickets.add_info(session, resident, ticket, "还在漏")
    tickets.act(session, world["manager"], ticket, "resolve")
    tickets.confirm_fixed(session, resident, ticket)
    assert not tickets.resident_may(ticket, "add_info")
    with pytest.raises(Conflict) as info:
        tickets.add_info(session, resident, ticket, "又漏了")
    assert info.value.code == "invalid_transition"
    bodies = [e.body for e in ticket.events if e.kind == EventKind.RESIDENT_INFO]
    assert bodies == ["还在漏"]


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buf, "JPEG")
    return buf.getvalue()


def test_photos_of_a_refused_report_are_removed(app, session, world, tmp_path):
    """A report refused after its photos were stored (the second is not a photo) leaves no
    files behind: the unit of work removes them when it rolls back."""
    app.config["UPLOAD_DIR"] = str(tmp_path)
    with pytest.raises(DomainError) as info:
        file(session, world, photos=[_jpeg(), b"not a photo"])
    assert info.value.field == "photos"
    assert list(tmp_path.rglob("*.jpg")) == []
    ticket = file(session, world, photos=[_jpeg()])
    assert len(list(tmp_path.rglob("*.jpg"))) == 2 and len(ticket.photos) == 1  # and its thumb


def test_the_refusal_names_the_estates_own_districts_hotline(session, world):
    session.delete(session.scalar(select(EstateManagement).filter_by(estate_id=world["estate"].id)))
    world["estate"].town.district.hotline = "021-64120000"
    session.commit()
    with pytest.raises(DomainError) as info:  # the configured one is only the fallback
        file(session, world, hotline="021-96000")
    assert info.value.code == "no_company" and "021-64120000" in str(info.value)
