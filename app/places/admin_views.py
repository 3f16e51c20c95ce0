"""Administration of places in the browser (issue 15): districts, towns and estates, and the
shared pieces (hub, searchable paged lists, the archive confirmation) that the property
companies' (repairs/admin_views.py) and car parks' (parking/admin_views.py) pages use too.

Who: administrators. An administrator held for a district (app/accounts/models.py ROLE_SCOPES)
sees and changes only that district's places: lists are narrowed by `overseen_district_ids`,
and every object is checked with `user.has_role(Role.ADMINISTRATOR, obj)`, which reads the
object's scope chain. Creating a district takes an installation-wide administrator."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app.accounts.models import Role
from app.auth import authorize, require_role
from app.errors import DomainError
from app.extensions import db
from app.forms import submit_to_service
from app.paging import page_size, paginate
from app.places import admin_services
from app.places.admin_forms import (
    ConfirmForm,
    DistrictForm,
    EstateForm,
    SearchForm,
    TownForm,
)
from app.places.districts import overseen_district_ids
from app.places.models import District, Estate, Town

bp = Blueprint("place_admin", __name__, url_prefix="/admin")
ADMIN = Role.ADMINISTRATOR


def districts_overseen() -> list[int] | None:
    """The districts the signed-in administrator administers (None: all)."""
    return overseen_district_ids(current_user, ADMIN)


def load_for_admin(model, thing_id: int):
    """The row, if the signed-in administrator may administer it: 404 if it does not exist,
    403 if it is another district's."""
    thing = db.session.get(model, thing_id)
    if thing is None:
        abort(404)
    authorize(current_user, ADMIN, obj=thing)
    return thing


def listing(model, *, title, row, new_url=None, new_label=None, extra=None):
    """A searchable, paged list page of `model` (its name or code matching ?q=), narrowed to
    the administrator's districts; `row(thing)` gives (title, url, details)."""
    form = SearchForm(request.args)
    things = admin_services.search(
        db.session,
        model,
        form.q.data if form.validate() else "",
        district_ids=districts_overseen(),
        extra=extra,
    )
    page = paginate(
        things,
        request.args.get("page"),
        page_size(getattr(current_user, "elderly_mode", False)),
        request.path,
        request.args,
    )
    rows = []
    for thing in page.items:
        heading, url, details = row(thing)
        rows.append(
            {"title": heading, "url": url, "details": details, "archived": thing.archived_at}
        )
    page = replace(page, items=rows)
    return render_template(
        "admin/places/list.html",
        title=title,
        form=form,
        page=page,
        new_url=new_url,
        new_label=new_label,
    )


def archive_page(thing, *, name, back_url, lines_archive, lines_restore):
    """The confirmation step before archiving `thing` (or restoring it, if archived): GET shows
    what it means, POST does it and goes back."""
    form = ConfirmForm()
    archived = thing.archived_at is not None
    if form.validate_on_submit():
        admin_services.set_archived(db.session, current_user, thing, not archived)
        flash(
            _("%(name)s restored.", name=name) if archived else _("%(name)s archived.", name=name)
        )
        return redirect(back_url)
    return render_template(
        "admin/places/confirm.html",
        form=form,
        title=_("Restore %(name)s?", name=name) if archived else _("Archive %(name)s?", name=name),
        lines=lines_restore if archived else lines_archive,
        button=_("Yes, restore it") if archived else _("Yes, archive it"),
        warning=not archived,
        cancel_url=back_url,
    )


ARCHIVE_LINES = [
    _l("It will no longer be offered to residents or in choices for new records."),
    _l("Its history stays: past reports, bookings and records still name it."),
    _l("You can restore it later."),
]
RESTORE_LINES = [_l("It will be offered again.")]


