"""Helpers for tests that race: run N calls at once, each in its own app context (its own
database session and connection), released together by a barrier."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor


def race(app, n: int, fn):
    """Call fn(i) n times concurrently; return the list of results or raised exceptions."""
    from app.extensions import db

    # The test's own session must not hold a transaction (on SQLite: the write lock) meanwhile.
    db.session.commit()
    barrier = threading.Barrier(n)

    def run(i):
        with app.app_context():
            barrier.wait(timeout=60)
            try:
                return fn(i)
            except Exception as error:  # collected, the test asserts on them
                return error
            finally:
                from app.extensions import db

                db.session.remove()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))
