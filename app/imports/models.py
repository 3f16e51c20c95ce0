"""An import job: one uploaded file, checked (the dry run) and then, on request, applied."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import UTCDateTime, utcnow
from app.extensions import db


class ImportJob(db.Model):
    """The uploaded file and what checking or applying it answered, row by row.

    The file is kept in the database, not on one server's disk, so the dry run's results page,
    its refreshes and the "apply" may each be served by any app server; it is deleted with the
    row when the job expires (IMPORT_KEEP_HOURS, by the sweep). Only its owner may see or apply
    it: the `token` in the address is random and the view checks `owner_id` as well."""

    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(24))
    filename: Mapped[str] = mapped_column(String(200))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    # checking -> checked -> applying -> applied; or failed (an unexpected error, logged).
    status: Mapped[str] = mapped_column(String(16), default="checking")
    total: Mapped[int] = mapped_column(Integer, default=0)  # rows read so far (progress)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    # [[line, outcome, message, column], ...] in file order: the last check's answers.
    outcomes: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