def show_page(*, title, back_url, facts, actions, archive_url, archived, **history):
    return render_template(
        "admin/places/show.html",
        title=title,
        back_url=back_url,
        facts=facts,
        actions=actions,
        archive_url=archive_url,
        archived=archived,
        history=history.get("history"),
        history_title=history.get("history_title"),
        history_label=history.get("history_label"),
    )


def town_choices() -> list[SelectChoice]:
    """The live towns of the administrator's districts, "district · town"."""
    query = (
        select(Town)
        .join(District)
        .where(Town.archived_at.is_(None), District.archived_at.is_(None))
        .order_by(District.code, Town.name_zh)
    )
    ids = districts_overseen()
    if ids is not None:
        query = query.where(Town.district_id.in_(ids))
    return [
        SelectChoice("", _("Choose a town")),
        *(SelectChoice(t.id, f"{t.district.name} · {t.name}") for t in db.session.scalars(query)),
    ]


def chosen_town(form) -> Town | None:
    """The town chosen on `form`, if it is one the administrator may use; else an error on the
    field."""
    town = db.session.get(Town, form.town_id.data) if form.town_id.data else None
    if town is None or not current_user.has_role(ADMIN, town):
        form.town_id.errors = [_("Choose a town")]
        return None
    return town


# Service packages add to an estate's page without the frame knowing them (repairs: who manages
# it, with the history): functions estate -> {"actions": [(label, url)], "history": {...}}.
ESTATE_SECTIONS = "place_admin_estate_sections"


def register_estate_section(app, section) -> None:
    app.extensions.setdefault(ESTATE_SECTIONS, []).append(section)


def _url(endpoint: str) -> str | None:
    return url_for(endpoint) if endpoint in current_app.view_functions else None


# --- The hub -----------------------------------------------------------------------------------


@bp.route("/places")
@require_role(ADMIN)
def index():
    links = [
        (_("Districts"), url_for(".districts"), _("Names, hotline, service names, footer")),
        (_("Towns"), url_for(".towns"), _("The towns and subdistricts of each district")),
        (_("Estates"), url_for(".estates"), _("Addresses, coordinates and homes")),
        (
            _("Property companies"),
            _url("company_admin.companies"),
            _("Response windows, working hours, which estates each manages"),
        ),
        (
            _("Car parks"),
            _url("carpark_admin.car_parks"),
            _("Spaces, operators, tariffs"),
        ),
        (
            _("Venues"),
            _url("venue_staff.admin_list"),
            _("Spaces, opening hours, photos"),
        ),
    ]
    # The company and car park pages belong to their packages, which an installation may leave
    # out.
    links = [link for link in links if link[1]]
    return render_template("admin/places/index.html", links=links)


# --- Districts ---------------------------------------------------------------------------------


@bp.route("/districts")
@require_role(ADMIN)
def districts():
    return listing(
        District,
        title=_("Districts"),
        row=lambda d: (d.name, url_for(".district", district_id=d.id), [d.code, d.hotline]),
        new_url=url_for(".district_new") if current_user.holds_everywhere(ADMIN) else None,
        new_label=_("Add a district"),
    )


@bp.route("/districts/<int:district_id>")
@require_role(ADMIN)
def district(district_id: int):
    d = load_for_admin(District, district_id)
    return show_page(
        title=d.name,
        back_url=url_for(".districts"),
        facts=[
            (_("District code"), d.code),
            (_("Hotline"), d.hotline),
            (_("Name of the booking service"), d.booking_name or "–"),
            (_("Who runs the portal"), d.footer or "–"),
            (_("Towns"), len(d.towns)),
        ],
        actions=[
            (_("Edit"), url_for(".district_edit", district_id=d.id)),
            (_("Add a town"), url_for(".town_new", district=d.id)),
        ],
        archive_url=url_for(".district_archive", district_id=d.id),
        archived=d.archived_at is not None,
    )


