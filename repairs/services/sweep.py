"""The repairs part of `flask --app wsgi sweep`: warnings 10 minutes before the deadline,
escalation of a breach to the company and the town, then to the district, and auto-closing.
Each alert is claimed with a guarded UPDATE (`... WHERE warned_at IS NULL`), so running the sweep
on several nodes at once still sends each one exactly once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, insert, or_, select, update

from app import clock
from app.accounts.models import Role, RoleAssignment
from app.i18n import N_
from app.notifications.services import notify
from repairs.models import EstateManagement, EventKind, PropertyCompany, State, Ticket, TicketEvent
from repairs.services.clock import DISTRICT_AFTER, WARN_BEFORE


def _holders(session, role: Role, scope_kind: str | None = None, scope_ids=()) -> set[int]:
    query = select(RoleAssignment.user_id).where(RoleAssignment.role == role)
    if scope_kind is not None:
        query = query.where(
            RoleAssignment.scope_kind == scope_kind, RoleAssignment.scope_id.in_(list(scope_ids))
        )
    return set(session.scalars(query))


def _company_managers(session, company_id: int) -> set[int]:
    estates = session.scalars(
        select(EstateManagement.estate_id).where(EstateManagement.company_id == company_id)
    )
    return _holders(session, Role.PROPERTY_MANAGER, "estate", list(estates))


def _claim(session, ticket_id: int, column, condition) -> bool:
    now = clock.now()
    result = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, column.is_(None), Ticket.responded_at.is_(None), condition)
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
                "estate": ticket.estate.name_zh,
                "deadline": clock.local(ticket.respond_by).strftime("%H:%M"),
            },
            link=f"/repairs/tickets/{ticket.reference}",
        )


def warn(session) -> int:
    now = clock.now()
    due = session.scalars(
        select(Ticket).where(
            Ticket.responded_at.is_(None),
            Ticket.warned_at.is_(None),
            Ticket.state.in_((State.SUBMITTED, State.REOPENED)),
            Ticket.respond_by > now,
            Ticket.respond_by <= now + WARN_BEFORE,
        )
    ).all()
    sent = 0
    for ticket in due:
        if _claim(session, ticket.id, Ticket.warned_at, Ticket.respond_by > now):
            _alert(
                session,
                ticket,
                _holders(session, Role.PROPERTY_MANAGER, "estate", [ticket.estate_id]),
                EventKind.WARNING,
                N_("%(ref)s at %(estate)s needs a response by %(deadline)s"),
            )
            sent += 1
        session.commit()
    return sent


def escalate(session) -> tuple[int, int]:
    now = clock.now()
    breached = session.scalars(
        select(Ticket).where(
            Ticket.responded_at.is_(None),
            Ticket.respond_by <= now,
            Ticket.state.in_((State.SUBMITTED, State.REOPENED)),
            or_(
                Ticket.escalated_at.is_(None),
                and_(
                    Ticket.escalated_district_at.is_(None),
                    Ticket.respond_by <= now - DISTRICT_AFTER,
                ),
            ),
        )
    ).all()
    first = district = 0
    for ticket in breached:
        if ticket.escalated_at is None and _claim(
            session, ticket.id, Ticket.escalated_at, Ticket.respond_by <= now
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
        if ticket.respond_by <= now - DISTRICT_AFTER and _claim(
            session,
            ticket.id,
            Ticket.escalated_district_at,
            Ticket.respond_by <= now - DISTRICT_AFTER,
        ):
            _alert(
                session,
                ticket,
                _holders(session, Role.DISTRICT_SUPERVISOR),
                EventKind.ESCALATED_DISTRICT,
                N_("Still unanswered 30 minutes after the deadline: %(ref)s at %(estate)s"),
            )
            district += 1
        session.commit()
    return first, district


def auto_close(session) -> int:
    """Fixed reports the resident did not confirm within the company's period are closed: one
    guarded UPDATE per company (state still 'resolved'), so concurrent sweeps close each once."""
    now = clock.now()
    closed = 0
    for company_id, days in session.execute(
        select(PropertyCompany.id, PropertyCompany.auto_close_days)
    ).all():
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
        session.commit()
        closed += len(ids)
    return closed


def sweep(session) -> dict:
    first, district = escalate(session)
    return {
        "repair_warnings": warn(session),
        "repair_escalations": first,
        "repair_district_escalations": district,
        "repairs_auto_closed": auto_close(session),
    }
