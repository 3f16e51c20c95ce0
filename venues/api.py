"""全闵预约 over JSON: the catalogue (public) and bookings (Bearer token), same services as the
pages."""

from __future__ import annotations

from datetime import date

from flask import Response, request
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app import clock, text
from app.api import (
    SECURITY,
    ApiError,
    bearer_token,
    current_api_user,
    token_checked_by_service,
    token_required,
)
from app.codes import idempotency_key
from app.extensions import db
from app.places import districts
from app.places.districts import DistrictRefSchema
from app.urls import MAX_INT  # ids and offsets fit an INTEGER column
from bookings.models import Booking
from venues import current_settings
from venues.calendar import calendar_for
from venues.models import BookingMode, VenueType
from venues.services import booking as service
from venues.services import catalogue, changes, placing
from venues.services.rules import AlreadyBooked

blp = Blueprint("api_venues", __name__, url_prefix="/api/v1", description="场馆预约 venue booking")


class SpaceSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    mode = fields.String(required=True, metadata={"enum": [m.value for m in BookingMode]})
    slot_minutes = fields.Integer(required=True)
    max_party_size = fields.Integer(required=True)
    max_steps = fields.Integer(required=True)
    requires_approval = fields.Boolean(required=True)


class HoursSchema(Schema):
    weekday = fields.Integer(required=True, metadata={"description": "0 = Monday"})
    opens = fields.String(required=True)
    closes = fields.String(required=True)


class VenueSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    type = fields.String(required=True, metadata={"enum": [t.value for t in VenueType]})
    town = fields.String(required=True, attribute="town.name")
    district = fields.Nested(DistrictRefSchema, required=True)  # issue 15
    address = fields.String(required=True)
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    facilities = fields.Dict(required=True)


class VenueDetailSchema(VenueSchema):
    description = fields.String(required=True)
    rules = fields.String(required=True)
    phone = fields.String(required=True)
    spaces = fields.List(fields.Nested(SpaceSchema), required=True)
    hours = fields.List(fields.Nested(HoursSchema), required=True)


class VenueQuerySchema(Schema):
    q = fields.String(load_default="", validate=validate.Length(max=text.SEARCH))
    type = fields.String(load_default=None, validate=validate.OneOf([t.value for t in VenueType]))
    town_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_INT))


class AvailabilityQuerySchema(Schema):
    date = fields.Date(
        required=True,
        metadata={"description": "YYYY-MM-DD, local date"},
        validate=validate.Range(min=clock.FIRST_DAY, max=clock.LAST_DAY),
    )


class SlotSchema(Schema):
    id = fields.Integer(required=True)
    space_id = fields.Integer(required=True)
    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True)
    capacity = fields.Integer(required=True)
    remaining = fields.Integer(required=True)


class BookingRequestSchema(Schema):
    slot_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_INT))
    party_size = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100))
    steps = fields.Integer(
        load_default=1,
        validate=validate.Range(min=1, max=16),
        metadata={"description": "Personalised spaces: how many slots in a row"},
    )


class CancelQuerySchema(Schema):
    accept_no_show = fields.Boolean(
        load_default=False,
        metadata={
            "description": "true: cancel even after the free cancellation time, counting "
            "a no-show (the person was told)"
        },
    )


class PartySizeSchema(Schema):
    party_size = fields.Integer(required=True, validate=validate.Range(min=1, max=100))


class BookingSchema(Schema):
    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    code = fields.String(
        required=True,
        allow_none=True,
        attribute="door_code",
        metadata={
            "description": "8-digit door code (also in the QR code); null until the booking "
            "is confirmed (waiting for approval, or a waitlist offer not yet accepted)"
        },
    )
    status = fields.String(required=True)
    venue_id = fields.Integer(required=True)
    space_id = fields.Integer(required=True)
    start = fields.AwareDateTime(required=True, attribute="starts_at")
    end = fields.AwareDateTime(required=True, attribute="ends_at")
    party_size = fields.Integer(required=True, attribute="quantity")


def _venue_dict(venue, detail=False):
    data = {
        "id": venue.id,
        "name": venue.name,
        "type": venue.type.value,
        "town": venue.town,
        "district": districts.reference(venue.town.district_id),
        "address": venue.address,
        "latitude": venue.latitude,
        "longitude": venue.longitude,
        "facilities": {
            k: getattr(venue, k) for k in ("step_free", "accessible_toilet", "lift", "hearing_loop")
        },
    }
    if detail:
        data.update(
            description=venue.description,
            rules=venue.rules,
            phone=venue.phone,
            spaces=[s for s in venue.spaces if s.active],
            hours=[
                {"weekday": h.weekday, "opens": clock.hhmm(h.opens), "closes": clock.hhmm(h.closes)}
                for h in venue.hours
            ],
        )
    return data


def _venue_or_404(venue_id):
    venue = catalogue.get_venue(db.session, venue_id)
    if venue is None:
        raise ApiError(404, "not_found", _l("No such venue."))
    return venue


@blp.route("/venues")
@blp.arguments(VenueQuerySchema, location="query")
@blp.response(200, VenueSchema(many=True))
def list_venues(args):
    """Active venues, optionally filtered by name/address, type and town. No token needed."""
    venues = catalogue.search(
        db.session,
        catalogue.Filters(
            q=args["q"],
            type=VenueType(args["type"]) if args["type"] else None,
            town_id=args["town_id"],
        ),
    )
    return [_venue_dict(v) for v in venues]


@blp.route("/venues/<int:venue_id>")
@blp.response(200, VenueDetailSchema)
def get_venue(venue_id):
    """One venue with its spaces and opening hours."""
    return _venue_dict(_venue_or_404(venue_id), detail=True)


