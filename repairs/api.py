"""Open311 GeoReport v2 at /open311/v2/ (http://wiki.open311.org/GeoReport_v2).

Every resource in `.json` and `.xml`, the spec's field names, its error format
(`[{"code": 400, "description": ...}]`), ids as strings, timezone-aware datetimes. A request's
`api_key` is an Open311 key (made on the tokens page; it opens Open311 and nothing else) or a
personal API token; its owner is the reporter. An
`address_string` is matched to an estate (any address GET requests returns is accepted back),
`lat`/`long` to the nearest estate. `expected_datetime` is the response deadline.

What is published (the list is public, anonymous and bulk): for a report about someone's home,
its category, estate, status and dates only; for a public-area report also its description and
spot, with anything shaped like a phone number or a plate masked (as FixMyStreet publishes
them). `status_notes` is the latest public note written by the estate's staff (a reply, an
assignment, a visit...; never the resident's own words: added information, a reopening reason,
a rating), and only for public-area reports; otherwise the state's name. The XML is always
well-formed, whatever old rows hold.

Filing follows the portal's input policy (app/text.py): the fields are validated with the
repair report form itself, so the limits are the web page's; a malformed body is a 400 in the
spec's error format, and filing is rate-limited per account and per client address.

A filing sent twice is one request, as on the web page (repairs/services/resubmit.py): a POST
with an `Idempotency-Key` header (1 to 56 visible ASCII characters, a UUID say) that its
account already sent answers the first request's `service_request_id` (200, nothing made); a
filing like one the same account (or, about a home, the same household) sent within
REPAIR_SIMILAR_MINUTES, in the same service and similar words, answers that request's id with a
`service_notice` saying it was not filed again (200). The spec has no duplicate error, and a
client that reads the id it is given follows the existing request. A new request is a 201.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET  # nosec B405 # only builds outgoing XML, never parses input
from datetime import datetime

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, TooManyRequests

from app import clock, text
from app.accounts.models import User
from app.errors import DomainError
from app.extensions import db
from app.places import districts
from app.places.models import Estate
from app.urls import MAX_INT
from repairs.models import OPEN_STATES, Category, Ticket
from repairs.services import open311, resubmit, tickets

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
CHANGESET = "2026-11-21T00:00:00+08:00"
FORMATS = ("json", "xml")
LIST_ITEM = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}


class Open311Error(Exception):
    def __init__(self, code: int, description: str):
        super().__init__(description)
        self.code, self.description = code, description


def _xml(root_name: str, value) -> bytes:
    def build(parent, name, item):
        element = ET.SubElement(parent, name)
        if isinstance(item, dict):
            for key, child in item.items():
                build(element, key, child)
        elif isinstance(item, list):
            for child in item:
                build(element, LIST_ITEM.get(name, "item"), child)
        elif item is not None:
            element.text = text.xml_text(str(item).lower() if isinstance(item, bool) else str(item))

    root = ET.Element(root_name)
    for entry in value if isinstance(value, list) else [value]:
        if isinstance(value, list):
            build(root, LIST_ITEM[root_name], entry)
        else:
            for key, child in entry.items():
                build(root, key, child)
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root, encoding="utf-8")


def _respond(fmt: str, root_name: str, value, status: int = 200):
    if fmt == "xml":
        return Response(_xml(root_name, value), status=status, mimetype="text/xml")
    response = jsonify(value)
    response.status_code = status
    return response


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise Open311Error(404, _("Format must be json or xml."))
    return fmt


@bp.errorhandler(Open311Error)
def open311_error(error: Open311Error):
    fmt = request.view_args.get("fmt") if request.view_args else "json"
    fmt = fmt if fmt in FORMATS else "json"
    return _respond(
        fmt, "errors", [{"code": error.code, "description": error.description}], error.code
    )


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    """Refusals from below the views (a body too large, a rate limit) in the spec's format too."""
    if isinstance(error, TooManyRequests):
        return open311_error(
            Open311Error(429, _("Too many requests. Wait a little and try again."))
        )
    return open311_error(Open311Error(error.code or 400, error.description or error.name))


def _iso(value: datetime | None) -> str | None:
    return clock.local(value).isoformat(timespec="seconds") if value else None