@bp.route("/districts/new", methods=["GET", "POST"], endpoint="district_new")
@bp.route("/districts/<int:district_id>/edit", methods=["GET", "POST"])
@require_role(ADMIN)
def district_edit(district_id: int | None = None):
    if district_id is None:
        if not current_user.holds_everywhere(ADMIN):
            abort(403)
        d = None
    else:
        d = load_for_admin(District, district_id)
    form = DistrictForm(obj=d)
    done = submit_to_service(
        form,
        lambda: admin_services.save_district(db.session, current_user, d, form.data),
        success=_("District saved."),
        then=lambda saved: url_for(".district", district_id=saved.id),
    )
    return done or render_template(
        "admin/places/form.html",
        form=form,
        title=_("Edit %(name)s", name=d.name) if d else _("Add a district"),
        back_url=url_for(".district", district_id=d.id) if d else url_for(".districts"),
    )


@bp.route("/districts/<int:district_id>/archive", methods=["GET", "POST"])
@require_role(ADMIN)
def district_archive(district_id: int):
    d = load_for_admin(District, district_id)
    return archive_page(
        d,
        name=d.name,
        back_url=url_for(".district", district_id=d.id),
        lines_archive=[
            _("Residents will no longer be able to choose it, and its towns take no new places."),
            *ARCHIVE_LINES[1:],
        ],
        lines_restore=RESTORE_LINES,
    )


# --- Towns -------------------------------------------------------------------------------------


@bp.route("/towns")
@require_role(ADMIN)
def towns():
    return listing(
        Town,
        title=_("Towns"),
        row=lambda t: (
            t.name,
            url_for(".town", town_id=t.id),
            [
                t.district.name,
                t.code,
                ngettext("%(num)d estate", "%(num)d estates", len(t.estates)),
            ],
        ),
        new_url=url_for(".town_new"),
        new_label=_("Add a town"),
    )


@bp.route("/towns/<int:town_id>")
@require_role(ADMIN)
def town(town_id: int):
    t = load_for_admin(Town, town_id)
    return show_page(
        title=t.name,
        back_url=url_for(".towns"),
        facts=[
            (_("District"), t.district.name),
            (_("Town code"), t.code),
            (_("Estates"), len(t.estates)),
        ],
        actions=[
            (_("Edit"), url_for(".town_edit", town_id=t.id)),
            (_("Add an estate"), url_for(".estate_new", town=t.id)),
        ],
        archive_url=url_for(".town_archive", town_id=t.id),
        archived=t.archived_at is not None,
    )


def _district_choices():
    query = select(District).where(District.archived_at.is_(None)).order_by(District.code)
    ids = districts_overseen()
    if ids is not None:
        query = query.where(District.id.in_(ids))
    return [SelectChoice("", _("Choose a district"))] + [
        SelectChoice(d.id, d.name) for d in db.session.scalars(query)
    ]


@bp.route("/towns/new", methods=["GET", "POST"], endpoint="town_new")
@bp.route("/towns/<int:town_id>/edit", methods=["GET", "POST"])
@require_role(ADMIN)
def town_edit(town_id: int | None = None):
    t = load_for_admin(Town, town_id) if town_id is not None else None
    form = TownForm(obj=t)
    form.district_id.choices = _district_choices()
    if t is None and request.method == "GET":
        form.district_id.data = request.args.get("district", type=int)

    def save():
        district = db.session.get(District, form.district_id.data or 0)
        if district is None or not current_user.has_role(ADMIN, district):
            raise DomainError(_l("Choose a district"), field="district_id")
        return admin_services.save_town(db.session, current_user, t, form.data, district)

    done = submit_to_service(
        form,
        save,
        success=_("Town saved."),
        then=lambda saved: url_for(".town", town_id=saved.id),
    )
    return done or render_template(
        "admin/places/form.html",
        form=form,
        title=_("Edit %(name)s", name=t.name) if t else _("Add a town"),
        back_url=url_for(".town", town_id=t.id) if t else url_for(".towns"),
    )


