"""The capacity engine, alone: correctness, idempotency, and races on both databases."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update

from app.codes import new_reference
from app.errors import DomainError
from bookings import services as engine
from bookings.models import Booking, BookingStatus, CapacityBucket
from tests.conftest import ensure_bucket
from tests.race import race

T0 = datetime(2030, 5, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
HOUR = timedelta(hours=1)


class Ref:
    """A plain id holder: race threads must not touch the test session's (expiring) objects."""

    def __init__(self, id_):
        self.id = id_


@pytest.fixture
def resource(session):
    resource = engine.create_resource(session, "venue", "test hall")
    for i in range(4):
        ensure_bucket(session, resource.id, T0 + i * HOUR, T0 + (i + 1) * HOUR, 5)
    session.commit()
    return Ref(resource.id)


@pytest.fixture
def residents(make_user):
    return [make_user() for _ in range(3)]


def _req(resource, holder, start=T0, hours=1, q=1, **kw):
    return engine.Reservation(
        resource_id=resource.id,
        starts_at=start,
        ends_at=start + hours * HOUR,
        quantity=q,
        holder_id=holder.id,
        **kw,
    )


def test_reserve_takes_every_bucket_of_the_span(session, resource, residents):
    booking = engine.reserve(session, _req(resource, residents[0], hours=3, q=2))
    taken = session.scalars(select(CapacityBucket.taken).order_by(CapacityBucket.starts_at)).all()
    assert taken == [2, 2, 2, 0]
    assert booking.status == BookingStatus.CONFIRMED and len(booking.door_code) == 8
    assert engine.ledger_mismatches(session) == []


@pytest.mark.parametrize(
    "start_offset, hours",
    [
        (timedelta(minutes=30), 1),  # not on a bucket boundary
        (3 * HOUR, 2),  # runs past the last bucket
        (-HOUR, 1),  # before the first
    ],
)
def test_spans_that_buckets_do_not_tile_are_refused(
    session, resource, residents, start_offset, hours
):
    with pytest.raises(DomainError) as info:
        engine.reserve(session, _req(resource, residents[0], start=T0 + start_offset, hours=hours))
    assert info.value.code == "not_bookable"


def test_one_full_bucket_refuses_the_whole_span_and_writes_nothing(session, resource, residents):
    engine.reserve(session, _req(resource, residents[0], start=T0 + HOUR, q=5))
    with pytest.raises(engine.SoldOut):
        engine.reserve(session, _req(resource, residents[1], hours=3, q=1))
    taken = session.scalars(select(CapacityBucket.taken).order_by(CapacityBucket.starts_at)).all()
    assert taken == [0, 5, 0, 0]
    assert session.scalar(select(func.count(Booking.id))) == 1


def test_idempotency_key_makes_a_double_submit_one_booking(session, resource, residents):
    first = engine.reserve(session, _req(resource, residents[0], q=2, idempotency_key="k1"))
    again = engine.reserve(session, _req(resource, residents[0], q=2, idempotency_key="k1"))
    assert again.id == first.id
    other = engine.reserve(session, _req(resource, residents[1], q=2, idempotency_key="k1"))
    assert other.id != first.id  # keys are per holder
    assert session.scalar(select(CapacityBucket.taken).where(CapacityBucket.starts_at == T0)) == 4


def test_release_gives_units_back_exactly_once(session, resource, residents):
    booking = engine.reserve(session, _req(resource, residents[0], q=3))
    assert engine.release(session, booking, BookingStatus.CANCELLED) is True
    assert engine.release(session, booking, BookingStatus.CANCELLED) is False
    assert session.scalar(select(CapacityBucket.taken).where(CapacityBucket.starts_at == T0)) == 0
    assert engine.ledger_mismatches(session) == []


def test_capacity_check_constraint_is_the_backstop(session, resource):
    with pytest.raises(Exception) as info:
        session.execute(update(CapacityBucket).values(taken=CapacityBucket.capacity + 1))
        session.commit()
    session.rollback()
    assert "taken_within_capacity" in str(info.value) or "CHECK" in str(info.value)


def test_ledger_check_notices_a_drift(session, resource, residents):
    engine.reserve(session, _req(resource, residents[0], q=2))
    session.execute(update(CapacityBucket).where(CapacityBucket.starts_at == T0).values(taken=1))
    session.commit()
    assert engine.ledger_mismatches(session) == [
        (engine.buckets_for_span(session, resource.id, T0, T0 + HOUR)[0].id, 1, 2)
    ]


@pytest.mark.race
def test_hundred_requests_for_the_last_five_places(app, session, resource, make_user):
    """100 people ask at once for the last 5 places: exactly 5 bookings, 95 clean 'sold out'."""
    holders = [make_user().id for _ in range(100)]
    session.execute(update(CapacityBucket).where(CapacityBucket.starts_at == T0).values(capacity=5))
    session.commit()

    def book(i):
        from app.extensions import db

        return engine.reserve(
            db.session,
            engine.Reservation(
                resource_id=resource.id,
                starts_at=T0,
                ends_at=T0 + HOUR,
                quantity=1,
                holder_id=holders[i],
            ),
        )

    results = race(app, 100, book)
    won = [r for r in results if isinstance(r, Booking)]
    sold_out = [r for r in results if isinstance(r, engine.SoldOut)]
    assert len(won) == 5 and len(sold_out) == 95, [
        r for r in results if not isinstance(r, (Booking, engine.SoldOut))
    ][:3]
    session.rollback()  # end the test's read snapshot (SQLite WAL) to see the race's commits
    assert session.scalar(select(CapacityBucket.taken).where(CapacityBucket.starts_at == T0)) == 5
    assert engine.ledger_mismatches(session) == []


