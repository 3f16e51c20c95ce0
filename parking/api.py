"""快捷停车 over JSON: car parks, fee quotes, and the open data feed for the city's platform."""

from __future__ import annotations

from datetime import timedelta

from flask import request
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app import text
from app.api import (
    SECURITY,
    ApiError,
    bearer_token,
    current_api_token,
    current_api_user,
    token_checked_by_service,
    token_required,
)
from app.codes import idempotency_key
from app.db import utcnow
from app.extensions import db
from app.i18n import format_fen
from app.places import districts
from app.places.districts import DistrictRefSchema
from app.urls import MAX_INT  # ids and offsets fit an INTEGER column
from parking import current_settings
from parking.models import CarPark, CarParkKind, GateDirection, GateOutcome, ParkingSession
from parking.services import gate, payments, reservations, search, tariffs

blp = Blueprint("api_parking", __name__, url_prefix="/api/v1", description="快捷停车 parking")
COORDINATE_SYSTEM = "WGS-84"


class CarParkSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": [k.value for k in CarParkKind]})
    town = fields.String(required=True)
    district = fields.Nested(DistrictRefSchema, required=True)  # issue 15
    address = fields.String(required=True)
    latitude = fields.Float(required=True)
    longitude = fields.Float(required=True)
    coordinate_system = fields.String(required=True, metadata={"example": COORDINATE_SYSTEM})
    total = fields.Integer(required=True)
    free = fields.Integer(required=True)
    reservable = fields.Integer(
        required=True, metadata={"description": "Spaces free to reserve for arrival now"}
    )
    tariff = fields.String(required=True, metadata={"description": "The tariff in words"})
    opening_hours = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": ["open", "full", "closed"]})
    updated_at = fields.AwareDateTime(required=True)


def _car_park(park: CarPark, reservable: int | None = None) -> dict:
    """One car park as published. Plates and people never appear here."""
    status = "closed" if not park.open else ("full" if park.free_spaces <= 0 else "open")
    return {
        "id": park.id,
        "name": park.name,
        "kind": park.kind.value,
        "town": park.town.name,
        "district": districts.reference(park.town.district_id),
        "address": park.address,
        "latitude": park.latitude,
        "longitude": park.longitude,
        "coordinate_system": COORDINATE_SYSTEM,
        "total": park.total_spaces,
        "free": park.free_spaces,
        "reservable": reservations.reservable_now(db.session, park)
        if reservable is None
        else reservable,
        "tariff": tariffs.tariff_in_words(park.tariff),
        "opening_hours": park.hours,
        "status": status,
        "updated_at": park.updated_at,
    }


class CarParkQuerySchema(Schema):
    town_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_INT))
    q = fields.String(load_default="", validate=validate.Length(max=text.SEARCH))


@blp.route("/carparks")
@blp.arguments(CarParkQuerySchema, location="query")
@blp.response(200, CarParkSchema(many=True))
def list_car_parks(args):
    """Car parks with their live figures, most free spaces first."""
    parks = search.search(db.session, town_id=args["town_id"], q=args["q"])
    free = reservations.reservable_now_many(db.session, parks)
    return [_car_park(p, free[p.id]) for p in parks]


@blp.route("/carparks/<int:car_park_id>")
@blp.response(200, CarParkSchema)
def get_car_park(car_park_id):
    park = db.session.get(CarPark, car_park_id)
    if park is None:
        raise ApiError(404, "not_found", _l("No such car park."))
    return _car_park(park)


class QuoteQuerySchema(Schema):
    carpark_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_INT))
    entry = fields.AwareDateTime(required=True, metadata={"example": "2026-12-01T09:00:00+08:00"})
    exit = fields.AwareDateTime(required=True, metadata={"example": "2026-12-01T11:30:00+08:00"})

    @validates_schema
    def exit_after_entry(self, data, **kwargs):
        if data["exit"] < data["entry"]:
            raise ValidationError("exit must not be before entry", "exit")
        refusal = tariffs.quote_refusal(data["entry"], data["exit"])
        if refusal:
            raise ValidationError(refusal, "exit")


class QuoteSchema(Schema):
    carpark_id = fields.Integer(required=True)
    entry = fields.AwareDateTime(required=True)
    exit = fields.AwareDateTime(required=True)
    minutes = fields.Integer(required=True)
    fee_fen = fields.Integer(
        required=True, metadata={"description": "Integer fen (1 yuan = 100 fen)"}
    )
    fee = fields.String(
        required=True, metadata={"description": "Formatted for the reader's language"}
    )


