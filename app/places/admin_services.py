"""Administering places (issue 15): districts, towns and estates are created, edited and
archived here, by the administration pages and (for the rules) the bulk import alike.

Guarantees:
- every change is one unit of work with its audit entry ("place.saved", "place.archived",
  "place.restored");
- natural keys stay unique with a message on the field (a district's code; a town's code; an
  estate's name within its town), checked before writing and backed by the database where it
  has a constraint;
- coordinates are WGS-84 degrees, both or neither, inside their ranges and inside China's box
  (a swapped pair is the usual slip, and it is caught), by `check_coordinates`, which the car
  park pages and the import share;
- nothing is deleted: history (tickets, bookings, homes) refers to places, so they are archived
  (`archived_at`), kept in history and offered nowhere. An archived parent takes nothing new.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from app import clock
from app.audit.services import record
from app.db import unit_of_work
from app.errors import DomainError
from app.places.models import District, Estate, Household, Town

# China's bounding box in WGS-84 degrees: a point outside it is a typing slip (or the pair
# swapped: 121.4, 31.1 is Shanghai written longitude first).
CHINA_LATITUDE = (18.0, 54.0)
CHINA_LONGITUDE = (73.0, 135.5)


def check_coordinates(latitude, longitude, *, required: bool = False) -> None:
    """Refuse (DomainError on "latitude" or "longitude") coordinates that are not WGS-84 degrees
    of a place in China: one without the other, out of range, or swapped. Both None passes
    unless `required`."""
    if latitude is None and longitude is None:
        if required:
            raise DomainError(_l("Enter the latitude"), field="latitude", code="coordinates")
        return
    if latitude is None:
        raise DomainError(
            _l("Enter the latitude too, or neither"), field="latitude", code="coordinates"
        )
    if longitude is None:
        raise DomainError(
            _l("Enter the longitude too, or neither"), field="longitude", code="coordinates"
        )
    if CHINA_LATITUDE[0] <= longitude <= CHINA_LATITUDE[1] and not (
        CHINA_LATITUDE[0] <= latitude <= CHINA_LATITUDE[1]
    ):
        raise DomainError(
            _l("Latitude and longitude look swapped: Shanghai is about 31.2 north, 121.5 east"),
            field="latitude",
            code="coordinates",
        )
    if not CHINA_LATITUDE[0] <= latitude <= CHINA_LATITUDE[1]:
        raise DomainError(
            _l("Enter a latitude between %(low)s and %(high)s (degrees north)"),
            field="latitude",
            code="coordinates",
            low=CHINA_LATITUDE[0],
            high=CHINA_LATITUDE[1],
        )
    if not CHINA_LONGITUDE[0] <= longitude <= CHINA_LONGITUDE[1]:
        raise DomainError(
            _l("Enter a longitude between %(low)s and %(high)s (degrees east)"),
            field="longitude",
            code="coordinates",
            low=CHINA_LONGITUDE[0],
            high=CHINA_LONGITUDE[1],
        )


def _text(data: dict, name: str) -> str:
    return (data.get(name) or "").strip()


def _names(data: dict) -> tuple[str, str]:
    """The Chinese and English names, both required (the interface speaks both)."""
    zh, en = _text(data, "name_zh"), _text(data, "name_en")
    if not zh:
        raise DomainError(_l("Enter the name in Chinese"), field="name_zh")
    if not en:
        raise DomainError(_l("Enter the name in English"), field="name_en")
    return zh, en


def _taken(session, model, column, value, own_id, **where) -> bool:
    query = select(model.id).where(column == value)
    for name, wanted in where.items():
        query = query.where(getattr(model, name) == wanted)
    if own_id is not None:
        query = query.where(model.id != own_id)
    return session.scalar(query.limit(1)) is not None


def save_district(session, actor, district: District | None, data: dict) -> District:
    """Create (district None) or edit a district: code (unique), names, hotline, the local
    name of the booking service and the footer's identity."""
    code = _text(data, "code")
    if not code:
        raise DomainError(_l("Enter the district code"), field="code")
    zh, en = _names(data)
    with unit_of_work(session):
        if _taken(session, District, District.code, code, getattr(district, "id", None)):
            raise DomainError(_l("Another district has this code"), field="code")
        if district is None:
            district = District()
            session.add(district)
        district.code, district.name_zh, district.name_en = code, zh, en
        district.hotline = _text(data, "hotline") or "12345"
        for name in ("booking_name_zh", "booking_name_en", "footer_zh", "footer_en"):
            setattr(district, name, _text(data, name))
        session.flush()
        record(session, actor, "place.saved", district, code=code)
        return district


