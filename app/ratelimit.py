"""Rate limiting with Flask-Limiter, one Limiter per app.

Flask-Limiter keeps its configuration and storage on the Limiter object, so a module-level
instance shared by several apps in one process (tests, a live server beside them) lets the last
app initialised reconfigure the others. Each app gets its own; routes declare their limits
through `limits(app)` when the app is built. Counters live in `RATELIMIT_STORAGE_URI` (memory
for one process, Redis when several app servers must share them).
"""
from __future__ import annotations

from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address


def init_app(app) -> Limiter:
    limiter = Limiter(key_func=get_remote_address, app=app)
    app.extensions["portal_limiter"] = limiter
    return limiter


def limiter_for(app=None) -> Limiter:
    return (app or current_app).extensions["portal_limiter"]
