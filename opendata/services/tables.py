"""The three monthly tables, each one grouped query (plus, for repairs, the response times the
medians are taken from), labelled with the district through the town (Town.district_id).

Every function answers published rows: dicts keyed by the dataset's column names
(opendata/datasets.py), counts from 1 to 4 already suppressed (None) by the rules in
suppression.py, and nothing about a person: no names, phones, plates, references or times
finer than an hour.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, func, select

from app import clock
from app.places.models import District, Estate, Town
from bookings.models import Booking, BookingStatus
from opendata.services.sql import local_day, local_hour
from opendata.services.suppression import MINIMUM, count, suppress_parts
from parking.models import CarPark, GateEvent, GateOutcome
from repairs.models import PropertyCompany, State, Ticket
from venues.models import Space, Venue

HELD = (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN, BookingStatus.NO_SHOW)


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """'2026-11' -> Month(2026, 11); ValueError for anything else."""
        if len(text) != 7 or text[4] != "-":
            raise ValueError(text)
        month = cls(int(text[:4]), int(text[5:]))
        if not (2000 <= month.year <= 2999 and 1 <= month.month <= 12):
            raise ValueError(text)
        return month

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @property
    def last_day(self) -> date:
        return date.fromordinal(self.next().first_day.toordinal() - 1)

    def bounds(self) -> tuple[datetime, datetime]:
        """The month in Shanghai as aware UTC instants [start, end)."""
        return clock.at(self.first_day, 0), clock.at(self.next().first_day, 0)


def _district_columns():
    return (
        District.code.label("district_code"),
        District.name_zh.label("district_name"),
        District.name_en.label("district_name_en"),
        Town.code.label("town_code"),
        Town.name_zh.label("town_name"),
    )


def _place(row) -> dict:
    return {
        "district_code": row.district_code,
        "district_name": row.district_name,
        "district_name_en": row.district_name_en,
        "town_code": row.town_code,
        "town_name": row.town_name,
    }


def _sum_when(condition, value=1):
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def venue_bookings(session, month: Month) -> list[dict]:
    """Bookings by venue and day (the day a booking starts): held bookings and the places they
    hold, how many were attended and not, and cancellations."""
    start, end = month.bounds()
    day = local_day(Booking.starts_at).label("day")
    held = Booking.status.in_(HELD)
    query = (
        select(
            day,
            *_district_columns(),
            Venue.id.label("venue_id"),
            Venue.name_zh,
            Venue.name_en,
            _sum_when(held).label("bookings"),
            _sum_when(held, Booking.quantity).label("places"),
            _sum_when(Booking.status == BookingStatus.CHECKED_IN).label("attended"),
            _sum_when(Booking.status == BookingStatus.CANCELLED).label("cancelled"),
        )
        .join(Space, Space.resource_id == Booking.resource_id)
        .join(Venue, Venue.id == Space.venue_id)
        .join(Town, Town.id == Venue.town_id)
        .join(District, District.id == Town.district_id)
        .where(
            Booking.starts_at >= start,
            Booking.starts_at < end,
            Booking.status.in_((*HELD, BookingStatus.CANCELLED)),
        )
        .group_by(day, District.id, Town.id, Venue.id)
        .order_by(day, District.code, Venue.id)
    )
    rows = []
    for row in session.execute(query):
        bookings, parts = suppress_parts(
            row.bookings,
            {"attended": row.attended, "not_attended": row.bookings - row.attended},
        )
        rows.append(
            {
                "date": row.day,
                **_place(row),
                "venue_id": row.venue_id,
                "venue_name": row.name_zh,
                "venue_name_en": row.name_en,
                "bookings": bookings,
                "places": None if bookings is None else count(row.places),
                **parts,
                "cancelled": count(row.cancelled),
            }
        )
    return rows


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of sorted `values` (share 0.5: the median)."""
    return values[max(math.ceil(share * len(values)) - 1, 0)]


# A percentile is published only over at least this many response times: a 90th percentile of
# five values would be the slowest ticket's own time.
PERCENTILES = (("median_response_minutes", 0.5, MINIMUM), ("p90_response_minutes", 0.9, 10))


