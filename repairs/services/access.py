"""Who may see a report, join it, act on it as its resident, or as staff: the named decisions
the views, the API, the templates and the other services all ask."""

from __future__ import annotations

from sqlalchemy import delete, select

from app import clock
from app.accounts.consents import can_act_for
from app.accounts.models import HelpService, Role, RoleAssignment, User
from app.places.services import is_verified_member, is_verified_resident
from repairs.models import EstateManagement, Ticket, TicketFollower
from repairs.services.management import in_force


def concerns(session, user: User, ticket: Ticket) -> bool:
    """Does the report concern `user` as a resident now? A home report concerns the verified
    members of its household; a public-area report the verified residents of its estate, and
    the residents whose own report the manager merged into it while they live there."""
    if ticket.public_area:
        if is_verified_resident(session, user, ticket.estate_id):
            return True
        return user.home_estate_id == ticket.estate_id and _is_follower(session, ticket, user)
    return is_verified_member(session, user, ticket.household_id)


def can_join(session, user: User, ticket: Ticket) -> bool:
    """The report page offers to join (and the join route accepts) only what concerns the
    person as a verified resident; joining one's own report changes nothing."""
    return ticket.reporter_id == user.id or (
        is_verified_resident(session, user, ticket.estate_id)
        if ticket.public_area
        else is_verified_member(session, user, ticket.household_id)
    )


def _is_follower(session, ticket: Ticket, user: User) -> bool:
    return (
        session.scalar(
            select(TicketFollower.id).where(
                TicketFollower.ticket_id == ticket.id, TicketFollower.user_id == user.id
            )
        )
        is not None
    )


def visible_to(session, user: User, ticket: Ticket) -> bool:
    """Who can see a report: its reporter (and their helpers), the residents it `concerns`,
    and staff whose scope covers the estate. Nobody else, followers included: following ends
    with the claim that allowed it."""
    if not getattr(user, "is_authenticated", False):
        return False
    if ticket.reporter_id == user.id or (
        ticket.reporter and can_act_for(session, user, ticket.reporter, HelpService.REPAIRS)
    ):
        return True
    return is_staff_for(user, ticket) or concerns(session, user, ticket)


def readable_by(session, user: User, ticket: Ticket) -> bool:
    """Who can open the report's page and photos: whom it is `visible_to`, and the managers of
    the other estates of its company (`is_company_manager_for`), who read it only: for them
    the forms that act on it stay 404 (`visible_to`), like for strangers."""
    return visible_to(session, user, ticket) or is_company_manager_for(session, user, ticket)


def is_company_manager_for(session, user: User, ticket: Ticket) -> bool:
    """Is `user` a property manager of some estate the ticket's company manages? They are
    alerted when it breaches its deadline (repairs/services/sweep.py), so they may READ it;
    acting on it stays with its own estate's managers (`is_manager_for`)."""
    estates = [
        a.scope_id
        for a in user.roles
        if a.role == Role.PROPERTY_MANAGER and a.scope_kind == "estate" and a.scope_id is not None
    ]
    if not estates or ticket.company_id is None:
        return False
    return (
        session.scalar(
            select(EstateManagement.estate_id)
            .where(
                EstateManagement.company_id == ticket.company_id,
                EstateManagement.estate_id.in_(estates),
                in_force(clock.today()),
            )
            .limit(1)
        )
        is not None
    )


def end_following(session, claim) -> None:
    """A claim ended or was refused: its holder stops following the household's reports and,
    for a public area, the estate's (app/places/services.py calls this)."""
    tickets_there = select(Ticket.id).where(
        Ticket.estate_id == claim.estate_id,
        Ticket.public_area.is_(True) | (Ticket.household_id == claim.household_id),
    )
    session.execute(
        delete(TicketFollower)
        .where(TicketFollower.user_id == claim.user_id, TicketFollower.ticket_id.in_(tickets_there))
        .execution_options(synchronize_session=False)
    )


def is_manager_for(user: User, ticket: Ticket) -> bool:
    """May `user` act on the ticket as its estate's property manager (the web's buttons, the
    API, and a reply "1" to an SMS alert all ask this)?"""
    return user.has_role(Role.PROPERTY_MANAGER, ticket)


def role_holders(session, role: Role, scope_kind: str | None = None, scope_ids=()) -> set[int]:
    """The accounts holding `role`, within the scopes named when `scope_kind` is given: who
    the alerts about a ticket go to."""
    query = select(RoleAssignment.user_id).where(RoleAssignment.role == role)
    if scope_kind is not None:
        query = query.where(
            RoleAssignment.scope_kind == scope_kind, RoleAssignment.scope_id.in_(list(scope_ids))
        )
    return set(session.scalars(query))


def is_staff_for(user: User, ticket: Ticket) -> bool:
    return (
        is_manager_for(user, ticket)
        or user.has_role(Role.TOWN_SUPERVISOR, ticket)
        or user.has_role(Role.DISTRICT_SUPERVISOR, ticket)
    )


def acts_for_reporter(session, user: User, ticket: Ticket) -> bool:
    """Is `user` the report's resident here: its reporter, or their helper with repairs
    consent? (The resident's forms on the ticket page, and their actions.)"""
    return ticket.reporter is not None and can_act_for(
        session, user, ticket.reporter, HelpService.REPAIRS
    )


def is_supervisor_for(user: User, ticket: Ticket) -> bool:
    """A supervisor of the ticket's town, or of the district (supervisory notes)."""
    return user.has_role(Role.TOWN_SUPERVISOR, ticket) or user.has_role(
        Role.DISTRICT_SUPERVISOR, ticket
    )


def may_call_resident(user: User, ticket: Ticket) -> bool:
    """May `user` see the reporter's full phone number (a tap-to-call link) on the ticket? The
    estate's property managers (`is_manager_for`), and only while the report is open: the
    number is for arranging this repair. Everyone else, and everyone once it is closed, sees
    it masked. (The page that shows it is on the audit record: repairs.ticket_read.)"""
    return ticket.reporter is not None and is_manager_for(user, ticket) and ticket.state.is_open
