"""The venue line of the home page's "我的" block (app/registry.py `register_mine`)."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import clock
from app.i18n import localized
from app.registry import MineItem
from bookings.models import HOLDING, Booking
from venues.models import Space, Venue


def next_booking(session, user) -> MineItem:
    """The person's next venue booking that still holds its place (one statement)."""
    row = session.execute(
        select(Booking.reference, Booking.starts_at, Venue.name_zh, Venue.name_en)
        .join(Space, Space.resource_id == Booking.resource_id)
        .join(Venue, Venue.id == Space.venue_id)
        .where(
            Booking.holder_id == user.id,
            Booking.status.in_(HOLDING),
            Booking.ends_at > clock.now(),
        )
        .order_by(Booking.starts_at)
        .limit(1)
    ).first()
    if row is None:
        return MineItem(
            "venues",
            _l("Next booking"),
            url_for("my_bookings.index"),
            text=_l("No bookings"),
            order=10,
        )
    return MineItem(
        "venues",
        _l("Next booking"),
        url_for("my_bookings.show", reference=row.reference),
        count=1,
        when=row.starts_at,
        text=localized(row.name_zh, row.name_en),
        order=10,
    )
