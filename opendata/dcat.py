"""The catalogue as DCAT (W3C Data Catalog Vocabulary, version 3) in JSON-LD, with the
properties DCAT-AP asks for: a dcat:Catalog whose datasets are one dcat:DatasetSeries per table
(updated monthly: dcterms:accrualPeriodicity is the EU frequency authority's MONTHLY) and one
dcat:Dataset per month in it (dcat:inSeries, dcterms:temporal with dcat:startDate and
dcat:endDate), each with two dcat:Distribution (CSV and JSON: dcat:downloadURL,
dcat:mediaType as IANA media types, dcterms:format, dcterms:license)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flask_babel import force_locale

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dcterms": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
MONTHLY = "http://publications.europa.eu/resource/authority/frequency/MONTHLY"
FORMATS = {
    "csv": ("text/csv", "http://publications.europa.eu/resource/authority/file-type/CSV"),
    "json": ("application/json", "http://publications.europa.eu/resource/authority/file-type/JSON"),
}


def _both(message) -> list[dict]:
    """A translatable text in Chinese and English, as JSON-LD language-tagged values."""
    values = []
    for locale, tag in (("zh_CN", "zh-CN"), ("en", "en")):
        with force_locale(locale):
            values.append({"@language": tag, "@value": str(message)})
    return values


def _date(day: date) -> dict:
    return {"@value": day.isoformat(), "@type": "xsd:date"}


def _period(start: date, end: date) -> dict:
    return {
        "@type": "dcterms:PeriodOfTime",
        "dcat:startDate": _date(start),
        "dcat:endDate": _date(end),
    }


def catalogue(entries, settings, today: date, url: Callable[..., str], title, description) -> dict:
    """The DCAT document. `entries`: [(Dataset, [Month newest first])]; `url(endpoint,
    **values)`: an absolute URL."""
    license_ = {"@id": settings.license_url}
    publisher = {
        "@type": "foaf:Agent",
        "foaf:name": [
            {"@language": "zh-CN", "@value": settings.publisher},
            {"@language": "en", "@value": settings.publisher_en},
        ],
    }
    datasets = []
    for data, months in entries:
        series_id = url("opendata.index") + "#" + data.key
        series = {
            "@id": series_id,
            "@type": "dcat:DatasetSeries",
            "dcterms:identifier": data.key,
            "dcterms:title": _both(data.title),
            "dcterms:description": _both(data.description),
            "dcterms:accrualPeriodicity": {"@id": MONTHLY},
            "dcterms:license": license_,
            "dcterms:publisher": publisher,
            "dcat:keyword": list(data.keywords),
            "dcat:landingPage": {"@id": series_id},
        }
        if months:
            series["dcterms:temporal"] = _period(months[-1].first_day, months[0].last_day)
        datasets.append(series)
        for month in months:
            member = {
                "@id": f"{series_id}/{month}",
                "@type": "dcat:Dataset",
                "dcterms:identifier": f"{data.key}/{month}",
                "dcterms:title": [
                    {"@language": v["@language"], "@value": f"{v['@value']} {month}"}
                    for v in _both(data.title)
                ],
                "dcterms:description": _both(data.description),
                "dcat:inSeries": {"@id": series_id},
                "dcterms:temporal": _period(month.first_day, month.last_day),
                "dcterms:issued": _date(month.next().first_day),
                # Computed from the live database on every download (services/__init__.py).
                "dcterms:modified": _date(today),
                "dcterms:license": license_,
                "dcterms:publisher": publisher,
                "dcat:distribution": [
                    {
                        "@type": "dcat:Distribution",
                        "dcterms:title": f"{data.key} {month} ({extension.upper()})",
                        "dcat:downloadURL": {
                            "@id": url(
                                "opendata.download", key=data.key, month=str(month), ext=extension
                            )
                        },
                        "dcat:accessURL": {"@id": series_id},
                        "dcat:mediaType": {
                            "@id": f"https://www.iana.org/assignments/media-types/{media}"
                        },
                        "dcterms:format": {"@id": file_type},
                        "dcterms:license": license_,
                    }
                    for extension, (media, file_type) in FORMATS.items()
                ],
            }
            datasets.append(member)
    return {
        "@context": CONTEXT,
        "@id": url("opendata.catalogue"),
        "@type": "dcat:Catalog",
        "dcterms:title": _both(title),
        "dcterms:description": _both(description),
        "dcterms:publisher": publisher,
        "dcterms:license": license_,
        "dcterms:language": [
            {"@id": "http://publications.europa.eu/resource/authority/language/ZHO"},
            {"@id": "http://publications.europa.eu/resource/authority/language/ENG"},
        ],
        "dcterms:modified": _date(today),
        "foaf:homepage": {"@id": url("opendata.index")},
        "dcat:dataset": datasets,
    }