def save_town(session, actor, town: Town | None, data: dict, district: District) -> Town:
    """Create or edit a town of `district` (which must not be archived): code (unique in the
    installation) and names (the name unique in the district)."""
    code = _text(data, "code")
    if not code:
        raise DomainError(_l("Enter the town code"), field="code")
    zh, en = _names(data)
    if district.archived_at is not None:
        raise DomainError(_l("This district is archived."), field="district_id", code="archived")
    own = getattr(town, "id", None)
    with unit_of_work(session):
        if _taken(session, Town, Town.code, code, own):
            raise DomainError(_l("Another town has this code"), field="code")
        if _taken(session, Town, Town.name_zh, zh, own, district_id=district.id):
            raise DomainError(_l("The district already has a town of this name"), field="name_zh")
        if town is None:
            town = Town()
            session.add(town)
        town.district_id, town.code, town.name_zh, town.name_en = district.id, code, zh, en
        session.flush()
        record(session, actor, "place.saved", town, code=code, district=district.id)
        return town


def save_estate(session, actor, estate: Estate | None, data: dict, town: Town) -> Estate:
    """Create or edit an estate of `town` (not archived): names (unique in the town), address
    in both languages, optional WGS-84 coordinates (`check_coordinates`)."""
    zh, en = _names(data)
    address_zh, address_en = _text(data, "address_zh"), _text(data, "address_en")
    if not address_zh:
        raise DomainError(_l("Enter the address in Chinese"), field="address_zh")
    if not address_en:
        raise DomainError(_l("Enter the address in English"), field="address_en")
    check_coordinates(data.get("latitude"), data.get("longitude"))
    if town.archived_at is not None:
        raise DomainError(_l("This town is archived."), field="town_id", code="archived")
    with unit_of_work(session):
        own = getattr(estate, "id", None)
        if _taken(session, Estate, Estate.name_zh, zh, own, town_id=town.id):
            raise DomainError(_l("The town already has an estate of this name"), field="name_zh")
        if estate is None:
            estate = Estate()
            session.add(estate)
        estate.town_id, estate.name_zh, estate.name_en = town.id, zh, en
        estate.address_zh, estate.address_en = address_zh, address_en
        estate.latitude, estate.longitude = data.get("latitude"), data.get("longitude")
        session.flush()
        record(session, actor, "place.saved", estate, town=town.id)
        return estate


def set_archived(session, actor, thing, archived: bool):
    """Archive `thing` (anything with `archived_at`: a district, town, estate, company or car
    park) or bring it back. Archived things keep their history and are offered nowhere."""
    with unit_of_work(session):
        thing.archived_at = clock.now() if archived else None
        record(session, actor, "place.archived" if archived else "place.restored", thing)
    return thing


def household_counts(session, estate_ids) -> dict[int, int]:
    """How many homes each estate has on record (the household register and residents' claims)."""
    estate_ids = list(estate_ids)
    if not estate_ids:
        return {}
    rows = session.execute(
        select(Household.estate_id, func.count())
        .where(Household.estate_id.in_(estate_ids))
        .group_by(Household.estate_id)
    )
    return dict(rows.all())


def search(session, model, query: str, *, district_ids=None, extra=None) -> list:
    """Rows of a place `model` whose Chinese or English name (or code) contains `query`, the
    live ones first, within `district_ids` (None: all), by name."""
    stmt = select(model)
    text = (query or "").strip()
    if text:
        like = f"%{text}%"
        clauses = [model.name_zh.ilike(like), model.name_en.ilike(like)]
        if hasattr(model, "code"):
            clauses.append(model.code.ilike(like))
        stmt = stmt.where(or_(*clauses))
    if district_ids is not None:
        stmt = stmt.where(_district_column(model).in_(district_ids))
    if extra is not None:
        stmt = stmt.where(extra)
    stmt = stmt.order_by(model.archived_at.is_not(None), model.name_zh, model.id)
    if model not in (District, Town):  # an estate, a car park: in a district through its town
        stmt = stmt.join(Town, Town.id == model.town_id)
    return list(session.scalars(stmt))


def _district_column(model):
    return District.id if model is District else Town.district_id
