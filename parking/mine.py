"""The parking lines of the home page's "我的" block (app/registry.py `register_mine`)."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import func, select

from app import clock
from app.i18n import localized
from app.registry import MineItem
from bookings.models import HOLDING, Booking
from parking.models import CarPark, Charge, ChargeStatus, ParkingReservation


def next_reservation(session, user) -> MineItem:
    """The person's next parking reservation that still holds its space (one statement)."""
    row = session.execute(
        select(Booking.reference, ParkingReservation.arrive_at, CarPark.name_zh, CarPark.name_en)
        .join(Booking, Booking.id == ParkingReservation.booking_id)
        .join(CarPark, CarPark.id == ParkingReservation.car_park_id)
        .where(
            Booking.holder_id == user.id,
            Booking.status.in_(HOLDING),
            Booking.ends_at > clock.now(),
        )
        .order_by(ParkingReservation.arrive_at)
        .limit(1)
    ).first()
    label = _l("Next parking reservation")
    if row is None:
        return MineItem(
            "parking", label, url_for("parking_driver.mine"), text=_l("No reservations"), order=20
        )
    return MineItem(
        "parking",
        label,
        url_for("parking_driver.reservation", reference=row.reference),
        count=1,
        when=row.arrive_at,
        text=localized(row.name_zh, row.name_en),
        order=20,
    )


def to_pay(session, user) -> MineItem:
    """What the person owes for parking and contracts: unpaid and refused charges, counted and
    summed (one statement)."""
    count, total = session.execute(
        select(func.count(), func.coalesce(func.sum(Charge.amount_fen), 0)).where(
            Charge.user_id == user.id,
            Charge.status.in_((ChargeStatus.DUE, ChargeStatus.FAILED)),
        )
    ).one()
    return MineItem(
        "payments",
        _l("To pay"),
        url_for("parking_driver.mine"),
        count=count,
        amount_fen=total,
        text=ngettext("(%(num)s item)", "(%(num)s items)", count) if count else _("Nothing to pay"),
        order=40,
    )
