"""物业百事通 pages: report, follow, answer and supervise repairs."""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from app import clock
from app.accounts.models import HelpService, Role
from app.acting import current_holder
from app.audit.services import record_access
from app.auth import require_role
from app.csvexport import csv_response
from app.errors import DomainError
from app.extensions import db
from app.forms import add_error, member_or_none, submit_to_service
from app.places import services as homes
from app.places.models import Estate, Town
from app.urls import int_arg
from repairs.forms import (
    ActionForm,
    CompanyForm,
    MessageForm,
    NoteForm,
    QueueFilterForm,
    RateForm,
    ReopenForm,
    ReportForm,
)
from repairs.models import Category, PropertyCompany, State, TicketPhoto
from repairs.services import clock as response_clock
from repairs.services import supervision, tickets
from repairs.services.tickets import CANNED_REPLIES

bp = Blueprint("repairs", __name__, url_prefix="/repairs")

EVENT_LABELS = {
    "submitted": _l("Reported"),
    "acknowledged": _l("Acknowledged"),
    "assigned": _l("Technician assigned"),
    "reply": _l("Reply"),
    "visit": _l("Visit scheduled"),
    "started": _l("Work started"),
    "resolved": _l("Marked fixed"),
    "confirmed": _l("Confirmed fixed by the resident"),
    "reopened": _l("Reopened"),
    "auto_closed": _l("Closed automatically"),
    "cancelled": _l("Cancelled"),
    "duplicate": _l("Same problem as another report"),
    "resident_info": _l("Resident added information"),
    "joined": _l("Another resident joined"),
    "rated": _l("Rated"),
    "supervisor_note": _l("Supervisory note"),
    "warning": _l("Deadline warning sent"),
    "escalated": _l("Escalated to the company and the town"),
    "escalated_district": _l("Escalated to the district"),
}


def _files(field) -> list[bytes]:
    return [f.read() for f in (field.data or []) if getattr(f, "filename", "")]


@bp.app_context_processor
def repair_helpers():
    from repairs.models import EventKind

    return {
        "deadline_words": response_clock.deadline_words,
        "at_risk": response_clock.at_risk,
        "breached": response_clock.breached,
        "minutes_left": response_clock.minutes_left,
        "event_labels": EVENT_LABELS,
        "Role_PM": Role.PROPERTY_MANAGER,
        "Role_TS": Role.TOWN_SUPERVISOR,
        "Role_DS": Role.DISTRICT_SUPERVISOR,
        "EventKind": EventKind,
    }


@bp.route("")
def index():
    mine = (
        tickets.my_tickets(db.session, current_holder(HelpService.REPAIRS))
        if current_user.is_authenticated
        else []
    )
    return render_template("repairs/index.html", mine=mine)


@bp.route("/report", methods=["GET", "POST"])
@login_required
def report():
    holder = current_holder(HelpService.REPAIRS)
    form = ReportForm()
    estate = db.session.get(Estate, holder.home_estate_id) if holder.home_estate_id else None
    if form.validate_on_submit():
        try:
            ticket = tickets.report(
                db.session,
                current_user,
                holder,
                category=Category(form.category.data),
                description=form.description.data,
                public_area=form.public_area.data,
                area=form.area.data or "",
                preferred_time=form.preferred_time.data or "",
                photos=_files(form.photos),
            )
        except DomainError as error:
            db.session.rollback()
            add_error(form, error)
        else:
            return redirect(url_for("repairs.ticket", reference=ticket.reference, new=1))
    similar = tickets.open_for_place(db.session, holder)
    return render_template(
        "repairs/report.html",
        form=form,
        estate=estate,
        holder=holder,
        location=tickets.home_location(holder),
        similar=similar,
    )


def _ticket_or_404(reference: str):
    ticket = tickets.get(db.session, reference)
    if ticket is None or not tickets.visible_to(db.session, current_user, ticket):
        abort(404)
    return ticket


@bp.route("/tickets/<reference>")
@login_required
def ticket(reference: str):
    item = _ticket_or_404(reference)
    staff = tickets.is_staff_for(current_user, item)
    events = [e for e in item.events if e.public or staff]
    resident = item.reporter is not None and tickets.can_act_for(
        db.session, current_user, item.reporter, HelpService.REPAIRS
    )
    supervisor = current_user.has_role(Role.TOWN_SUPERVISOR, item) or current_user.has_role(
        Role.DISTRICT_SUPERVISOR
    )
    if (staff or supervisor) and not resident:  # staff reading a resident's report: on the record
        record_access(
            db.session,
            current_user,
            "repairs.ticket_read",
            item,
            resident_id=item.reporter_id,
            reference=item.reference,
        )
    return render_template(
        "repairs/ticket.html",
        ticket=item,
        events=events,
        new=request.args.get("new") == "1",
        manager=tickets.is_manager_for(current_user, item),
        staff=staff,
        resident=resident,
        supervisor=supervisor,
        action_form=ActionForm(),
        message_form=MessageForm(),
        reopen_form=ReopenForm(),
        rate_form=RateForm(),
        note_form=NoteForm(),
        now=clock.now(),
        State=State,
    )


