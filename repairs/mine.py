"""The repairs line of the home page's "我的" block (app/registry.py `register_mine`)."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import func, select

from app.registry import MineItem
from repairs.models import OPEN_STATES, Ticket, TicketFollower


def open_reports(session, user) -> MineItem:
    """How many repair reports the person made or follows are still open (one statement)."""
    followed = select(TicketFollower.ticket_id).where(TicketFollower.user_id == user.id)
    count = session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(
            (Ticket.reporter_id == user.id) | Ticket.id.in_(followed),
            Ticket.state.in_(OPEN_STATES),
        )
    )
    return MineItem(
        "repairs",
        _l("Open repair reports"),
        url_for("repairs.index"),
        count=count,
        text=ngettext("%(num)s open", "%(num)s open", count) if count else _("None open"),
        order=30,
    )
