"""/open-data: the catalogue page, the same catalogue as DCAT JSON-LD, and the monthly files.
Public, read-only, no sign-in. Files are computed on demand (opendata/services) and cached by
HTTP: a finished month for a day, the current month for five minutes, both with an ETag."""

from __future__ import annotations

import hashlib
import json

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from app import clock
from app.extensions import db
from opendata import dcat, services
from opendata.services.suppression import MARKER
from opendata.services.tables import Month

bp = Blueprint("opendata", __name__)

TITLE = _l("Open data")
DESCRIPTION = _l(
    "Monthly statistics from the portal's services: venue bookings, repair reports and car-park"
    " use, by district. Free to reuse under the licence shown."
)
PAST_MONTH_SECONDS = 86400
CURRENT_MONTH_SECONDS = 300


def settings() -> services.OpenDataSettings:
    app = current_app
    if "opendata_settings" not in app.extensions:
        app.extensions["opendata_settings"] = services.OpenDataSettings.from_config(app.config)
    return app.extensions["opendata_settings"]


def _cached(response: Response, seconds: int) -> Response:
    response.headers["Cache-Control"] = f"public, max-age={seconds}"
    response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
    return response.make_conditional(request)


@bp.route("/open-data")
def index():
    entries = services.catalogue_entries(db.session, clock.today(), settings())
    return render_template(
        "opendata/index.html",
        entries=entries,
        settings=settings(),
        title=TITLE,
        description=DESCRIPTION,
        marker=MARKER,
        statistics=services.STATISTICS,
    )


@bp.route("/open-data/catalog.json")
def catalogue():
    today = clock.today()
    document = dcat.catalogue(
        services.catalogue_entries(db.session, today, settings()),
        settings(),
        today,
        lambda endpoint, **values: url_for(endpoint, _external=True, **values),
        TITLE,
        DESCRIPTION,
    )
    response = Response(
        json.dumps(document, ensure_ascii=False, indent=1), mimetype="application/ld+json"
    )
    return _cached(response, CURRENT_MONTH_SECONDS)


@bp.route("/open-data/<key>/<month>.<ext>")
def download(key: str, month: str, ext: str):
    data = services.dataset(key)
    if data is None or ext not in ("csv", "json"):
        abort(404)
    try:
        wanted = Month.parse(month)
    except ValueError:
        abort(404)
    today = clock.today()
    if not services.downloadable(wanted, today):
        abort(404)
    published = services.rows(db.session, data, wanted)
    if ext == "csv":
        # A BOM first, so that spreadsheet programs read the Chinese names as UTF-8.
        response = Response("\ufeff" + services.as_csv(data, published), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{key}-{wanted}.csv"'
    else:
        document = services.as_json(data, wanted, published, settings())
        response = Response(json.dumps(document, ensure_ascii=False), mimetype="application/json")
    finished = wanted < Month.of(today)
    return _cached(response, PAST_MONTH_SECONDS if finished else CURRENT_MONTH_SECONDS)
