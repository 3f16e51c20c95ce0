"""Reporting a repair, and everything that happens to the report afterwards."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select, update

from app import clock
from app.accounts.consents import can_act_for
from app.accounts.models import HelpService, Role, User, holders
from app.audit.services import record
from app.codes import new_reference
from app.config import Config
from app.db import atomic, unit_of_work
from app.errors import Conflict, DomainError, Forbidden, NotFound, addressed
from app.i18n import N_
from app.notifications.params import localized
from app.notifications.params import when as when_param
from app.notifications.services import notify
from app.places.models import ClaimStatus, Estate
from app.places.services import current_claim
from app.uploads import remove_image, store_image
from repairs.models import (
    OPEN_STATES,
    Category,
    EventKind,
    State,
    Ticket,
    TicketEvent,
    TicketFollower,
    TicketPhoto,
)
from repairs.services import clock as response_clock
from repairs.services import companies, resubmit
from repairs.services.access import (
    acts_for_reporter,
    can_join,
    concerns,
    is_manager_for,
    is_supervisor_for,
)

MAX_PHOTOS = 6
THUMB_SIDE = 240  # pixels on a photo thumbnail's longest side, made from the same decoding

# Manager actions: which states each may start from, and the state it leads to (None: unchanged).
ACTIONS = {
    "acknowledge": ((State.SUBMITTED, State.REOPENED), State.ACKNOWLEDGED),
    "assign": (OPEN_STATES, State.ASSIGNED),
    "reply": (OPEN_STATES, None),
    "visit": (OPEN_STATES, None),
    "start": (
        (State.ACKNOWLEDGED, State.ASSIGNED, State.REOPENED, State.SUBMITTED),
        State.IN_PROGRESS,
    ),
    "resolve": (OPEN_STATES, State.RESOLVED),
    "duplicate": ((State.SUBMITTED, State.ACKNOWLEDGED, State.REOPENED), State.DUPLICATE),
}
# The states a reply or a visit moves on to Acknowledged (they are a response).
RESPONDED_BY_ANY_ACTION = (State.SUBMITTED, State.REOPENED)
EVENT_OF_ACTION = {
    "acknowledge": EventKind.ACKNOWLEDGED,
    "assign": EventKind.ASSIGNED,
    "reply": EventKind.REPLY,
    "visit": EventKind.VISIT,
    "start": EventKind.STARTED,
    "resolve": EventKind.RESOLVED,
    "duplicate": EventKind.DUPLICATE,
}

# The resident's actions: which states each may start from.
RESIDENT_ACTIONS = {
    "confirm": (State.RESOLVED,),
    "reopen": (State.RESOLVED, State.CLOSED),
    "rate": (State.RESOLVED, State.CLOSED),
    "add_info": OPEN_STATES,
    "cancel": OPEN_STATES,
}


def manager_may(ticket: Ticket, action: str) -> bool:
    """Does the ticket's state allow the manager's `action` (the queue's Acknowledge button,
    the ticket page's Respond form)? Whether this person may act is `is_manager_for`."""
    return ticket.state in ACTIONS[action][0]


def can_respond(ticket: Ticket) -> bool:
    """Is some manager action open to this ticket (the Respond form is shown)?"""
    return any(manager_may(ticket, action) for action in ACTIONS)


def resident_may(ticket: Ticket, action: str) -> bool:
    """Does the ticket's state allow the resident's `action` (confirm, reopen, rate, add_info,
    cancel)? Whether this person is the resident is `acts_for_reporter`."""
    return ticket.state in RESIDENT_ACTIONS[action]


CANNED_REPLIES = [
    _l("We have received your report and a technician will contact you shortly."),
    _l("A technician is on the way."),
    _l("The part has been ordered; we will come back as soon as it arrives."),
    _l("This is a public area matter; our team will handle it today."),
]


def open_for_place(session, user: User) -> list[Ticket]:
    """The open reports `user` is shown before filing ("already reported?"): their household's
    home reports and the estate's public-area reports, and only while their home is verified.
    An unverified claim lists nothing: an address typed into a profile proves nothing."""
    claim = current_claim(session, user)
    if claim is None or claim.status != ClaimStatus.VERIFIED:
        return []
    return list(
        session.scalars(
            select(Ticket)
            .where(
                Ticket.estate_id == claim.estate_id,
                Ticket.state.in_(OPEN_STATES),
                Ticket.public_area.is_(True) | (Ticket.household_id == claim.household_id),
            )
            .order_by(Ticket.public_area.desc(), Ticket.submitted_at.desc())
            .limit(30)
        )
    )


def home_location(user: User) -> str:
    """The claimed home's address inside the estate, as written on reports."""
    household = user.home_household
    return household.label if household is not None else ""


def _event(
    session,
    ticket: Ticket,
    kind: EventKind,
    actor: User | None,
    body: str = "",
    public: bool = True,
) -> TicketEvent:
    event = TicketEvent(
        ticket_id=ticket.id,
        kind=kind,
        actor_id=actor.id if actor else None,
        body=body,
        public=public,
        at=clock.now(),
    )
    session.add(event)
    return event


def _tell_residents(session, ticket: Ticket, subject: str, params: dict | None = None) -> None:
    """Inbox message to the reporter and everyone who joined the report and still may see it."""
    followers = session.scalars(
        select(User)
        .join(TicketFollower, TicketFollower.user_id == User.id)
        .where(TicketFollower.ticket_id == ticket.id)
    ).all()
    still = {f.id for f in followers if concerns(session, f, ticket)}
    for user_id in {ticket.reporter_id, *still} - {None}:
        notify(
            session,
            user_id,
            kind="repair.update",
            subject=subject,
            params={"ref": ticket.reference, "state": ticket.state.value, **(params or {})},
            link=f"/repairs/tickets/{ticket.reference}",
        )


def _store_photos(unit, photos: list[bytes]) -> list:
    """Store each photo (refusing what is not one); if the unit rolls back, they are removed."""
    stored = []
    for data in photos:
        image = store_image(data, "repairs", field="photos", thumb_side=THUMB_SIDE)
        stored.append(image)
        for name in (image.filename, image.thumb):
            unit.after_rollback(lambda name=name: remove_image("repairs", name))
    return stored


def _add_photos(session, ticket: Ticket, stored: list) -> None:
    for image in stored:
        session.add(
            TicketPhoto(
                ticket_id=ticket.id,
                filename=image.filename,
                width=image.width,
                height=image.height,
                thumb=image.thumb,
            )
        )


def _new_reference(session) -> str:
    while True:
        reference = "BX" + new_reference(7)
        if session.scalar(select(Ticket.id).where(Ticket.reference == reference)) is None:
            return reference


@dataclass(frozen=True)
class ReportFields:
    """What a repair report says: the one list of `report` and `report_once`'s fields.

    `hotline` is the number a refusal names (PORTAL_HOTLINE: views and the API pass the running
    app's). `idempotency_key` and `similar_minutes` are resubmit.py's: a repeated key answers
    the report first sent with it; with `similar_minutes` (REPAIR_SIMILAR_MINUTES) a report like
    one sent from the same home that long ago is refused with LooksLikeRecent."""

    category: Category
    description: str
    public_area: bool = False
    area: str = ""
    preferred_time: str = ""
    photos: Sequence[bytes] = ()
    estate_id: int | None = None
    submitted_at: datetime | None = None
    hotline: str = Config.PORTAL_HOTLINE
    idempotency_key: str | None = None
    similar_minutes: int = 0


def report(session, actor: User, resident: User, **fields) -> Ticket:
    """File a report for `resident` (by them, or a helper with consent); `fields` are
    ReportFields'. The resident's registered home gives the estate and address; a public-area
    report names the spot instead. The response clock starts now. One unit of work: the
    ticket, its photos (removed again if it rolls back), its first event and the resident's
    notice, or nothing.

    Sent twice, one report (repairs/services/resubmit.py): a repeated `idempotency_key`
    answers the report first sent with it, making nothing; with `similar_minutes`
    (REPAIR_SIMILAR_MINUTES: the report page passes it unless the resident chose to send
    anyway) a report like one sent from the same home that long ago is refused with
    LooksLikeRecent (409 looks_like_recent), naming it."""
    return report_once(session, actor, resident, **fields)[0]


def report_once(session, actor: User, resident: User, **fields) -> tuple[Ticket, bool]:
    """`report`, answering (the ticket, whether this call made it): False when the
    idempotency key had already sent it. A refusal is worded for the actor (app.errors.addressed:
    a helper is told of "this resident", not "you")."""
    try:
        return _report_once(session, actor, resident, ReportFields(**fields))
    except DomainError as error:
        addressed(error, actor, resident)
        raise


def _report_once(session, actor: User, resident: User, f: ReportFields) -> tuple[Ticket, bool]:
    with unit_of_work(session) as unit:
        if not can_act_for(session, actor, resident, HelpService.REPAIRS):
            raise Forbidden(_l("You can only report for residents who have given you consent."))
        resubmit.lock_reporter(session, resident)
        first = resubmit.sent_with_key(session, resident, f.idempotency_key)
        if first is not None:
            return first, False
        estate, home, location = _where(session, resident, f.estate_id, f.public_area, f.area)
        description = (f.description or "").strip()
        if len(description) < 2:  # 电梯坏 ("lift broken") says it all in three characters
            raise DomainError(_l("Say what is wrong in a few words"), field="description")
        if len(f.photos) > MAX_PHOTOS:
            raise DomainError(_l("Add at most %(n)d photos"), field="photos", n=MAX_PHOTOS)
        now = f.submitted_at or clock.now()
        twin = resubmit.recent_twin(
            session,
            resident,
            category=f.category,
            description=description,
            public_area=f.public_area,
            now=now,
            minutes=f.similar_minutes,
        )
        if twin is not None:
            raise resubmit.LooksLikeRecent(twin)
        company = companies.company_of(session, estate, f.hotline)
        stored = _store_photos(unit, f.photos)
        ticket = Ticket(
            reference=_new_reference(session),
            estate_id=estate.id,
            company_id=company.id,
            town_id=estate.town_id,
            reporter_id=resident.id,
            reported_by_id=actor.id,
            category=f.category,
            description=description,
            public_area=f.public_area,
            location=location or "",
            preferred_time=(f.preferred_time or "").strip()[:80],
            idempotency_key=(f.idempotency_key or None) and f.idempotency_key[:64],
            household_id=home.household_id if home else None,
            home_claim_id=home.id if home else None,
            state=State.SUBMITTED,
            submitted_at=now,
            respond_by=response_clock.respond_by(company, now),
        )
        session.add(ticket)
        session.flush()
        _add_photos(session, ticket, stored)
        _event(session, ticket, EventKind.SUBMITTED, actor)
        notify(
            session,
            resident.id,
            kind="repair.submitted",
            subject=N_("Repair report %(ref)s received"),
            body=N_("Your property manager will respond by %(time)s."),
            params={
                "ref": ticket.reference,
                "time": clock.local(ticket.respond_by).strftime("%H:%M"),
            },
            link=f"/repairs/tickets/{ticket.reference}",
        )
        _alert_managers(session, ticket, estate)
        if actor.id != resident.id:
            record(
                session,
                actor,
                "repair.report",
                ticket,
                on_behalf_of=resident,
                reference=ticket.reference,
            )
        return ticket, True


def _alert_managers(session, ticket: Ticket, estate: Estate) -> None:
    """The estate's managers (held for the estate, or for the company the report is made to)
    learn of a new report in the filing's unit of work (by SMS unless
    they chose otherwise: repair alerts are time-limited); a reply "1" acknowledges it
    (repairs/services/sms_reply.py)."""
    params = {
        "ref": ticket.reference,
        "estate": localized(estate.name_zh, estate.name_en),
        "deadline": clock.local(ticket.respond_by).strftime("%H:%M"),
    }
    for user_id in sorted(holders(session, Role.PROPERTY_MANAGER, ticket)):
        notify(
            session,
            user_id,
            kind="repair.new",
            subject=N_("New repair report %(ref)s at %(estate)s: respond by %(deadline)s"),
            params=params,
            link=f"/repairs/tickets/{ticket.reference}",
        )


def _where(session, resident: User, estate_id, public_area: bool, area: str):
    """(estate, home claim or None, location) of a report: the resident's claimed home, or for
    a public area the estate named (else the home's) and the spot."""
    claim = current_claim(session, resident)
    estate_id = estate_id or (claim.estate_id if claim else None)
    estate = session.get(Estate, estate_id) if estate_id else None
    home = (
        claim if (claim is not None and not public_area and claim.estate_id == estate_id) else None
    )
    if estate is None or (not public_area and home is None):
        raise DomainError(
            _l("Add your home address in My details first, so we know where to come."),
            theirs=_l(
                "This resident has no home address in My details yet, so we do not know where "
                "to come."
            ),
            code="no_home",
            field="description",
        )
    location = (area or "").strip() if public_area else home.household.label
    if public_area and not location:
        raise DomainError(
            _l('Say where in the estate, for example "Building 5 entrance"'), field="area"
        )
    return estate, home, location


def _follow(session, ticket: Ticket, user_id: int | None) -> bool:
    """Make `user_id` a follower of `ticket` unless they report or follow it already."""
    if (
        user_id is None
        or ticket.reporter_id == user_id
        or session.scalar(
            select(TicketFollower.id).where(
                TicketFollower.ticket_id == ticket.id, TicketFollower.user_id == user_id
            )
        )
    ):
        return False
    session.add(TicketFollower(ticket_id=ticket.id, user_id=user_id))
    return True


def join(session, user: User, ticket: Ticket) -> None:
    """Follow an open report of the same problem instead of filing a duplicate. Only someone
    `can_join` may: a verified member of the report's household, or for a public area a
    verified resident of the estate."""
    with unit_of_work(session):
        if not can_join(session, user, ticket):
            raise NotFound(_l("No such report."))
        if not ticket.state.is_open:
            raise Conflict(_l("That report is no longer open; file a new one."))
        if _follow(session, ticket, user.id):
            _event(session, ticket, EventKind.JOINED, user)


def get(session, reference: str) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.reference == reference))


