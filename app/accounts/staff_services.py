"""Staff accounts, administered in the browser (/admin/staff) and by the bulk import's `staff`
kind: invite a staff member by mobile number, give and take roles with their scopes, deactivate
and reactivate accounts.

What it guarantees:
- Every change is one unit of work (`app.db.unit_of_work`, joining the caller's: an import
  applies all its rows in one transaction) with an audit entry (`staff.*`) in it: the change
  and its trace commit together or not at all.
- A role is given only for a scope its kind allows (`Role.scope_kinds`), an object that exists,
  and that the acting administrator covers: an installation-wide administrator (an unscoped
  ADMINISTRATOR role) covers everything; a district administrator (ADMINISTRATOR scoped to a
  district) covers only objects whose `scope_chain` names their district, never an unscoped
  (installation-wide) role. Refusals are DomainErrors with a code and the form field.
- An invitation never overwrites an existing account: the number's account (a resident's, say)
  gets the role added and keeps its name and password. A new account has no password
  (`password_set` False): its holder signs in with an SMS code on the normal sign-in page (or,
  where staff need a second factor, sets a password with a code first); the text message that
  says so is written in the same unit (app/sms outbox) and sent only if the invitation commits.
- The installation is never left without an active installation-wide administrator: the last
  one cannot take away their administrator role nor be deactivated (`last_administrator`).
- Deactivating ends every session of the account at once (app/accounts/sessions.py); API tokens
  stop working because their owner is inactive.

Services take a session, the actor (the administrator) and `StaffSettings`; they read no Flask
globals except Babel's `force_locale` for the Chinese role name an SMS carries (an app context,
which every caller has: a request, a CLI command, a test).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from app.accounts import passwords, sessions
from app.accounts.models import SCOPE_REQUIRED, Role, RoleAssignment, User
from app.accounts.services import normalize_phone
from app.audit.services import record
from app.db import unit_of_work
from app.errors import Conflict, DomainError, Forbidden, NotFound
from app.i18n import N_
from app.notifications.params import localized
from app.notifications.services import notify
from app.scopes import resolve_scope
from app.sms.services import send as send_sms
from app.sms.settings import SmsSettings

# The roles an administrator gives here: every role but "resident" (which people get by
# registering) in the order the role select lists them.
STAFF_ROLES = [role for role in Role if role != Role.RESIDENT]
INVITE_SMS = "staff.invited"  # SMS_TEMPLATES kinds (app/config.py)
INVITE_SMS_PASSWORD = "staff.invited_password"  # nosec B105  # an SMS template kind, not a password


@dataclass(frozen=True)
class StaffSettings:
    sms: SmsSettings
    portal_url: str  # PORTAL_URL: the sign-in page's address in the invitation SMS
    second_factor_roles: frozenset  # SIGNIN_SECOND_FACTOR_ROLES (app.accounts.signin)
    hash_method: str = "scrypt"

    @classmethod
    def from_app(cls, app) -> StaffSettings:
        from app.accounts.signin import settings_of
        from app.notifications.settings import settings_for

        signin = settings_of(app)
        return cls(
            sms=signin.sms,
            portal_url=settings_for(app).portal_url,
            second_factor_roles=signin.second_factor_roles,
            hash_method=signin.hash_method,
        )


# --- who may do what ---------------------------------------------------------------------------


def is_admin_everywhere(user) -> bool:
    """Does `user` administer the whole installation (an unscoped administrator role)?"""
    return any(a.role == Role.ADMINISTRATOR and a.scope_kind is None for a in user.roles)


def covers(actor, obj) -> bool:
    """May `actor` give or take roles for `obj` (a scope object; None: an unscoped role)?"""
    if is_admin_everywhere(actor):
        return True
    return obj is not None and actor.has_role(Role.ADMINISTRATOR, obj)


def scope_object(session, assignment: RoleAssignment):
    """The object an assignment is held for, or None (unscoped, or the object is gone)."""
    if assignment.scope_kind is None:
        return None
    try:
        return resolve_scope(session, f"{assignment.scope_kind}:{assignment.scope_id}")
    except DomainError:
        return None


def can_manage_assignment(session, actor, assignment: RoleAssignment) -> bool:
    """May `actor` take this role away (they cover its scope)?"""
    if assignment.scope_kind is None:
        return is_admin_everywhere(actor)
    obj = scope_object(session, assignment)
    return obj is not None and covers(actor, obj)


def can_see_account(session, actor, user: User) -> bool:
    """May `actor` see this staff account: everywhere-administrators see all; a district
    administrator sees accounts holding at least one role inside their district."""
    if is_admin_everywhere(actor):
        return True
    return any(can_manage_assignment(session, actor, a) for a in user.roles)


def can_deactivate(session, actor, user: User) -> bool:
    """May `actor` deactivate (or reactivate) `user`: they cover every staff role the account
    holds (a district administrator cannot lock out someone who also works elsewhere)."""
    staff = [a for a in user.roles if a.role != Role.RESIDENT]
    if is_admin_everywhere(actor):
        return True
    return bool(staff) and all(can_manage_assignment(session, actor, a) for a in staff)


def _require_admin(actor) -> None:
    if not actor.has_role(Role.ADMINISTRATOR):
        raise Forbidden(_l("Only administrators manage staff accounts."), code="not_admin")


def check_scope(session, actor, role: Role, scope: str | None):
    """The object a new `role` assignment is for (None for an unscoped role), checked: the role
    takes this kind of scope (or needs one), the object exists, and `actor` covers it. Raises
    DomainError (field "scope" or "role") otherwise."""
    _require_admin(actor)
    role = Role(role)
    if role == Role.RESIDENT:
        raise DomainError(_l("Choose a staff role."), field="role", code="not_a_staff_role")
    obj = None
    if scope:
        obj = resolve_scope(session, scope)
        if obj.scope_kind not in role.scope_kinds:
            raise DomainError(
                _l("This role cannot be held for that kind of place."),
                field="scope",
                code="wrong_scope_kind",
            )
        if getattr(obj, "archived_at", None) is not None:
            raise DomainError(_l("That place is archived."), field="scope", code="archived")
    elif role in SCOPE_REQUIRED:
        raise DomainError(
            _l("This role is held for one place: choose it."), field="scope", code="scope_needed"
        )
    if not covers(actor, obj):
        raise Forbidden(
            _l("You can give roles only for places in your district."),
            field="scope",
            code="outside_your_district",
        )
    return obj


# --- invitations and roles ----------------------------------------------------------------------


@dataclass(frozen=True)
class Invitation:
    user: User
    assignment: RoleAssignment
    created: bool  # a new account (else the role was added to the number's account)


def invite(
    session,
    actor,
    *,
    phone: str,
    name: str,
    role: Role,
    scope: str | None,
    settings: StaffSettings,
) -> Invitation:
    """Invite a staff member: give `role` (for `scope`, "kind:id", checked by `check_scope`)
    to the account of `phone`, creating it (named `name`, without a password) when the number
    has none. The invitee is told by SMS how to sign in, and in their inbox. One unit of work
    with an audit entry "staff.invite". Refusals: `invalid_phone`, the `check_scope` codes,
    `already_holds` (the account holds this role for this scope), `inactive` (a deactivated
    account: reactivate it first)."""
    phone = normalize_phone(phone)
    name = (name or "").strip()
    if not name:
        raise DomainError(_l("Enter the staff member's name"), field="name", code="name_needed")
    role = Role(role)
    try:
        with unit_of_work(session):
            obj = check_scope(session, actor, role, scope)
            user = session.scalar(select(User).where(User.phone == phone))
            created = user is None
            if created:
                user = User(
                    phone=phone,
                    name=name,
                    password_set=False,
                    password_hash=passwords.unusable_hash(settings.hash_method),
                )
                session.add(user)
            elif not user.active:
                raise DomainError(
                    _l("This number's account is deactivated. Reactivate it on its page first."),
                    field="phone",
                    code="inactive",
                )
            assignment = _add_role(session, user, role, obj)
            session.flush()
            entry = record(
                session, actor, "staff.invite", user, role=role.value, scope=scope, created=created
            )
            _file_under(entry, obj, actor)
            _tell(session, user, role, obj, settings, sms=True)
    except IntegrityError:  # the same number invited twice at once
        raise Conflict(
            _l("This number was invited a moment ago. Look it up in the list."),
            field="phone",
            code="phone_taken",
        ) from None
    return Invitation(user=user, assignment=assignment, created=created)


def grant_role(
    session, actor, user: User, *, role: Role, scope: str | None, settings: StaffSettings
) -> RoleAssignment:
    """Give `user` `role` for `scope` (checked by `check_scope`); they are told in their inbox
    (and by SMS when they chose that channel). One unit of work, audit entry "staff.grant".
    Refuses `already_holds`."""
    role = Role(role)
    with unit_of_work(session):
        obj = check_scope(session, actor, role, scope)
        assignment = _add_role(session, user, role, obj)
        session.flush()
        entry = record(session, actor, "staff.grant", user, role=role.value, scope=scope)
        _file_under(entry, obj, actor)
        _tell(session, user, role, obj, settings, sms=False)
    return assignment


def revoke_role(session, actor, user: User, assignment_id: int) -> None:
    """Take one of `user`'s roles away (the assignment `assignment_id`). One unit of work,
    audit entry "staff.revoke". Refuses `not_found` (not one of theirs), `outside_your_district`
    and `last_administrator` (it is the last active installation-wide administrator's)."""
    _require_admin(actor)
    with unit_of_work(session):
        assignment = next((a for a in user.roles if a.id == assignment_id), None)
        if assignment is None or assignment.role == Role.RESIDENT:
            raise NotFound(_l("That role has already been removed."), code="not_found")
        if not can_manage_assignment(session, actor, assignment):
            raise Forbidden(
                _l("You can remove roles only for places in your district."),
                code="outside_your_district",
            )
        if (
            assignment.role == Role.ADMINISTRATOR
            and assignment.scope_kind is None
            and _last_admin(session, user)
        ):
            raise DomainError(_LAST_ADMIN, code="last_administrator")
        entry = record(
            session,
            actor,
            "staff.revoke",
            user,
            role=assignment.role.value,
            scope=_scope_text(assignment),
        )
        _file_under(entry, scope_object(session, assignment), actor)
        user.roles.remove(assignment)


def set_active(session, actor, user: User, active: bool) -> None:
    """Deactivate (`active` False) or reactivate `user`. Deactivating ends all their sessions
    in the same unit. Audit entries "staff.deactivate" / "staff.reactivate". Refuses
    `outside_your_district` (the account holds roles the actor does not cover) and
    `last_administrator`; changing nothing (already in that state) writes nothing."""
    _require_admin(actor)
    with unit_of_work(session):
        if not can_deactivate(session, actor, user):
            raise Forbidden(
                _l("This account also works outside your district: ask an administrator."),
                code="outside_your_district",
            )
        if user.active == active:
            return
        if not active and is_admin_everywhere(user) and _last_admin(session, user):
            raise DomainError(_LAST_ADMIN, code="last_administrator")
        user.active = active
        if not active:
            sessions.end_all(session, user, reason="deactivated")
        entry = record(session, actor, "staff.reactivate" if active else "staff.deactivate", user)
        _file_under(entry, None, actor)


_LAST_ADMIN = _l(
    "This is the last administrator of the whole portal. Make someone else an administrator first."
)


def _file_under(entry, obj, actor) -> None:
    """File an audit entry about an account under the district of the place its role is for
    (else the acting district administrator's), so that district's audit log shows it; the
    account itself has no district (app.audit.services.record files it under none)."""
    chain = getattr(obj, "scope_chain", None) or []
    district = next((scope_id for kind, scope_id in chain if kind == "district"), None)
    if district is None and not is_admin_everywhere(actor):
        district = next(iter(actor.scopes(Role.ADMINISTRATOR, "district")), None)
    entry.district_id = district


def _last_admin(session, user: User) -> bool:
    """Is `user` the only active installation-wide administrator?"""
    others = session.scalar(
        select(func.count(User.id.distinct()))
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(
            RoleAssignment.role == Role.ADMINISTRATOR,
            RoleAssignment.scope_kind.is_(None),
            User.active.is_(True),
            User.id != user.id,
        )
    )
    return not others


def _add_role(session, user: User, role: Role, obj) -> RoleAssignment:
    kind, scope_id = (obj.scope_kind, obj.id) if obj is not None else (None, None)
    for existing in user.roles:
        if (existing.role, existing.scope_kind, existing.scope_id) == (role, kind, scope_id):
            raise Conflict(
                _l("This account already holds that role for that place."),
                field="scope",  # shown on the place step, the place still chosen
                code="already_holds",
            )
    assignment = RoleAssignment(role=role, scope_kind=kind, scope_id=scope_id)
    user.roles.append(assignment)
    return assignment


def _scope_text(assignment: RoleAssignment) -> str | None:
    if assignment.scope_kind is None:
        return None
    return f"{assignment.scope_kind}:{assignment.scope_id}"


def role_name_zh(role: Role) -> str:
    with force_locale("zh_Hans_CN"):
        return str(role.label)


def role_name_en(role: Role) -> str:
    with force_locale("en"):
        return str(role.label)


def _tell(session, user: User, role: Role, obj, settings: StaffSettings, *, sms: bool) -> None:
    """The inbox message about a new role, and for an invitation the SMS that says how to
    sign in (to the number as typed: it is not proven yet, so the outbox's channel plan,
    which sends only to proven numbers, would not send it)."""
    place = (
        localized(obj.name_zh, obj.name_en)
        if obj is not None
        else localized("整个平台", "the whole portal")
    )
    notify(
        session,
        user.id,
        kind="staff.role",
        subject=N_("New role: %(role)s"),
        body=N_("For: %(place)s. Your workspace is on the home page."),
        params={"role": localized(role_name_zh(role), role_name_en(role)), "place": place},
        link="/",
    )
    if not sms:
        return
    password_first = role in settings.second_factor_roles and not user.password_set
    send_sms(
        session,
        user.phone,
        INVITE_SMS_PASSWORD if password_first else INVITE_SMS,
        {
            "role": role_name_zh(role),
            "url": settings.portal_url + ("/password/forgot" if password_first else "/login"),
        },
        settings.sms,
    )


# --- reading --------------------------------------------------------------------------------------


def staff_accounts(
    session, actor, *, q: str = "", role: Role | None = None, scope: str | None = None
) -> list[User]:
    """The staff accounts `actor` may see (`can_see_account`), the newest first: those whose
    name contains `q` or whose number contains its digits; holding `role` (for `scope`, "kind"
    or "kind:id", when given)."""
    query = (
        select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role != Role.RESIDENT, User.deleted_at.is_(None))
        .distinct()
        .order_by(User.id.desc())
    )
    q = (q or "").strip()
    if q:
        digits = "".join(c for c in q if c.isdigit())
        found = [User.name.contains(q, autoescape=True)]
        if digits:
            found.append(User.phone.contains(digits, autoescape=True))
        query = query.where(or_(*found))
    if role is not None:
        query = query.where(RoleAssignment.role == Role(role))
    if scope:
        kind, _, scope_id = scope.partition(":")
        query = query.where(RoleAssignment.scope_kind == kind)
        if scope_id.isdigit():
            query = query.where(RoleAssignment.scope_id == int(scope_id))
    users = session.scalars(query).unique().all()
    return [u for u in users if can_see_account(session, actor, u)]


def scope_choices(session, actor, kind: str, q: str = "") -> list:
    """The objects of `kind` the actor may give roles for (not archived), by name; those whose
    Chinese or English name contains `q` when given."""
    # The registry's own table: app.scopes offers resolve one "kind:id", not a kind's model.
    from app.scopes import _SCOPE_MODELS

    model = _SCOPE_MODELS.get(kind)
    if model is None:
        return []
    query = select(model)
    if hasattr(model, "archived_at"):
        query = query.where(model.archived_at.is_(None))
    q = (q or "").strip()
    if q:
        query = query.where(
            or_(
                model.name_zh.contains(q, autoescape=True),
                func.lower(model.name_en).contains(q.lower(), autoescape=True),
            )
        )
    found = session.scalars(query.order_by(model.name_zh)).all()
    return [obj for obj in found if covers(actor, obj)]
