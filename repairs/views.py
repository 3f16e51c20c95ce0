"""物业百事通 pages for residents: report a repair, follow it, answer the manager, and the ticket
page everyone who may see a report shares. The staff's pages are in staff_views.py, on the same
blueprint."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from urllib.parse import quote

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

from accessibility import current_display_mode
from app import clock
from app.accounts.models import DisplayMode, HelpService, Role
from app.acting import current_holder
from app.audit.services import record_access
from app.errors import DomainError
from app.extensions import db
from app.forms import add_error
from app.i18n import human
from app.places.models import Estate
from repairs.forms import ActionForm, MessageForm, NoteForm, RateForm, ReopenForm, ReportForm
from repairs.models import Category, EventKind
from repairs.services import access, alerts, resubmit, tickets
from repairs.services import clock as response_clock

bp = Blueprint("repairs", __name__, url_prefix="/repairs")

EVENT_LABELS = {
    "submitted": _l("Reported"),
    "acknowledged": _l("Acknowledged"),
    "acknowledged_sms": _l("Acknowledged by SMS reply"),
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


# The staff alerts about a ticket on its page (repairs/services/alerts.py): what each was, by
# which channel, and how far it got ("短信已发送 10:02 → 张经理").
ALERT_KINDS = {
    "repair.new": _l("New report alert"),
    "repair.warning": _l("Deadline warning"),
    "repair.escalated": _l("Escalation to the company and the town"),
    "repair.escalated_district": _l("Escalation to the district"),
}
ALERT_CHANNELS = {"sms": _l("SMS"), "email": _l("E-mail"), "push": _l("Push notification")}
ALERT_STATUSES = {
    "queued": _l("waiting to be sent"),
    "sending": _l("being sent"),
    "sent": _l("sent"),
    "stored": _l("kept in the development outbox"),
    "delivered": _l("delivered"),
    "failed": _l("not sent"),
}


def files(field) -> list[bytes]:
    """The photos a file field received (an empty part is no photo)."""
    return [f.read() for f in (field.data or []) if getattr(f, "filename", "")]


SEGMENT_SAFE = "!$&'()*+,/:;=@"


def link_by(endpoint: str, name: str):
    """`value -> url_for(endpoint, name=value)` built from one url_for call, for a table that
    links every row (the queue has up to 200): the URL around a marker, the value quoted as
    url_for quotes a path part."""
    marker = "MARKER0REFERENCE"
    head, tail = url_for(endpoint, **{name: marker}).split(marker)
    # Quoted as Werkzeug's default converter quotes a path segment (BaseConverter.to_url).
    return lambda value: f"{head}{quote(str(value), safe=SEGMENT_SAFE)}{tail}"


def local_time(moment) -> str:
    """HH:MM of an instant in local time: the `datetime('HH:mm')` filter's text without Babel's
    formatting (a pattern of digits only; the queue writes one per row)."""
    return clock.local(moment).strftime("%H:%M")


# A visit's timeline line starts with its local time as stored ("2026-12-01 14:30 王师傅"):
# shown in the reader's human format ("12月1日（周二）14:30" / "Tue 1 Dec, 14:30").
_STORED_VISIT = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2})(?: |$)")


def event_text(event) -> str:
    """A timeline line's body as the reader reads it: a visit's time in their language."""
    body = event.body or ""
    found = _STORED_VISIT.match(body) if event.kind == EventKind.VISIT else None
    if found is None:
        return body
    moment = datetime.strptime(found.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=clock.LOCAL_TZ)
    rest = body[found.end() :]
    return f"{human(moment)} {rest}".strip()


@bp.app_context_processor
def repair_helpers():
    """The clock's readings and the services' named decisions, for every repairs template."""
    return {
        "deadline_words": response_clock.deadline_words,
        "at_risk": response_clock.at_risk,
        "breached": response_clock.breached,
        "minutes_left": response_clock.minutes_left,
        "local_time": local_time,
        "manager_may": tickets.manager_may,
        "can_respond": tickets.can_respond,
        "resident_may": tickets.resident_may,
        "event_labels": EVENT_LABELS,
        "event_text": event_text,
        "alert_kinds": ALERT_KINDS,
        "alert_channels": ALERT_CHANNELS,
        "alert_statuses": ALERT_STATUSES,
        "Role_PM": Role.PROPERTY_MANAGER,
        "Role_TS": Role.TOWN_SUPERVISOR,
        "Role_DS": Role.DISTRICT_SUPERVISOR,
        "EventKind": EventKind,
    }


@bp.route("")
def index():
    """The service's page; signed in, "我的报修": open reports first, a page at a time."""
    mine, number, pages = [], 1, 1
    if current_user.is_authenticated:
        holder = current_holder(HelpService.REPAIRS)
        # A screenful: 6 in elderly mode, 20 otherwise. The number of pages from the count;
        # then only that page's rows are read. Past the end: the last page.
        size = 6 if current_display_mode() == DisplayMode.ELDERLY else 20
        pages = max(1, -(-tickets.count_my_tickets(db.session, holder) // size))
        number = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
        mine = tickets.my_tickets(db.session, holder, offset=(number - 1) * size, limit=size)
    return render_template("repairs/index.html", mine=mine, number=number, pages=pages)


@bp.route("/report", methods=["GET", "POST"])
@login_required
def report():
    holder = current_holder(HelpService.REPAIRS)
    form = ReportForm()
    estate = db.session.get(Estate, holder.home_estate_id) if holder.home_estate_id else None
    twin = None
    if not form.idempotency_key.data:
        # A new key for each form shown; kept when the form comes back with an error, so the
        # same form sent again (Back and submit) is the same report.
        form.idempotency_key.data = secrets.token_urlsafe(16)
    if form.validate_on_submit():
        try:
            ticket, made = tickets.report_once(
                db.session,
                current_user,
                holder,
                category=Category(form.category.data),
                description=form.description.data,
                public_area=form.public_area.data,
                area=form.area.data or "",
                preferred_time=form.preferred_time.data or "",
                photos=files(form.photos),
                hotline=current_app.config["PORTAL_HOTLINE"],
                idempotency_key=form.idempotency_key.data,
                similar_minutes=(
                    0 if form.send_anyway.data else current_app.config["REPAIR_SIMILAR_MINUTES"]
                ),
            )
        except resubmit.LooksLikeRecent as error:
            twin = error.twin  # offered on the form, with a choice to send anyway
            add_error(form, error)  # and named in the error summary: nothing was sent
        except DomainError as error:
            add_error(form, error)
        else:
            if not made:
                flash(_("You had already sent this report. Here it is."), "success")
                return redirect(url_for("repairs.ticket", reference=ticket.reference))
            return redirect(url_for("repairs.ticket", reference=ticket.reference, new=1))
    similar = tickets.open_for_place(db.session, holder)
    return render_template(
        "repairs/report.html",
        form=form,
        estate=estate,
        holder=holder,
        location=tickets.home_location(holder),
        similar=[t for t in similar if twin is None or t.id != twin.id],
        twin=twin,
        photos_dropped=twin is not None and bool(files(form.photos)),
    )


def ticket_or_404(reference: str, reading: bool = False):
    """The ticket named, if the person may see it (`reading`: only read it, which the
    company's other managers may too); a 404 otherwise (never a 403: whether a report exists
    is not for strangers to learn)."""
    ticket = tickets.get(db.session, reference)
    allowed = access.readable_by if reading else access.visible_to
    if ticket is None or not allowed(db.session, current_user, ticket):
        abort(404)
    return ticket


@bp.route("/tickets/<reference>")
@login_required
def ticket(reference: str):
    item = ticket_or_404(reference, reading=True)
    staff = access.is_staff_for(current_user, item)
    events = [e for e in item.events if e.public or staff]
    resident = access.acts_for_reporter(db.session, current_user, item)
    supervisor = access.is_supervisor_for(current_user, item)
    # A manager of another estate of the ticket's company (alerted at a breach) reads it.
    company = not staff and access.is_company_manager_for(db.session, current_user, item)
    # Staff reading a resident's report: on the record.
    if (staff or supervisor or company) and not resident:
        record_access(
            db.session,
            current_user,
            "repairs.ticket_read",
            item,
            resident_id=item.reporter_id,
            reference=item.reference,
            # staff-tools: whether this read showed the resident's full number (tel: link).
            phone_shown=access.may_call_resident(current_user, item),
        )
    return render_template(
        "repairs/ticket.html",
        ticket=item,
        events=events,
        alerts=alerts.alert_lines(db.session, item) if staff else [],
        new=request.args.get("new") == "1",
        manager=access.is_manager_for(current_user, item),
        staff=staff,
        resident=resident,
        supervisor=supervisor,
        action_form=ActionForm(),
        message_form=MessageForm(),
        reopen_form=ReopenForm(),
        rate_form=RateForm(),
        note_form=NoteForm(),
        now=clock.now(),
    )


def back_to(item):
    return redirect(url_for("repairs.ticket", reference=item.reference))


def ticket_form_action(reference, fn, success, form_cls=None):
    """A small form posted from the ticket page: validate, call `fn(ticket, form)` (a service),
    flash its success or refusal, and go back to the ticket."""
    item = ticket_or_404(reference)
    form = (form_cls or MessageForm)()
    if form.validate_on_submit():
        try:
            fn(item, form)
            flash(success, "success")
        except DomainError as error:
            flash(str(error), "error")
    else:
        for errors in form.errors.values():
            flash(str(errors[0]), "error")
    return back_to(item)


@bp.route("/tickets/<reference>/info", methods=["POST"])
@login_required
def add_info(reference: str):
    return ticket_form_action(
        reference,
        lambda t, f: tickets.add_info(
            db.session, current_user, t, f.message.data or "", files(f.photos)
        ),
        _("Added to the report."),
    )


@bp.route("/tickets/<reference>/confirm", methods=["POST"])
@login_required
def confirm(reference: str):
    return ticket_form_action(
        reference,
        lambda t, f: tickets.confirm_fixed(db.session, current_user, t),
        _("Thank you for confirming. The report is closed."),
    )


@bp.route("/tickets/<reference>/reopen", methods=["POST"])
@login_required
def reopen(reference: str):
    return ticket_form_action(
        reference,
        lambda t, f: tickets.reopen(db.session, current_user, t, f.message.data),
        _("The report is reopened and your property manager is told."),
        ReopenForm,
    )


@bp.route("/tickets/<reference>/rate", methods=["POST"])
@login_required
def rate(reference: str):
    return ticket_form_action(
        reference,
        lambda t, f: tickets.rate(
            db.session, current_user, t, int(f.rating.data), f.comment.data or ""
        ),
        _("Thank you for your rating."),
        RateForm,
    )


@bp.route("/tickets/<reference>/cancel", methods=["GET", "POST"])
@login_required
def cancel(reference: str):
    """Cancelling a report cannot be undone: the ticket page links here, this page says what
    cancelling means and asks; its warning button cancels."""
    if request.method == "POST":
        return ticket_form_action(
            reference,
            lambda t, f: tickets.cancel(db.session, current_user, t),
            _("The report is cancelled."),
        )
    item = ticket_or_404(reference)
    if not tickets.can_cancel(db.session, current_user, item):
        return back_to(item)  # cancelled or closed meanwhile, or not the resident's to cancel
    return render_template("repairs/cancel.html", ticket=item, form=MessageForm())


@bp.route("/tickets/<reference>/join", methods=["POST"])
@login_required
def join(reference: str):
    item = tickets.get(db.session, reference)
    holder = current_holder(HelpService.REPAIRS)
    # Only what the report page offers to join (access.can_join, which tickets.join enforces
    # too): anything else stays a 404, whatever the form holds.
    if item is None or not access.can_join(db.session, holder, item):
        abort(404)
    if MessageForm().validate_on_submit():
        try:
            tickets.join(db.session, holder, item)
            flash(
                _("You have joined report %(ref)s and will get its updates.", ref=item.reference),
                "success",
            )
        except DomainError as error:
            flash(str(error), "error")
    return redirect(url_for("repairs.index"))


@bp.route("/photos/<filename>")
@login_required
def photo(filename: str):
    """Repair photos are private: only people who can see the ticket can see its photos."""
    item = tickets.photo_ticket(db.session, filename)
    if item is None or not access.readable_by(db.session, current_user, item):
        abort(404)
    # Private: app/security.py answers it `private, no-store` like every non-page answer.
    return send_from_directory(current_app.config["UPLOAD_DIR"] + "/repairs", filename)