def _back(item):
    return redirect(url_for("repairs.ticket", reference=item.reference))


@bp.route("/tickets/<reference>/act", methods=["POST"])
@login_required
def act(reference: str):
    item = _ticket_or_404(reference)
    form = ActionForm()
    if form.validate_on_submit():
        message = form.message.data or ""
        canned = (form.canned.data or "").strip()  # Optional() lets a blank " " through
        if canned:
            message = str(CANNED_REPLIES[int(canned)])
        visit_at = None
        if form.visit_at.data:
            try:
                visit_at = datetime.strptime(form.visit_at.data.strip(), "%Y-%m-%d %H:%M").replace(
                    tzinfo=clock.LOCAL_TZ
                )
            except ValueError:
                flash(_("Write the visit time like 2026-12-01 14:30"), "error")
                return _back(item)
        try:
            tickets.act(
                db.session,
                current_user,
                item,
                request.form.get("action", ""),
                message=message,
                technician_name=form.technician_name.data or "",
                technician_phone=form.technician_phone.data or "",
                visit_at=visit_at,
                duplicate_of=form.duplicate_of.data or "",
            )
            flash(_("Done. The resident has been told."), "success")
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "error")
    return (
        _back(item) if request.form.get("from") != "queue" else redirect(url_for("repairs.queue"))
    )


def _resident_action(reference, fn, success, form_cls=None):
    item = _ticket_or_404(reference)
    form = (form_cls or MessageForm)()
    if form.validate_on_submit():
        try:
            fn(item, form)
            flash(success, "success")
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "error")
    else:
        for errors in form.errors.values():
            flash(str(errors[0]), "error")
    return _back(item)


@bp.route("/tickets/<reference>/info", methods=["POST"])
@login_required
def add_info(reference: str):
    return _resident_action(
        reference,
        lambda t, f: tickets.add_info(
            db.session, current_user, t, f.message.data or "", _files(f.photos)
        ),
        _("Added to the report."),
    )


@bp.route("/tickets/<reference>/confirm", methods=["POST"])
@login_required
def confirm(reference: str):
    return _resident_action(
        reference,
        lambda t, f: tickets.confirm_fixed(db.session, current_user, t),
        _("Thank you for confirming. The report is closed."),
    )


@bp.route("/tickets/<reference>/reopen", methods=["POST"])
@login_required
def reopen(reference: str):
    return _resident_action(
        reference,
        lambda t, f: tickets.reopen(db.session, current_user, t, f.message.data),
        _("The report is reopened and your property manager is told."),
        ReopenForm,
    )


@bp.route("/tickets/<reference>/rate", methods=["POST"])
@login_required
def rate(reference: str):
    return _resident_action(
        reference,
        lambda t, f: tickets.rate(
            db.session, current_user, t, int(f.rating.data), f.comment.data or ""
        ),
        _("Thank you for your rating."),
        RateForm,
    )


@bp.route("/tickets/<reference>/cancel", methods=["POST"])
@login_required
def cancel(reference: str):
    return _resident_action(
        reference,
        lambda t, f: tickets.cancel(db.session, current_user, t),
        _("The report is cancelled."),
    )


@bp.route("/tickets/<reference>/join", methods=["POST"])
@login_required
def join(reference: str):
    item = tickets.get(db.session, reference)
    holder = current_holder(HelpService.REPAIRS)
    # Only what the report page offers to join (tickets.can_join): a verified household's own
    # reports and a verified resident's estate's public areas. Anything else stays a 404.
    if item is None or not tickets.can_join(db.session, holder, item):
        abort(404)
    if MessageForm().validate_on_submit():
        try:
            tickets.join(db.session, holder, item)
            flash(
                _("You have joined report %(ref)s and will get its updates.", ref=item.reference),
                "success",
            )
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "error")
    return redirect(url_for("repairs.index"))


@bp.route("/tickets/<reference>/note", methods=["POST"])
@login_required
def note(reference: str):
    return _resident_action(
        reference,
        lambda t, f: tickets.supervisor_note(db.session, current_user, t, f.message.data),
        _("Note added."),
        NoteForm,
    )


