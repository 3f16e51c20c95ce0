"""物业百事通 pages for staff: the property manager's queue and actions, the supervisors'
dashboards, notes and monthly rating, and the district's company settings. Same blueprint as
views.py, so every endpoint keeps its name (repairs.queue, repairs.act, ...)."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app import clock
from app.accounts.models import Role
from app.auth import require_role
from app.csvexport import csv_response
from app.errors import DomainError
from app.extensions import db
from app.forms import add_error, error_list, member_or_none, submit_to_service
from app.places import districts
from app.places import services as homes
from app.places.models import Estate
from app.scopes import covered_ids, held_objects
from app.urls import int_arg
from repairs.forms import ActionForm, CompanyForm, NoteForm, QueueFilterForm
from repairs.models import Category, EstateManagement, PropertyCompany, State
from repairs.services import access, supervision, tickets
from repairs.services import companies as companies_service
from repairs.services import rating as rating_service
from repairs.views import back_to, bp, link_by, ticket_form_action, ticket_or_404
from repairs.views import ticket as ticket_page

# The manager's actions in the order the ticket page offers them, each its own form with only
# the fields it reads (repairs/forms.py ActionForm, prefixed by the action so ids stay unique).
ACTION_ORDER = ("acknowledge", "reply", "assign", "visit", "start", "resolve", "duplicate")


def _action_forms(ticket) -> list:
    """(action, form) for each action the ticket's state allows now (`tickets.manager_may`),
    the visit's form holding the technician already named; a form just refused keeps what was
    typed and its errors."""
    failed = g.get("repairs_failed_action")
    forms = []
    for action in ACTION_ORDER:
        if not tickets.manager_may(ticket, action):
            continue
        if failed is not None and failed[0] == action:
            forms.append(failed)
            continue
        data = {}
        if action == "visit":
            data = {
                "technician_name": ticket.technician_name or "",
                "technician_phone": ticket.technician_phone or "",
            }
        forms.append((action, ActionForm(prefix=action, formdata=None, data=data)))
    return forms


@bp.app_context_processor
def staff_ticket_helpers():
    """For the ticket page's staff parts: the action forms open now and who may call the
    resident. After a refused action, `form` is that form, so the page title says "Error"."""
    helpers = {"manager_forms": _action_forms, "may_call_resident": access.may_call_resident}
    failed = g.get("repairs_failed_action")
    if failed is not None:
        helpers["failed_action_form"] = helpers["form"] = failed[1]
    return helpers


@bp.route("/tickets/<reference>/act", methods=["POST"])
@login_required
def act(reference: str):
    item = ticket_or_404(reference)
    action = request.form.get("action", "")
    # The ticket page's forms are prefixed by their action; the queue's one-tap Acknowledge and
    # older clients send the fields unprefixed.
    prefixed = action in tickets.ACTIONS and any(k.startswith(f"{action}-") for k in request.form)
    form = ActionForm(prefix=action if prefixed else "")
    from_queue = request.form.get("from") == "queue"
    if form.validate_on_submit():
        confirm = _duplicate_question(item, action, form)
        if confirm is not None:
            return confirm
        try:
            tickets.act(
                db.session,
                current_user,
                item,
                action,
                message=form.message_text(),
                technician_name=form.technician_name.data or "",
                technician_phone=form.technician_phone.data or "",
                visit_at=form.visit_time(),
                duplicate_of=form.duplicate_of.data or "",
            )
        except DomainError as error:
            add_error(form, error)
        else:
            # The report named and its new state said: a manager of many estates acts on one
            # report among dozens in the queue, and "done" read as "repaired".
            flash(
                _(
                    "%(ref)s is now “%(state)s”. The resident has been told.",
                    ref=item.reference,
                    state=item.state.label,
                ),
                "success",
            )
            return redirect(url_for("repairs.queue")) if from_queue else back_to(item)
    if from_queue:
        for _target, message in error_list(form):
            flash(message, "error")
        return redirect(url_for("repairs.queue"))
    # Shown again on the ticket page with the answers kept and the errors linked to their fields.
    g.repairs_failed_action = (action, form)
    return ticket_page(reference)


def _duplicate_question(item, action: str, form):
    """Marking a duplicate cannot be undone: before it, a page naming both reports asks
    (None: nothing to ask, already confirmed, or no such open report, which the service
    refuses on the form)."""
    if action != "duplicate" or request.form.get("confirmed") == "1":
        return None
    original = tickets.get(db.session, (form.duplicate_of.data or "").strip().upper())
    if (
        original is None
        or original.id == item.id
        or not access.visible_to(db.session, current_user, original)
    ):
        return None
    return render_template("repairs/duplicate.html", ticket=item, original=original, form=form)


@bp.route("/tickets/<reference>/note", methods=["POST"])
@login_required
def note(reference: str):
    return ticket_form_action(
        reference,
        lambda t, f: tickets.supervisor_note(db.session, current_user, t, f.message.data),
        _("Note added."),
        NoteForm,
    )


# --- Property managers -----------------------------------------------------------------------


@bp.route("/queue")
@require_role(Role.PROPERTY_MANAGER)
def queue():
    form = QueueFilterForm(request.args)
    estate_ids = covered_ids(db.session, current_user, Role.PROPERTY_MANAGER, "estate")
    # In the reader's language's order (the names are sorted in Chinese by the query).
    estates = sorted(supervision.estates(db.session, estate_ids), key=lambda e: e.name)
    # A manager of several estates (a company's) may narrow the queue to one; the rows then
    # name their estate.
    form.estate.choices = [("", _("All estates"))] + [(str(e.id), e.name) for e in estates]
    chosen = int_arg(request.args, "estate")
    # The reports of the estates held directly, and those made to the companies held: a
    # report keeps its company after the estate changes company (Ticket.local_scope_chain).
    items = supervision.queue(
        db.session,
        current_user.scopes(Role.PROPERTY_MANAGER, "estate"),
        company_ids=current_user.scopes(Role.PROPERTY_MANAGER, "company"),
        estate_id=chosen if chosen in estate_ids else None,
        state=member_or_none(State, form.state.data),
        category=member_or_none(Category, form.category.data),
    )
    return render_template(
        "repairs/queue.html",
        items=items,
        # Each state's and category's name translated once, not once per row.
        labels={m: str(m.label) for m in {m for t in items for m in (t.state, t.category)}},
        ticket_url=link_by("repairs.ticket", "reference"),
        act_url=link_by("repairs.act", "reference"),
        form=form,
        estates=estates,
        companies=held_objects(db.session, current_user, Role.PROPERTY_MANAGER, "company"),
        several_estates=len({t.estate_id for t in items} | set(estate_ids)) > 1,
        pending_claims=homes.pending_count(db.session, estate_ids),
        action_form=ActionForm(),
        now=clock.now(),
    )


# --- Supervisors ---------------------------------------------------------------------------------


def _supervised_towns() -> list[int] | None:
    """None: the whole installation; else the supervisor's towns (a district supervisor's:
    every town of their district)."""
    return districts.supervised_town_ids(db.session, current_user)


@bp.route("/supervise")
@require_role(Role.TOWN_SUPERVISOR, Role.DISTRICT_SUPERVISOR)
def supervise():
    board = supervision.dashboard(db.session, town_ids=_supervised_towns())
    return render_template(
        "repairs/supervise.html",
        by_estate=board.by_estate,
        by_company=board.by_company,
        estates=board.estates,
        companies=board.companies,
        total=board.total,
        town_names=board.town_names,
    )


@bp.route("/supervise/tickets")
@require_role(Role.TOWN_SUPERVISOR, Role.DISTRICT_SUPERVISOR)
def supervise_tickets():
    flag = request.args.get("flag") or "open"
    items = supervision.tickets_for(
        db.session,
        town_ids=_supervised_towns(),
        estate_id=int_arg(request.args, "estate"),
        company_id=int_arg(request.args, "company"),
        flag=flag,
    )
    return render_template("repairs/tickets.html", items=items, flag=flag, now=clock.now())


def _ratings_asked_for():
    """(month, "company" or "estate", ratings) from the query string, within the supervisor's
    towns."""
    month = rating_service.month_of(request.args.get("month"))
    by = "estate" if request.args.get("by") == "estate" else "company"
    return (
        month,
        by,
        rating_service.company_ratings(
            db.session,
            month,
            by=by,
            town_ids=_supervised_towns(),
            cache=current_app.extensions["repairs_rating_cache"],
        ),
    )


@bp.route("/rating")
@require_role(Role.TOWN_SUPERVISOR, Role.DISTRICT_SUPERVISOR)
def rating():
    month, by, ratings = _ratings_asked_for()
    return render_template(
        "repairs/rating.html",
        ratings=ratings,
        month=month,
        by=by,
        chart=rating_service.chart(ratings),
    )


@bp.route("/rating.csv")
@require_role(Role.TOWN_SUPERVISOR, Role.DISTRICT_SUPERVISOR)
def rating_csv():
    month, by, ratings = _ratings_asked_for()
    fmt = lambda v: "" if v is None else f"{v:.4f}"  # noqa: E731
    rows = (
        [
            rank,
            r.name,
            r.tickets,
            r.responded,
            r.on_time,
            r.open_overdue,
            fmt(r.on_time_rate),
            fmt(r.median_response),
            fmt(r.p90_response),
            fmt(r.median_resolution),
            fmt(r.reopen_rate),
            fmt(r.average_rating),
        ]
        for rank, r in enumerate(ratings, 1)
    )
    return csv_response(
        [
            "rank",
            by,
            "tickets",
            "responded",
            "on_time",
            "open_overdue",
            "on_time_rate",
            "median_response_minutes",
            "p90_response_minutes",
            "median_resolution_hours",
            "reopen_rate",
            "average_rating",
        ],
        rows,
        f"rating-{by}-{month:%Y-%m}.csv",
    )


@bp.route("/companies")
@require_role(Role.DISTRICT_SUPERVISOR, Role.ADMINISTRATOR)
def companies():
    shown = _companies_in_my_districts()
    return render_template(
        "repairs/companies.html",
        companies=[
            c for c in companies_service.all_companies(db.session) if shown is None or c.id in shown
        ],
        hhmm=clock.hhmm,
    )


def _companies_in_my_districts() -> set[int] | None:
    """The companies managing an estate in the districts the signed-in supervisor or
    administrator is scoped to; None: every company (an installation-wide one)."""
    shown = districts.overseen_district_ids(current_user)
    if shown is None:
        return None
    return set(
        db.session.scalars(
            select(EstateManagement.company_id)
            .join(Estate, Estate.id == EstateManagement.estate_id)
            .where(Estate.town_id.in_(districts.town_ids_of(db.session, shown)))
        )
    )


@bp.route("/companies/<int:company_id>", methods=["GET", "POST"])
@require_role(Role.DISTRICT_SUPERVISOR, Role.ADMINISTRATOR)
def company(company_id: int):
    item = db.session.get(PropertyCompany, company_id)
    if item is None:
        abort(404)
    shown = _companies_in_my_districts()
    if shown is not None and item.id not in shown:
        abort(403)
    form = CompanyForm.showing(item) if request.method == "GET" else CompanyForm()
    done = submit_to_service(
        form,
        lambda: companies_service.save_company_settings(
            db.session,
            current_user,
            item,
            response_minutes=form.response_minutes.data,
            work_starts=form.work_starts.data or "",
            work_ends=form.work_ends.data or "",
            work_days=form.work_days.data or [],
            reopen_days=form.reopen_days.data,
            auto_close_days=form.auto_close_days.data,
        ),
        success=_("Settings saved. New reports use them."),
        then=url_for("repairs.companies"),
    )
    return done or render_template("repairs/company.html", form=form, company=item)
