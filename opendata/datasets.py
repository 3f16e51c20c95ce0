"""The catalogue: what each monthly dataset is, its columns (stable English names, documented
on /open-data), and where its rows come from. The titles and descriptions are shown in the
reader's language; the files themselves always use the English column names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from bookings.models import Booking
from opendata.services import tables
from parking.models import GateEvent
from repairs.models import Ticket

PLACE_COLUMNS = (
    ("district_code", _l("The district's administrative code (行政区划代码), e.g. 310112.")),
    ("district_name", _l("The district's name in Chinese.")),
    ("district_name_en", _l("The district's name in English.")),
    ("town_code", _l("The town's (街道/镇) code in the portal.")),
    ("town_name", _l("The town's name in Chinese.")),
)


@dataclass(frozen=True)
class Dataset:
    key: str  # in URLs: /open-data/<key>/<YYYY-MM>.csv
    title: object
    description: object
    keywords: tuple[str, ...]
    columns: tuple[tuple[str, object], ...]  # (name, meaning)
    rows: Callable  # (session, Month) -> list[dict]
    # The timestamp whose month places a record, for the first month the catalogue lists.
    since: object

    @property
    def column_names(self) -> list[str]:
        return [name for name, _meaning in self.columns]

    def first_month(self, session) -> tables.Month | None:
        """The month of the oldest record, or None when there is none."""
        first = session.scalar(select(func.min(self.since)))
        if first is None:
            return None
        from app import clock

        return tables.Month.of(clock.local(first).date())


DATASETS = (
    Dataset(
        key="venue-bookings",
        title=_l("Venue bookings and attendance by venue and day"),
        description=_l(
            "For each venue and day: the bookings held, the places they held, how many were"
            " attended and not, and the bookings cancelled."
        ),
        keywords=("venues", "bookings", "attendance"),
        columns=(
            ("date", _l("The day (Shanghai time), YYYY-MM-DD.")),
            *PLACE_COLUMNS,
            ("venue_id", _l("The venue's number in the portal.")),
            ("venue_name", _l("The venue's name in Chinese.")),
            ("venue_name_en", _l("The venue's name in English.")),
            ("bookings", _l("Bookings held for that day (confirmed, attended or missed).")),
            ("places", _l("Places those bookings held (a booking may be for several people).")),
            ("attended", _l("Bookings checked in at the door.")),
            ("not_attended", _l("Bookings not checked in: missed, or not yet recorded.")),
            ("cancelled", _l("Bookings cancelled.")),
        ),
        rows=tables.venue_bookings,
        since=Booking.starts_at,
    ),
    Dataset(
        key="repair-tickets",
        title=_l("Repair reports and response times by estate, company and category"),
        description=_l(
            "For each estate, property company and kind of repair: the reports made in the"
            " month, how many the company answered within its response time, later, or not at"
            " all, and the median and 90th percentile time to the first answer."
        ),
        keywords=("repairs", "property management", "response time"),
        columns=(
            ("month", _l("The month the reports were made in, YYYY-MM.")),
            *PLACE_COLUMNS,
            ("estate_id", _l("The estate's number in the portal.")),
            ("estate_name", _l("The estate's name in Chinese.")),
            ("company_id", _l("The property company's number in the portal.")),
            ("company_name", _l("The property company's name in Chinese.")),
            (
                "category",
                _l(
                    "The kind of repair: water, electricity, lift, doors, public_area,"
                    " greening or other."
                ),
            ),  # fmt: skip
            ("tickets", _l("Reports made (duplicates of another report left out).")),
            ("responded_on_time", _l("Reports first answered within the response time.")),
            ("responded_late", _l("Reports first answered after the response time.")),
            ("not_responded", _l("Reports not answered (yet).")),
            (
                "median_response_minutes",
                _l("The median minutes from report to first answer (at least 5 answers)."),
            ),
            (
                "p90_response_minutes",
                _l("90 in 100 answers came within this many minutes (at least 10 answers)."),
            ),
        ),
        rows=tables.repair_tickets,
        since=Ticket.submitted_at,
    ),
    Dataset(
        key="carpark-occupancy",
        title=_l("Car-park occupancy by hour"),
        description=_l(
            "For each car park and hour with traffic at its gates: vehicles in and out, and the"
            " most vehicles inside at once, also as a share of its spaces."
        ),
        keywords=("parking", "occupancy"),
        columns=(
            ("date", _l("The day (Shanghai time), YYYY-MM-DD.")),
            ("hour", _l("The hour of the day, 0 to 23 (Shanghai time).")),
            *PLACE_COLUMNS,
            ("car_park_id", _l("The car park's number in the portal (as in the parking feed).")),
            ("car_park_name", _l("The car park's name in Chinese.")),
            ("car_park_name_en", _l("The car park's name in English.")),
            ("total_spaces", _l("The car park's spaces (as it is today).")),
            ("entries", _l("Vehicles that entered in the hour.")),
            ("exits", _l("Vehicles that left in the hour.")),
            ("peak_occupied", _l("The most vehicles inside at once in the hour.")),
            ("peak_occupancy_percent", _l("peak_occupied as a percentage of total_spaces.")),
        ),
        rows=tables.carpark_occupancy,
        since=GateEvent.occurred_at,
    ),
)
BY_KEY = {dataset.key: dataset for dataset in DATASETS}
