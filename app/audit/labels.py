"""How audit actions read to people: one translated sentence per action kind that residents are
shown (what a helper did for them, what the service desk did on their account), with the
booking's, reservation's or report's reference. The one mapping from action codes to words:
the resident's helper page, the desk's lists and the my-data export all use `action_label`.
A code never reaches a resident: an action without a label reads as a generic sentence."""

from __future__ import annotations

from flask_babel import gettext

from app.i18n import N_

# action code -> message id; `%(reference)s` is filled from the entry's details.
ACTION_LABELS = {
    # A helper or family member acting under a consent (recorded with on_behalf_of).
    "booking.create": N_("Booked a venue: booking %(reference)s"),
    "booking.cancel": N_("Cancelled venue booking %(reference)s"),
    "booking.change_party": N_("Changed the number of people of venue booking %(reference)s"),
    "waitlist.join": N_("Joined a venue waitlist"),
    "parking.reserve": N_("Reserved a parking space: reservation %(reference)s"),
    "parking.cancel": N_("Cancelled parking reservation %(reference)s"),
    "parking.contract_sign": N_("Signed a parking contract: %(reference)s"),
    "parking.contract_cancel": N_("Cancelled parking contract %(reference)s"),
    "repair.report": N_("Reported a repair: %(reference)s"),
    # The service desk, on the resident's account (app.desk.services.record_desk_action).
    "desk.register": N_("Registered at the service desk"),
    "desk.card": N_("Printed a sign-in card (any earlier card stopped working)"),
    "desk.consent": N_("Recorded a written consent for a helper"),
    "desk.real_name": N_("Verified the real name with the ID card"),
}
GENERIC_LABEL = N_("Another action on your account")


def action_label(action: str, details: dict | None = None) -> str:
    """`action` as a sentence in the current language, with the reference from `details`;
    the generic sentence for a kind without a label (never the code itself)."""
    message = ACTION_LABELS.get(action)
    if message is None:
        return gettext(GENERIC_LABEL)
    return gettext(message, reference=(details or {}).get("reference") or "")