@blp.route("/parking/quote")
@blp.arguments(QuoteQuerySchema, location="query")
@blp.response(200, QuoteSchema)
def quote(args):
    """The fee for a stay from `entry` to `exit` at a car park."""
    park = db.session.get(CarPark, args["carpark_id"])
    if park is None:
        raise ApiError(404, "not_found", _l("No such car park."))
    result = tariffs.fee(park, args["entry"], args["exit"])
    return {
        "carpark_id": park.id,
        "entry": args["entry"],
        "exit": args["exit"],
        "minutes": result.minutes,
        "fee_fen": result.fen,
        "fee": format_fen(result.fen),
    }


@blp.route("/parking/feed")
@blp.response(200, CarParkSchema(many=True))
def feed():
    """Open data for the city parking platform: every car park, its figures and tariff. Public,
    cacheable for 30 seconds, rate-limited per client. No plates or personal data."""
    parks = search.search(db.session, sort="name")
    free = reservations.reservable_now_many(db.session, parks)
    return [_car_park(p, free[p.id]) for p in parks]


@blp.after_request
def cache_feed(response):
    if request.endpoint == "api_parking.feed" and response.status_code == 200:
        response.headers["Cache-Control"] = "public, max-age=30"
    return response


# --- reservations (a driver's token) -------------------------------------------------------


class ReservationRequestSchema(Schema):
    carpark_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_INT))
    plate = fields.String(required=True, metadata={"example": "沪A12345"})
    arrive_at = fields.AwareDateTime(
        required=True,
        metadata={
            "example": "2026-12-01T09:00:00+08:00",
            "description": "On a quarter hour, with its time zone",
        },
    )


class ReservationSchema(Schema):
    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    carpark_id = fields.Integer(required=True)
    plate = fields.String(required=True)
    arrive_at = fields.AwareDateTime(required=True)
    held_until = fields.AwareDateTime(
        required=True, metadata={"description": "Arrival + the car park's grace"}
    )
    status = fields.String(
        required=True, metadata={"enum": ["confirmed", "checked_in", "cancelled", "no_show"]}
    )
    free_cancellation_until = fields.AwareDateTime(required=True)


def _reservation(reservation) -> dict:
    booking = reservation.booking
    return {
        "id": reservation.id,
        "reference": booking.reference,
        "carpark_id": reservation.car_park_id,
        "plate": reservation.plate,
        "arrive_at": reservation.arrive_at,
        "held_until": booking.ends_at,
        "status": booking.status.value,
        "free_cancellation_until": reservations.free_cancellation_until(reservation),
    }


@blp.route("/parking/reservations", methods=["POST"])
@blp.doc(
    security=SECURITY,
    parameters=[
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "schema": {"type": "string"},
            "description": "Repeat a request with the same key to get the same reservation, "
            "never two; the key used before for a different booking is refused "
            "(422 `idempotency_key_reused`)",
        }
    ],
)
@token_checked_by_service  # before the body is read: no token is 401, whatever the body
@blp.arguments(ReservationRequestSchema)
@blp.response(201, ReservationSchema)
@blp.alt_response(
    409, schema="Error", description="`sold_out` when the pool is full, or another conflict"
)
@blp.alt_response(
    422,
    schema="Error",
    description="`unknown_vehicle` when the plate is not one of the "
    "token owner's vehicles (add it on the vehicles page first; nothing is registered here)",
)
def create_reservation(args):
    """Reserve a space (车位预约) for one of the token owner's vehicles arriving at `arrive_at`.
    The plate must be on their account (claimed or verified): a plate that is not is refused
    with 422 `unknown_vehicle`, never registered as a side effect."""
    # One unit of work: the token, the plate's claim and the space are decided in it.
    return _reservation(
        reservations.reserve_with_token(
            db.session,
            bearer_token(),
            args["carpark_id"],
            args["plate"],
            args["arrive_at"],
            settings=current_settings(),
            idempotency_key=idempotency_key(request.headers.get("Idempotency-Key")),
        )
    )


@blp.route("/parking/reservations/<int:reservation_id>")
@blp.doc(security=SECURITY)
@blp.response(200, ReservationSchema)
@token_required
def get_reservation(reservation_id):
    return _reservation(
        reservations.get_for_holder(
            db.session, current_api_user().id, reservation_id=reservation_id
        )
    )


@blp.route("/parking/reservations/<int:reservation_id>", methods=["DELETE"])
@blp.doc(security=SECURITY)
@blp.response(200, ReservationSchema)
@token_required
def cancel_reservation(reservation_id):
    """Cancel: free until the car park's cut-off; later it still frees the space but counts as
    a no-show."""
    reservation = reservations.get_for_holder(
        db.session, current_api_user().id, reservation_id=reservation_id
    )
    reservations.cancel(db.session, reservation, current_api_user(), settings=current_settings())
    db.session.refresh(reservation.booking)
    return _reservation(reservation)


# --- gate events (an operator's token) -----------------------------------------------------

