"""Whose booking this is: the signed-in person, or the resident a community helper is acting
for (帮办代办). A helper chooses a resident who has given consent; until they stop, every booking
page works for that resident, with a banner saying so on every page."""
from __future__ import annotations

from flask import session as cookie
from flask_login import current_user

from app.accounts.models import Role, User
from app.accounts.services import can_act_for
from app.extensions import db

ACTING_KEY = "acting_for"


def acting_for() -> User | None:
    """The resident the signed-in helper is acting for, if any and still consented."""
    resident_id = cookie.get(ACTING_KEY)
    if not resident_id or not current_user.is_authenticated:
        return None
    resident = db.session.get(User, resident_id)
    if (resident is None or not current_user.has_role(Role.COMMUNITY_HELPER)
            or not can_act_for(db.session, current_user, resident)):
        cookie.pop(ACTING_KEY, None)
        return None
    return resident


def current_holder() -> User:
    return acting_for() or current_user._get_current_object()


def start_acting(resident: User) -> None:
    cookie[ACTING_KEY] = resident.id


def stop_acting() -> None:
    cookie.pop(ACTING_KEY, None)
