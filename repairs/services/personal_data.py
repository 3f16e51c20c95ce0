"""The repairs service's part of "my data" and of closing an account (注销): the reports a
person filed or follows, and how they are anonymised. Registered with the frame in
repairs/__init__.py (app.registry.PersonalData)."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from app.accounts.models import User
from app.db import unit_of_work
from app.uploads import remove_image
from repairs.models import Ticket, TicketEvent, TicketFollower, TicketPhoto

PHOTO_FOLDER = "repairs"  # repairs/services/tickets.py stores them there


def _iso(moment):
    return moment.isoformat() if moment is not None else None


def export(session, user: User) -> dict:
    """The reports `user` filed (with what they wrote on them) and the ones they follow."""
    filed = session.scalars(
        select(Ticket).where(Ticket.reporter_id == user.id).order_by(Ticket.submitted_at)
    ).all()
    followed = session.scalars(
        select(Ticket.reference)
        .join(TicketFollower, TicketFollower.ticket_id == Ticket.id)
        .where(TicketFollower.user_id == user.id)
    ).all()
    return {
        "reports": [
            {
                "reference": t.reference,
                "category": t.category.value,
                "description": t.description,
                "public_area": t.public_area,
                "location": t.location,
                "preferred_time": t.preferred_time,
                "state": t.state.value,
                "submitted_at": _iso(t.submitted_at),
                "responded_at": _iso(t.responded_at),
                "closed_at": _iso(t.closed_at),
                "rating": t.rating,
                "rating_comment": t.rating_comment,
                "photos": len(t.photos),
                "my_messages": [
                    {"at": _iso(e.at), "kind": e.kind.value, "text": e.body}
                    for e in t.events
                    if e.actor_id == user.id and e.body
                ],
            }
            for t in filed
        ],
        "following": list(followed),
    }


def erase(session, user: User) -> dict:
    """Inside the caller's unit of work: the reports `user` filed keep their estate, company,
    town, category, state and timings (the 30-minute statistics and the company ratings count
    them) but lose the person: reporter, home, location, description, preferred time, rating
    comment and photos (files deleted after the commit); what the person wrote on any report is
    emptied; they stop following reports."""
    with unit_of_work(session) as unit:
        filed = select(Ticket.id).where(Ticket.reporter_id == user.id)
        for photo in session.scalars(select(TicketPhoto).where(TicketPhoto.ticket_id.in_(filed))):
            for name in (photo.filename, photo.thumb):
                unit.after_commit(lambda name=name: remove_image(PHOTO_FOLDER, name))
        session.execute(delete(TicketPhoto).where(TicketPhoto.ticket_id.in_(filed)))
        session.execute(
            update(TicketEvent)
            .where(TicketEvent.actor_id == user.id)
            .values(body="")
            .execution_options(synchronize_session=False)
        )
        anonymised = session.execute(
            update(Ticket)
            .where(Ticket.reporter_id == user.id)
            .values(
                reporter_id=None,
                reported_by_id=None,
                household_id=None,
                home_claim_id=None,
                description="",
                location="",
                preferred_time="",
                rating_comment=None,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        session.execute(delete(TicketFollower).where(TicketFollower.user_id == user.id))
    return {"repair_reports_anonymised": anonymised}
