from __future__ import annotations

from datetime import datetime

from flask_babel import gettext
from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import UTCDateTime, utcnow
from app.extensions import db


class Notification(db.Model):
    """One message in a person's inbox.

    Subject and body are stored as message ids with parameters and translated when read, so a
    person who switches language reads their whole inbox in the new one.
    """

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(48))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text, default="")
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    link: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    def _render(self, message: str) -> str:
        if not message:
            return ""
        return gettext(message, **(self.params or {}))

    @property
    def subject_text(self) -> str:
        return self._render(self.subject)

    @property
    def body_text(self) -> str:
        return self._render(self.body)