@blp.route("/venues/<int:venue_id>/availability")
@blp.arguments(AvailabilityQuerySchema, location="query")
@blp.response(200, SlotSchema(many=True))
def availability(args, venue_id):
    """Every slot of the venue's spaces on a local date, with the places left."""
    venue = _venue_or_404(venue_id)
    day: date = args["date"]
    return [
        {
            "id": b.id,
            "space_id": s.id,
            "start": b.starts_at,
            "end": b.ends_at,
            "capacity": b.capacity,
            "remaining": b.remaining,
        }
        for s in venue.spaces
        if s.active
        for b in catalogue.day_slots(db.session, s, day)
    ]


def _booking_dict(booking: Booking):
    space = catalogue.space_for_resource(db.session, booking.resource_id)
    return {
        "id": booking.id,
        "reference": booking.reference,
        "door_code": booking.door_code if service.shows_door_code(booking) else None,
        "status": booking.status.value,
        "venue_id": space.venue_id,
        "space_id": space.id,
        "starts_at": booking.starts_at,
        "ends_at": booking.ends_at,
        "quantity": booking.quantity,
    }


@blp.route("/bookings", methods=["POST"])
@blp.doc(
    security=SECURITY,
    parameters=[
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "schema": {"type": "string"},
            "description": "Repeat a request with the same key to get the same booking, never two; "
            "the key used before for a different booking is refused (422 `idempotency_key_reused`)",
        }
    ],
)
@token_checked_by_service  # before the body is read: no token is 401, whatever the body
@blp.arguments(BookingRequestSchema)
@blp.response(201, BookingSchema)
@blp.alt_response(
    409,
    schema="Error",
    description="`sold_out`; `already_booked` (with `reference`: one booking per person per "
    "slot); or another conflict",
)
def create_booking(args):
    """Book a slot: `party_size` places of a general slot, or `steps` slots of a whole space
    starting at `slot_id`. 409 `sold_out` when there is no room; 409 `already_booked` when the
    token's owner already holds this slot (or an overlapping time of the whole space), with
    `reference`, the booking to change instead (PATCH its `party_size`)."""
    try:
        booked = placing.book_with_token(
            db.session,
            bearer_token(),
            args["slot_id"],
            party_size=args["party_size"],
            steps=args["steps"],
            idempotency_key=idempotency_key(request.headers.get("Idempotency-Key")),
            settings=current_settings(),
        )
    except AlreadyBooked as error:
        raise ApiError(409, error.code, str(error), reference=error.reference) from None
    booking = booked.booking
    return {
        "id": booking.id,
        "reference": booking.reference,
        "door_code": booking.door_code if service.shows_door_code(booking) else None,
        "status": booking.status.value,
        "venue_id": booked.venue_id,
        "space_id": booked.space_id,
        "starts_at": booking.starts_at,
        "ends_at": booking.ends_at,
        "quantity": booking.quantity,
    }


def _mine_or_404(booking_id):
    booking = db.session.get(Booking, booking_id)
    if (
        booking is None
        or booking.holder_id != current_api_user().id
        or booking.resource.kind != "venue"
    ):
        raise ApiError(404, "not_found", _l("No such booking."))
    return booking


@blp.route("/bookings")
@blp.doc(security=SECURITY)
@blp.response(200, BookingSchema(many=True))
@token_required
def list_bookings():
    """The token owner's venue bookings, newest first."""
    return [_booking_dict(b) for b in service.my_bookings(db.session, current_api_user())]


@blp.route("/bookings/<int:booking_id>")
@blp.doc(security=SECURITY)
@blp.response(200, BookingSchema)
@token_required
def get_booking(booking_id):
    return _booking_dict(_mine_or_404(booking_id))


@blp.route("/bookings/<int:booking_id>", methods=["DELETE"])
@blp.doc(security=SECURITY)
@blp.response(200, BookingSchema)
@token_required
@blp.arguments(CancelQuerySchema, location="query")
def cancel_booking(args, booking_id):
    """Cancel; the places go to the waitlist. Free until the venue's cut-off; after it (until
    the start) cancelling counts as a no-show, and is refused with 409 `past_cutoff` (its
    message says the cost) unless `accept_no_show=true` says the person was told."""
    booking = _mine_or_404(booking_id)
    service.cancel(
        db.session,
        booking,
        current_api_user(),
        accept_cost=args["accept_no_show"],
        settings=current_settings(),
    )
    return _booking_dict(booking)


@blp.route("/bookings/<int:booking_id>", methods=["PATCH"])
@blp.doc(security=SECURITY)
@blp.response(200, BookingSchema)
@blp.alt_response(409, schema="Error", description="`sold_out`, `past_cutoff`, `not_changeable`")
@token_required
@blp.arguments(PartySizeSchema)
def change_booking(args, booking_id):
    """Change the number of people of a general slot's booking, within the space's most per
    booking and the slot's free places (409 `sold_out` when they lack). Fewer people only until
    the free cancellation time; none is a cancellation (DELETE)."""
    booking = _mine_or_404(booking_id)
    changes.change_party_size(
        db.session, booking, current_api_user(), args["party_size"], settings=current_settings()
    )
    return _booking_dict(booking)


@blp.route("/bookings/<int:booking_id>.ics")
@blp.doc(
    security=SECURITY,
    responses={"200": {"description": "text/calendar", "content": {"text/calendar": {}}}},
)
@token_required
def booking_ics(booking_id):
    booking = _mine_or_404(booking_id)
    return Response(
        calendar_for(db.session, [booking], booking.reference), mimetype="text/calendar"
    )