@bp.route("/photos/<filename>")
@login_required
def photo(filename: str):
    """Repair photos are private: only people who can see the ticket can see its photos."""
    photo_row = db.session.scalar(
        select(TicketPhoto).where(
            (TicketPhoto.filename == filename) | (TicketPhoto.thumb == filename)
        )
    )
    if photo_row is None or not tickets.visible_to(db.session, current_user, photo_row.ticket):
        abort(404)
    # Private: app/security.py answers it `private, no-store` like every non-page answer.
    return send_from_directory(current_app.config["UPLOAD_DIR"] + "/repairs", filename)


# --- Property managers -----------------------------------------------------------------------


@bp.route("/queue")
@require_role(Role.PROPERTY_MANAGER)
def queue():
    form = QueueFilterForm(request.args)
    estate_ids = current_user.scopes(Role.PROPERTY_MANAGER)
    items = supervision.queue(
        db.session,
        estate_ids,
        state=member_or_none(State, form.state.data),
        category=member_or_none(Category, form.category.data),
    )
    estates = db.session.scalars(select(Estate).where(Estate.id.in_(estate_ids))).all()
    return render_template(
        "repairs/queue.html",
        items=items,
        form=form,
        estates=estates,
        pending_claims=homes.pending_count(db.session, estate_ids),
        action_form=ActionForm(),
        now=clock.now(),
        State=State,
    )


# --- Supervisors ---------------------------------------------------------------------------------


def _supervised_towns() -> list[int] | None:
    """None: the whole district; else the supervisor's towns."""
    if current_user.has_role(Role.DISTRICT_SUPERVISOR):
        return None
    return current_user.scopes(Role.TOWN_SUPERVISOR)


@bp.route("/supervise")
@require_role(Role.TOWN_SUPERVISOR, Role.DISTRICT_SUPERVISOR)
def supervise():
    towns = _supervised_towns()
    by_estate, by_company = supervision.live_counts_by_estate_and_company(
        db.session, town_ids=towns
    )
    estates = {
        e.id: e for e in db.session.scalars(select(Estate).where(Estate.id.in_(list(by_estate))))
    }
    companies = {c.id: c for c in db.session.scalars(select(PropertyCompany))}
    total = supervision.Counts(
        sum(c.open for c in by_estate.values()),
        sum(c.at_risk for c in by_estate.values()),
        sum(c.breached for c in by_estate.values()),
    )
    town_names = (
        [t.name for t in db.session.scalars(select(Town).where(Town.id.in_(towns)))]
        if towns is not None
        else None
    )
    return render_template(
        "repairs/supervise.html",
        by_estate=sorted(by_estate.items(), key=lambda kv: -kv[1].breached),
        by_company=sorted(by_company.items(), key=lambda kv: -kv[1].breached),
        estates=estates,
        companies=companies,
        total=total,
        town_names=town_names,
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
    """(month, "company" or "estate", ratings) from the query string, within the supervisor's towns."""
    month = supervision.month_of(request.args.get("month"))
    by = "estate" if request.args.get("by") == "estate" else "company"
    return (
        month,
        by,
        supervision.company_ratings(db.session, month, by=by, town_ids=_supervised_towns()),
    )


@bp.route("/rating")
@require_role(Role.TOWN_SUPERVISOR, Role.DISTRICT_SUPERVISOR)
def rating():
    month, by, ratings = _ratings_asked_for()
    return render_template(
        "repairs/rating.html", ratings=ratings, month=month, by=by, chart=supervision.chart(ratings)
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
    return render_template(
        "repairs/companies.html",
        companies=db.session.scalars(
            select(PropertyCompany).order_by(PropertyCompany.name_zh)
        ).all(),
        hhmm=clock.hhmm,
    )


@bp.route("/companies/<int:company_id>", methods=["GET", "POST"])
@require_role(Role.DISTRICT_SUPERVISOR, Role.ADMINISTRATOR)
def company(company_id: int):
    item = db.session.get(PropertyCompany, company_id)
    if item is None:
        abort(404)
    # Sent answers only: with the company as `obj`, a field left out of the form kept the model's
    # value (minutes, not "HH:MM" text), a server error (tests/test_fuzz.py).
    form = CompanyForm(obj=item if request.method == "GET" else None)
    if request.method == "GET":
        form.work_starts.data = clock.hhmm(item.work_starts) if item.work_starts is not None else ""
        form.work_ends.data = clock.hhmm(item.work_ends) if item.work_ends is not None else ""
        form.work_days.data = list(item.work_days)
    done = submit_to_service(
        form,
        lambda: tickets.save_company_settings(
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