@pytest.mark.race
def test_overlapping_spans_race_without_deadlock_or_overselling(app, session, resource, make_user):
    """Multi-hour spans in both orders contend for the same buckets: no deadlock, no oversell."""
    holders = [make_user().id for _ in range(60)]

    def book(i):
        from app.extensions import db

        start = T0 + (i % 3) * HOUR
        return engine.reserve(
            db.session,
            engine.Reservation(
                resource_id=resource.id,
                starts_at=start,
                ends_at=start + (3 - i % 3 if i % 2 else 1) * HOUR,
                quantity=1 + i % 2,
                holder_id=holders[i],
            ),
        )

    results = race(app, 60, book)
    unexpected = [r for r in results if not isinstance(r, (Booking, engine.SoldOut))]
    assert unexpected == []
    session.rollback()  # end the test's read snapshot (SQLite WAL) to see the race's commits
    for bucket in session.scalars(select(CapacityBucket)):
        assert 0 <= bucket.taken <= bucket.capacity
    assert engine.ledger_mismatches(session) == []


@pytest.mark.race
def test_double_submit_race_makes_one_booking(app, session, resource, make_user):
    holder = make_user().id

    def book(i):
        from app.extensions import db

        return engine.reserve(
            db.session,
            engine.Reservation(
                resource_id=resource.id,
                starts_at=T0,
                ends_at=T0 + HOUR,
                quantity=2,
                holder_id=holder,
                idempotency_key="same-click",
            ),
        ).id

    results = race(app, 20, book)
    assert all(isinstance(r, int) for r in results), results[:3]
    assert len(set(results)) == 1
    session.rollback()  # end the test's read snapshot (SQLite WAL) to see the race's commits
    assert session.scalar(select(CapacityBucket.taken).where(CapacityBucket.starts_at == T0)) == 2


@pytest.mark.race
def test_concurrent_cancellations_release_once(app, session, resource, make_user):
    booking_id = engine.reserve(session, _req(resource, make_user(), q=4)).id

    def cancel(i):
        from app.extensions import db

        return engine.release(
            db.session, db.session.get(Booking, booking_id), BookingStatus.CANCELLED
        )

    results = race(app, 20, cancel)
    assert results.count(True) == 1 and results.count(False) == 19, results[:3]
    session.rollback()  # end the test's read snapshot (SQLite WAL) to see the race's commits
    assert session.scalar(select(CapacityBucket.taken).where(CapacityBucket.starts_at == T0)) == 0


@pytest.mark.race
def test_control_without_the_guard_the_race_is_real(app, session, resource, make_user, backend):
    """The naive read-check-write that the engine avoids really does go wrong under the same
    race, so the tests above would notice if the guard were lost. On SQLite the guard includes
    BEGIN IMMEDIATE, so the control uses a plain engine with SQLite's default deferred
    transactions."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from app.extensions import db

    holders = [make_user().id for _ in range(40)]
    session.execute(update(CapacityBucket).where(CapacityBucket.starts_at == T0).values(capacity=5))
    session.commit()
    plain = create_engine(
        db.engine.url,
        pool_size=50,
        max_overflow=0,
        connect_args={"timeout": 30} if backend == "sqlite" else {},
    )

    def naive(i):
        with Session(plain) as s:
            bucket = s.scalar(
                select(CapacityBucket).where(
                    CapacityBucket.resource_id == resource.id, CapacityBucket.starts_at == T0
                )
            )
            if bucket.taken + 1 > bucket.capacity:
                raise engine.SoldOut("sold out")
            s.execute(
                text("SELECT pg_sleep(0.01)") if backend == "postgresql" else text("SELECT 1")
            )
            s.execute(
                update(CapacityBucket)
                .where(CapacityBucket.id == bucket.id)
                .values(taken=bucket.taken + 1)
            )
            s.add(
                Booking(
                    resource_id=resource.id,
                    holder_id=holders[i],
                    starts_at=T0,
                    ends_at=T0 + HOUR,
                    quantity=1,
                    status=BookingStatus.CONFIRMED,
                    reference=new_reference(),
                    door_code=f"{i:08d}",
                )
            )
            s.commit()
            return True

    results = race(app, 40, naive)
    plain.dispose()
    session.rollback()
    confirmed = session.scalar(select(func.count(Booking.id)))
    errors = [r for r in results if isinstance(r, Exception) and not isinstance(r, engine.SoldOut)]
    # PostgreSQL: lost updates, more bookings than places. SQLite: writers collide and fail with
    # "database is locked" instead of a clean answer. Either way the naive code is wrong.
    assert confirmed > 5 or errors
