"""A manager's reply to a repair alert by SMS: "1" (or "受理") acknowledges the ticket the alert
was about, exactly as the ticket page's Acknowledge button does, when the number's account is
one of the ticket's estate's managers (`is_manager_for`). The SMS gateway finds the alert the
reply answers and calls `answer` in the unit of work that stores the reply
(app/sms/services/inbound.py)."""

from __future__ import annotations

from app.accounts.models import User
from app.notifications.models import Notification
from app.sms.services.inbound import ACKNOWLEDGED, ALREADY_ACKNOWLEDGED, NOT_ALLOWED
from repairs.services.access import is_manager_for
from repairs.services.tickets import act, get, manager_may

# The alerts a reply can answer: to the estate's managers, and on escalation to the company's
# (a company manager of another estate, or a supervisor, may not acknowledge: NOT_ALLOWED).
REPLY_KINDS = ("repair.new", "repair.warning", "repair.escalated", "repair.escalated_district")


def answer(session, notification: Notification, account: User | None) -> str | None:
    """Acknowledge the alerted ticket for `account` (the replying number's account), through
    the same service as the web button, marked as done by SMS. Nothing changes otherwise:
    NOT_ALLOWED when the account is not the ticket's estate's manager and the ticket waits;
    ALREADY_ACKNOWLEDGED when it is, but the ticket no longer waits for acknowledgement; None
    when neither (the ticket gone, or not waiting and not theirs). The gateway then tries the
    older alerts to that number."""
    ticket = get(session, str((notification.params or {}).get("ref", "")))
    if ticket is None:
        return None
    waiting = manager_may(ticket, "acknowledge")
    if account is None or not is_manager_for(account, ticket):
        return NOT_ALLOWED if waiting else None
    if not waiting:
        return ALREADY_ACKNOWLEDGED
    act(session, account, ticket, "acknowledge", by_sms=True)
    return ACKNOWLEDGED
