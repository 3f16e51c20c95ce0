"""The `venues` kind of the bulk import (app/imports): venues with their spaces and weekly
hours, in one flat table.

Format: one row per space. The venue's own columns (type, address, coordinates, phone, hours)
are read from its first row; later rows of the same venue may leave them empty or repeat them,
but may not contradict them (an error names the first row). `hours` is the week, as groups of
days (1 = Monday … 7 = Sunday, or Mon … Sun) with their opening time, separated by ";":
"1-5 09:00-17:00; 6-7 10:00-16:00" or "Mon-Fri 09:00-17:00; Sat 10:00-12:00". Days not named
are closed; an empty `hours` leaves the hours as they are. Natural keys: a venue is district +
town + venue; a space is venue + space.

Venues, spaces and hours are written through venues.services.admin (save_venue, save_space,
replace_hours), so their slots are made at once, as on the venue admin pages."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import clock
from app.errors import DomainError
from app.imports.kinds import DISTRICT_COLUMN, TOWN_COLUMN, Column, Kind, Planned, RowError
from app.imports.lookup import Places, coordinates, fold, whole_number
from venues.models import VENUE_TYPE_LABELS, BookingMode, Venue, VenueType

DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_GROUP = re.compile(r"^([0-9a-z,\-]+)\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})$")
VENUE_COLUMNS = ("venue_en", "type", "address", "address_en", "latitude", "longitude", "phone")


def _day(text: str) -> int:
    if text.isdigit() and 1 <= int(text) <= 7:
        return int(text) - 1
    if text[:3] in DAY_NAMES:
        return DAY_NAMES.index(text[:3])
    raise ValueError(text)


def parse_hours(text: str) -> dict[int, tuple[int, int]]:
    """ "1-5 09:00-17:00; 6 10:00-12:00" -> {weekday (0 = Monday): (opens, closes) minutes}."""
    hours: dict[int, tuple[int, int]] = {}
    for group in unicodedata.normalize("NFKC", text).lower().replace("；", ";").split(";"):
        group = group.strip()
        if not group:
            continue
        match = _GROUP.match(group)
        if match is None:
            raise ValueError(group)
        opens, closes = clock.parse_hhmm(match[2]), clock.parse_hhmm(match[3])
        if opens is None or closes is None or closes <= opens:
            raise ValueError(group)
        for part in match[1].split(","):
            first, _, last = part.partition("-")
            start, end = _day(first), _day(last) if last else _day(first)
            for day in range(start, end + 1):
                hours[day] = (opens, closes)
    return hours


@dataclass
class _Context:
    places: Places
    venues: dict  # (town id, folded name) -> Venue (spaces loaded)
    types: dict  # folded value or label -> VenueType
    modes: dict
    first: dict = field(default_factory=dict)  # venue key -> (line, values)


def _prepare(session, rows, settings, actor=None) -> _Context:
    venues = {}
    for venue in session.scalars(
        select(Venue).options(selectinload(Venue.spaces), selectinload(Venue.hours))
    ):
        for name in {fold(venue.name_zh), fold(venue.name_en)}:
            venues[(venue.town_id, name)] = venue
    types, modes = {}, {}
    for kind in VenueType:
        types[kind.value] = kind
        for locale in ("zh_CN", "en"):
            with force_locale(locale):
                types[fold(str(VENUE_TYPE_LABELS[kind]))] = kind
    for mode in BookingMode:
        modes[mode.value] = mode
        for locale in ("zh_CN", "en"):
            with force_locale(locale):
                modes[fold(str(mode.label))] = mode
    return _Context(Places(session, actor, estates=False), venues, types, modes)


def _venue_changes(ctx, venue, town, v) -> dict:
    """What the row says of the venue itself (type, address, ...) that differs from it."""
    kind = ctx.types.get(fold(v["type"])) if v["type"] else None
    if v["type"] and kind is None:
        raise RowError(
            _l("Write the type as one of: %(types)s", types=", ".join(t.value for t in VenueType)),
            "type",
        )
    latitude, longitude = coordinates(v)
    hours = None
    if v["hours"]:
        try:
            hours = parse_hours(v["hours"])
        except ValueError as error:
            raise RowError(
                _l(
                    "%(part)s is not a group of days and hours like 1-5 09:00-17:00",
                    part=str(error),
                ),
                "hours",
            ) from None
    wanted = {
        "name_en": v["venue_en"] or None,
        "type": kind,
        "address_zh": v["address"] or None,
        "address_en": v["address_en"] or None,
        "latitude": latitude,
        "longitude": longitude,
        "phone": v["phone"] or None,
    }
    if venue is None:
        if kind is None:
            raise RowError(_l("A new venue needs its type"), "type")
        if not v["address"]:
            raise RowError(_l("Fill in the address"), "address")
        return {**wanted, "hours": hours}
    changes = {k: w for k, w in wanted.items() if w is not None and getattr(venue, k) != w}
    if hours is not None:
        held = {h.weekday: (h.opens, h.closes) for h in venue.hours}
        if held != hours:
            changes["hours"] = hours
    return changes


def _check(ctx: _Context, row) -> Planned:
    v = row.values
    town = ctx.places.town(v)
    if not v["venue"]:
        raise RowError(_l("Fill in the venue"), "venue")
    key = (town.id, fold(v["venue"]))
    venue = ctx.venues.get(key)
    if venue is not None and not venue.active:
        raise RowError(_l("This venue is closed for good."), "venue")
    first = ctx.first.get(key)
    venue_changes: dict = {}
    if first is None:
        venue_changes = _venue_changes(ctx, venue, town, v)
        ctx.first[key] = (row.line, v)
    else:
        line, earlier = first
        for column in (*VENUE_COLUMNS, "hours"):
            if v[column] and fold(v[column]) != fold(earlier[column]):
                raise RowError(
                    _l(
                        "Line %(line)d gives this venue another %(column)s",
                        line=line,
                        column=column,
                    ),
                    column,
                )
    space_change = _space(ctx, venue, v)
    new_venue = venue is None and first is None
    if not new_venue and not venue_changes and space_change is None:
        return Planned("unchanged")
    outcome = "create" if new_venue or (space_change or {}).get("new") else "update"
    said = [*venue_changes] + ([*space_change["data"]] if space_change else [])
    payload = (key, town, v["venue"], venue_changes, space_change)
    return Planned(outcome, payload, ", ".join(said) if outcome == "update" else "")


def _space(ctx, venue, v) -> dict | None:
    if not v["space"]:
        raise RowError(
            _l("Fill in the space (a venue of one room: the venue's name again)"), "space"
        )
    space = None
    if venue is not None:
        space = next(
            (s for s in venue.spaces if fold(v["space"]) in {fold(s.name_zh), fold(s.name_en)}),
            None,
        )
    mode = ctx.modes.get(fold(v["mode"])) if v["mode"] else (space.mode if space else None)
    if mode is None:
        raise RowError(_l("Write the mode as general or personalised"), "mode")
    capacity = whole_number(v, "capacity", default=space.capacity if space else 1)
    slot = whole_number(v, "slot_minutes", default=space.slot_minutes if space else 60)
    if not 15 <= slot <= 480 or slot % 15:
        raise RowError(_l("Slots last 15 to 480 minutes, in steps of 15"), "slot_minutes")
    if capacity < 1:
        raise RowError(_l("Write a whole number, like 40"), "capacity")
    wanted = {
        "name_en": v["space_en"] or (space.name_en if space else v["space"]),
        "mode": mode.value,
        "capacity": 1 if mode == BookingMode.PERSONALISED else capacity,
        "slot_minutes": slot,
    }
    if space is None:
        return {"space": None, "new": True, "name": v["space"], "data": wanted}
    held = {
        "name_en": space.name_en,
        "mode": space.mode.value,
        "capacity": space.capacity,
        "slot_minutes": space.slot_minutes,
    }
    changed = {k: w for k, w in wanted.items() if held[k] != w}
    if not changed:
        return None
    return {"space": space, "new": False, "name": space.name_zh, "data": wanted}


def _apply(session, actor, ctx: _Context, planned) -> None:
    from venues.services import admin

    made: dict = {}
    for plan in planned:
        key, town, name, changes, space_change = plan.payload
        venue = ctx.venues.get(key) or made.get(key)
        try:
            if venue is None or changes:
                hours = changes.pop("hours", None)
                data = {k: w for k, w in changes.items() if w is not None}
                if venue is None:
                    data = {
                        "name_zh": name,
                        "name_en": data.get("name_en") or name,
                        "town_id": town.id,
                        "address_en": data.get("address_en") or data["address_zh"],
                        **{k: w for k, w in data.items() if k not in ("name_en", "address_en")},
                    }
                opens_at = venue.opens_at_minutes if venue is not None else 8 * 60
                data["opens_at"] = f"{opens_at // 60:02d}:{opens_at % 60:02d}"
                venue = admin.save_venue(session, actor, venue, data)
                for attribute in ("latitude", "longitude"):
                    if attribute in changes:
                        setattr(venue, attribute, changes[attribute])
                if hours is not None:
                    admin.replace_hours(session, venue, hours)
                made[key] = venue
            if space_change is not None:
                space = space_change["space"]
                data = {
                    "name_zh": space_change["name"],
                    "max_party_size": space.max_party_size if space else 4,
                    "max_steps": space.max_steps if space else 4,
                    "requires_approval": space.requires_approval if space else False,
                    "active": True,
                    **space_change["data"],
                }
                admin.save_space(session, actor, venue, space, data)
        except DomainError as error:  # a space with bookings to come keeps its mode
            raise RowError(error, error.field or "") from None
    session.flush()


VENUES = Kind(
    key="venues",
    label=_l("Venues"),
    description=_l(
        "Venues with their spaces and weekly hours: one row per space. The venue's columns "
        "are read from its first row; hours are groups of days (1 = Monday … 7 = Sunday) with "
        "their times, separated by semicolons; days not named are closed."
    ),
    columns=(
        DISTRICT_COLUMN,
        TOWN_COLUMN,
        Column("venue", True, "莘庄文化中心", _l("The venue's name in Chinese")),
        Column("venue_en", False, "Xinzhuang Culture Centre", _l("Its name in English")),
        Column(
            "type",
            False,
            "culture_centre",
            _l(
                "museum, library, culture_centre, sports_hall, court or community_centre; "
                "needed for a new venue"
            ),
        ),
        Column(
            "address",
            False,
            "莘庄镇莘松路1号",
            _l("The address in Chinese; needed for a new venue"),
        ),
        Column("address_en", False, "1 Xinsong Road", _l("The address in English")),
        Column("latitude", False, "31.1120", _l("WGS-84 (GPS) degrees north; or leave empty")),
        Column("longitude", False, "121.3800", _l("WGS-84 (GPS) degrees east; or leave empty")),
        Column("phone", False, "021-64120000", _l("The venue's telephone")),
        Column("hours", False, "1-5 09:00-17:00; 6-7 10:00-16:00", _l("The week's opening hours")),
        Column("space", True, "多功能厅", _l("The space's name in Chinese")),
        Column("space_en", False, "Multi-purpose Hall", _l("Its name in English")),
        Column(
            "mode",
            False,
            "general",
            _l(
                "general (places in a slot) or personalised (the whole space); needed for a "
                "new space"
            ),
        ),
        Column("capacity", False, "40", _l("Places in each slot (general)")),
        Column("slot_minutes", False, "60", _l("Length of a slot in minutes (15 to 480)")),
    ),
    key_columns=("district", "town", "venue", "space"),
    prepare=_prepare,
    check=_check,
    apply=_apply,
    order=50,
    more_examples=(
        (
            "闵行区",
            "莘庄镇",
            "莘庄文化中心",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "乒乓球室",
            "Table Tennis Room",
            "personalised",
            "",
            "60",
        ),
    ),
)


def init_app(app) -> None:
    from app.imports.kinds import register_kind

    register_kind(app, VENUES)