@bp.route("/discovery.<fmt>")
def discovery(fmt):
    fmt = _format(fmt)
    return _respond(
        fmt,
        "discovery",
        {
            "changeset": CHANGESET,
            "contact": _(
                "Citizen hotline %(hotline)s", hotline=current_app.config["PORTAL_HOTLINE"]
            ),
            "key_service": _(
                "Personal API tokens: ask your district administrator (flask create-token)."
            ),
            "endpoints": [
                {
                    "specification": "http://wiki.open311.org/GeoReport_v2",
                    "url": url_for("open311.discovery", fmt="json", _external=True).rsplit("/", 1)[
                        0
                    ],
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        },
    )


def _service(category: Category) -> dict:
    return {
        "service_code": category.value,
        "service_name": str(category.label),
        "description": str(category.label),
        "metadata": True,
        "type": "realtime",
        "keywords": category.value.replace("_", ","),
        "group": _("Property repairs"),
    }


@bp.route("/services.<fmt>")
def services(fmt):
    return _respond(_format(fmt), "services", [_service(c) for c in Category])


ATTRIBUTES = [
    {
        "variable": True,
        "code": "public_area",
        "datatype": "singlevaluelist",
        "required": False,
        "datatype_description": "",
        "order": 1,
        "description": "",
        "values": [{"key": "true", "name": ""}, {"key": "false", "name": ""}],
    },
    {
        "variable": True,
        "code": "preferred_time",
        "datatype": "string",
        "required": False,
        "datatype_description": "",
        "order": 2,
        "description": "",
        "values": [],
    },
]


@bp.route("/services/<code>.<fmt>")
def service_definition(code, fmt):
    fmt = _format(fmt)
    if code not in {c.value for c in Category}:
        raise Open311Error(404, _("No service with that code."))
    attributes = [dict(a) for a in ATTRIBUTES]
    attributes[0]["description"] = _(
        "Is it in a public area of the estate rather than in the reporter's home?"
    )
    attributes[0]["values"] = [{"key": "true", "name": _("Yes")}, {"key": "false", "name": _("No")}]
    attributes[1]["description"] = _("When can the technician come?")
    return _respond(fmt, "service_definition", {"service_code": code, "attributes": attributes})


def _request_dict(ticket: Ticket) -> dict:
    """One request as the spec names its fields; what it shows of the report is the service's
    publication rule (open311.public_*)."""
    estate = ticket.estate
    updated = max((e.at for e in ticket.events), default=ticket.submitted_at)
    return {
        "service_request_id": ticket.reference,
        "status": "open" if ticket.state in OPEN_STATES else "closed",
        "status_notes": open311.public_status_notes(ticket),
        "service_name": str(ticket.category.label),
        "service_code": ticket.category.value,
        "description": open311.public_description(ticket),
        "agency_responsible": ticket.company.name,
        "service_notice": "",
        "requested_datetime": _iso(ticket.submitted_at),
        "updated_datetime": _iso(updated),
        "expected_datetime": _iso(ticket.respond_by),
        "address": open311.public_address(ticket),
        "address_id": str(estate.id),
        # Which district the estate is in (issue 15): an extension of GeoReport v2's fields.
        "district": districts.reference(estate.town.district_id),
        "zipcode": "",
        "lat": estate.latitude,
        "long": estate.longitude,
        "media_url": "",
    }


def _parse_date(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(
            400, _("%(name)s must be a W3C date-time, like 2026-11-21T08:00:00+08:00.", name=name)
        ) from None
    if not clock.plausible(
        parsed.date()
    ):  # next to the year 1 or 9999 it overflowed (tests/test_fuzz.py)
        raise Open311Error(
            400, _("%(name)s must be a W3C date-time, like 2026-11-21T08:00:00+08:00.", name=name)
        )
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=clock.LOCAL_TZ)


@bp.route("/requests.<fmt>", methods=["GET"])
def list_requests(fmt):
    fmt = _format(fmt)
    args = request.args
    if args.get("service_request_id"):
        found = open311.find_requests(
            db.session, references=[r.strip() for r in args["service_request_id"].split(",")]
        )
    else:
        end = _parse_date(args["end_date"], "end_date") if args.get("end_date") else clock.now()
        start = _parse_date(args["start_date"], "start_date") if args.get("start_date") else None
        status = set(args["status"].split(",")) if args.get("status") else None
        if status is not None and not status <= {"open", "closed"}:
            raise Open311Error(400, _("status must be open or closed."))
        found = open311.find_requests(
            db.session,
            codes=args["service_code"].split(",") if args.get("service_code") else None,
            start=start,
            end=end,
            status=status,
        )
    return _respond(fmt, "service_requests", [_request_dict(t) for t in found])


@bp.route("/requests/<request_id>.<fmt>")
def get_request(request_id, fmt):
    fmt = _format(fmt)
    ticket = tickets.get(db.session, request_id)
    if ticket is None:
        raise Open311Error(404, _("No service request with that id."))
    return _respond(fmt, "service_requests", [_request_dict(ticket)])


@bp.route("/tokens/<token>.<fmt>")
def token(token, fmt):
    """Requests are filed synchronously, so a token is the request's own id."""
    fmt = _format(fmt)
    ticket = tickets.get(db.session, token)
    if ticket is None:
        raise Open311Error(404, _("No service request with that token."))
    return _respond(
        fmt, "service_requests", [{"service_request_id": ticket.reference, "token": token}]
    )


# The fields a filing may carry that are numbers in JSON; every other field is text.
NUMERIC_FIELDS = ("lat", "long", "address_id")


def _submitted() -> dict[str, str]:
    """The filing's fields, form-encoded or a JSON object, as text held to the input policy:
    anything else is a 400 in the spec's format, never a server error."""
    if request.form:
        fields = {key: request.form.get(key) for key in request.form}
        refused = set(getattr(request.form, "had_nul", ()))
    else:
        fields = request.get_json(silent=True) if request.data else {}
        refused = set()
        if not isinstance(fields, dict):
            raise Open311Error(400, _("Send the fields form-encoded or as one JSON object."))
        for key, value in fields.items():
            if (
                key in NUMERIC_FIELDS
                and isinstance(value, (int, float))
                and not isinstance(value, bool)
            ):
                fields[key] = repr(value)
            elif not isinstance(value, str):
                raise Open311Error(400, _("%(name)s must be text.", name=str(key)[:40]))
    refused |= {key for key, value in fields.items() if text.control_error(value)}
    if refused:
        raise Open311Error(400, f"{sorted(refused)[0][:40]}: {text.CONTROL_MESSAGE}")
    for key, value in fields.items():
        if len(value) > text.LONG:
            raise Open311Error(
                400, f"{key[:40]}: " + _("Use at most %(n)d characters.", n=text.LONG)
            )
    return {key: text.normalise_newlines(value) for key, value in fields.items()}


def _api_key_owner(fields: dict) -> User | None:
    """The filing's api_key's owner (read once per request: the rate limits ask too)."""
    if "open311_owner" not in g:
        g.open311_owner = open311.api_key_owner(db.session, fields.get("api_key", ""))
    return g.open311_owner


def _estate(fields: dict) -> Estate | None:
    """The estate the filing's location names (lat and long, else address_id, else
    address_string)."""
    if fields.get("lat") and fields.get("long"):
        try:
            lat, lng = float(fields["lat"]), float(fields["long"])
        except ValueError:
            raise Open311Error(400, _("lat and long must be numbers.")) from None
        if not (
            math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180
        ):
            raise Open311Error(400, _("lat and long must be numbers.")) from None
        return open311.nearest_estate(db.session, lat, lng)
    if fields.get("address_id"):
        wanted = fields["address_id"].strip()
        # A number past an INTEGER column names no estate (PostgreSQL refuses to compare it).
        fits = wanted.isdecimal() and len(wanted) <= len(str(MAX_INT)) and int(wanted) <= MAX_INT
        return open311.estate_by_id(db.session, int(wanted)) if fits else None
    if fields.get("address_string"):
        return open311.estate_named(db.session, fields["address_string"])
    raise Open311Error(400, _("Give a location: lat and long, address_string or address_id."))


# The report form's fields, by their Open311 names: the same validators (and limits) as the page.
FORM_FIELDS = {
    "description": "description",
    "area": "address_string",
    "preferred_time": "attribute[preferred_time]",
}


def _validated(fields: dict, public: bool, estate: Estate) -> dict:
    """The report's text, checked by the repair report form's own fields."""
    from repairs.forms import ReportForm

    area = ""
    if public:  # the spot: the address given, else the coordinates, else the estate
        area = fields.get("address_string") or ""
        if not area and fields.get("lat") and fields.get("long"):
            area = f"{float(fields['lat']):.6f},{float(fields['long']):.6f}"
        area = area or estate.name_zh
    form = ReportForm(
        formdata=MultiDict(
            {
                "description": fields.get("description", ""),
                "area": area,
                "preferred_time": fields.get("attribute[preferred_time]", ""),
            }
        ),
        meta={"csrf": False},
    )
    form.validate()
    for name, outside in FORM_FIELDS.items():
        errors = getattr(form, name).errors
        if errors:
            raise Open311Error(400, f"{outside}: {errors[0]}")
    return {
        "description": form.description.data,
        "area": area,
        "preferred_time": form.preferred_time.data or "",
    }


@bp.route("/requests.<fmt>", methods=["POST"])
def create_request(fmt):
    fmt = _format(fmt)
    fields = _submitted()
    reporter = _api_key_owner(fields)
    if not open311.may_file(reporter):
        raise Open311Error(403, _("A valid api_key is required."))
    code = fields.get("service_code", "")
    if code not in {c.value for c in Category}:
        raise Open311Error(400, _("service_code is missing or unknown."))
    if not (fields.get("description") or "").strip():
        raise Open311Error(400, _("description is required."))
    estate = _estate(fields)
    if estate is None:
        raise Open311Error(400, _("The location does not match any estate in the district."))
    public = open311.about_public_area(
        reporter, estate, fields.get("attribute[public_area]", "").lower() == "true"
    )
    report = _validated(fields, public, estate)
    try:
        key = open311.filing_key(request.headers.get("Idempotency-Key"))
    except ValueError:
        raise Open311Error(
            400,
            _(
                "Idempotency-Key must be 1 to %(n)d visible ASCII characters, a UUID say.",
                n=open311.KEY_MAX,
            ),
        ) from None
    try:
        ticket, made = tickets.report_once(
            db.session,
            reporter,
            reporter,
            category=Category(code),
            description=report["description"],
            public_area=public,
            area=report["area"],
            preferred_time=report["preferred_time"],
            estate_id=estate.id,
            hotline=current_app.config["PORTAL_HOTLINE"],
            idempotency_key=key,
            similar_minutes=current_app.config["REPAIR_SIMILAR_MINUTES"],
        )
        notice = _(
            "Your property manager will respond by %(time)s.",
            time=clock.local(ticket.respond_by).strftime("%H:%M"),
        )
    except resubmit.LooksLikeRecent as twin:
        # The spec has no duplicate error: the existing request's id answers, as for a retry.
        ticket, made = twin.twin, False
        notice = _(
            "This looks like request %(ref)s, sent a few minutes ago; it was not filed again.",
            ref=ticket.reference,
        )
    except DomainError as error:
        raise Open311Error(400, str(error)) from None
    answer = {"service_request_id": ticket.reference, "service_notice": notice}
    return _respond(
        fmt,
        "service_requests",
        [{**answer, "account_id": str(reporter.id)}],
        201 if made else 200,
    )


def _filing_account() -> str:
    """The rate limit's key for a filing's account: its api_key's owner (a filing without a
    valid key is exempt here; the per-address limit still counts it)."""
    owner = _filing_owner()
    return f"user:{owner.id}" if owner is not None else ""


def _filing_owner() -> User | None:
    try:
        return _api_key_owner(_submitted())
    except Open311Error:
        return None


def init_limits(app) -> None:
    """Filing is limited per account (OPEN311_POSTS_PER_ACCOUNT) and per client address
    (OPEN311_POSTS_PER_ADDRESS); installed on this app's own view table (the limiter is per app)."""
    from app.ratelimit import limiter_for

    limiter = limiter_for(app)
    view = app.view_functions["open311.create_request"]
    view = limiter.limit(
        lambda: app.config["OPEN311_POSTS_PER_ACCOUNT"],
        key_func=_filing_account,
        scope="open311-post-account",
        exempt_when=lambda: _filing_owner() is None,
    )(view)
    view = limiter.limit(
        lambda: app.config["OPEN311_POSTS_PER_ADDRESS"], scope="open311-post-address"
    )(view)
    app.view_functions["open311.create_request"] = view
