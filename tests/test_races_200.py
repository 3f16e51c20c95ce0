"""Every capacity path at 200 concurrent requests, on SQLite and PostgreSQL: a general venue slot,
a personalised span, a car park's reservable pool, a sharing window, and places freed to a
waitlist while others try to book them. Never over capacity; the ledger (units held by active
bookings = units taken) balances after each. (Two app server processes on one PostgreSQL:
tests/test_scale_out.py.)"""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.accounts.services import issue_token
from bookings.models import Booking, BookingStatus, CapacityBucket, WaitlistEntry, WaitlistStatus
from bookings.services import SoldOut, ledger_mismatches
from parking.services import vehicles
from tests.conftest import parking_settings, slot_at
from tests.race import race

N = 200
pytestmark = pytest.mark.race


def tokens_for(session, make_user, n=N):
    users = [make_user() for _ in range(n)]
    tokens = [issue_token(session, u) for u in users]
    session.commit()
    return users, [{"Authorization": f"Bearer {t}"} for t in tokens]


def within_capacity(session, resource_id=None):
    session.rollback()
    query = select(CapacityBucket)
    if resource_id is not None:
        query = query.where(CapacityBucket.resource_id == resource_id)
    return all(0 <= b.taken <= b.capacity for b in session.scalars(query))


def test_general_slot(app, session, make_venue, make_user):
    venue = make_venue(capacity=5)
    slot_id = slot_at(session, venue.spaces[0], 1, 10).id
    _, headers = tokens_for(session, make_user)
    results = race(
        app,
        N,
        lambda i: (
            app.test_client()
            .post(
                "/api/v1/bookings", json={"slot_id": slot_id, "party_size": 1}, headers=headers[i]
            )
            .status_code
        ),
    )
    assert results.count(201) == 5 and results.count(409) == N - 5, sorted(set(map(str, results)))
    assert within_capacity(session) and ledger_mismatches(session) == []


def test_personalised_span(app, session, make_venue, make_user):
    venue = make_venue(capacity=5)
    court = venue.spaces[1]
    starts = [slot_at(session, court, 1, h).id for h in (10, 11, 12, 13)]
    _, headers = tokens_for(session, make_user)
    results = race(
        app,
        N,
        lambda i: (
            app.test_client()
            .post(
                "/api/v1/bookings",
                json={"slot_id": starts[i % 4], "steps": 1 + i % 3},
                headers=headers[i],
            )
            .status_code
        ),
    )
    assert set(results) <= {201, 409} and 1 <= results.count(201) <= 4, sorted(
        set(map(str, results))
    )
    assert within_capacity(session, court.resource_id) and ledger_mismatches(session) == []
    hours = sum(
        (b.ends_at - b.starts_at) // timedelta(hours=1)
        for b in session.scalars(
            select(Booking).where(
                Booking.resource_id == court.resource_id, Booking.status == BookingStatus.CONFIRMED
            )
        )
    )
    assert hours == sum(
        session.scalars(
            select(CapacityBucket.taken).where(CapacityBucket.resource_id == court.resource_id)
        )
    )


def test_parking_pool(app, session, car_park, make_user):
    park = car_park.default
    park_id = park.id
    users, headers = tokens_for(session, make_user)
    for i, user in enumerate(users):  # the API reserves only for the driver's own vehicles
        vehicles.register(session, user, f"沪K{10000 + i}")
    results = race(
        app,
        N,
        lambda i: (
            app.test_client()
            .post(
                "/api/v1/parking/reservations",
                headers=headers[i],
                json={
                    "carpark_id": park_id,
                    "plate": f"沪K{10000 + i}",
                    "arrive_at": "2026-12-01T15:00:00+08:00",
                },
            )
            .status_code
        ),
    )
    assert results.count(201) == 5 and results.count(409) == N - 5, sorted(set(map(str, results)))
    assert within_capacity(session) and ledger_mismatches(session) == []


def test_sharing_window(app, session, car_park, make_user):
    from parking.models import CarParkKind, DayPattern, SharingContract
    from parking.services import sharing, vehicles

    park = car_park(name="共享车位", kind=CarParkKind.RESIDENTIAL, reservable=0)
    window = sharing.create_window(
        session,
        park,
        name_zh="白天",
        name_en="Day",
        days=DayPattern.WORKDAYS,
        start_minute=480,
        end_minute=1080,
        spaces=7,
        monthly_fee_fen=30000,
    )
    users = [make_user() for _ in range(N)]
    for i, user in enumerate(users):
        vehicles.register(session, user, f"沪L{10000 + i}")
    ids, window_id = [u.id for u in users], window.id

    def sign(i):
        from app.accounts.models import User
        from app.extensions import db
        from parking.models import SharingWindow

        return sharing.sign(
            db.session,
            db.session.get(User, ids[i]),
            db.session.get(SharingWindow, window_id),
            f"沪L{10000 + i}",
            date(2027, 1, 1),
            settings=parking_settings(),
        )

    results = race(app, N, sign)
    assert sum(isinstance(r, SharingContract) for r in results) == 7
    assert sum(isinstance(r, SoldOut) for r in results) == N - 7, [
        r for r in results if not isinstance(r, (SharingContract, SoldOut))
    ][:3]
    assert within_capacity(session) and ledger_mismatches(session) == []


def test_waitlist_offers_while_others_try_to_book(app, session, make_venue, make_user, frozen):
    """A full slot of 5 places with 20 people waiting; its 5 bookers cancel while 195 others try to
    book the freed places at the same moment. The places go to the waitlist as offers in the
    cancelling transactions, so every booking attempt is sold out and nothing is oversold."""
    from venues import current_settings
    from venues.services import booking as svc
    from venues.services import waitlist

    venue = make_venue(capacity=5)
    slot = slot_at(session, venue.spaces[0], 1, 10)
    holders = [make_user() for _ in range(5)]
    bookings = [
        svc.book_general(session, h, h, slot.id, 1, settings=current_settings()).id for h in holders
    ]
    waiting = [make_user() for _ in range(20)]
    for w in waiting:
        waitlist.join_waitlist(session, w, w, slot.id, 1, settings=current_settings())
    _, headers = tokens_for(session, make_user, N - 5)
    holder_ids, slot_id = [h.id for h in holders], slot.id

    def act(i):
        if i < 5:
            from app.accounts.models import User
            from app.extensions import db

            svc.cancel(
                db.session,
                db.session.get(Booking, bookings[i]),
                db.session.get(User, holder_ids[i]),
            )
            return "cancelled"
        return (
            app.test_client()
            .post(
                "/api/v1/bookings",
                json={"slot_id": slot_id, "party_size": 1},
                headers=headers[i - 5],
            )
            .status_code
        )

    results = race(app, N, act)
    assert results.count("cancelled") == 5, [
        r for r in results if r not in ("cancelled", 201, 409)
    ][:3]
    session.rollback()
    offers = session.scalar(
        select(func.count(Booking.id)).where(Booking.status == BookingStatus.OFFERED)
    )
    assert results.count(201) == 0 and results.count(409) == N - 5 and offers == 5
    assert offers == session.scalar(
        select(func.count(WaitlistEntry.id)).where(WaitlistEntry.status == WaitlistStatus.OFFERED)
    )
    assert within_capacity(session) and ledger_mismatches(session) == []
    assert session.scalar(select(CapacityBucket.taken).where(CapacityBucket.id == slot_id)) == 5
