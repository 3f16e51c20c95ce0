"""The `carparks` kind of the bulk import (app/imports): car parks with their size, reservable
pool and operator. Natural key: district + town + name.

A new car park's size and pool, and a changed one's, go through operator.set_capacity, as on
the operator's page: the pool's buckets follow, never below what is already reserved, and the
total never below the cars inside. The operator (operator_phone) must already have an account
(import it with the `staff` kind, or leave the column empty and add them on the staff pages);
they are given the car-park operator role for this car park."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import clock
from app.accounts.models import Role, RoleAssignment, User
from app.audit.services import record
from app.errors import DomainError
from app.imports.kinds import DISTRICT_COLUMN, TOWN_COLUMN, Column, Kind, Planned, RowError
from app.imports.lookup import Places, coordinates, fold, whole_number
from parking.models import KIND_LABELS, CarPark, CarParkKind


@dataclass
class _Context:
    places: Places
    parks: dict  # (town id, folded name) -> CarPark
    kinds: dict  # folded value or label -> CarParkKind
    users: dict  # phone -> User
    operators: set  # (user id, car park id)


def _prepare(session, rows, settings, actor=None) -> _Context:
    parks = {}
    for park in session.scalars(select(CarPark)):
        for name in {fold(park.name_zh), fold(park.name_en)}:
            parks[(park.town_id, name)] = park
    kinds = {}
    for kind in CarParkKind:
        kinds[kind.value] = kind
        for locale in ("zh_CN", "en"):
            with force_locale(locale):
                kinds[fold(str(KIND_LABELS[kind]))] = kind
    phones = {r.values.get("operator_phone", "") for r in rows} - {""}
    users = {}
    if phones:
        from app.accounts.services import normalize_phone

        wanted = set()
        for phone in phones:
            try:
                wanted.add(normalize_phone(phone))
            except DomainError:
                pass  # answered on its row
        users = {u.phone: u for u in session.scalars(select(User).where(User.phone.in_(wanted)))}
    operators = set(
        session.execute(
            select(RoleAssignment.user_id, RoleAssignment.scope_id).where(
                RoleAssignment.role == Role.CARPARK_OPERATOR
            )
        ).all()
    )
    return _Context(Places(session, actor, estates=False), parks, kinds, users, operators)


def _check(ctx: _Context, row) -> Planned:
    from app.accounts.services import normalize_phone

    v = row.values
    town = ctx.places.town(v)
    if not v["name"]:
        raise RowError(_l("Fill in the name"), "name")
    kind = ctx.kinds.get(fold(v["kind"]))
    if kind is None:
        raise RowError(
            _l(
                "Write the kind as one of: %(kinds)s",
                kinds=", ".join(k.value for k in CarParkKind),
            ),
            "kind",
        )
    if not v["address"]:
        raise RowError(_l("Fill in the address"), "address")
    latitude, longitude = coordinates(v)
    if latitude is None:
        raise RowError(_l("A car park needs its latitude and longitude"), "latitude")
    total = whole_number(v, "total_spaces")
    reservable = whole_number(v, "reservable_spaces", default=0)
    if reservable > total:
        raise RowError(
            _l("The reservable pool cannot be larger than the car park."), "reservable_spaces"
        )
    operator = None
    if v["operator_phone"]:
        try:
            phone = normalize_phone(v["operator_phone"])
        except DomainError as error:
            raise RowError(error, "operator_phone") from None
        operator = ctx.users.get(phone)
        if operator is None:
            raise RowError(
                _l("No account has the number %(phone)s: import the staff first", phone=phone),
                "operator_phone",
            )
    wanted = {
        "name_en": v["name_en"] or None,
        "kind": kind,
        "address_zh": v["address"],
        "address_en": v["address_en"] or None,
        "latitude": latitude,
        "longitude": longitude,
    }
    park = ctx.parks.get((town.id, fold(v["name"])))
    if park is None:
        return Planned("create", (None, town, v["name"], wanted, total, reservable, operator))
    if getattr(park, "archived_at", None) is not None:
        raise RowError(_l("This car park is archived."), "name")
    if total < park.occupied:
        raise RowError(
            _l("There are %(n)d cars inside now; the total cannot be smaller.", n=park.occupied),
            "total_spaces",
        )
    changes = {k: w for k, w in wanted.items() if w is not None and getattr(park, k) != w}
    said = list(changes)
    if (total, reservable) != (park.total_spaces, park.reservable_spaces):
        said.append("total_spaces" if total != park.total_spaces else "reservable_spaces")
    if operator is not None and (operator.id, park.id) not in ctx.operators:
        said.append("operator_phone")
    if not said:
        return Planned("unchanged")
    payload = (park, town, v["name"], changes, total, reservable, operator)
    return Planned("update", payload, ", ".join(said))


def _apply(session, actor, ctx: _Context, planned) -> None:
    from parking import current_settings
    from parking.services import operator as operations

    pool_days = current_settings().pool_days
    for plan in planned:
        park, town, name, changes, total, reservable, operator = plan.payload
        if park is None:
            park = CarPark(
                town_id=town.id,
                name_zh=name,
                name_en=changes["name_en"] or name,
                address_zh=changes["address_zh"],
                address_en=changes["address_en"] or changes["address_zh"],
                kind=changes["kind"],
                latitude=changes["latitude"],
                longitude=changes["longitude"],
                total_spaces=0,
                reservable_spaces=0,
                occupied=0,
            )
            session.add(park)
            session.flush()
        else:
            for key, value in changes.items():
                setattr(park, key, value)
            park.updated_at = clock.now()
        if (total, reservable) != (park.total_spaces, park.reservable_spaces):
            try:
                operations.set_capacity(
                    session,
                    park,
                    total_spaces=total,
                    reservable_spaces=reservable,
                    grace_minutes=park.grace_minutes or 30,
                    cancel_cutoff_minutes=park.cancel_cutoff_minutes or 30,
                    open=park.open if park.open is not None else True,
                    pool_days=pool_days,
                )
            except DomainError as error:  # the cars inside changed since the check
                raise RowError(error, "total_spaces") from None
        if operator is not None and (operator.id, park.id) not in ctx.operators:
            session.add(
                RoleAssignment(
                    user_id=operator.id,
                    role=Role.CARPARK_OPERATOR,
                    scope_kind="carpark",
                    scope_id=park.id,
                )
            )
            ctx.operators.add((operator.id, park.id))
            record(
                session, actor, "staff.grant", operator, role="carpark_operator", source="import"
            )
        record(session, actor, "parking.car_park_saved", park, town=town.id, source="import")
    session.flush()


CARPARKS = Kind(
    key="carparks",
    label=_l("Car parks"),
    description=_l(
        "Car parks with their spaces, the spaces residents may reserve, and their operator. "
        "Import the operators' accounts first (kind: staff), or leave operator_phone empty."
    ),
    columns=(
        DISTRICT_COLUMN,
        TOWN_COLUMN,
        Column("name", True, "莘庄地铁站停车场", _l("The car park's name in Chinese")),
        Column("name_en", False, "Xinzhuang Metro Car Park", _l("Its name in English")),
        Column("kind", True, "public", _l("public, hospital, mall or residential")),
        Column("address", True, "莘庄镇莘建路1号", _l("The address in Chinese")),
        Column("address_en", False, "1 Xinjian Road", _l("The address in English")),
        Column("latitude", True, "31.1110", _l("WGS-84 (GPS) degrees north")),
        Column("longitude", True, "121.3850", _l("WGS-84 (GPS) degrees east")),
        Column("total_spaces", True, "300", _l("All its spaces")),
        Column(
            "reservable_spaces", False, "40", _l("Spaces residents may reserve; 0 or empty: none")
        ),
        Column(
            "operator_phone",
            False,
            "13900002222",
            _l("The mobile number of its operator's account"),
        ),
    ),
    key_columns=("district", "town", "name"),
    prepare=_prepare,
    check=_check,
    apply=_apply,
    order=40,
)


def init_app(app) -> None:
    from app.imports.kinds import register_kind

    register_kind(app, CARPARKS)
