"""The import pages for administrators (/admin/imports): choose a kind and upload a file, see
the dry run's answer for every row (errors first, downloadable as CSV), confirm, and see the
result. Large files are checked and applied in the background; their page refreshes itself
(the HTTP Refresh header, no JavaScript) until the job is done."""

from __future__ import annotations

import io

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.accounts.models import Role
from app.auth import require_role
from app.csvexport import csv_response
from app.extensions import db
from app.i18n import is_english
from app.imports import jobs
from app.imports.forms import ApplyForm, UploadForm
from app.imports.kinds import kind_of, kinds
from app.imports.services import settings_from

bp = Blueprint("imports", __name__, url_prefix="/admin/imports")

OUTCOME_LABELS = {
    "error": _l("Error"),
    "create": _l("New"),
    "update": _l("Changed"),
    "unchanged": _l("Unchanged"),
}
REFRESH_SECONDS = 2


def _kind_or_404(key: str):
    kind = kind_of(key)
    if kind is None:
        abort(404)
    return kind


def _job_or_404(token: str):
    job = jobs.owned_job(db.session, current_user, token)
    if job is None:
        abort(404)
    return job


@bp.route("", methods=["GET", "POST"])
@require_role(Role.ADMINISTRATOR)
def upload():
    form = UploadForm()
    form.kind.choices = [(k.key, k.label) for k in kinds()]
    if form.validate_on_submit():
        kind = _kind_or_404(form.kind.data)
        data = form.file.data.read()
        filename = form.file.data.filename or "upload"
        rows = jobs.row_count(data, filename)
        job = jobs.create(db.session, current_user, kind, filename, data, rows)
        _run(jobs.check, job, kind, rows)
        return redirect(url_for("imports.show", token=job.token))
    return render_template("imports/upload.html", form=form, kinds=kinds())


def _run(step, job, kind, rows: int) -> None:
    """Small files within the request (the next page shows the answer at once); larger ones in
    a background thread, whose page refreshes itself until it is done."""
    settings = settings_from(current_app.config)
    if rows <= current_app.config["IMPORT_INLINE_ROWS"]:
        step(db.session, job, kind, settings, current_user)
    else:
        jobs.in_background(
            current_app._get_current_object(), job.id, step, kind, settings, current_user.id
        )


def _rows_for_display(job) -> list[dict]:
    english = is_english()
    shown = [
        {
            "line": line,
            "outcome": outcome,
            "label": OUTCOME_LABELS.get(outcome, outcome),
            "message": (en if english else zh) or "",
            "column": column,
        }
        for line, outcome, zh, en, column in job.outcomes
    ]
    # Errors first, then the rest in file order.
    return sorted(shown, key=lambda r: (r["outcome"] != "error", r["line"]))


@bp.route("/<token>")
@require_role(Role.ADMINISTRATOR)
def show(token):
    """The job's page. While it runs, the page reloads itself every REFRESH_SECONDS through the
    HTTP `Refresh` header (what <meta http-equiv="refresh"> does, without JavaScript, but not
    inside the page, whose audit flags a timed reload), and offers to stop reloading
    (?auto=0: WCAG 2.2.1, a person may turn a time limit off), with a link to look again."""
    job = _job_or_404(token)
    kind = _kind_or_404(job.kind)
    limit = current_app.config["IMPORT_ROWS_SHOWN"]
    running = job.status in jobs.RUNNING and not jobs.is_lost(job)
    auto = running and request.args.get("auto") != "0"
    rows = [] if running else _rows_for_display(job)
    response = make_response(
        render_template(
            "imports/job.html",
            job=job,
            kind=kind,
            rows=rows[:limit],
            more=max(len(rows) - limit, 0),
            running=running,
            refresh=REFRESH_SECONDS if auto else None,
            form=ApplyForm(),
        )
    )
    if auto:
        response.headers["Refresh"] = str(REFRESH_SECONDS)
    return response


@bp.route("/<token>/results.csv")
@require_role(Role.ADMINISTRATOR)
def results(token):
    job = _job_or_404(token)
    rows = [(r["line"], r["label"], r["column"], r["message"]) for r in _rows_for_display(job)]
    return csv_response(
        [str(_l("Line")), str(_l("Outcome")), str(_l("Column")), str(_l("Reason"))],
        rows,
        f"import-{job.kind}-results.csv",
    )


@bp.route("/<token>/apply", methods=["GET", "POST"])
@require_role(Role.ADMINISTRATOR)
def confirm(token):
    job = _job_or_404(token)
    kind = _kind_or_404(job.kind)
    if job.status != "checked" or job.counts.get("error"):
        return redirect(url_for("imports.show", token=job.token))
    form = ApplyForm()
    if form.validate_on_submit():
        if jobs.start_apply(db.session, job):
            _run(jobs.apply, job, kind, job.counts.get("rows", 0))
        return redirect(url_for("imports.show", token=job.token))
    return render_template("imports/confirm.html", job=job, kind=kind, form=form)


@bp.route("/templates/<key>.<fmt>")
@require_role(Role.ADMINISTRATOR)
def template(key, fmt):
    """A file with the kind's header and an example row, to fill in."""
    kind = _kind_or_404(key)
    if fmt == "csv":
        return csv_response(kind.column_names, kind.example_rows(), f"{kind.key}.csv")
    if fmt != "xlsx":
        abort(404)
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = kind.key
    sheet.append(kind.column_names)
    for row in kind.example_rows():
        # Text cells: a room "0301" or a code "310112" stays as written.
        sheet.append(row)
    for cells in sheet.iter_rows():
        for cell in cells:
            cell.number_format = "@"
    out = io.BytesIO()
    book.save(out)
    return Response(
        out.getvalue(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{kind.key}.xlsx"'},
    )


def init_app(app) -> None:
    from app.registry import Link, register_sweeper, register_workspace_links

    app.register_blueprint(bp)
    register_sweeper(
        app, lambda session: jobs.expire(session, int(app.config["IMPORT_KEEP_HOURS"]))
    )
    register_workspace_links(
        app,
        Role.ADMINISTRATOR,
        lambda user, assignment: [Link(_l("Import from a file"), url_for("imports.upload"))],
    )
