"""My data: everything the portal holds about a person, as one JSON document, and closing the
account (注销).

The frame gives its own part (account, roles, homes, messages, consents, tokens, sign-in
cards, audit entries about the person); each service package adds its part through
`app.registry.register_personal_data` (the frame imports no service package).

Closing an account is one unit of work: every package first cancels the person's future
bookings and reservations through its own cancel services (places released, waitlists
offered) and ends their contracts, then anonymises what it must keep; then the frame empties
the account. The row stays, with no name, number, username or password, inactive and marked
`deleted_at`, so that what is kept for statistics or the law (past bookings' counts, repair
tickets' estate and timings, paid charges' amounts, the audit log) refers to nobody. The mobile
number is free to register again at once. What is kept is listed in KEPT (the privacy notice
says it)."""

from __future__ import annotations

import secrets
from pathlib import Path

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, select

from app.accounts import sessions
from app.accounts.models import ApiToken, DisplayMode, HelperConsent, User, UserSession
from app.audit.labels import action_label
from app.audit.models import AuditEntry
from app.audit.services import record
from app.db import unit_of_work, utcnow
from app.desk.models import SigninCard
from app.errors import Conflict, DomainError
from app.identity import services as identity
from app.notifications.models import Notification
from app.places.models import HomeClaim
from app.sms.models import CodePurpose
from app.sms.services import check_code, issue_code

SLIP_FOLDER = "consent-slips"  # under UPLOAD_DIR; served only to the three parties
CLOSED_NAME = "已注销"  # what the emptied account is called wherever a name is shown

# What closing an account keeps, anonymised, and why (for the privacy notice and the
# confirmation page).
KEPT = (
    _l(
        "Past venue bookings and parking reservations: their times and places, counted in the "
        "services' statistics, without your name or plate."
    ),
    _l(
        "Repair reports you made: the estate, the kind of repair and its timings, counted in the "
        "30-minute response figures and the companies' ratings, without you, your home, what "
        "you wrote or your photos."
    ),
    _l(
        "Parking charges: their amounts, times and car park, kept for the car parks' accounts, "
        "without you or your plate."
    ),
    _l(
        "The audit log: what staff and helpers did and when, kept as the law requires, pointing "
        "to a closed account with no name."
    ),
)


def _iso(moment):
    return moment.isoformat() if moment is not None else None


def _consent(c: HelperConsent, other: User | None) -> dict:
    return {
        "person": other.name if other is not None else None,
        "relation": c.relation.value,
        "services": [s.value for s in c.services],
        "starts_on": c.starts_on.isoformat(),
        "ends_on": c.ends_on.isoformat(),
        "granted_at": _iso(c.granted_at),
        "revoked_at": _iso(c.revoked_at),
        "recorded_at_the_desk": c.recorded_by_id is not None,
        "signed_slip": bool(c.slip_filename),
    }


def audit_about(user: User):
    """The audit entries about `user`: those on their behalf (a helper acting for them) and
    those whose object is their account (the service desk's actions)."""
    return or_(
        AuditEntry.on_behalf_of_id == user.id,
        (AuditEntry.object_type == User.__tablename__) & (AuditEntry.object_id == str(user.id)),
    )


def _messages(messages, user: User) -> list[dict]:
    """The inbox as the person reads it: each message rendered with its parameters in the
    account's language (the inbox page's `subject_text`/`body_text`), not the stored ids."""
    with force_locale(user.locale):
        return [
            {
                "at": _iso(n.created_at),
                "subject": n.subject_text,
                "body": n.body_text,
                "read": n.read_at is not None,
            }
            for n in messages
        ]


def _audit(entries, user: User) -> list[dict]:
    """The audit entries about the person, each with what it was in words (their language)."""
    with force_locale(user.locale):
        return [
            {
                "at": _iso(e.created_at),
                "action": e.action,
                "what": action_label(e.action, e.details),
                "by": e.actor.name if e.actor is not None else None,
                "object": f"{e.object_type}:{e.object_id}",
            }
            for e in entries
        ]


def frame_export(session, user: User) -> dict:
    """The frame's part of `user`'s data."""
    claims = session.scalars(select(HomeClaim).where(HomeClaim.user_id == user.id)).all()
    given = session.scalars(select(HelperConsent).where(HelperConsent.resident_id == user.id))
    received = session.scalars(select(HelperConsent).where(HelperConsent.helper_id == user.id))
    messages = session.scalars(
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    )
    tokens = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id))
    cards = session.scalars(select(SigninCard).where(SigninCard.user_id == user.id))
    audit = session.scalars(
        select(AuditEntry).where(audit_about(user)).order_by(AuditEntry.created_at)
    )
    return {
        "account": {
            "id": user.id,
            "name": user.name,
            "phone": user.phone,
            "username": user.username,
            "language": user.locale,
            "display_mode": user.display_mode.value,
            "created_at": _iso(user.created_at),
            # A desk-registered resident has a random hash nobody knows: not a password.
            "has_password": bool(user.password_set),
        },
        "roles": [
            {"role": a.role.value, "scope": a.scope_kind, "scope_id": a.scope_id}
            for a in user.roles
        ],
        "homes": [
            {
                "estate": c.household.estate.name_zh,
                "building": c.household.building,
                "unit": c.household.unit,
                "room": c.household.room,
                "status": c.status.value,
                "claimed_at": _iso(c.claimed_at),
                "ended_at": _iso(c.ended_at),
            }
            for c in claims
        ],
        "messages": _messages(messages, user),
        "consents_given": [_consent(c, c.helper) for c in given],
        "consents_received": [_consent(c, c.resident) for c in received],
        "api_tokens": [
            {
                "name": t.name,
                "created_at": _iso(t.created_at),
                "last_used_at": _iso(t.last_used_at),
                "revoked_at": _iso(t.revoked_at),
            }
            for t in tokens
        ],
        "signin_cards": [
            {"printed_at": _iso(c.created_at), "used_at": _iso(c.used_at)} for c in cards
        ],
        "audit_entries_about_me": _audit(audit, user),
    }