def photo_ticket(session, filename: str) -> Ticket | None:
    """The ticket a stored photo or thumbnail belongs to (its visibility is the ticket's)."""
    return session.scalar(
        select(Ticket)
        .join(TicketPhoto, TicketPhoto.ticket_id == Ticket.id)
        .where((TicketPhoto.filename == filename) | (TicketPhoto.thumb == filename))
    )


# --- The manager's actions -----------------------------------------------------------------


def _respond(session, ticket: Ticket, manager: User, now: datetime) -> None:
    """The first human, resident-visible action stops the clock, once."""
    session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.responded_at.is_(None))
        .values(responded_at=now, responder_id=manager.id)
        .execution_options(synchronize_session=False)
    )


@atomic
def act(
    session,
    manager: User,
    ticket: Ticket,
    action: str,
    *,
    message: str = "",
    technician_name: str = "",
    technician_phone: str = "",
    visit_at: datetime | None = None,
    duplicate_of: str = "",
    by_sms: bool = False,
) -> Ticket:
    """Do one of the manager's actions, as one unit of work. Refuses actions the ticket's state
    does not allow (`manager_may`), with a message saying why, also when another manager changed
    the state a moment ago (a guarded UPDATE). Every action is visible to the resident and the
    first one is the response. `by_sms`: the manager acknowledged by replying to an SMS alert
    (the timeline says so)."""
    if not is_manager_for(manager, ticket):
        raise Forbidden(_l("Only the estate's property managers can do this."))
    if action not in ACTIONS:
        raise DomainError(_l("Unknown action."))
    allowed, to = ACTIONS[action]
    if not manager_may(ticket, action):
        raise Conflict(
            _l("A ticket that is %(state)s cannot be %(action)s."),
            code="invalid_transition",
            state=ticket.state.label,
            action=ACTION_LABELS[action],
        )
    now = clock.now()
    values: dict = {}
    body = (message or "").strip()
    notice = None  # what the residents' inbox says, when it differs from the timeline's body
    name, phone = technician_name.strip()[:64], technician_phone.strip()[:20]
    if action == "assign" and not name:
        raise DomainError(_l("Enter the technician's name"), field="technician_name")
    if action == "visit" and (visit_at is None or visit_at <= now):
        raise DomainError(_l("Choose a visiting time in the future"), field="visit_at")
    if action in ("assign", "visit"):
        # Nothing typed is dropped: the technician named on an assignment or a visit is kept
        # on the ticket. The phone goes to the residents' inbox and the ticket's summary (in
        # full only for the resident and the managers). The timeline, which followers and
        # supervisors read, and Open311's public status_notes show the event body: it names
        # the technician only.
        when = clock.local(visit_at).strftime("%Y-%m-%d %H:%M") if action == "visit" else ""
        if name:
            values.update(technician_name=name, technician_phone=phone)
        if action == "visit":
            values["visit_at"] = visit_at
        notice = " ".join(part for part in (name, phone if name else "", body) if part)
        body = " ".join(part for part in (when, name, body) if part)
    elif action == "reply" and not body:
        raise DomainError(_l("Write the reply"), field="message")
    elif action == "resolve":
        values["resolved_at"] = now
    elif action == "duplicate":
        original = get(session, duplicate_of.strip().upper())
        if (
            original is None
            or original.id == ticket.id
            or original.estate_id != ticket.estate_id
            or not original.state.is_open
        ):
            raise DomainError(
                _l("Enter the reference of an open report from the same estate"),
                field="duplicate_of",
            )
        if not original.public_area and original.household_id != ticket.household_id:
            # Merging would send one home's private report to another home's resident.
            raise DomainError(
                _l("A report can only be merged into one about the same home or a public area"),
                field="duplicate_of",
                code="other_home",
            )
        values["duplicate_of_id"] = original.id
        body = body or original.reference
        _follow(session, original, ticket.reporter_id)
    # The state is always written (to itself for replies and visits) so the guard below also
    # refuses an action when another manager changed the state a moment ago. A reply or a visit
    # is the response to a new (or reopened) report: it is acknowledged by it, so the status
    # shown says so and Acknowledge is no longer offered (decided in SQL, on the row's state).
    if to is not None:
        values["state"] = to
    else:
        values["state"] = case(
            (Ticket.state.in_(RESPONDED_BY_ANY_ACTION), State.ACKNOWLEDGED), else_=Ticket.state
        )
    result = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.state.in_(allowed))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(_l("Someone else changed this ticket just now. Reload and try again."))
    _respond(session, ticket, manager, now)
    kind = EVENT_OF_ACTION[action]
    if by_sms and action == "acknowledge":
        kind = EventKind.ACKNOWLEDGED_BY_SMS
    _event(session, ticket, kind, manager, body)
    session.flush()
    session.refresh(ticket)
    params = {"body": body if notice is None else notice}
    if action == "visit":
        # A date-time parameter: each reader sees it in their language's human format.
        params["when"] = when_param(visit_at)
    _tell_residents(session, ticket, RESIDENT_MESSAGES[action], params)
    return ticket