def repair_tickets(session, month: Month) -> list[dict]:
    """Repair reports by estate, property company and category (the month they were submitted
    in; duplicates of another report left out): how many, answered within the company's
    response time or later or not at all, and the median and 90th percentile response time."""
    start, end = month.bounds()
    responded = Ticket.responded_at.is_not(None)
    key = (Ticket.estate_id, Ticket.company_id, Ticket.category)
    in_month = (
        Ticket.submitted_at >= start,
        Ticket.submitted_at < end,
        Ticket.state != State.DUPLICATE,
    )
    query = (
        select(
            *_district_columns(),
            *key,
            Estate.name_zh.label("estate_name"),
            PropertyCompany.name_zh.label("company_name"),
            func.count().label("tickets"),
            _sum_when(responded & (Ticket.responded_at <= Ticket.respond_by)).label("on_time"),
            _sum_when(responded & (Ticket.responded_at > Ticket.respond_by)).label("late"),
        )
        .join(Estate, Estate.id == Ticket.estate_id)
        .join(PropertyCompany, PropertyCompany.id == Ticket.company_id)
        .join(Town, Town.id == Ticket.town_id)
        .join(District, District.id == Town.district_id)
        .where(*in_month)
        .group_by(*key, District.id, Town.id, Estate.id, PropertyCompany.id)
        .order_by(District.code, Town.code, Estate.id, PropertyCompany.id, Ticket.category)
    )
    # Medians and percentiles in Python over each group's response times (SQLite has no
    # percentile function; a month of one district is a few thousand numbers).
    times = defaultdict(list)
    for row in session.execute(
        select(*key, Ticket.submitted_at, Ticket.responded_at).where(*in_month, responded)
    ):
        minutes = (row.responded_at - row.submitted_at).total_seconds() / 60
        times[(row.estate_id, row.company_id, row.category)].append(minutes)
    rows = []
    for row in session.execute(query):
        tickets, parts = suppress_parts(
            row.tickets,
            {
                "responded_on_time": row.on_time,
                "responded_late": row.late,
                "not_responded": row.tickets - row.on_time - row.late,
            },
        )
        answered = sorted(times[(row.estate_id, row.company_id, row.category)])
        rows.append(
            {
                "month": str(month),
                **_place(row),
                "estate_id": row.estate_id,
                "estate_name": row.estate_name,
                "company_id": row.company_id,
                "company_name": row.company_name,
                "category": str(row.category),
                "tickets": tickets,
                **parts,
                **{
                    name: round(percentile(answered, share), 1)
                    if tickets is not None and len(answered) >= least
                    else None
                    for name, share, least in PERCENTILES
                },
            }
        )
    return rows


def carpark_occupancy(session, month: Month) -> list[dict]:
    """Car-park use by hour, from the gates' events: vehicles in and out, and the most inside
    at once (the highest occupancy a gate event left), against the car park's spaces today.
    Hours without a gate event have no row (nothing changed)."""
    start, end = month.bounds()
    hour = local_hour(GateEvent.occurred_at).label("hour")
    query = (
        select(
            hour,
            *_district_columns(),
            CarPark.id.label("car_park_id"),
            CarPark.name_zh,
            CarPark.name_en,
            CarPark.total_spaces,
            _sum_when(GateEvent.outcome == GateOutcome.ENTERED).label("entries"),
            _sum_when(GateEvent.outcome == GateOutcome.EXITED).label("exits"),
            func.max(GateEvent.occupied_after).label("peak"),
        )
        .join(CarPark, CarPark.id == GateEvent.car_park_id)
        .join(Town, Town.id == CarPark.town_id)
        .join(District, District.id == Town.district_id)
        .where(GateEvent.occurred_at >= start, GateEvent.occurred_at < end)
        .group_by(hour, District.id, Town.id, CarPark.id)
        .order_by(hour, District.code, CarPark.id)
    )
    rows = []
    for row in session.execute(query):
        peak = count(row.peak)
        rows.append(
            {
                "date": row.hour[:10],
                "hour": int(row.hour[11:13]),
                **_place(row),
                "car_park_id": row.car_park_id,
                "car_park_name": row.name_zh,
                "car_park_name_en": row.name_en,
                "total_spaces": row.total_spaces,
                "entries": count(row.entries),
                "exits": count(row.exits),
                "peak_occupied": peak,
                "peak_occupancy_percent": None
                if peak is None or not row.total_spaces
                else round(100 * peak / row.total_spaces, 1),
            }
        )
    return rows
