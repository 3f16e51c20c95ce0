"""The one unit of work (app.db.unit_of_work): commit, roll back on error, join an enclosing
unit, effects after the commit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.db import atomic, in_unit_of_work, unit_of_work
from bookings.models import Resource


def _add(session, label):
    session.add(Resource(kind="test", label=label))
    session.flush()


def _count(session):
    return session.scalar(select(func.count(Resource.id)).where(Resource.kind == "test"))


def test_a_unit_commits_what_it_wrote_and_runs_its_effects_after(app, session):
    seen = []
    with unit_of_work(session) as unit:
        _add(session, "a")
        unit.after_commit(lambda: seen.append(_count(session)))
        assert seen == []  # not before the commit
    assert seen == [1]
    session.rollback()  # a rollback after the unit cannot undo it
    assert _count(session) == 1
    assert not in_unit_of_work(session)


def test_an_error_rolls_the_whole_unit_back_and_skips_its_effects(app, session):
    seen = []
    with pytest.raises(RuntimeError), unit_of_work(session) as unit:
        _add(session, "b")
        unit.after_commit(lambda: seen.append("committed"))
        unit.after_rollback(lambda: seen.append("rolled back"))
        raise RuntimeError("refused")
    assert seen == ["rolled back"]
    assert _count(session) == 0
    assert not in_unit_of_work(session)


def test_a_unit_inside_another_joins_it(app, session):
    """Two services called as one operation commit together or not at all."""

    @atomic
    def add(s, label):
        _add(s, label)
        assert in_unit_of_work(s)

    with pytest.raises(RuntimeError), unit_of_work(session):
        add(session, "c")  # its unit joins: no commit of its own
        add(session, "d")
        raise RuntimeError("the second step failed")
    assert _count(session) == 0

    with unit_of_work(session):
        add(session, "c")
        add(session, "d")
    assert _count(session) == 2