ACTION_LABELS = {
    "acknowledge": _l("acknowledged"),
    "assign": _l("assigned"),
    "reply": _l("replied to"),
    "visit": _l("scheduled"),
    "start": _l("started"),
    "resolve": _l("resolved"),
    "duplicate": _l("marked as a duplicate"),
}
RESIDENT_MESSAGES = {
    "acknowledge": N_("Your repair report %(ref)s has been acknowledged"),
    "assign": N_("A technician is assigned to %(ref)s: %(body)s"),
    "reply": N_("Your property manager replied on %(ref)s: %(body)s"),
    "visit": N_("A visit for %(ref)s is scheduled for %(when)s. %(body)s"),
    "start": N_("Work on %(ref)s has started"),
    "resolve": N_("%(ref)s is marked as fixed. Please confirm, or reopen it if it is not."),
    "duplicate": N_("%(ref)s is the same problem as %(body)s; you will get that report's updates"),
}


# --- The resident's actions ------------------------------------------------------------------


def _resident_check(session, user: User, ticket: Ticket) -> None:
    if not acts_for_reporter(session, user, ticket):
        raise NotFound(_l("No such report."))


def _state_refused(ticket: Ticket) -> Conflict:
    return Conflict(
        _l("A report that is %(state)s cannot be changed that way."),
        code="invalid_transition",
        state=ticket.state.label,
    )


