"""Administration of property companies (issue 15): create and edit a company (names, the
response window, working hours), see which estates it manages with the history, archive it,
and change an estate's company from a date, with a confirmation step (the change cannot be
undone: the history keeps it, and reports already made stay with the company of their day).
The rules are in repairs/services/management.py."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app import clock
from app.accounts.models import Role, held_for
from app.accounts.services import mask_phone
from app.auth import require_role
from app.errors import DomainError
from app.extensions import db
from app.forms import add_error, submit_to_service
from app.paging import page_size, paginate
from app.places.admin_forms import ChangeCompanyForm, CompanyForm, SearchForm
from app.places.admin_views import (
    ARCHIVE_LINES,
    RESTORE_LINES,
    archive_page,
    load_for_admin,
    show_page,
)
from app.places.models import Estate
from app.templating import listing
from repairs.models import PropertyCompany
from repairs.services import management

bp = Blueprint("company_admin", __name__, url_prefix="/admin")
ADMIN = Role.ADMINISTRATOR


def _company(company_id: int) -> PropertyCompany:
    company = db.session.get(PropertyCompany, company_id)
    if company is None:
        abort(404)
    if not management.administers_company(db.session, current_user, company):
        abort(403)
    return company


def _day(value) -> str:
    from app.i18n import human_date

    return human_date(value, "long") if value else _("now")


def estate_history(estate: Estate) -> dict:
    """The estate page's table: which company managed it, from and until when."""
    rows = management.history(db.session, estate_id=estate.id)
    return {
        "history": [
            (
                r.company.name,
                url_for("company_admin.company", company_id=r.company_id),
                _day(r.valid_from) if r.valid_from != management_since_ever() else _("On record"),
                _day(r.valid_to),
            )
            for r in rows
        ],
        "history_title": _("Property companies of this estate"),
        "history_label": _("Property company"),
    }


def management_since_ever():
    from repairs.models import MANAGED_SINCE_EVER

    return MANAGED_SINCE_EVER


@bp.route("/companies")
@require_role(ADMIN)
def companies():
    form = SearchForm(request.args)
    query = select(PropertyCompany).order_by(
        PropertyCompany.archived_at.is_not(None), PropertyCompany.name_zh
    )
    text = form.q.data.strip() if form.validate() and form.q.data else ""
    if text:
        like = f"%{text}%"
        query = query.where(
            PropertyCompany.name_zh.ilike(like) | PropertyCompany.name_en.ilike(like)
        )
    found = [
        c
        for c in db.session.scalars(query)
        if management.administers_company(db.session, current_user, c)
    ]
    page = paginate(
        found,
        request.args.get("page"),
        page_size(getattr(current_user, "elderly_mode", False)),
        request.path,
        request.args,
    )
    from dataclasses import replace

    rows = [
        {
            "title": c.name,
            "url": url_for(".company", company_id=c.id),
            "details": [_("Answers within %(n)d minutes", n=c.response_minutes)],
            "archived": c.archived_at,
        }
        for c in page.items
    ]
    return render_template(
        "admin/places/list.html",
        title=_("Property companies"),
        form=form,
        page=replace(page, items=rows),
        new_url=url_for(".company_new"),
        new_label=_("Add a property company"),
    )


@bp.route("/companies/<int:company_id>")
@require_role(ADMIN)
def company(company_id: int):
    c = _company(company_id)
    now = {m for m in db.session.scalars(management.managed_estate_ids(c.id))}
    rows = management.history(db.session, company_id=c.id)
    hours = (
        f"{clock.hhmm(c.work_starts)}–{clock.hhmm(c.work_ends)}"
        if c.work_starts is not None
        else _("24 hours a day")
    )
    # Each with a masked number: two managers may share a name.
    managers = [
        _("%(name)s (%(phone)s)", name=u.name, phone=mask_phone(u.phone)) if u.phone else u.name
        for u in held_for(db.session, Role.PROPERTY_MANAGER, c)
    ]
    return show_page(
        title=c.name,
        back_url=url_for(".companies"),
        facts=[
            (_("Response window"), _("%(n)d minutes", n=c.response_minutes)),
            (_("Working hours"), hours),
            (_("Estates managed today"), len(now)),
            # Held for the company: they cover every estate it manages (issue 15).
            (_("Managers for the whole company"), listing(managers) or _("None yet")),
        ],
        actions=[
            (_("Edit"), url_for(".company_edit", company_id=c.id)),
            (
                _("Give or take manager roles"),
                url_for("staff_admin.index", scope=f"company:{c.id}"),
            ),
        ],
        archive_url=url_for(".company_archive", company_id=c.id),
        archived=c.archived_at is not None,
        history=[
            (
                r.estate.name,
                url_for("place_admin.estate", estate_id=r.estate_id),
                _day(r.valid_from) if r.valid_from != management_since_ever() else _("On record"),
                _day(r.valid_to),
            )
            for r in rows
        ],
        history_title=_("Estates this company manages or managed"),
        history_label=_("Estate"),
    )


