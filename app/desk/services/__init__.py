"""The service desk's operations (社区事务受理服务中心). Plain functions taking a session, the
clerk and `DeskSettings`; no Flask globals. Every desk action is recorded in the audit log with
the resident's account as its object (`record_desk_action`), in the same unit of work as the
action, and listed to the resident (`desk_actions_for`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.audit.services import record


@dataclass(frozen=True)
class DeskSettings:
    card_valid_days: int  # how long a printed sign-in card's code works
    portal_address: str  # printed on the card: where to sign in
    upload_dir: str  # scanned consent slips go under it (consent-slips/)
    privacy_notice_version: str  # the notice the clerk hands over at registration

    @classmethod
    def from_config(cls, config: Mapping) -> DeskSettings:
        return cls(
            card_valid_days=int(config["DESK_CARD_VALID_DAYS"]),
            portal_address=config["DESK_PORTAL_ADDRESS"],
            upload_dir=config["UPLOAD_DIR"],
            privacy_notice_version=str(config.get("PRIVACY_NOTICE_VERSION") or "1"),
        )


DESK_ACTION_PREFIX = "desk."


def record_desk_action(session, clerk: User, action: str, resident: User, **details) -> None:
    """Add an audit entry for a desk action on `resident`'s account to the caller's unit."""
    record(session, clerk, DESK_ACTION_PREFIX + action, resident, **details)


def desk_actions_for(session, resident: User, limit: int = 100) -> list[AuditEntry]:
    """The desk's actions on `resident`'s account, newest first: what the resident is shown."""
    return list(
        session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.object_type == User.__tablename__,
                AuditEntry.object_id == str(resident.id),
                AuditEntry.action.startswith(DESK_ACTION_PREFIX, autoescape=True),
            )
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
    )
