"""Import jobs: an uploaded file checked (the dry run) and, on its owner's request, applied, in
the background when it is large, with its progress on the job's row.

Guarantees:
- A job is its owner's alone (`owned_job`: another person's token answers None).
- A file of at most IMPORT_INLINE_ROWS rows is checked within the request; a larger one in a
  thread of this process, which reports progress on the row every PROGRESS_EVERY rows (each a
  small unit of work of its own, so any app server can show it).
- Applying re-checks every row inside the unit of work that writes them (services.run_import):
  what the database holds now decides, not what the dry run saw. A job is applied at most once
  (a guarded update from "checked" to "applying"); with errors it is never applied.
- Jobs, and with them their files, are deleted IMPORT_KEEP_HOURS after upload (the sweep).
"""

from __future__ import annotations

import logging
import secrets
import threading
from datetime import timedelta

from sqlalchemy import delete, update

from app import clock
from app.db import unit_of_work
from app.imports.kinds import Kind
from app.imports.models import ImportJob
from app.imports.reading import FileError, read_table
from app.imports.services import ImportSettings, run_import

log = logging.getLogger(__name__)

RUNNING = ("checking", "applying")
# A job still "running" this long after it started was lost with its process (a restart): its
# page says it failed instead of reloading forever. Far above any real import (seconds).
STALE_AFTER = timedelta(minutes=30)


def is_lost(job: ImportJob) -> bool:
    started = job.checked_at if job.status == "applying" and job.checked_at else job.created_at
    return job.status in RUNNING and clock.now() - started > STALE_AFTER


def owned_job(session, user, token: str) -> ImportJob | None:
    job = session.query(ImportJob).filter_by(token=token).one_or_none()
    if job is None or job.owner_id != getattr(user, "id", None):
        return None
    return job


def row_count(data: bytes, filename: str) -> int:
    try:
        return len(read_table(data, filename)[1])
    except FileError:
        return 0


def create(session, owner, kind: Kind, filename: str, data: bytes, rows: int) -> ImportJob:
    """A new job for `owner`'s upload, waiting to be checked."""
    with unit_of_work(session):
        job = ImportJob(
            token=secrets.token_urlsafe(16)[:22],
            owner_id=owner.id,
            kind=kind.key,
            filename=(filename or "upload")[:200],
            data=data,
            status="checking",
            counts={"rows": rows},
            outcomes=[],
        )
        session.add(job)
    return job


def _progress(session, job_id: int):
    def report(done: int) -> None:
        with unit_of_work(session, keep_loaded=True):
            session.execute(update(ImportJob).where(ImportJob.id == job_id).values(total=done))

    return report


def check(session, job: ImportJob, kind: Kind, settings: ImportSettings, actor=None) -> None:
    """Run the dry run and keep every row's answer on the job."""
    result = run_import(
        session,
        actor,
        kind,
        job.data,
        filename=job.filename,
        dry_run=True,
        settings=settings,
        progress=_progress(session, job.id),
    )
    with unit_of_work(session):
        job.outcomes = [o.stored() for o in result.outcomes]
        job.counts = {**job.counts, **result.counts}
        job.total = len(result.outcomes)
        job.status, job.checked_at = "checked", clock.now()


def start_apply(session, job: ImportJob) -> bool:
    """Mark a checked job without errors as being applied; False if it is not one (already
    applied, being applied, or with errors)."""
    if job.counts.get("error"):
        return False
    with unit_of_work(session):
        claimed = session.execute(
            update(ImportJob)
            .where(ImportJob.id == job.id, ImportJob.status == "checked")
            .values(status="applying", total=0)
            .execution_options(synchronize_session=False)
        ).rowcount
    session.refresh(job)
    return claimed == 1


def apply(session, job: ImportJob, kind: Kind, settings: ImportSettings, actor) -> None:
    """Write the job's file (every row re-checked in the writing unit). If the data changed
    since the dry run so that a row now fails, nothing is written and the job shows the new
    answers, checked again."""
    result = run_import(
        session,
        actor,
        kind,
        job.data,
        filename=job.filename,
        settings=settings,
        progress=_progress(session, job.id),
    )
    with unit_of_work(session):
        job.outcomes = [o.stored() for o in result.outcomes]
        job.counts = {**job.counts, **result.counts}
        job.total = len(result.outcomes)
        if result.written:
            job.status, job.applied_at = "applied", clock.now()
        else:
            job.status, job.checked_at = "checked", clock.now()


def fail(session, job_id: int) -> None:
    with unit_of_work(session):
        session.execute(update(ImportJob).where(ImportJob.id == job_id).values(status="failed"))


def in_background(app, job_id: int, step, kind: Kind, settings, actor_id) -> threading.Thread:
    """Run `step(session, job, kind, settings, actor)` in a thread with its own app context and
    session; an unexpected error is logged and the job marked failed."""
    from app.accounts.models import User
    from app.extensions import db

    def run() -> None:
        with app.app_context():
            try:
                job = db.session.get(ImportJob, job_id)
                actor = db.session.get(User, actor_id) if actor_id else None
                step(db.session, job, kind, settings, actor)
            except Exception:
                log.exception("import job %s failed", job_id)
                fail(db.session, job_id)
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, name=f"import-{job_id}", daemon=True)
    thread.start()
    return thread


def expire(session, keep_hours: int) -> dict:
    """Delete jobs (and their files) uploaded more than `keep_hours` ago. Idempotent."""
    cutoff = clock.now() - timedelta(hours=keep_hours)
    with unit_of_work(session):
        gone = session.execute(delete(ImportJob).where(ImportJob.created_at < cutoff)).rowcount
    return {"import_jobs_expired": gone or 0}
