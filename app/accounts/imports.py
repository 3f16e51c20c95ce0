"""The `staff` kind of the bulk import (app/imports): staff accounts invited by mobile number
with a role and the place it is held for, through app.accounts.staff_services.invite, so an
import and the staff pages share its rules (the role's kind of place, the administrator's
district, a deactivated account is not reactivated by an import) and its messages (the SMS
that tells a new member of staff how to sign in).

Columns: phone, name, role, scope_kind, scope_name. `role` is the role's code (property_manager)
or its name in either language; `scope_kind` is district, town, estate, company, venue or carpark
(empty for a role held everywhere); `scope_name` names the place, with its town (and district)
before it when the name alone is not unique: "莘庄镇/莘城苑", "闵行区/莘庄镇/莘城苑"; a property
company by its name (a property manager held for the company covers every estate it manages).
Natural key:
phone + role + place: an account that already holds the role there is "unchanged"."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.accounts.models import ROLE_LABELS, Role, RoleAssignment, User
from app.errors import DomainError
from app.imports.kinds import Column, Kind, Planned, RowError
from app.imports.lookup import Places, fold

SCOPE_KINDS = ("district", "town", "estate", "company", "venue", "carpark")


@dataclass
class _Context:
    session: object
    actor: object
    places: Places
    roles: dict  # folded code or label -> Role
    users: dict  # phone -> User
    held: set  # (user id, role, scope kind, scope id)
    named: dict  # scope kind -> {folded name: [objects]} for venues, car parks and companies


def _prepare(session, rows, settings, actor=None) -> _Context:
    from app.scopes import _SCOPE_MODELS

    roles = {}
    for role in Role:
        if role == Role.RESIDENT:
            continue
        roles[role.value] = role
        for locale in ("zh_CN", "en"):
            with force_locale(locale):
                roles[fold(str(ROLE_LABELS[role]))] = role
    phones = {r.values.get("phone", "") for r in rows} - {""}
    users = {u.phone: u for u in session.scalars(select(User).where(User.phone.in_(phones)))}
    held = set(
        session.execute(
            select(
                RoleAssignment.user_id,
                RoleAssignment.role,
                RoleAssignment.scope_kind,
                RoleAssignment.scope_id,
            ).where(RoleAssignment.user_id.in_([u.id for u in users.values()]))
        ).all()
    )
    named = {}
    for kind in ("venue", "carpark", "company"):
        model = _SCOPE_MODELS.get(kind)
        found: dict = {}
        if model is not None:
            for obj in session.scalars(select(model)):
                for name in {fold(obj.name_zh), fold(obj.name_en)}:
                    found.setdefault(name, []).append(obj)
                    if kind != "company":  # a company is in no town
                        found.setdefault(f"{fold(obj.town.name_zh)}/{name}", []).append(obj)
        named[kind] = found
    return _Context(session, actor, Places(session, actor), roles, users, held, named)


def _place(ctx: _Context, kind: str, name: str):
    parts = [p.strip() for p in name.replace("／", "/").split("/") if p.strip()]
    if kind == "district":
        return ctx.places.district(name, "scope_name")
    if kind in ("town", "estate"):
        values = {}
        if kind == "estate":
            values["estate"] = parts.pop() if parts else ""
        values["town"] = parts.pop() if parts else ""
        values["district"] = parts.pop() if parts else ""
        if kind == "estate" and not values["town"]:
            matches = [
                e for (_t, n), e in ctx.places.estates.items() if n == fold(values["estate"])
            ]
            if len({e.id for e in matches}) == 1:
                return matches[0]
            raise RowError(_l("Write the estate with its town, like 莘庄镇/莘城苑"), "scope_name")
        try:
            return ctx.places.estate(values) if kind == "estate" else ctx.places.town(values)
        except RowError as error:
            raise RowError(error.message, "scope_name") from None
    matches = ctx.named[kind].get("/".join(fold(p) for p in parts[-2:]), [])
    if len({m.id for m in matches}) != 1:
        if matches:
            raise RowError(_l("Several places have this name: write its town first"), "scope_name")
        raise RowError(_l("No %(kind)s called %(name)s", kind=kind, name=name), "scope_name")
    return matches[0]


def _check(ctx: _Context, row) -> Planned:
    from app.accounts.services import normalize_phone
    from app.accounts.staff_services import check_scope

    v = row.values
    if ctx.actor is None:
        raise RowError(_l("Only an administrator can import staff (the command: --actor)"), "")
    try:
        phone = normalize_phone(v["phone"])
    except DomainError as error:
        raise RowError(error, "phone") from None
    if not v["name"]:
        raise RowError(_l("Fill in the name"), "name")
    role = ctx.roles.get(fold(v["role"]))
    if role is None:
        raise RowError(_l("No role called %(name)s", name=v["role"]), "role")
    kind = fold(v["scope_kind"])
    if kind and kind not in SCOPE_KINDS:
        raise RowError(
            _l("Write the kind of place as one of: %(kinds)s", kinds=", ".join(SCOPE_KINDS)),
            "scope_kind",
        )
    obj, scope = None, None
    if kind:
        if not v["scope_name"]:
            raise RowError(_l("Name the place"), "scope_name")
        obj = _place(ctx, kind, v["scope_name"])
        scope = f"{obj.scope_kind}:{obj.id}"
    try:
        check_scope(ctx.session, ctx.actor, role, scope)
    except DomainError as error:
        raise RowError(error, "scope_kind" if error.field == "scope" else "role") from None
    user = ctx.users.get(phone)
    if user is not None:
        if (user.id, role, obj.scope_kind if obj else None, obj.id if obj else None) in ctx.held:
            return Planned("unchanged")
        if not user.active:
            raise RowError(
                _l("This number's account is deactivated. Reactivate it on its page first."),
                "phone",
            )
        return Planned("update", (phone, v["name"], role, scope), _l("role"))
    return Planned("create", (phone, v["name"], role, scope))


def _apply(session, actor, ctx: _Context, planned) -> None:
    from app.accounts.staff_services import StaffSettings, invite

    settings = StaffSettings.from_app(current_app)
    for plan in planned:
        phone, name, role, scope = plan.payload
        try:
            invite(
                session, actor, phone=phone, name=name, role=role, scope=scope, settings=settings
            )
        except DomainError as error:
            column = {"scope": "scope_name"}.get(error.field, error.field or "phone")
            raise RowError(error, column) from None
    session.flush()


STAFF = Kind(
    key="staff",
    label=_l("Staff accounts"),
    description=_l(
        "Staff invited by mobile number, with a role and the place it is held for: one row per "
        "role. A new account is told by SMS how to sign in; an existing one gets the role."
    ),
    columns=(
        Column("phone", True, "13900002222", _l("The mobile number")),
        Column("name", True, "张经理", _l("The name, for a new account")),
        Column("role", True, "property_manager", _l("The role: its code or its name")),
        Column(
            "scope_kind",
            False,
            "estate",
            _l(
                "district, town, estate, company, venue or carpark; empty for a role held "
                "everywhere"
            ),
        ),
        Column(
            "scope_name",
            False,
            "莘庄镇/莘城苑",
            _l("The place, with its town first when its name is not unique"),
        ),
    ),
    key_columns=("phone", "role", "scope_kind", "scope_name"),
    prepare=_prepare,
    check=_check,
    apply=_apply,
    order=60,
)
