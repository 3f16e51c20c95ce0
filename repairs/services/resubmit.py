"""A repair report sent twice is one report.

Two ways a resident sends the same report again, and what each becomes:
- the same form sent twice (Back and submit, a double tap, a retry after a lost answer): the form
  carries a one-off idempotency key, unique per reporter in the database; sent again, the key
  finds the first report and nothing new is made (no second ticket, clock or alert);
- a fresh form saying the same thing (the page reloaded, so a new key): a report from the same
  home (or, for a public area, by the same person) in the same category with similar words,
  sent within `REPAIR_SIMILAR_MINUTES`, is its `recent_twin`; the report page offers it as
  "this looks like the one you just sent" and files a new one only when asked to anyway.

Both are decided inside the report's unit of work after the reporter's row is locked, so two
submits at once are decided one after the other (PostgreSQL: the row lock; SQLite: BEGIN
IMMEDIATE); the unique key is the backstop.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from difflib import SequenceMatcher

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.accounts.models import User
from app.errors import Conflict
from app.places.services import current_claim
from repairs.models import OPEN_STATES, Category, Ticket

# Two descriptions this alike (difflib's ratio, 0..1) are taken for the same problem.
SIMILAR_RATIO = 0.75
_NOT_WORDS = re.compile(r"[\W_]+", re.UNICODE)


class LooksLikeRecent(Conflict):
    """The report looks like `twin`, sent from the same home a few minutes ago."""

    code = "looks_like_recent"

    def __init__(self, twin: Ticket):
        super().__init__(
            _l("This looks like report %(ref)s, which you sent a few minutes ago."),
            theirs=_l("This looks like report %(ref)s, sent for this resident a few minutes ago."),
            ref=twin.reference,
        )
        self.twin = twin


def _plain(text: str) -> str:
    """Letters and digits only, case-folded (full-width forms folded too: ＡＢ１ is ab1)."""
    return _NOT_WORDS.sub("", unicodedata.normalize("NFKC", text or "").casefold())


def similar_description(a: str, b: str) -> bool:
    """Do two descriptions say the same thing: equal or one inside the other once spaces and
    punctuation are dropped, or at least SIMILAR_RATIO alike ("厨房水管漏水", "厨房水管在漏")."""
    a, b = _plain(a), _plain(b)
    if not a or not b:
        return False
    if a in b or b in a:
        return True
    return SequenceMatcher(None, a, b, autojunk=False).ratio() >= SIMILAR_RATIO


def lock_reporter(session, resident: User) -> None:
    """Lock the reporter's row for the rest of the unit of work, so their reports are decided
    one at a time (a no-op statement on SQLite, whose BEGIN IMMEDIATE already serialises)."""
    session.execute(select(User.id).where(User.id == resident.id).with_for_update())


def sent_with_key(session, resident: User, key: str | None) -> Ticket | None:
    """The report this reporter already sent with the form's idempotency key `key`, if any."""
    if not key:
        return None
    return session.scalar(
        select(Ticket).where(Ticket.reporter_id == resident.id, Ticket.idempotency_key == key)
    )


def recent_twin(
    session,
    resident: User,
    *,
    category: Category,
    description: str,
    public_area: bool,
    now: datetime,
    minutes: int,
) -> Ticket | None:
    """The newest open report that this one repeats, if any: sent within `minutes` before
    `now`, in the same category, with a similar description (`similar_description`), about the
    same place: for a home, any report of the resident's household; for a public area, the
    resident's own public-area reports (another resident's are offered to join instead)."""
    if minutes <= 0:
        return None
    claim = current_claim(session, resident)
    same_place = Ticket.reporter_id == resident.id
    if not public_area and claim is not None:
        same_place = same_place | (Ticket.household_id == claim.household_id)
    candidates = session.scalars(
        select(Ticket)
        .where(
            same_place,
            Ticket.category == category,
            Ticket.public_area.is_(public_area),
            Ticket.state.in_(OPEN_STATES),
            Ticket.submitted_at >= now - timedelta(minutes=minutes),
        )
        .order_by(Ticket.submitted_at.desc())
        .limit(20)
    )
    return next((t for t in candidates if similar_description(t.description, description)), None)
