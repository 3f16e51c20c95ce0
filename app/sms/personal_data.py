"""The SMS gateway's part of "my data" and of closing an account (注销): the text messages sent
to the account's mobile number, the replies sent from it, and the verification codes asked for
it (app.registry.PersonalData, registered in app/sms/__init__.py). Nothing of it is needed once
the account is closed."""

from __future__ import annotations

from sqlalchemy import delete, select

from app.notifications.models import InboundSms
from app.sms.models import SmsMessage, VerificationCode


def _iso(moment):
    return moment.isoformat() if moment is not None else None


def export(session, user) -> dict:
    """The messages sent to `user`'s number (when, which kind, what became of it; no codes) and
    the codes asked for it (when, for what, from which network address, whether used)."""
    if not user.phone:
        return {"text_messages": [], "verification_codes": [], "replies": []}
    messages = session.scalars(
        select(SmsMessage).where(SmsMessage.phone == user.phone).order_by(SmsMessage.id)
    )
    codes = session.scalars(
        select(VerificationCode)
        .where(VerificationCode.phone == user.phone)
        .order_by(VerificationCode.id)
    )
    replies = session.scalars(
        select(InboundSms).where(InboundSms.phone == user.phone).order_by(InboundSms.id)
    )
    return {
        "replies": [
            {"received_at": _iso(r.received_at), "text": r.text, "outcome": r.outcome}
            for r in replies
        ],
        "text_messages": [
            {
                "created_at": _iso(m.created_at),
                "kind": m.kind,
                "status": m.status.value,
                "sent_at": _iso(m.sent_at),
            }
            for m in messages
        ],
        "verification_codes": [
            {
                "asked_at": _iso(c.created_at),
                "purpose": c.purpose.value,
                "asked_from": c.address,
                "used_at": _iso(c.used_at),
            }
            for c in codes
        ],
    }


def erase(session, user) -> dict:
    """Delete the messages sent to `user`'s number, the replies from it and the codes asked for
    it (inside the closing's unit of work, before the number is removed from the account)."""
    if not user.phone:
        return {"sms_messages_deleted": 0, "sms_codes_deleted": 0, "sms_replies_deleted": 0}
    codes = session.execute(
        delete(VerificationCode).where(VerificationCode.phone == user.phone)
    ).rowcount
    messages = session.execute(delete(SmsMessage).where(SmsMessage.phone == user.phone)).rowcount
    replies = session.execute(delete(InboundSms).where(InboundSms.phone == user.phone)).rowcount
    return {
        "sms_messages_deleted": messages,
        "sms_codes_deleted": codes,
        "sms_replies_deleted": replies,
    }
