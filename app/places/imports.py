"""Import kinds owned by places: `towns` and `households` (the household register).

Natural keys: a town is district + name; a household is estate + building + unit + room (as
normalised by `clean_address`), with each contact phone a row of its own."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select, update

from app import clock
from app.accounts.models import User
from app.errors import DomainError
from app.i18n import N_
from app.imports.kinds import DISTRICT_COLUMN, TOWN_COLUMN, Column, Kind, Planned, RowError
from app.imports.lookup import Places, fold
from app.notifications.services import notify
from app.places.models import ClaimStatus, HomeClaim, Household, HouseholdContact, Town
from app.places.services import clean_address, home_address

# --- towns ------------------------------------------------------------------------------------


@dataclass
class _TownsContext:
    places: Places
    codes: set[str]
    new: dict = field(default_factory=dict)  # (district id, folded name) -> line


def _prepare_towns(session, rows, settings, actor=None) -> _TownsContext:
    places = Places(session, actor, estates=False)
    return _TownsContext(places, set(session.scalars(select(Town.code))))


def _check_town(ctx: _TownsContext, row) -> Planned:
    v = row.values
    district = ctx.places.district(v["district"])
    if not v["name"]:
        raise RowError(_l("Fill in the name"), "name")
    code = v["code"]
    town = ctx.places.towns.get((district.id, fold(v["name"])))
    if town is None:
        if code and code in ctx.codes:
            raise RowError(_l("Another town has the code %(code)s", code=code), "code")
        code = code or f"{district.code}-{len(ctx.codes) + 1:03d}"
        while code in ctx.codes:
            code += "x"
        ctx.codes.add(code)
        return Planned("create", (district.id, v["name"], v["name_en"] or v["name"], code))
    changes = {}
    if v["name_en"] and v["name_en"] != town.name_en:
        changes["name_en"] = v["name_en"]
    if code and code != town.code:
        if code in ctx.codes:
            raise RowError(_l("Another town has the code %(code)s", code=code), "code")
        ctx.codes.add(code)
        changes["code"] = code
    if not changes:
        return Planned("unchanged")
    return Planned("update", (town, changes), ", ".join(changes))


def _apply_towns(session, actor, ctx, planned) -> None:
    for plan in planned:
        if plan.outcome == "create":
            district_id, name_zh, name_en, code = plan.payload
            session.add(Town(district_id=district_id, name_zh=name_zh, name_en=name_en, code=code))
        else:
            town, changes = plan.payload
            for name, value in changes.items():
                setattr(town, name, value)
    session.flush()


TOWNS = Kind(
    key="towns",
    label=_l("Towns"),
    description=_l("Towns and subdistricts (街镇) of a district."),
    columns=(
        DISTRICT_COLUMN,
        Column("name", True, "莘庄镇", _l("The town's name in Chinese")),
        Column("name_en", False, "Xinzhuang Town", _l("Its name in English")),
        Column("code", False, "xinzhuang", _l("A short code of your own; made up when empty")),
    ),
    key_columns=("district", "name"),
    prepare=_prepare_towns,
    check=_check_town,
    apply=_apply_towns,
    order=10,
)

# --- households -------------------------------------------------------------------------------


@dataclass
class _HouseholdsContext:
    places: Places
    households: dict  # (estate id, building, unit, room) -> (id, registered)
    contacts: set  # (household id, phone)
    register_phone_match: bool
    planned: dict = field(default_factory=dict)  # (address..., phone) -> line
    new: dict = field(default_factory=dict)  # address -> [Household] made by this file


def _prepare_households(session, rows, settings, actor=None) -> _HouseholdsContext:
    places = Places(session, actor)
    estate_ids = set()
    for row in rows:
        try:
            estate_ids.add(places.estate(row.values).id)
        except RowError:
            pass  # answered on its row
    households, contacts = {}, set()
    if estate_ids:
        # Plain rows, not ORM objects: 10,000 households load in a fraction of the time.
        for id_, estate_id, building, unit, room, registered in session.execute(
            select(
                Household.id,
                Household.estate_id,
                Household.building,
                Household.unit,
                Household.room,
                Household.registered,
            ).where(Household.estate_id.in_(estate_ids))
        ):
            households[(estate_id, building, unit, room)] = (id_, registered)
        contacts = set(
            session.execute(
                select(HouseholdContact.household_id, HouseholdContact.phone)
                .join(Household, Household.id == HouseholdContact.household_id)
                .where(Household.estate_id.in_(estate_ids))
            ).all()
        )
    return _HouseholdsContext(places, households, contacts, settings.register_phone_match)


def _check_household(ctx: _HouseholdsContext, row) -> Planned:
    from app.accounts.services import normalize_phone

    v = row.values
    estate = ctx.places.estate(v)
    try:
        parts = clean_address(v["building"], v["unit"], v["room"])
    except DomainError as error:
        raise RowError(error, error.field.removeprefix("home_")) from None
    phone = v["phone"]
    if phone:
        try:
            phone = normalize_phone(phone)
        except DomainError as error:
            raise RowError(error, "phone") from None
    address = (estate.id, *parts)
    first = ctx.planned.get((*address, phone))
    if first is not None:  # the same home written another way ("5号楼" and "5")
        return Planned("unchanged", message=_l("The same as line %(line)d", line=first))
    ctx.planned[(*address, phone)] = row.line
    household = ctx.households.get(address)
    new_phone = bool(phone) and (household is None or (household[0], phone) not in ctx.contacts)
    if household is None:
        if address in ctx.new:
            return Planned("update", (address, phone), _l("phone"))
        ctx.new[address] = row.line
        return Planned("create", (address, phone))
    if not household[1]:
        return Planned("update", (address, phone), _l("in the register"))
    if new_phone:
        return Planned("update", (address, phone), _l("phone"))
    return Planned("unchanged")


def _apply_households(session, actor, ctx: _HouseholdsContext, planned) -> None:
    """New households in one multi-row INSERT (ids returned for the contacts), households now in
    the register in one UPDATE per 500, the contacts in one INSERT, then the claims a
    registered phone confirms: a handful of statements for 10,000 rows."""
    new, register = {}, []
    for plan in planned:
        address, _phone = plan.payload
        known = ctx.households.get(address)
        if known is None:
            estate_id, building, unit, room = address
            new[address] = {
                "estate_id": estate_id,
                "building": building,
                "unit": unit,
                "room": room,
                "registered": True,
            }
        elif not known[1]:
            register.append(known[0])
    if new:
        made = session.execute(
            insert(Household).returning(
                Household.id,
                Household.estate_id,
                Household.building,
                Household.unit,
                Household.room,
                sort_by_parameter_order=True,
            ),
            list(new.values()),
        )
        for id_, estate_id, building, unit, room in made:
            ctx.households[(estate_id, building, unit, room)] = (id_, True)
    for start in range(0, len(register), 500):
        session.execute(
            update(Household)
            .where(Household.id.in_(register[start : start + 500]))
            .values(registered=True)
            .execution_options(synchronize_session=False)
        )
    added = set()
    for plan in planned:
        address, phone = plan.payload
        household_id = ctx.households[address][0]
        if phone and (household_id, phone) not in ctx.contacts:
            ctx.contacts.add((household_id, phone))
            added.add((household_id, phone))
    if added:
        session.execute(
            insert(HouseholdContact),
            [{"household_id": h, "phone": p} for h, p in sorted(added)],
        )
    if ctx.register_phone_match and added:
        _verify_by_register(session, ctx, added)


def _verify_by_register(session, ctx, added: set) -> None:
    """Pending claims to a household the register just gave the claimant's proven number."""
    phones = {phone for _id, phone in added}
    household_ids = {household_id for household_id, _phone in added}
    claims = session.execute(
        select(HomeClaim, User.phone)
        .join(User, User.id == HomeClaim.user_id)
        .where(
            HomeClaim.household_id.in_(household_ids),
            HomeClaim.status == ClaimStatus.PENDING,
            User.phone.in_(phones),
            User.phone_verified_at.is_not(None),  # a number proven by an SMS code only
        )
    ).all()
    for claim, phone in claims:
        if (claim.household_id, phone) not in added:
            continue
        claim.status, claim.decided_at, claim.decision_note = (
            ClaimStatus.VERIFIED,
            clock.now(),
            "register",
        )
        notify(
            session,
            claim.user_id,
            kind="home.decision",
            subject=N_("Your home %(address)s is confirmed"),
            body=N_("You can now see and join reports about your home."),
            params={"address": home_address(claim.household), "reason": ""},
            link="/profile",
        )


HOUSEHOLDS = Kind(
    key="households",
    label=_l("Households"),
    description=_l(
        "The household register an estate's property company keeps: one row per home, or per "
        "home and contact phone."
    ),
    columns=(
        Column("district", False, "闵行区", _l("The district; needed when two have the town")),
        TOWN_COLUMN,
        Column("estate", True, "莘城苑", _l("The estate: Chinese or English name")),
        Column("building", True, "5", _l("Building number: 5, 5号楼 and ５ are the same")),
        Column("unit", False, "2", _l("Unit number; empty where the estate has no units")),
        Column("room", True, "301", _l("Room number")),
        Column(
            "phone",
            False,
            "13900001111",
            _l("A contact mobile number; confirms that person's claim to the home when allowed"),
        ),
    ),
    key_columns=("district", "town", "estate", "building", "unit", "room", "phone"),
    prepare=_prepare_households,
    check=_check_household,
    apply=_apply_households,
    order=30,
)


def init_app(app) -> None:
    from app.imports.kinds import register_kind

    register_kind(app, TOWNS)
    register_kind(app, HOUSEHOLDS)
