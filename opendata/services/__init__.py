"""Open data (issue 15): monthly tables of venue bookings, repair reports and car-park use,
published at /open-data as CSV and JSON with a DCAT catalogue.

Guarantees:
- no personal data: only counts and statistics by place and day or hour; no names, phones,
  plates, references or exact times (opendata/services/tables.py);
- no count from 1 to 4, and none that can be recovered by subtraction (suppression.py);
- computed on demand from the database with one grouped query per table, never stored: a
  month can still change after it ends (the no-show sweep, a late answer to a report), and a
  stored copy would need its own refresh job; HTTP caching (a day for a past month, five
  minutes for the current one, with an ETag) keeps repeated downloads off the database.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from app.csvexport import neutralise
from opendata.datasets import BY_KEY, DATASETS, Dataset
from opendata.services.suppression import MARKER
from opendata.services.tables import Month

# Columns whose empty value means "not published because too few records" rather than a
# suppressed count: in CSV they are left empty instead of showing the marker.
STATISTICS = ("median_response_minutes", "p90_response_minutes", "peak_occupancy_percent")


@dataclass(frozen=True)
class OpenDataSettings:
    license_url: str = "https://creativecommons.org/licenses/by/4.0/"
    license_name: str = "CC BY 4.0"
    publisher: str = "闵行区"
    publisher_en: str = "Minhang District"
    months: int = 24  # complete months listed in the catalogue, newest first

    @classmethod
    def from_config(cls, config: Mapping) -> OpenDataSettings:
        return cls(
            license_url=config.get("OPEN_DATA_LICENSE_URL") or cls.license_url,
            license_name=config.get("OPEN_DATA_LICENSE_NAME") or cls.license_name,
            publisher=config.get("OPEN_DATA_PUBLISHER") or config["PORTAL_DISTRICT_NAME"],
            publisher_en=config.get("OPEN_DATA_PUBLISHER_EN") or config["PORTAL_DISTRICT_NAME_EN"],
            months=int(config.get("OPEN_DATA_MONTHS", 24)),
        )


def dataset(key: str) -> Dataset | None:
    return BY_KEY.get(key)


def published_months(session, data: Dataset, today: date, settings: OpenDataSettings):
    """The complete months the catalogue lists for `data`, newest first: from its first record
    (or `settings.months` back) to last month. The current month can be downloaded too, but is
    not listed: it is not finished."""
    first = data.first_month(session)
    if first is None:
        return []
    month, months = Month.of(today).previous(), []
    while month >= first and len(months) < settings.months:
        months.append(month)
        month = month.previous()
    return months


def catalogue_entries(session, today: date, settings: OpenDataSettings):
    """[(dataset, [months])] for the page and the DCAT document."""
    return [(data, published_months(session, data, today, settings)) for data in DATASETS]


def downloadable(month: Month, today: date) -> bool:
    """A month that has begun (the current one, partly, included)."""
    return month <= Month.of(today)


def rows(session, data: Dataset, month: Month) -> list[dict]:
    """The published rows of `data` for `month` (suppressed cells None)."""
    return data.rows(session, month)


def as_csv(data: Dataset, published: list[dict]) -> str:
    """The rows as CSV text with the English header; a suppressed count is the marker `<5`, a
    statistic not published is empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(data.column_names)
    for row in published:
        writer.writerow(
            [
                ("" if name in STATISTICS else MARKER)
                if row[name] is None
                else neutralise(row[name])
                for name in data.column_names
            ]
        )
    return out.getvalue()


def as_json(data: Dataset, month: Month, published: list[dict], settings) -> dict:
    """The rows as a JSON document with what a reader needs to use them."""
    return {
        "dataset": data.key,
        "month": str(month),
        "license": settings.license_url,
        "columns": data.column_names,
        "suppressed": "null: a count from 1 to 4 (or one that would reveal such a count), or a"
        " statistic of too few records",
        "rows": [{name: row[name] for name in data.column_names} for row in published],
    }