def add_info(session, user: User, ticket: Ticket, text: str, photos: list[bytes] = ()) -> None:
    """The resident adds words or photos to an open report (one unit of work; photos stored
    for a refused or failed addition are removed again)."""
    with unit_of_work(session) as unit:
        _resident_check(session, user, ticket)
        if not resident_may(ticket, "add_info"):
            raise _state_refused(ticket)
        if not text.strip() and not photos:
            raise DomainError(_l("Write something or add a photo"), field="message")
        if len(ticket.photos) + len(photos) > MAX_PHOTOS:
            raise DomainError(_l("Add at most %(n)d photos"), field="photos", n=MAX_PHOTOS)
        _add_photos(session, ticket, _store_photos(unit, photos))
        _event(session, ticket, EventKind.RESIDENT_INFO, user, text.strip())


@atomic
def _resident_transition(session, user, ticket, action, to, kind, body="", **values) -> None:
    """Move the ticket to `to` if `action` is still allowed from its state (a guarded UPDATE:
    a manager's change a moment ago makes it a Conflict), with a timeline line."""
    _resident_check(session, user, ticket)
    result = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.state.in_(RESIDENT_ACTIONS[action]))
        .values(state=to, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise _state_refused(ticket)
    _event(session, ticket, kind, user, body)
    session.flush()
    session.refresh(ticket)


def confirm_fixed(session, user: User, ticket: Ticket) -> None:
    """The resident confirms a fixed report: it is closed."""
    _resident_transition(
        session, user, ticket, "confirm", State.CLOSED, EventKind.CONFIRMED, closed_at=clock.now()
    )


def within_reopen_period(ticket: Ticket, now: datetime | None = None) -> bool:
    """Fixed no longer ago than the company's reopening period."""
    return ticket.resolved_at is not None and (now or clock.now()) <= ticket.resolved_at + (
        timedelta(days=ticket.company.reopen_days)
    )


@atomic
def reopen(session, user: User, ticket: Ticket, reason: str) -> None:
    """Reopen a fixed report within the company's reopening period."""
    if not within_reopen_period(ticket):
        raise Conflict(
            _l(
                "Reports can be reopened up to %(n)d days after they were fixed. "
                "Please file a new one."
            ),
            code="reopen_period",
            n=ticket.company.reopen_days,
        )
    if not reason.strip():
        raise DomainError(_l("Say what is still wrong"), field="message")
    _resident_transition(
        session,
        user,
        ticket,
        "reopen",
        State.REOPENED,
        EventKind.REOPENED,
        body=reason.strip(),
        reopen_count=Ticket.reopen_count + 1,
        closed_at=None,
    )


def can_cancel(session, user: User, ticket: Ticket) -> bool:
    """May `user` withdraw this report now: they act for its reporter and it is still open.
    The ticket page's link, the question page and `cancel` follow it."""
    return resident_may(ticket, "cancel") and acts_for_reporter(session, user, ticket)


def cancel(session, user: User, ticket: Ticket) -> None:
    """The resident withdraws an open report (`can_cancel`; the guarded update refuses one
    that a manager closed a moment ago)."""
    _resident_transition(session, user, ticket, "cancel", State.CANCELLED, EventKind.CANCELLED)


@atomic
def rate(session, user: User, ticket: Ticket, stars: int, comment: str = "") -> None:
    """好差评: 1-5 stars and a comment, once the repair is fixed."""
    _resident_check(session, user, ticket)
    if not resident_may(ticket, "rate"):
        raise Conflict(_l("You can rate a repair once it is fixed."), code="not_fixed")
    if not 1 <= stars <= 5:
        raise DomainError(_l("Choose from 1 to 5 stars"), field="rating")
    ticket.rating, ticket.rating_comment = stars, (comment or "").strip()[:500] or None
    _event(session, ticket, EventKind.RATED, user, f"{stars}/5 {comment.strip()}".strip())


@atomic
def supervisor_note(session, supervisor: User, ticket: Ticket, text: str) -> None:
    """A staff-only note on the timeline, on the audit record."""
    if not is_supervisor_for(supervisor, ticket):
        raise Forbidden(_l("Only supervisors can add supervisory notes."))
    if not text.strip():
        raise DomainError(_l("Write the note"), field="message")
    _event(session, ticket, EventKind.SUPERVISOR_NOTE, supervisor, text.strip(), public=False)
    record(session, supervisor, "repair.supervisor_note", ticket, reference=ticket.reference)


def _mine(user: User):
    followed = select(TicketFollower.ticket_id).where(TicketFollower.user_id == user.id)
    return (Ticket.reporter_id == user.id) | Ticket.id.in_(followed)


# "我的报修": open reports first, each group newest first.
_OPEN_FIRST = (case((Ticket.state.in_(OPEN_STATES), 0), else_=1), Ticket.submitted_at.desc())


def my_tickets(session, user: User, *, offset: int = 0, limit: int = 100) -> list[Ticket]:
    """The reports `user` filed or joined: open ones first, then the rest, each newest first;
    `limit` of them from `offset` (a page of "我的报修": `count_my_tickets` says how many)."""
    return list(
        session.scalars(
            select(Ticket).where(_mine(user)).order_by(*_OPEN_FIRST).offset(offset).limit(limit)
        )
    )


def count_my_tickets(session, user: User) -> int:
    """How many reports `user` filed or joined (all of them: the list is paged, never cut)."""
    return session.scalar(select(func.count(Ticket.id)).where(_mine(user))) or 0
