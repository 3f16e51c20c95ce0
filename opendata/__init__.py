"""开放数据: monthly open data (venue bookings, repair reports, car-park occupancy) at
/open-data, with a DCAT catalogue (issue 15).

A package beside the domain packages rather than inside the frame (app/): it reads the tables
of venues, repairs and parking, and the frame must not import service packages
(tests/test_layout.py); it writes nothing, so it needs no services of theirs, only their
models."""

from __future__ import annotations

PUBLIC = ("opendata.catalogue", "opendata.download")


def init_app(app) -> None:
    from app.ratelimit import limiter_for
    from app.security import allow_public_cache
    from opendata.views import bp

    app.register_blueprint(bp)
    # Public data: HTTP caches (and a CDN) may keep the files; views set how long.
    allow_public_cache(app, *PUBLIC)
    # Each download is a grouped query over a month: a client may not ask for thousands.
    for endpoint in PUBLIC:
        app.view_functions[endpoint] = limiter_for(app).limit(
            lambda: app.config.get("OPEN_DATA_RATE", "60 per minute")
        )(app.view_functions[endpoint])
