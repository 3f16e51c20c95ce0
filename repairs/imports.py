"""Import kinds owned by repairs: `estates` (with the company that manages each) and
`companies` (property companies, with the estates each manages from a date).

Estates belong to the frame (app.places), but who manages them is repairs' history
(EstateManagement), so both kinds live here and every change of company goes through
repairs.services.management.assign_company: an import and the admin page share its rules (a
change dated today or later; a first company from any date; the same company again changes
nothing). Natural keys: an estate is district + town + name; a company is its Chinese name; an
assignment is company + estate."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import clock
from app.audit.services import record
from app.errors import DomainError
from app.imports.kinds import DISTRICT_COLUMN, TOWN_COLUMN, Column, Kind, Planned, RowError
from app.imports.lookup import Places, coordinates, fold
from app.places.models import Estate
from repairs.models import MANAGED_SINCE_EVER, EstateManagement, PropertyCompany
from repairs.services.management import assign_company


def _day(values: dict, column: str) -> date | None:
    text = unicodedata.normalize("NFKC", values.get(column, "")).strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text.replace("/", "-"))
    except ValueError:
        raise RowError(_l("Write the date as 2026-12-01"), column) from None


@dataclass
class _Context:
    places: Places
    companies: dict  # folded name -> PropertyCompany
    managers: dict  # estate id -> open EstateManagement
    new_companies: dict = field(default_factory=dict)  # folded name -> [zh, en]
    new_estates: dict = field(default_factory=dict)  # (town id, folded name) -> line


def _prepare(session, rows, settings, actor=None) -> _Context:
    companies = {}
    for company in session.scalars(select(PropertyCompany)):
        for name in (company.name_zh, company.name_en):
            if name:
                companies[fold(name)] = company
    managers = {
        m.estate_id: m
        for m in session.scalars(
            select(EstateManagement).where(EstateManagement.valid_to.is_(None))
        )
    }
    return _Context(Places(session, actor), companies, managers)


def _assignment(ctx: _Context, session_less_estate, company, values, column_from) -> tuple:
    """(from date, is a change) for making `company` manage the estate; RowError if refused."""
    day = _day(values, column_from)
    estate = session_less_estate
    current = ctx.managers.get(estate.id) if estate is not None and estate.id else None
    if current is None:
        return day or MANAGED_SINCE_EVER, True
    if company is not None and current.company_id == company.id:
        return current.valid_from, False
    day = day or clock.today()
    if day < clock.today():
        raise RowError(
            _l(
                "The date must be today or later: reports already made stay with the company "
                "that managed the estate that day."
            ),
            column_from,
        )
    if day <= current.valid_from:
        raise RowError(
            _l(
                "The date must be after %(day)s, when the current period began.",
                day=current.valid_from.isoformat(),
            ),
            column_from,
        )
    return day, True


# --- estates ----------------------------------------------------------------------------------


def _check_estate(ctx: _Context, row) -> Planned:
    v = row.values
    town = ctx.places.town(v)
    if not v["name"]:
        raise RowError(_l("Fill in the name"), "name")
    if not v["address"]:
        raise RowError(_l("Fill in the address"), "address")
    latitude, longitude = coordinates(v)
    company = None
    if v["company"]:
        company = ctx.companies.get(fold(v["company"]))
        if company is None:
            raise RowError(
                _l(
                    "No property company called %(name)s: import it first (kind: companies)",
                    name=v["company"],
                ),
                "company",
            )
        if company.archived_at is not None:
            raise RowError(_l("This property company is archived: choose another."), "company")
    elif v["company_from"]:
        raise RowError(_l("A date needs a company"), "company_from")
    estate = ctx.places.estates.get((town.id, fold(v["name"])))
    wanted = {
        "name_en": v["name_en"] or None,
        "address_zh": v["address"],
        "address_en": v["address_en"] or None,
        "latitude": latitude,
        "longitude": longitude,
    }
    if estate is None:
        day = _assignment(ctx, None, company, v, "company_from")[0] if company else None
        return Planned("create", (town, v["name"], wanted, company, day))
    if estate.archived_at is not None:
        raise RowError(_l("This estate is archived."), "name")
    changes = {k: w for k, w in wanted.items() if w is not None and getattr(estate, k) != w}
    day, change = _assignment(ctx, estate, company, v, "company_from") if company else (None, False)
    said = list(changes) + (["company"] if change else [])
    if not said:
        return Planned("unchanged")
    return Planned("update", (estate, changes, company if change else None, day), ", ".join(said))


def _apply_estates(session, actor, ctx: _Context, planned) -> None:
    for plan in planned:
        if plan.outcome == "create":
            town, name, wanted, company, day = plan.payload
            estate = Estate(
                town_id=town.id,
                name_zh=name,
                name_en=wanted["name_en"] or name,
                address_zh=wanted["address_zh"],
                address_en=wanted["address_en"] or wanted["address_zh"],
                latitude=wanted["latitude"],
                longitude=wanted["longitude"],
            )
            session.add(estate)
            session.flush()
        else:
            estate, changes, company, day = plan.payload
            for name, value in changes.items():
                setattr(estate, name, value)
        if company is not None:
            try:
                assign_company(session, estate, company, day, actor)
            except DomainError as error:  # the data changed since the check
                raise RowError(error, "company") from None
    session.flush()


ESTATES = Kind(
    key="estates",
    label=_l("Estates"),
    description=_l(
        "Residential estates (住宅小区), each in a town, with the property company that manages "
        "it. Import the towns and the companies first."
    ),
    columns=(
        DISTRICT_COLUMN,
        TOWN_COLUMN,
        Column("name", True, "莘城苑", _l("The estate's name in Chinese")),
        Column("name_en", False, "Xincheng Garden", _l("Its name in English")),
        Column("address", True, "莘松路100弄", _l("The address in Chinese")),
        Column("address_en", False, "Lane 100, Xinsong Road", _l("The address in English")),
        Column("latitude", False, "31.1105", _l("WGS-84 (GPS) degrees north; or leave empty")),
        Column("longitude", False, "121.3712", _l("WGS-84 (GPS) degrees east; or leave empty")),
        Column("company", False, "莘庄物业", _l("The property company that manages it")),
        Column(
            "company_from",
            False,
            "",
            _l("From when, as 2026-12-01 (a change: today or later; empty: today)"),
        ),
    ),
    key_columns=("district", "town", "name"),
    prepare=_prepare,
    check=_check_estate,
    apply=_apply_estates,
    order=20,
)

# --- companies --------------------------------------------------------------------------------


def _check_company(ctx: _Context, row) -> Planned:
    v = row.values
    if not v["name"]:
        raise RowError(_l("Fill in the name"), "name")
    key = fold(v["name"])
    company = ctx.companies.get(key)
    outcome, said, company_change = "unchanged", [], None
    if company is None and key not in ctx.new_companies:
        ctx.new_companies[key] = [v["name"], v["name_en"] or v["name"]]
        outcome = "create"
    elif company is not None:
        if company.archived_at is not None:
            raise RowError(_l("This property company is archived: choose another."), "name")
        if v["name_en"] and v["name_en"] != company.name_en:
            company_change = v["name_en"]
            said.append("name_en")
    estate, day, change = None, None, False
    if v["estate"]:
        estate = ctx.places.estate(v)
        if estate.archived_at is not None:
            raise RowError(_l("This estate is archived."), "estate")
        day, change = _assignment(ctx, estate, company, v, "from")
        if change:
            said.append("estate")
    elif v["from"]:
        raise RowError(_l("A date needs an estate"), "from")
    if outcome == "unchanged" and said:
        outcome = "update"
    if outcome == "unchanged":
        return Planned("unchanged")
    payload = (key, company_change, estate if change else None, day)
    return Planned(outcome, payload, ", ".join(said) if outcome == "update" else "")


def _apply_companies(session, actor, ctx: _Context, planned) -> None:
    made: dict[str, PropertyCompany] = {}
    for plan in planned:
        key, name_en, estate, day = plan.payload
        company = ctx.companies.get(key) or made.get(key)
        if company is None:
            zh, en = ctx.new_companies[key]
            company = PropertyCompany(name_zh=zh, name_en=en)
            session.add(company)
            session.flush()
            made[key] = company
            record(session, actor, "repair.company_created", company, source="import")
        if name_en:
            company.name_en = name_en
        if estate is not None:
            try:
                assign_company(session, estate, company, day, actor)
            except DomainError as error:  # the data changed since the check
                raise RowError(error, "estate") from None
    session.flush()


COMPANIES = Kind(
    key="companies",
    label=_l("Property companies"),
    description=_l(
        "Property companies (物业企业) and the estates each manages: one row per company and "
        "estate (a company managing three estates has three rows), or one row with the estate "
        "empty for a company alone. A different company for an estate takes over from the date."
    ),
    columns=(
        Column("name", True, "莘庄物业", _l("The company's name in Chinese")),
        Column("name_en", False, "Xinzhuang Property", _l("Its name in English")),
        Column("district", False, "闵行区", _l("The estate's district")),
        Column("town", False, "莘庄镇", _l("The estate's town")),
        Column("estate", False, "莘城苑", _l("An estate it manages; empty for none")),
        Column(
            "from",
            False,
            "",
            _l("From when, as 2026-12-01 (a change: today or later; empty: today)"),
        ),
    ),
    key_columns=("name", "district", "town", "estate"),
    prepare=_prepare,
    check=_check_company,
    apply=_apply_companies,
    order=15,
    more_examples=(("莘庄物业", "Xinzhuang Property", "闵行区", "莘庄镇", "莘松新村", ""),),
)


def init_app(app) -> None:
    from app.imports.kinds import register_kind

    register_kind(app, COMPANIES)
    register_kind(app, ESTATES)
