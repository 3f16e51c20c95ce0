"""Open311's rules, apart from its wire format (repairs/api.py): who may file (the owner of an
api_key), where a filing is (the estate its location names), whether it is about a public area,
and what the public list of requests may show of a report."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import text
from app.accounts.models import ApiToken, TokenScope, User
from app.geo import distance_km
from app.places.models import Estate
from repairs.models import OPEN_STATES, Category, Ticket
from repairs.services.tickets import EVENT_OF_ACTION

LIST_LIMIT = 1000

# --- Who files ----------------------------------------------------------------------------------


# An api_key is an Open311 key (a token made for Open311 only) or its owner's personal token;
# never a gate token.
API_KEY_SCOPES = (TokenScope.OPEN311, TokenScope.PERSONAL)


def api_key_owner(session, api_key: str) -> User | None:
    """The owner of `api_key`, an unrevoked, unexpired Open311 key or personal token (active
    or not: see `may_file`)."""
    token = ApiToken.lookup(session, api_key, API_KEY_SCOPES) if api_key else None
    return token.user if token is not None else None


def may_file(owner: User | None) -> bool:
    """A filing needs an api_key whose owner's account is active; the owner is the reporter."""
    return owner is not None and owner.active


# A client's Idempotency-Key is kept with its own prefix, so it never meets a web form's key.
KEY_PREFIX = "open311:"
KEY_MAX = 64 - len(KEY_PREFIX)  # repair_ticket.idempotency_key is 64 characters


def filing_key(client_key: str | None) -> str | None:
    """The stored idempotency key of a filing sent with the `Idempotency-Key` header
    `client_key` (None without one). Unique per reporter (migration 0021), so a retry with the
    same key finds the first report (resubmit.sent_with_key) and makes nothing; a key that is
    not 1 to KEY_MAX visible ASCII characters is refused with ValueError."""
    if client_key is None:
        return None
    if not (0 < len(client_key) <= KEY_MAX and all(" " < c <= "~" for c in client_key)):
        raise ValueError(client_key)
    return KEY_PREFIX + client_key


def about_public_area(reporter: User, estate: Estate, said_public: bool) -> bool:
    """A filing is about a public area when it says so, and always when the estate is not the
    reporter's home: nobody reports inside someone else's home."""
    return said_public or reporter.home_estate_id != estate.id


# --- Where --------------------------------------------------------------------------------------


def _normal(value: str) -> str:
    return "".join((value or "").split()).lower()


def estate_named(session, address: str) -> Estate | None:
    """The estate an address names: exactly (ignoring spaces and case) its address or name in
    either language, or the estate whose address or name the text contains (longest wins)."""
    wanted = _normal(address)
    if not wanted:
        return None
    best, best_len = None, 0
    for estate in session.scalars(select(Estate).where(Estate.archived_at.is_(None))):
        for candidate in (estate.address_zh, estate.address_en, estate.name_zh, estate.name_en):
            norm = _normal(candidate)
            if norm and (wanted == norm or norm in wanted) and len(norm) > best_len:
                best, best_len = estate, len(norm)
    return best


def nearest_estate(session, lat: float, lng: float) -> Estate | None:
    """The estate nearest to a point (great-circle distance); None if no estate has one."""
    located = [
        e
        for e in session.scalars(select(Estate).where(Estate.archived_at.is_(None)))
        if e.latitude is not None and e.longitude is not None
    ]
    return min(located, key=lambda e: distance_km(lat, lng, e.latitude, e.longitude), default=None)


def estate_by_id(session, estate_id: int) -> Estate | None:
    return session.get(Estate, estate_id)


# --- What is published ----------------------------------------------------------------------------

# The staff's own notes: what the estate's managers write when they act on a ticket.
STAFF_NOTES = frozenset(EVENT_OF_ACTION.values())


def public_status_notes(ticket: Ticket) -> str:
    """The latest public note the estate's staff wrote, masked, for a public-area report; the
    state's name otherwise (and for a home, always: a reply there is about someone's home)."""
    if ticket.public_area:
        notes = [e for e in ticket.events if e.public and e.body and e.kind in STAFF_NOTES]
        if notes:
            return text.mask_contacts(notes[-1].body)
    return str(ticket.state.label)


def public_description(ticket: Ticket) -> str:
    """A report about someone's own home is published without their words (which may say who
    they are or what is in their home); a public-area report's, with contacts masked."""
    return text.mask_contacts(ticket.description) if ticket.public_area else ""


def public_address(ticket: Ticket) -> str:
    """The estate's address, and for a public-area report the spot, masked."""
    spot = ticket.location if ticket.public_area else ""
    return ticket.estate.address_zh + (f" {text.mask_contacts(spot)}" if spot else "")


def find_requests(
    session,
    *,
    references: list[str] | None = None,
    codes: list[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    status: set[str] | None = None,
) -> list[Ticket]:
    """Requests newest first, at most LIST_LIMIT: the ones named by `references`, else those
    of the `codes` (unknown codes ignored) submitted in [start, end] in the `status` ("open"
    and/or "closed"), with what each shows (estate, company, timeline) loaded with them."""
    query = select(Ticket).order_by(Ticket.submitted_at.desc())
    if references is not None:
        query = query.where(Ticket.reference.in_(references))
    else:
        if codes is not None:
            known = {c.value for c in Category}
            query = query.where(Ticket.category.in_([c for c in codes if c in known]))
        if end is not None:
            query = query.where(Ticket.submitted_at <= end)
        if start is not None:
            query = query.where(Ticket.submitted_at >= start)
        if status == {"open"}:
            query = query.where(Ticket.state.in_(OPEN_STATES))
        elif status == {"closed"}:
            query = query.where(Ticket.state.not_in(OPEN_STATES))
    query = query.options(
        selectinload(Ticket.estate), selectinload(Ticket.company), selectinload(Ticket.events)
    )
    return list(session.scalars(query.limit(LIST_LIMIT)))