@bp.route("/towns/<int:town_id>/archive", methods=["GET", "POST"])
@require_role(ADMIN)
def town_archive(town_id: int):
    t = load_for_admin(Town, town_id)
    return archive_page(
        t,
        name=t.name,
        back_url=url_for(".town", town_id=t.id),
        lines_archive=ARCHIVE_LINES,
        lines_restore=RESTORE_LINES,
    )


# --- Estates -----------------------------------------------------------------------------------


@bp.route("/estates")
@require_role(ADMIN)
def estates():
    return listing(
        Estate,
        title=_("Estates"),
        row=lambda e: (
            e.name,
            url_for(".estate", estate_id=e.id),
            [e.town.district.name, e.town.name, e.address],
        ),
        new_url=url_for(".estate_new"),
        new_label=_("Add an estate"),
    )


@bp.route("/estates/<int:estate_id>")
@require_role(ADMIN)
def estate(estate_id: int):
    e = load_for_admin(Estate, estate_id)
    homes = admin_services.household_counts(db.session, [e.id]).get(e.id, 0)
    section = {"actions": [], "history": {}}
    for add in current_app.extensions.get(ESTATE_SECTIONS, ()):
        more = add(e)
        section["actions"] += more.get("actions", [])
        section["history"].update(more.get("history", {}))
    where = f"{e.latitude:.6f}, {e.longitude:.6f}" if e.latitude is not None else _("Not surveyed")
    return show_page(
        title=e.name,
        back_url=url_for(".estates"),
        facts=[
            (_("District"), e.town.district.name),
            (_("Town"), e.town.name),
            (_("Address"), e.address),
            (_("Coordinates (WGS-84)"), where),
            (_("Homes on record"), homes),
        ],
        actions=[(_("Edit"), url_for(".estate_edit", estate_id=e.id)), *section["actions"]],
        archive_url=url_for(".estate_archive", estate_id=e.id),
        archived=e.archived_at is not None,
        **section["history"],
    )


@bp.route("/estates/new", methods=["GET", "POST"], endpoint="estate_new")
@bp.route("/estates/<int:estate_id>/edit", methods=["GET", "POST"])
@require_role(ADMIN)
def estate_edit(estate_id: int | None = None):
    e = load_for_admin(Estate, estate_id) if estate_id is not None else None
    form = EstateForm(obj=e)
    form.town_id.choices = town_choices()
    if e is None and request.method == "GET":
        form.town_id.data = request.args.get("town", type=int)

    def save():
        town = chosen_town(form)
        if town is None:
            raise DomainError(_l("Choose a town"), field="town_id")
        return admin_services.save_estate(db.session, current_user, e, form.data, town)

    done = submit_to_service(
        form,
        save,
        success=_("Estate saved."),
        then=lambda saved: url_for(".estate", estate_id=saved.id),
    )
    return done or render_template(
        "admin/places/form.html",
        form=form,
        title=_("Edit %(name)s", name=e.name) if e else _("Add an estate"),
        back_url=url_for(".estate", estate_id=e.id) if e else url_for(".estates"),
    )


@bp.route("/estates/<int:estate_id>/archive", methods=["GET", "POST"])
@require_role(ADMIN)
def estate_archive(estate_id: int):
    e = load_for_admin(Estate, estate_id)
    return archive_page(
        e,
        name=e.name,
        back_url=url_for(".estate", estate_id=e.id),
        lines_archive=[
            _("Residents can no longer choose it as their home or report repairs there."),
            *ARCHIVE_LINES[1:],
        ],
        lines_restore=RESTORE_LINES,
    )


def init_app(app) -> None:
    from app.registry import Link, register_workspace_links

    app.register_blueprint(bp)

    def links(user, assignment):
        return [Link(_l("Places and organisations"), url_for("place_admin.index"))]

    register_workspace_links(app, Role.ADMINISTRATOR, links)