GATE_EVENT_MAX_AGE, GATE_EVENT_MAX_AHEAD = timedelta(days=366), timedelta(days=1)


class GateEventRequestSchema(Schema):
    carpark_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_INT))
    plate = fields.String(required=True)
    direction = fields.String(
        required=True, validate=validate.OneOf([d.value for d in GateDirection])
    )
    occurred_at = fields.AwareDateTime(
        required=True,
        metadata={
            "example": "2026-12-01T09:02:13+08:00",
            "description": "Within the last 366 days (a gate may send what it kept while "
            "offline) and at most a day ahead",
        },
    )

    @validates_schema
    def recent(self, data, **kwargs):
        # An exit centuries after its entry priced a stay unit by unit (the request hung), and
        # times next to the year 9999 overflowed into a server error (found by tests/test_fuzz.py).
        now = utcnow()
        if not now - GATE_EVENT_MAX_AGE <= data["occurred_at"] <= now + GATE_EVENT_MAX_AHEAD:
            raise ValidationError(
                "occurred_at must be within the last 366 days and at most a day ahead",
                "occurred_at",
            )


class GateEventSchema(Schema):
    id = fields.Integer(required=True)
    carpark_id = fields.Integer(required=True)
    direction = fields.String(required=True)
    outcome = fields.String(required=True, metadata={"enum": [o.value for o in GateOutcome]})
    duplicate = fields.Boolean(
        required=True,
        metadata={"description": "This event had been received before; nothing changed"},
    )
    occupied = fields.Integer(required=True, metadata={"description": "Occupancy after the event"})
    free = fields.Integer(required=True)
    fee_fen = fields.Integer(
        allow_none=True, metadata={"description": "For an exit: the stay's fee in fen"}
    )
    charge_status = fields.String(
        allow_none=True, metadata={"enum": ["due", "paid", "failed", None]}
    )


@blp.route("/parking/events", methods=["POST"])
@blp.doc(security=SECURITY)
# A gate token (for one car park) or an operator's personal token; before the body is read:
# no token is 401, whatever the body.
@token_required(scopes=gate.GATE_EVENT_SCOPES)
@blp.arguments(GateEventRequestSchema)
@blp.response(201, GateEventSchema)
@blp.alt_response(
    200, schema=GateEventSchema, description="A duplicate of an event already received"
)
def gate_event(args):
    """A gate's entry or exit (the car park's gate token, made on its operator page, or a
    car-park operator's personal token for that car park). Keeps occupancy and
    sessions; on exit prices the stay and charges a plate bound to 无感支付."""
    user = current_api_user()
    park = db.session.get(CarPark, args["carpark_id"])
    if park is None:
        raise ApiError(404, "not_found", _l("No such car park."))
    if not gate.token_may_report(current_api_token(), user, park):
        raise ApiError(403, "forbidden", _l("This token may not report events for this car park."))
    result = gate.record_event(
        db.session,
        park,
        args["plate"],
        GateDirection(args["direction"]),
        args["occurred_at"],
        settings=current_settings(),
    )
    event = result.event
    stay = db.session.get(ParkingSession, event.session_id) if event.session_id else None
    body = {
        "id": event.id,
        "carpark_id": park.id,
        "direction": event.direction.value,
        "outcome": event.outcome.value,
        "duplicate": result.duplicate,
        "occupied": park.occupied,
        "free": park.free_spaces,
        "fee_fen": stay.fee_fen if stay and event.direction == GateDirection.EXIT else None,
        "charge_status": stay.charge.status.value
        if stay and stay.charge and event.direction == GateDirection.EXIT
        else None,
    }
    return body, (200 if result.duplicate else 201)


# --- payment provider callbacks -----------------------------------------------------------


class CallbackResultSchema(Schema):
    charge = fields.String(required=True)
    outcome = fields.String(
        required=True, metadata={"enum": ["paid", "already_paid", "failed", "ignored", "cancelled"]}
    )
    status = fields.String(required=True)


@blp.route("/parking/payments/callback/<provider>", methods=["POST"])
@blp.doc(
    parameters=[
        {
            "in": "header",
            "name": "X-Payment-Signature",
            "required": True,
            "schema": {"type": "string"},
            "description": "hex HMAC-SHA256 of the body with the provider's secret",
        }
    ]
)
@blp.response(200, CallbackResultSchema)
@blp.alt_response(
    400, schema="Error", description="Bad signature, unknown charge or amount mismatch"
)
def payment_callback(provider):
    """A payment provider reports a charge's result. Signed; repeating it never pays twice."""
    result = payments.apply_callback(
        db.session,
        provider,
        request.get_data(),
        request.headers.get("X-Payment-Signature", ""),
        current_settings(),
    )
    return {
        "charge": result.charge.reference,
        "outcome": result.outcome,
        "status": result.charge.status.value,
    }