def export(session, user: User, parts) -> dict:
    """Everything the portal holds about `user`: the frame's part and each registered
    package's (`parts`: app.registry.personal_data()), under the package's key."""
    data = frame_export(session, user)
    data["identity"] = identity.export_personal_data(session, user)
    data["sessions"] = [
        {
            "signed_in_at": _iso(s.created_at),
            "last_used_at": _iso(s.last_used_at),
            "browser": s.user_agent,
            "network": s.network,
        }
        for s in sessions.live_sessions(session, user)
    ]
    for part in parts:
        data[part.key] = part.export(session, user)
    return data


def check_reauthentication(
    session, user: User, *, password: str | None, code: str | None, sms_settings
) -> None:
    """Closing an account asks for proof it is the person: their current password, or a code
    sent to their number (`send_code`; the same purpose as a password reset, which proves as
    much). DomainError on the field to correct."""
    if password:
        if not user.password_set or not user.check_password(password):
            raise DomainError(
                _l("The password is not right. Enter your current password."),
                field="password",
                code="wrong_password",
            )
    elif code:
        if not user.phone or not check_code(
            session, user.phone, CodePurpose.RESET, code, sms_settings
        ):
            raise DomainError(
                _l("The code is not right or has expired. Ask for a new one."),
                field="code",
                code="wrong_code",
            )
    else:
        raise DomainError(
            _l("Enter your current password, or a code sent to your mobile number."),
            field="password",
            code="no_proof",
        )


def send_code(session, user: User, *, address: str, sms_settings) -> None:
    """Send a code to `user`'s own number, to close the account without a password."""
    if not user.phone:
        raise DomainError(_l("Your account has no mobile number to send a code to."), field="code")
    issue_code(session, user.phone, CodePurpose.RESET, address=address, settings=sms_settings)


def close_account(
    session, user: User, parts, *, upload_dir: str, closed_by: User | None = None
) -> dict:
    """Close `user`'s account (注销), in one unit of work: each package's `erase` (future
    bookings and reservations cancelled through its own services, contracts ended, personal data
    removed, anonymised records kept), then the frame's part (homes, consents given and received
    with their slips, messages, tokens, sign-in cards, roles), then the account itself emptied and
    made inactive, and every session of theirs ended. The caller has re-authenticated the person
    and signs this browser out after; `closed_by` is the desk clerk who closed it at the
    person's request, in person (the audit entry names them).
    Returns what was done, in counts. A closed account is refused (Conflict)."""
    with unit_of_work(session) as unit:
        session.execute(select(User.id).where(User.id == user.id).with_for_update())
        session.refresh(user, ["deleted_at"])
        if user.deleted_at is not None:
            raise Conflict(_l("This account is already closed."), code="closed")
        done: dict = {}
        for part in parts:
            done.update(part.erase(session, user))
        done["sessions_ended"] = sessions.end_all(session, user, reason="account_closed")
        done.update(_erase_frame(session, user, unit, upload_dir))
        done.update(identity.erase_personal_data(session, user))
        record(session, closed_by or user, "account.close", user, **done)
        user.name, user.phone, user.username = CLOSED_NAME, None, None
        user.set_password(secrets.token_urlsafe(32))  # nobody knows it: no password sign-in
        user.password_set, user.phone_verified_at = False, None
        user.active, user.deleted_at = False, utcnow()
        user.locale, user.display_mode = "zh_CN", DisplayMode.STANDARD
        user.roles.clear()
    return done


def _erase_frame(session, user: User, unit, upload_dir: str) -> dict:
    from app.places.services import set_home

    set_home(session, user, None)  # the current claim ends (its hooks run: following ends)
    session.execute(delete(HomeClaim).where(HomeClaim.user_id == user.id))
    consents = session.scalars(
        select(HelperConsent).where(
            or_(HelperConsent.resident_id == user.id, HelperConsent.helper_id == user.id)
        )
    ).all()
    for consent in consents:
        if consent.slip_filename:
            path = Path(upload_dir) / SLIP_FOLDER / consent.slip_filename
            unit.after_commit(lambda path=path: path.unlink(missing_ok=True))
        session.delete(consent)
    messages = session.execute(delete(Notification).where(Notification.user_id == user.id))
    session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    session.execute(delete(SigninCard).where(SigninCard.user_id == user.id))
    # Which browsers and networks the person used: ended first (close_account), then gone.
    session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    return {"consents_removed": len(consents), "messages_removed": messages.rowcount}
