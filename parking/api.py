"""快捷停车 over JSON: car parks, fee quotes, and the open data feed for the city's platform."""
from __future__ import annotations

from flask import request
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validates_schema

from app.api import ApiError
from app.extensions import db
from app.i18n import format_fen
from parking import services
from parking.models import CarPark, CarParkKind

blp = Blueprint("api_parking", __name__, url_prefix="/api/v1", description="快捷停车 parking")
COORDINATE_SYSTEM = "WGS-84"


class CarParkSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": [k.value for k in CarParkKind]})
    town = fields.String(required=True)
    address = fields.String(required=True)
    latitude = fields.Float(required=True)
    longitude = fields.Float(required=True)
    coordinate_system = fields.String(required=True, metadata={"example": COORDINATE_SYSTEM})
    total = fields.Integer(required=True)
    free = fields.Integer(required=True)
    reservable = fields.Integer(required=True)
    tariff = fields.String(required=True, metadata={"description": "The tariff in words"})
    opening_hours = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": ["open", "full", "closed"]})
    updated_at = fields.AwareDateTime(required=True)


def _car_park(park: CarPark) -> dict:
    """One car park as published. Plates and people never appear here."""
    status = "closed" if not park.open else ("full" if park.free_spaces <= 0 else "open")
    return {"id": park.id, "name": park.name, "kind": park.kind.value, "town": park.town.name,
            "address": park.address, "latitude": park.latitude, "longitude": park.longitude,
            "coordinate_system": COORDINATE_SYSTEM, "total": park.total_spaces,
            "free": park.free_spaces, "reservable": park.reservable_spaces,
            "tariff": services.tariff_in_words(park.tariff), "opening_hours": park.hours,
            "status": status, "updated_at": park.updated_at}


class CarParkQuerySchema(Schema):
    town_id = fields.Integer(load_default=None)
    q = fields.String(load_default="")


@blp.route("/carparks")
@blp.arguments(CarParkQuerySchema, location="query")
@blp.response(200, CarParkSchema(many=True))
def list_car_parks(args):
    """Car parks with their live figures, most free spaces first."""
    return [_car_park(p) for p in services.search(db.session, town_id=args["town_id"], q=args["q"])]


@blp.route("/carparks/<int:car_park_id>")
@blp.response(200, CarParkSchema)
def get_car_park(car_park_id):
    park = db.session.get(CarPark, car_park_id)
    if park is None:
        raise ApiError(404, "not_found", _l("No such car park."))
    return _car_park(park)


class QuoteQuerySchema(Schema):
    carpark_id = fields.Integer(required=True)
    entry = fields.AwareDateTime(required=True, metadata={"example": "2026-12-01T09:00:00+08:00"})
    exit = fields.AwareDateTime(required=True, metadata={"example": "2026-12-01T11:30:00+08:00"})

    @validates_schema
    def exit_after_entry(self, data, **kwargs):
        if data["exit"] < data["entry"]:
            raise ValidationError("exit must not be before entry", "exit")


class QuoteSchema(Schema):
    carpark_id = fields.Integer(required=True)
    entry = fields.AwareDateTime(required=True)
    exit = fields.AwareDateTime(required=True)
    minutes = fields.Integer(required=True)
    fee_fen = fields.Integer(required=True, metadata={"description": "Integer fen (1 yuan = 100 fen)"})
    fee = fields.String(required=True, metadata={"description": "Formatted for the reader's language"})


@blp.route("/parking/quote")
@blp.arguments(QuoteQuerySchema, location="query")
@blp.response(200, QuoteSchema)
def quote(args):
    """The fee for a stay from `entry` to `exit` at a car park."""
    park = db.session.get(CarPark, args["carpark_id"])
    if park is None:
        raise ApiError(404, "not_found", _l("No such car park."))
    result = services.fee(park, args["entry"], args["exit"])
    return {"carpark_id": park.id, "entry": args["entry"], "exit": args["exit"], "minutes": result.minutes,
            "fee_fen": result.fen, "fee": format_fen(result.fen)}


@blp.route("/parking/feed")
@blp.response(200, CarParkSchema(many=True))
def feed():
    """Open data for the city parking platform: every car park, its figures and tariff. Public,
    cacheable for 30 seconds, rate-limited per client. No plates or personal data."""
    return [_car_park(p) for p in services.search(db.session, sort="name")]


@blp.after_request
def cache_feed(response):
    if request.endpoint == "api_parking.feed" and response.status_code == 200:
        response.headers["Cache-Control"] = "public, max-age=30"
    return response
