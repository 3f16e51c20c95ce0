"""Written consents (帮办代办) the desk records from a signed slip: the consent itself goes
through app.accounts.consents (the same rules as one the resident gives online: services, a
first and last day, at most a year), with the clerk and the scanned slip.

A slip is a private file under UPLOAD_DIR/consent-slips: a photo (checked and re-encoded by
app.uploads, metadata dropped) or a PDF (checked by its header and trailer, stored as sent). It
is shown to three parties only (`can_see_slip`): the resident, the person the consent names,
and service-desk clerks."""

from __future__ import annotations

import secrets
from datetime import date
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.accounts.consents import grant_consent
from app.accounts.models import ConsentRelation, HelperConsent, Role, User
from app.accounts.mydata import SLIP_FOLDER
from app.accounts.services import find_by_login
from app.db import unit_of_work
from app.desk.services import DeskSettings, record_desk_action
from app.errors import DomainError
from app.uploads import MAX_BYTES, store_image

PDF_TRAILER_WINDOW = 2048  # a PDF ends with %%EOF within its last bytes (trailing whitespace)


def can_see_slip(user: User, consent: HelperConsent) -> bool:
    """The resident, the person the consent names, and service-desk clerks; nobody else."""
    return user.is_authenticated and (
        user.id in (consent.resident_id, consent.helper_id) or user.has_role(Role.SERVICE_DESK)
    )


def slip_path(settings: DeskSettings, filename: str) -> Path:
    return Path(settings.upload_dir) / SLIP_FOLDER / filename


def _store_slip(data: bytes, settings: DeskSettings) -> str:
    """Store a scanned slip; its file name. DomainError on the "slip" field if refused."""
    if data.startswith(b"%PDF-"):
        if len(data) > MAX_BYTES:
            raise DomainError(
                _l("The file is larger than %(mb)d MB. Scan it at a lower resolution."),
                field="slip",
                code="too_large",
                mb=MAX_BYTES // (1024 * 1024),
            )
        if b"%%EOF" not in data[-PDF_TRAILER_WINDOW:]:
            raise DomainError(_l("The PDF file is damaged or incomplete."), field="slip")
        path = slip_path(settings, f"{secrets.token_hex(12)}.pdf")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path.name
    try:
        return store_image(data, SLIP_FOLDER, max_side=2400, field="slip").filename
    except DomainError as error:
        if error.code == "bad_type":
            raise DomainError(
                _l("The slip must be a photo (JPEG, PNG, WebP or HEIC) or a PDF."),
                field="slip",
                code="bad_type",
            ) from None
        raise


def record_written_consent(
    session,
    clerk: User,
    resident: User,
    *,
    helper_login: str,
    relation: ConsentRelation,
    services,
    starts_on: date | None,
    ends_on: date | None,
    slip: bytes | None,
    settings: DeskSettings,
) -> HelperConsent:
    """Record the consent `resident` signed on paper, for the helper or family member with
    `helper_login`, in `services` from `starts_on` (default today) to `ends_on` (required), with
    the scanned slip when there is one. One unit of work with its audit entry; a slip stored for
    a consent that is then refused is deleted."""
    with unit_of_work(session) as unit:
        filename = None
        if slip:
            filename = _store_slip(slip, settings)
            unit.after_rollback(lambda: slip_path(settings, filename).unlink(missing_ok=True))
        helper = find_by_login(session, helper_login)
        previous = helper and session.scalar(
            select(HelperConsent.slip_filename).where(
                HelperConsent.resident_id == resident.id, HelperConsent.helper_id == helper.id
            )
        )
        consent = grant_consent(
            session,
            resident,
            helper_login,
            services,
            starts_on=starts_on,
            ends_on=ends_on,
            relation=relation,
            recorded_by=clerk,
            slip_filename=filename,
        )
        if previous and previous != filename:  # the new consent replaces the old slip
            unit.after_commit(lambda: slip_path(settings, previous).unlink(missing_ok=True))
        record_desk_action(
            session,
            clerk,
            "consent",
            resident,
            consent_id=consent.id,
            helper=consent.helper.name,
            services=[s.value for s in consent.services],
            starts_on=consent.starts_on.isoformat(),
            ends_on=consent.ends_on.isoformat(),
            slip=bool(filename),
        )
    return consent
