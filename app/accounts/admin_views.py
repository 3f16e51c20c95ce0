"""Staff accounts for administrators (/admin/staff): the list with search and filters, a page
per account with its roles, inviting by mobile number, adding and removing roles, deactivating
and reactivating. District administrators see and change only their district's staff
(app/accounts/staff_services.py decides; these pages parse, authorize, call it and render).

Choosing a role's place works without JavaScript in two steps: the role first, then a list of
the places of the kind that role is held for (shortened by a name filter), the answers of the
first step carried in hidden fields."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from accessibility import current_display_mode
from app.accounts import staff_services as staff
from app.accounts.models import DisplayMode, Role, User
from app.accounts.services import mask_phone
from app.accounts.staff_forms import (
    SCOPE_KIND_LABELS,
    ConfirmForm,
    InviteForm,
    RoleForm,
    StaffSearchForm,
)
from app.auth import require_role
from app.errors import DomainError
from app.extensions import db
from app.forms import add_error, member_or_none
from app.paging import page_size, paginate
from app.scopes import resolve_scope

bp = Blueprint("staff_admin", __name__, url_prefix="/admin/staff")


def settings() -> staff.StaffSettings:
    return staff.StaffSettings.from_app(current_app)


def _role_or_none(value) -> Role | None:
    role = member_or_none(Role, value)
    return role if role in staff.STAFF_ROLES else None


def _account_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        abort(404)
    if not staff.can_see_account(db.session, current_user, user):
        abort(404)  # another district's staff: as if it did not exist
    return user


def held_roles(user: User) -> list[dict]:
    """`user`'s staff roles as the pages show them: the role, the kind and name of its place
    (in the reader's language) and whether the reader may remove it."""
    rows = []
    for assignment in sorted(user.roles, key=lambda a: (a.role.value, a.scope_id or 0)):
        if assignment.role == Role.RESIDENT:
            continue
        obj = staff.scope_object(db.session, assignment)
        rows.append(
            {
                "assignment": assignment,
                "role": assignment.role.label,
                "kind": SCOPE_KIND_LABELS.get(assignment.scope_kind or "", ""),
                "place": obj.name if obj is not None else None,
                "removable": staff.can_manage_assignment(db.session, current_user, assignment),
            }
        )
    return rows


def signin_way(user: User) -> str:
    """How the account signs in, as its administrator tells the person: a staff role that needs
    a password and a code (SIGNIN_SECOND_FACTOR_ROLES) cannot sign in with a code alone, so a
    new account without a password sets one first (what its invitation SMS says)."""
    second_factor = bool(user.role_set & settings().second_factor_roles)
    if user.password_set:
        return _("Password and SMS code") if user.phone else _("Password")
    if second_factor:
        return _(
            "No password yet: they set one with a code sent to their number (the invitation "
            "says how), then sign in with the password and a code"
        )
    return _("SMS code only (no password yet)")


@bp.route("")
@require_role(Role.ADMINISTRATOR)
def index():
    """Staff accounts, searched by name or number and filtered by role and kind of place."""
    form = StaffSearchForm(request.args)
    form.validate()
    scope = request.args.get("scope") or form.kind.data or None
    if scope and scope.partition(":")[0] not in SCOPE_KIND_LABELS:
        scope = None
    accounts = staff.staff_accounts(
        db.session,
        current_user,
        q=form.q.data or "",
        role=_role_or_none(form.role.data),
        scope=scope,
    )
    elderly = current_display_mode() == DisplayMode.ELDERLY
    page = paginate(
        accounts, request.args.get("page"), page_size(elderly), request.path, request.args
    )
    # Opened for one place (a company's "its managers" link, an account's place link): the page
    # says so and the search keeps it.
    place = None
    if scope and ":" in scope:
        kind = scope.partition(":")[0]
        try:
            obj = resolve_scope(db.session, scope)
        except DomainError:
            obj = None
        if obj is not None:
            place = _("%(kind)s: %(name)s", kind=SCOPE_KIND_LABELS[kind], name=obj.name)
    return render_template(
        "admin/staff/index.html",
        form=form,
        page=page,
        place=place,
        scope=scope if place else None,
        rows=[(user, mask_phone(user.phone), held_roles(user)) for user in page.items],
    )


@bp.route("/<int:user_id>")
@require_role(Role.ADMINISTRATOR)
def account(user_id: int):
    user = _account_or_404(user_id)
    return render_template(
        "admin/staff/account.html",
        user=user,
        # The whole number, here only: the administrator checks it is the right person's (a
        # mistyped invitation went to someone else) and calls them about their access. The
        # list, which shows many people at once, masks it.
        phone=user.phone or "",
        roles=held_roles(user),
        signin_way=signin_way(user),
        can_deactivate=staff.can_deactivate(db.session, current_user, user),
    )


# --- inviting and adding roles ---------------------------------------------------------------


EVERYWHERE = "all"  # the place answer of a role held for the whole portal
RADIOS_UP_TO = 8


def _place_name(obj) -> str:
    """A place as the list names it: an estate with its town, since estates of different towns
    (and districts) share names."""
    if obj.scope_kind == "estate":
        return _("%(name)s (%(town)s)", name=obj.name, town=obj.town.name)
    return obj.name


def _place_step(form: RoleForm, role: Role) -> None:
    """Fill the place list for `role` (the places of its kinds that the administrator covers,
    filtered by the name in `q`; each value "kind:id"); an installation-wide administrator may
    also choose "everywhere" for a role that does not need a place. A role held for several
    kinds of place (a property manager: an estate, or a whole company) lists each kind's
    places under its kind's name."""
    kinds = role.scope_kinds
    choices = []
    for kind in kinds:
        places = staff.scope_choices(db.session, current_user, kind, form.q.data or "")
        kind_label = SCOPE_KIND_LABELS.get(kind, _l("Place"))
        choices += [
            (
                f"{kind}:{obj.id}",
                _("%(kind)s: %(name)s", kind=kind_label, name=_place_name(obj))
                if len(kinds) > 1
                else _place_name(obj),
            )
            for obj in sorted(places, key=lambda o: o.name)  # the reader's language's order
        ]
    if role not in staff.SCOPE_REQUIRED and staff.is_admin_everywhere(current_user):
        choices.insert(0, (EVERYWHERE, _("Everywhere: the whole portal")))
    # A short list is shown as radios (large targets); a long one as a select whose first
    # option chooses nothing, so that nobody sends its first place by mistake.
    form.scope.radios = len(choices) <= RADIOS_UP_TO
    if choices and not form.scope.radios:
        choices.insert(0, ("", _("Choose a place")))
    form.scope.choices = choices
    labels = [str(SCOPE_KIND_LABELS.get(kind, _l("Place"))) for kind in kinds]
    form.scope.label.text = (
        # "Estate or property company": the second name starts lower case inside the phrase.
        _("%(first)s or %(second)s", first=labels[0], second=labels[1][:1].lower() + labels[1][1:])
        if len(labels) == 2
        else labels[0]
    )


def _role_step(form: RoleForm, *, first_fields: tuple[str, ...]):
    """Where a two-step role form is: ("first", None, None) to show the first step again,
    ("place", role, None) to ask for the place, ("save", role, scope) to act."""
    action = request.form.get("action", "continue")
    role = _role_or_none(form.role.data)
    valid = form.validate()
    if form.role.data and role is None:
        form.role.errors = list(form.role.errors) + [_("Choose a role")]
    if not valid or role is None or action == "back":
        first_errors = any(getattr(form, name).errors for name in first_fields)
        if role is None or first_errors or action == "back":
            return "first", None, None
    if role.scope_kind is None:
        return "save", role, None
    _place_step(form, role)
    if action != "save":
        form.scope.errors = []
        return "place", role, None
    chosen = form.scope.data or ""
    if not chosen or chosen not in {value for value, _label in form.scope.choices}:
        form.scope.errors = [_("Choose a place from the list")]
        return "place", role, None
    return "save", role, None if chosen == EVERYWHERE else chosen


@bp.route("/invite", methods=["GET", "POST"])
@require_role(Role.ADMINISTRATOR)
def invite():
    """Invite a staff member: number, name and role; then the role's place."""
    form = InviteForm()
    if request.method == "GET":
        return render_template("admin/staff/invite.html", form=form)
    step, role, scope = _role_step(form, first_fields=("phone", "name", "role"))
    if step == "save":
        try:
            invitation = staff.invite(
                db.session,
                current_user,
                phone=form.phone.data,
                name=form.name.data,
                role=role,
                scope=scope,
                settings=settings(),
            )
        except DomainError as error:
            step = _error_step(form, error, role, ("phone", "name", "role"))
        else:
            message = (
                _("%(name)s is invited and told by SMS how to sign in.", name=invitation.user.name)
                if invitation.created
                else _(
                    "%(name)s already had an account: the role is added.",
                    name=invitation.user.name,
                )
            )
            flash(message, "success")
            return redirect(url_for("staff_admin.account", user_id=invitation.user.id))
    if step == "place":
        return _place_page(form, role, url_for("staff_admin.invite"), ("phone", "name", "role"))
    return render_template("admin/staff/invite.html", form=form)


@bp.route("/<int:user_id>/roles/add", methods=["GET", "POST"])
@require_role(Role.ADMINISTRATOR)
def add_role(user_id: int):
    user = _account_or_404(user_id)
    form = RoleForm()
    if request.method == "GET":
        return render_template("admin/staff/add_role.html", form=form, user=user)
    step, role, scope = _role_step(form, first_fields=("role",))
    if step == "save":
        try:
            staff.grant_role(
                db.session, current_user, user, role=role, scope=scope, settings=settings()
            )
        except DomainError as error:
            step = _error_step(form, error, role, ("role",))
        else:
            flash(_("The role is added."), "success")
            return redirect(url_for("staff_admin.account", user_id=user.id))
    if step == "place":
        action = url_for("staff_admin.add_role", user_id=user.id)
        return _place_page(form, role, action, ("role",), user=user)
    return render_template("admin/staff/add_role.html", form=form, user=user)


def _error_step(form, error: DomainError, role: Role, first_fields: tuple[str, ...]) -> str:
    """Show a refusal on the step that has its field: a role without a place has no place step,
    so a refusal of its scope (a district administrator and a portal-wide role) is the role's."""
    if role.scope_kind is None and error.field == "scope":
        error.field = "role"
    add_error(form, error)
    if error.field in first_fields:
        return "first"
    return "first" if role.scope_kind is None else "place"


def _place_page(form, role: Role, action: str, carried: tuple[str, ...], user=None):
    return render_template(
        "admin/staff/place.html",
        form=form,
        role=role,
        action=action,
        carried=[getattr(form, name) for name in carried],
        user=user,
        back=url_for("staff_admin.account", user_id=user.id)
        if user
        else url_for("staff_admin.index"),
    )


# --- removing a role, deactivating ---------------------------------------------------------------


@bp.route("/<int:user_id>/roles/<int:assignment_id>/remove", methods=["GET", "POST"])
@require_role(Role.ADMINISTRATOR)
def remove_role(user_id: int, assignment_id: int):
    """The confirmation page (GET), and removing the role (POST)."""
    user = _account_or_404(user_id)
    held = next((r for r in held_roles(user) if r["assignment"].id == assignment_id), None)
    if held is None:
        abort(404)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            staff.revoke_role(db.session, current_user, user, assignment_id)
        except DomainError as error:
            flash(str(error), "error")
        else:
            flash(_("The role is removed."), "success")
        return redirect(url_for("staff_admin.account", user_id=user_id))
    return render_template("admin/staff/remove_role.html", user=user, held=held, form=form)


@bp.route("/<int:user_id>/deactivate", methods=["GET", "POST"])
@require_role(Role.ADMINISTRATOR)
def deactivate(user_id: int):
    return _set_active(user_id, False)


@bp.route("/<int:user_id>/reactivate", methods=["GET", "POST"])
@require_role(Role.ADMINISTRATOR)
def reactivate(user_id: int):
    return _set_active(user_id, True)


def _set_active(user_id: int, active: bool):
    user = _account_or_404(user_id)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            staff.set_active(db.session, current_user, user, active)
        except DomainError as error:
            flash(str(error), "error")
        else:
            flash(
                _("The account is active again.") if active else _("The account is deactivated."),
                "success",
            )
        return redirect(url_for("staff_admin.account", user_id=user_id))
    return render_template("admin/staff/set_active.html", user=user, active=active, form=form)


def init_app(app) -> None:
    from app.registry import Link, register_workspace_links

    app.register_blueprint(bp)
    register_workspace_links(
        app,
        Role.ADMINISTRATOR,
        lambda user, assignment: [Link(_l("Staff accounts"), url_for("staff_admin.index"))],
    )
