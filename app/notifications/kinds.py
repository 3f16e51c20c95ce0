"""Which messages may leave the inbox, and by which channels unless the person chose otherwise.

Every notification has a `kind` ("venue.offer", "repair.warning", ...). A kind listed here
belongs to a category a person sets channels for on their notifications page; a kind not
listed (a booking confirmation seen at once on the page that made it) stays in the inbox
only, and costs its write no extra statement. Urgent categories ignore quiet hours.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from app.i18n import N_
from app.notifications.models import Channel


class Category(enum.StrEnum):
    WAITLIST_OFFERS = "waitlist_offers"
    BOOKING_REMINDERS = "booking_reminders"
    BOOKING_UPDATES = "booking_updates"
    REPAIR_ALERTS = "repair_alerts"  # staff: a new report, its deadline near, a breach
    REPAIR_UPDATES = "repair_updates"  # residents: acknowledged, visit scheduled, fixed
    PARKING = "parking"  # receipts, reminders, no-show warnings, contract renewals and lapses
    ACCOUNT = "account"  # a home, a plate or a real name verified or refused
    VENUE_REQUESTS = "venue_requests"  # staff: a booking waiting for their approval


@dataclass(frozen=True)
class CategoryInfo:
    label: str  # a message id (N_), shown on the preferences page
    hint: str
    urgent: bool  # delivered during quiet hours
    default_sms: bool  # time-limited things go by SMS unless the person says otherwise


CATEGORIES: dict[Category, CategoryInfo] = {
    Category.WAITLIST_OFFERS: CategoryInfo(
        N_("Waitlist offers"), N_("A place held for you for a limited time."), True, True
    ),
    Category.BOOKING_REMINDERS: CategoryInfo(
        N_("Booking reminders"), N_("The day before a venue booking."), False, False
    ),
    Category.BOOKING_UPDATES: CategoryInfo(
        N_("Booking updates"),
        N_("Approvals, refusals, cancellations by a closure, no-shows and suspensions."),
        False,
        False,
    ),
    Category.REPAIR_ALERTS: CategoryInfo(
        N_("Repair alerts (staff)"),
        N_("A new report at your estates, its deadline near, a breach."),
        True,
        True,
    ),
    Category.REPAIR_UPDATES: CategoryInfo(
        N_("Repair updates"),
        N_("Your report acknowledged, a visit scheduled, the repair done."),
        False,
        False,
    ),
    Category.PARKING: CategoryInfo(
        N_("Parking"),
        N_("Reservation reminders, no-show warnings, receipts, contract renewals and lapses."),
        False,
        False,
    ),
    Category.ACCOUNT: CategoryInfo(
        N_("Your account"),
        N_("Your home, plates and real name checked by staff."),
        False,
        False,
    ),
    Category.VENUE_REQUESTS: CategoryInfo(
        N_("Booking requests (venue staff)"),
        N_("A booking at your venue waiting for your approval."),
        False,
        False,
    ),
}

# Notification kind -> category. Kinds not here stay in the inbox only.
KIND_CATEGORY: dict[str, Category] = {
    "venue.offer": Category.WAITLIST_OFFERS,
    "venue.reminder": Category.BOOKING_REMINDERS,
    "venue.decision": Category.BOOKING_UPDATES,
    "venue.cancelled": Category.BOOKING_UPDATES,
    "venue.changed": Category.BOOKING_UPDATES,  # traps-venues: its number of people changed
    "venue.no_show": Category.BOOKING_UPDATES,
    "venue.suspended": Category.BOOKING_UPDATES,
    "venue.waitlist_skipped": Category.BOOKING_UPDATES,
    "venue.waitlist_slot_removed": Category.BOOKING_UPDATES,
    # msgs-bench: a booking or waitlist place made for the resident by a helper or family
    # member (made by the resident, its confirmation is read on the page: inbox only).
    "venue.booked_for": Category.BOOKING_UPDATES,
    "venue.waitlist_joined": Category.BOOKING_UPDATES,
    "venue.approval_request": Category.VENUE_REQUESTS,  # staff-tools: to the venue's staff
    "repair.new": Category.REPAIR_ALERTS,  # to the estate's managers
    "repair.warning": Category.REPAIR_ALERTS,
    "repair.escalated": Category.REPAIR_ALERTS,
    "repair.escalated_district": Category.REPAIR_ALERTS,
    "repair.submitted": Category.REPAIR_UPDATES,  # the resident's receipt
    "repair.update": Category.REPAIR_UPDATES,
    "parking.reminder": Category.PARKING,
    "parking.reserved_for": Category.PARKING,  # msgs-bench: reserved by a helper for them
    "parking.no_show": Category.PARKING,
    "parking.suspended": Category.PARKING,
    "parking.receipt": Category.PARKING,
    "parking.payment_failed": Category.PARKING,
    "parking.contract": Category.PARKING,
    "parking.contract_lapsed": Category.PARKING,
    "parking.plate_verified": Category.ACCOUNT,
    "parking.plate_refused": Category.ACCOUNT,
    "parking.plate_dropped": Category.ACCOUNT,
    "home.decision": Category.ACCOUNT,
    "real_name": Category.ACCOUNT,
}


def category_of(kind: str) -> Category | None:
    return KIND_CATEGORY.get(kind)


def default_channels(category: Category, *, elderly: bool) -> dict[Channel, bool]:
    """The channels a person who chose nothing gets for `category`: SMS for time-limited
    things (and for everything in elderly mode: a text message needs no app and no mailbox),
    e-mail and push for the rest (each only where the person has a confirmed address or a
    subscribed browser)."""
    info = CATEGORIES[category]
    return {
        Channel.SMS: info.default_sms or elderly,
        Channel.EMAIL: True,
        Channel.PUSH: True,
    }
