"""Whose booking this is: the signed-in person, or the resident a community helper is acting for
(帮办代办). A helper chooses a resident who has given consent; until they stop, the pages of each
service the consent names work for that resident, with a banner saying so on every page. Pages
of a service the consent does not name, and the resident's private pages (wallet, payments,
vehicles, where their car has parked), refuse with a message instead of showing the helper's own."""

from __future__ import annotations

from flask import session as cookie
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.accounts.consents import consented_services
from app.accounts.models import HelpService, User
from app.errors import Forbidden
from app.extensions import db

ACTING_KEY = "acting_for"


def acting_for() -> User | None:
    """The resident the signed-in helper is acting for, if any and still consented (to anything)."""
    resident_id = cookie.get(ACTING_KEY)
    if not resident_id or not current_user.is_authenticated:
        return None
    resident = db.session.get(User, resident_id)
    if resident is None or not consented_services(db.session, current_user, resident):
        cookie.pop(ACTING_KEY, None)
        return None
    return resident


def current_holder(service: HelpService | str) -> User:
    """Whose `service` pages these are: the resident being helped if their consent names
    `service`, else the signed-in person when not acting. Forbidden when acting for someone whose
    consent does not name it (showing the helper's own would be mistaken for theirs)."""
    resident = acting_for()
    if resident is None:
        return current_user._get_current_object()
    service = HelpService(service)
    if service not in consented_services(db.session, current_user, resident):
        raise Forbidden(
            _l(
                "%(name)s has not given you consent for %(service)s. Stop acting for them to "
                "use it yourself."
            ),
            code="no_consent",
            name=resident.name,
            service=service.label,
        )
    return resident


def own_only() -> User:
    """The signed-in person, for pages only they may see (wallet, payments, vehicles, parking
    history). Forbidden while acting for someone: no consent covers these."""
    resident = acting_for()
    if resident is not None:
        raise Forbidden(
            _l(
                "Only %(name)s can see this page themselves; helpers never see it. Stop acting "
                "for them to see your own."
            ),
            code="private",
            name=resident.name,
        )
    return current_user._get_current_object()


def start_acting(resident: User) -> None:
    cookie[ACTING_KEY] = resident.id


def stop_acting() -> None:
    cookie.pop(ACTING_KEY, None)
