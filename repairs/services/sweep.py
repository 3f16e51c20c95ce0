"""The repairs part of `flask --app wsgi sweep`: warnings 10 minutes before the deadline,
escalation of a breach to the company and the town, then to the district, and auto-closing.
Each alert is claimed with a guarded UPDATE (`... WHERE warned_at IS NULL`), so running the sweep
on several nodes at once still sends each one exactly once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, or_, select, update

from app import clock
from app.accounts.models import Role, holders
from app.db import unit_of_work
from app.i18n import N_
from app.notifications.params import localized
from app.notifications.services import notify
from app.places import districts
from repairs.models import EventKind, PropertyCompany, State, Ticket, TicketEvent
from repairs.services.access import role_holders as _holders
from repairs.services.clock import DISTRICT_AFTER, at_risk, breached
from repairs.services.management import managed_estate_ids


def _company_managers(session, company_id: int) -> set[int]:
    """The company's managers: those held for the company, and those held for an estate it
    manages today."""
    estates = session.scalars(managed_estate_ids(company_id))
    return _holders(session, Role.PROPERTY_MANAGER, "estate", list(estates)) | _holders(
        session, Role.PROPERTY_MANAGER, "company", [company_id]
    )


def _claim(session, ticket_id: int, column, condition) -> bool:
    """Take the alert `column` for this node: set it if it is still unset and the ticket still
    meets `condition` (a deadline rule, re-read under the row's lock)."""
    now = clock.now()
    result = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, column.is_(None), condition)
        .values({column.key: now})
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _alert(session, ticket: Ticket, users: set[int], kind: EventKind, subject: str) -> None:
    session.add(
        TicketEvent(
            ticket_id=ticket.id, kind=kind, public=False, at=clock.now(), body=str(len(users))
        )
    )
    for user_id in users:
        notify(
            session,
            user_id,
            kind=f"repair.{kind.value}",
            subject=subject,
            params={
                "ref": ticket.reference,
                "estate": localized(ticket.estate.name_zh, ticket.estate.name_en),
                "deadline": clock.local(ticket.respond_by).strftime("%H:%M"),
            },
            link=f"/repairs/tickets/{ticket.reference}",
        )


def warn(session) -> int:
    """Warn the managers of each unanswered ticket at risk, once per ticket. Each
    warning is its own unit of work, committed as soon as it is claimed, so a long sweep holds
    no lock for long and a second node skips what this one already sent."""
    now = clock.now()
    due = session.scalars(
        select(Ticket).where(
            Ticket.warned_at.is_(None),
            Ticket.state.in_((State.SUBMITTED, State.REOPENED)),
            at_risk(Ticket, now),
        )
    ).all()
    sent = 0
    for ticket in due:
        with unit_of_work(session):
            if _claim(session, ticket.id, Ticket.warned_at, at_risk(Ticket, now)):
                _alert(
                    session,
                    ticket,
                    holders(session, Role.PROPERTY_MANAGER, ticket),
                    EventKind.WARNING,
                    N_("%(ref)s at %(estate)s needs a response by %(deadline)s"),
                )
                sent += 1
    return sent


def escalate(session) -> tuple[int, int]:
    """Escalate each breached ticket to its company and town once, and each still unanswered
    DISTRICT_AFTER past its deadline to the district once (one unit of work per ticket)."""
    now = clock.now()
    late = now - DISTRICT_AFTER
    due = session.scalars(
        select(Ticket).where(
            breached(Ticket, now),
            Ticket.state.in_((State.SUBMITTED, State.REOPENED)),
            or_(
                Ticket.escalated_at.is_(None),
                Ticket.escalated_district_at.is_(None) & breached(Ticket, late),
            ),
        )
    ).all()
    first = district = 0
    for ticket in due:
        with unit_of_work(session):
            if ticket.escalated_at is None and _claim(
                session, ticket.id, Ticket.escalated_at, breached(Ticket, now)
            ):
                users = _company_managers(session, ticket.company_id) | _holders(
                    session, Role.TOWN_SUPERVISOR, "town", [ticket.town_id]
                )
                _alert(
                    session,
                    ticket,
                    users,
                    EventKind.ESCALATED,
                    N_("Overdue: %(ref)s at %(estate)s was not answered by %(deadline)s"),
                )
                first += 1
            if breached(ticket, late) and _claim(
                session, ticket.id, Ticket.escalated_district_at, breached(Ticket, late)
            ):
                _alert(
                    session,
                    ticket,
                    districts.supervisors_of(session, ticket.estate.town.district_id),
                    EventKind.ESCALATED_DISTRICT,
                    N_("Still unanswered 30 minutes after the deadline: %(ref)s at %(estate)s"),
                )
                district += 1
    return first, district


def auto_close(session) -> int:
    """Fixed reports the resident did not confirm within the company's period are closed: one
    guarded UPDATE per company (state still 'resolved'), so concurrent sweeps close each once."""
    now = clock.now()
    closed = 0
    for company_id, days in session.execute(
        select(PropertyCompany.id, PropertyCompany.auto_close_days)
    ).all():
        with unit_of_work(session):
            closed += _close_resolved(session, company_id, days, now)
    return closed


def _close_resolved(session, company_id: int, days: int, now) -> int:
    """Close the company's fixed reports older than `days`, with a timeline line each."""
    ids = session.scalars(
        update(Ticket)
        .where(
            Ticket.company_id == company_id,
            Ticket.state == State.RESOLVED,
            Ticket.resolved_at <= now - timedelta(days=days),
        )
        .values(state=State.CLOSED, closed_at=now)
        .returning(Ticket.id)
        .execution_options(synchronize_session=False)
    ).all()
    if ids:
        session.execute(
            insert(TicketEvent),
            [
                {
                    "ticket_id": ticket_id,
                    "kind": EventKind.AUTO_CLOSED,
                    "at": now,
                    "body": "",
                    "public": True,
                }
                for ticket_id in ids
            ],
        )
    return len(ids)


def sweep(session) -> dict:
    """The repairs part of `flask sweep`: escalations, warnings, auto-closing; safe to run on
    several nodes at once (every alert and closing is claimed by a guarded UPDATE)."""
    first, district = escalate(session)
    return {
        "repair_warnings": warn(session),
        "repair_escalations": first,
        "repair_district_escalations": district,
        "repairs_auto_closed": auto_close(session),
    }