@bp.route("/companies/new", methods=["GET", "POST"], endpoint="company_new")
@bp.route("/companies/<int:company_id>/edit", methods=["GET", "POST"])
@require_role(ADMIN)
def company_edit(company_id: int | None = None):
    c = _company(company_id) if company_id is not None else None
    if c is None and not management.administers_company(db.session, current_user, None):
        abort(403)
    # The hours are minutes in the row and "HH:MM" on the form: the row fills the form only
    # when it is shown, never under a posted answer (a field left out would keep the minutes).
    form = CompanyForm(obj=c if request.method == "GET" else None)
    if c is not None and request.method == "GET":
        form.work_starts.data = clock.hhmm(c.work_starts) if c.work_starts is not None else ""
        form.work_ends.data = clock.hhmm(c.work_ends) if c.work_ends is not None else ""
        form.work_days.data = list(c.work_days)
    done = submit_to_service(
        form,
        lambda: management.save_company(db.session, current_user, c, form.data),
        success=_("Property company saved."),
        then=lambda saved: url_for(".company", company_id=saved.id),
    )
    return done or render_template(
        "admin/places/form.html",
        form=form,
        title=_("Edit %(name)s", name=c.name) if c else _("Add a property company"),
        back_url=url_for(".company", company_id=c.id) if c else url_for(".companies"),
    )


@bp.route("/companies/<int:company_id>/archive", methods=["GET", "POST"])
@require_role(ADMIN)
def company_archive(company_id: int):
    c = _company(company_id)
    return archive_page(
        c,
        name=c.name,
        back_url=url_for(".company", company_id=c.id),
        lines_archive=[
            _("It can take no new estates; those it manages now stay with it until changed."),
            _("Its reports and ratings stay."),
            str(ARCHIVE_LINES[2]),
        ],
        lines_restore=RESTORE_LINES,
    )


@bp.route("/estates/<int:estate_id>/company", methods=["GET", "POST"])
@require_role(ADMIN)
def change(estate_id: int):
    """Change the estate's company from a date: the form, then a confirmation page saying what
    it does, then the change."""
    estate = load_for_admin(Estate, estate_id)
    form = ChangeCompanyForm()
    form.company_id.choices = [SelectChoice("", _("Choose a company"))] + [
        SelectChoice(c.id, c.name)
        for c in db.session.scalars(
            select(PropertyCompany)
            .where(PropertyCompany.archived_at.is_(None))
            .order_by(PropertyCompany.name_zh)
        )
    ]
    back = url_for("place_admin.estate", estate_id=estate.id)
    if request.method == "GET":
        form.from_date.data = clock.today()
    if form.validate_on_submit():
        chosen = form.company_id.data
        company = db.session.get(PropertyCompany, chosen) if chosen else None
        try:
            if company is None:
                raise DomainError(_("Choose a company"), field="company_id")
            outcome = management.check_assignment(db.session, estate, company, form.from_date.data)
            if outcome.unchanged:
                raise DomainError(
                    _("%(name)s already manages this estate.", name=company.name),
                    field="company_id",
                )
            if form.confirmed.data == "yes":
                management.assign_company(
                    db.session, estate, company, form.from_date.data, current_user
                )
                flash(
                    _(
                        "From %(day)s %(company)s manages %(estate)s.",
                        day=_day(form.from_date.data),
                        company=company.name,
                        estate=estate.name,
                    ),
                    "success",
                )
                return redirect(back)
        except DomainError as error:
            if error.field == "company":
                error.field = "company_id"
            add_error(form, error)
        else:
            return _confirm_change(form, estate, company, outcome.previous, back)
    return render_template(
        "admin/places/form.html",
        form=form,
        title=_("Change the property company of %(name)s", name=estate.name),
        back_url=back,
        submit_label=_("Continue"),
    )


def _confirm_change(form, estate, company, previous, back):
    day = _day(form.from_date.data)
    lines = [
        _(
            "From %(day)s, new repair reports for %(estate)s go to %(company)s.",
            day=day,
            estate=estate.name,
            company=company.name,
        )
    ]
    if previous is not None:
        lines.append(
            _(
                "Reports made before then stay with %(previous)s and count in its rating.",
                previous=previous.name,
            )
        )
    lines.append(_("The change is kept in the estate’s history and cannot be undone."))
    return render_template(
        "admin/places/confirm.html",
        form=form,
        title=_("Change the property company of %(name)s?", name=estate.name),
        lines=lines,
        hidden={
            "company_id": company.id,
            "from_date": form.from_date.data.isoformat(),
            "confirmed": "yes",
        },
        button=_("Yes, change the company"),
        warning=True,
        cancel_url=back,
    )


def _estate_section(estate: Estate) -> dict:
    return {
        "actions": [
            (_("Change the property company"), url_for("company_admin.change", estate_id=estate.id))
        ],
        "history": estate_history(estate),
    }


def init_app(app) -> None:
    from app.places.admin_views import register_estate_section

    app.register_blueprint(bp)
    register_estate_section(app, _estate_section)
