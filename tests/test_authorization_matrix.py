"""The authorization matrix: every route of the URL map x every role, each asked for the
resident's objects (someone else's, for everyone but the resident), with the expected answer
written down below in EXPECTED.

How to read it
--------------
* Roles (the columns, ROLES): a visitor; the resident who owns every object under test; another
  resident of the same estate (a different home); a community helper WITHOUT the resident's
  consent; and users of every staff role in app.accounts.models.Role. Scoped staff come twice:
  scoped to something else (`venue_staff`, `venue_admin_elsewhere`, `carpark_operator`,
  `property_manager`, `town_supervisor`: for them the resident's object is someone else's) and
  scoped to the object's own venue, car park, estate or town (`..._here`: the page is theirs).
  `venue_admin` (no scope: every venue), `district_supervisor`, `service_desk` (verifies plates)
  and `administrator` are district-wide.
* Objects (the `world` fixture): the resident's venue booking, waitlist entry, helper consent,
  calendar feed, inbox message, vehicle (a claim waiting with its licence photo), parking
  reservation, off-peak contract and its charge, and repair ticket with a photo; and the venue,
  space, slot, car park, sharing window, estate, company, closure and venue photo they belong
  to. Every URL argument is filled from them
  (`by_endpoint` where one name means different objects, e.g. `reference`, else `by_name`).
* Rows: one per "METHOD /rule" (finer than one per endpoint: an endpoint with two rules, like
  the new and edit addresses of a sharing window, has a row for each). Only `static` is left out
  (EXCLUDED_ENDPOINTS); test_every_route_is_in_the_matrix fails for a route without a row, and
  for a row without a route. Methods a rule does not declare are not asked (werkzeug answers 405
  to everyone before any view runs).
* Answers:
    "ok"     allowed: 2xx; a 3xx that does not go to the sign-in page; or 400/409/422, which
             means the request got past authorization and was answered on its content (the
             bodies are empty or minimal: the point is who is refused, not whether the action
             succeeds). A 400 caused by a refused CSRF token never counts as "ok".
    "login"  a redirect to /login (a visitor on a page that needs signing in)
    "401"    the JSON API without a token
    "403"    signed in without the role (for that object)
    "404"    someone else's private object: indistinguishable from a missing one
    "400", "409"  exactly that status (see the comments on those rows)
  A 5xx answer, or an exception, is always a mismatch.
* Besides the status, GET answers to a visitor and to the roles with no claim on the resident's
  objects (UNRELATED) must not contain the resident's private strings (booking reference and
  door code, reservation, charge and ticket references, the plate, the message, the ticket's
  text): a list or search page that answers 200 must not show someone else's objects either.

Requests: GET routes get GET (with a query string from `queries` where a page needs one to do
its work); POST and DELETE routes are sent with a valid CSRF token (pages) or the role's Bearer
token (under /api/v1), with an empty body or the minimal one in `forms`/`json`. GETs run first,
then the writes in table order, sign-out last. One test per role asks every route and reports
every mismatch at once. test_own_venue_or_car_park_with_someone_elses_object_inside adds the
mixed addresses (one's own venue or car park, someone else's object inside it).
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from urllib.parse import quote, urlencode, urlsplit

import pytest
from sqlalchemy import select

from tests.conftest import csrf_token, login, parking_settings, slot_at

ROLES = (
    "anonymous",
    "resident",
    "other_resident",
    "helper",
    "venue_staff",
    "venue_staff_here",
    "venue_admin",
    "venue_admin_elsewhere",
    "carpark_operator",
    "carpark_operator_here",
    "property_manager",
    "property_manager_here",
    "town_supervisor",
    "town_supervisor_here",
    "district_supervisor",
    "service_desk",
    "administrator",
)

# Roles with no claim at all on the resident's objects: what they are shown must never contain them.
UNRELATED = (
    "anonymous",
    "other_resident",
    "helper",
    "venue_staff",
    "venue_admin_elsewhere",
    "carpark_operator",
    "property_manager",
    "town_supervisor",
    "service_desk",
)

OUTCOMES = {"ok", "login", "401", "403", "404", "400", "409", "422"}


def row(default: str, **overrides: str) -> dict[str, str]:
    """One row of the matrix: `default` for every role, except those named."""
    unknown = set(overrides) - set(ROLES)
    assert not unknown, f"unknown roles {unknown}"
    result = {role: overrides.get(role, default) for role in ROLES}
    assert set(result.values()) <= OUTCOMES, result
    return result


def only(*roles: str, refused: str = "403") -> dict[str, str]:
    """A page for some roles: visitors sign in, everyone else is refused."""
    return row(refused, anonymous="login", **{role: "ok" for role in roles})


# --- the rows, by kind ------------------------------------------------------------------------

PUBLIC = row("ok")  # anyone, signed in or not
SIGNED_IN = row("ok", anonymous="login")  # anyone signed in, for their own things
OWNER = row("404", anonymous="login", resident="ok")  # the resident's object, nobody else's
API_PUBLIC = row("ok")
API_SIGNED_IN = row("ok", anonymous="401")  # any token, for the token owner's things
API_OWNER = row("404", anonymous="401", resident="ok")  # the resident's object over the API

HELPERS_ONLY = only("helper")
AUDITORS = only("district_supervisor", "administrator")
VENUE_DOOR = only("venue_staff_here", "venue_admin", "administrator")  # STAFF_ROLES for the venue
VENUE_ADMIN = only("venue_admin", "administrator")  # ADMIN_ROLES for the venue
# Any venue administrator, scoped or not: crowd levels of every venue (no personal data).
CROWD_OVERVIEW = only(
    "venue_admin", "venue_admin_elsewhere", "district_supervisor", "administrator"
)
OPERATORS_HERE = only("carpark_operator_here", "administrator")
# /parking/operate: any operator (an operator of another car park is sent on to their own).
OPERATOR_INDEX = only("carpark_operator", "carpark_operator_here", "administrator")
# Verifying plates: operators of any car park and service-desk clerks, district-wide (they see
# the claimant's name and the licence photo; nobody else does, administrators included).
VERIFIERS = only("carpark_operator", "carpark_operator_here", "service_desk")
MANAGERS = only("property_manager", "property_manager_here")  # their own queue
DESK = only("service_desk")  # the service desk's pages (app/desk)
SUPERVISORS = only("town_supervisor", "town_supervisor_here", "district_supervisor")
COMPANIES = only("district_supervisor", "administrator")
# Who sees the resident's ticket: the reporter, the estate's managers, the town's supervisors
# and district supervisors; nobody else (not even administrators). Those who see it but may not
# do what they ask get the service's refusal as a message on the ticket page (a 302 back to it,
# "ok" here), the others a 404.
TICKET = row(
    "404",
    anonymous="login",
    resident="ok",
    property_manager_here="ok",
    town_supervisor_here="ok",
    district_supervisor="ok",
)
# Reading a ticket (its page, its photos): also the managers of the company's other estates
# (here the company manages both), alerted at a breach; the forms acting on it stay TICKET.
TICKET_READ = row(
    "404",
    anonymous="login",
    resident="ok",
    property_manager="ok",
    property_manager_here="ok",
    town_supervisor_here="ok",
    district_supervisor="ok",
)
# The Open311 API is public by the GeoReport v2 specification (requests are public records);
# filing needs an api_key, and a missing one is the spec's 403.
OPEN311 = row("ok")
OPEN311_FILE = row("ok", anonymous="403")

EXPECTED: dict[str, dict[str, str]] = {
    # --- the frame ---------------------------------------------------------------------------
    "GET /": PUBLIC,
    "GET /help": PUBLIC,
    "GET /accessibility": PUBLIC,
    # Open data (issue 15): public statistics, no sign-in.
    "GET /open-data": PUBLIC,
    "GET /open-data/catalog.json": PUBLIC,
    "GET /open-data/<key>/<month>.<ext>": PUBLIC,
    "POST /language": PUBLIC,
    "GET /display": PUBLIC,
    "POST /display": PUBLIC,
    "POST /display/elderly": PUBLIC,
    # The district chooser (issue 15): anyone chooses which district's lists they browse.
    "GET /district": PUBLIC,
    "POST /district": PUBLIC,
    # Read-aloud (accessibility/readaloud): anyone hears a page as they themselves see it (here
    # "my bookings": each their own, a visitor the sign-in page; checked for leaks below); a
    # recording by its keyed hash (an unknown one for everyone here); the script's words.
    "GET /readaloud": PUBLIC,
    "GET /readaloud/audio/<key>.mp3": row("404"),
    "POST /readaloud/speak": PUBLIC,
    "GET /login": PUBLIC,  # signed in: sent home
    "POST /login": PUBLIC,
    "GET /register": PUBLIC,  # signed in: sent home
    "POST /register": PUBLIC,
    # Sign-in and registration by SMS code (app/accounts/views.py): a step whose number (or,
    # for staff, accepted password) is not in the visitor's session goes back to its first
    # step; signed in, home.
    "POST /login/send-code": PUBLIC,
    "GET /login/code": row("ok", anonymous="login"),
    "POST /login/code": row("ok", anonymous="login"),
    "GET /login/verify": row("ok", anonymous="login"),  # staff second factor
    "POST /login/verify": row("ok", anonymous="login"),
    "GET /register/details": PUBLIC,
    "POST /register/details": PUBLIC,
    # A forgotten password (app/accounts/security_views.py): anyone, for a number they hold.
    "GET /password/forgot": PUBLIC,
    "POST /password/forgot": PUBLIC,
    "GET /password/reset": PUBLIC,
    "POST /password/reset": PUBLIC,
    "GET /profile/password": SIGNED_IN,  # one's own password
    "POST /profile/password": SIGNED_IN,
    "GET /profile/phone": SIGNED_IN,  # one's own number, confirmed by a code sent to the new one
    "POST /profile/phone": SIGNED_IN,
    "GET /profile/phone/confirm": SIGNED_IN,
    "POST /profile/phone/confirm": SIGNED_IN,
    "GET /privacy": PUBLIC,
    "GET /profile": SIGNED_IN,
    "POST /profile": SIGNED_IN,
    "GET /inbox": SIGNED_IN,
    "GET /inbox/<int:notification_id>": OWNER,
    "POST /inbox/read-all": SIGNED_IN,
    # push-pwa: Web Push in this browser (app/notifications/push_views.py): one's own browsers;
    # the JSON subscribe with an empty body is refused on its content (400, past the check).
    "GET /inbox/push": SIGNED_IN,
    "POST /inbox/push/subscriptions": SIGNED_IN,
    "POST /inbox/push/<int:subscription_id>/remove": OWNER,
    # The installable web app (app/notifications/pwa.py): the same public files for everyone.
    "GET /manifest.webmanifest": PUBLIC,
    "GET /sw.js": PUBLIC,
    "GET /offline": PUBLIC,
    # One's own notification settings and e-mail address (app/notifications/views.py); without
    # MAIL_SERVER the e-mail pages answer 400 "no e-mail here", past the check. The confirm
    # link's token is not valid for anyone here: 400 past the check too.
    "GET /profile/notifications": SIGNED_IN,
    "POST /profile/notifications": SIGNED_IN,
    "GET /profile/email": SIGNED_IN,
    "POST /profile/email": SIGNED_IN,
    "POST /profile/email/resend": SIGNED_IN,
    "GET /profile/email/confirm/<token>": SIGNED_IN,
    "GET /audit": AUDITORS,
    # Dead letters of the outbox (app/notifications/admin_views.py): administrators only.
    "GET /admin/deliveries": only("administrator"),
    # Places and organisations (issue 15: app/places/admin_views.py, repairs/admin_views.py,
    # parking/admin_views.py): administrators only (a district administrator: their district).
    "GET /admin/places": only("administrator"),
    "GET /admin/districts": only("administrator"),
    "GET /admin/districts/<int:district_id>": only("administrator"),
    "GET /admin/districts/new": only("administrator"),
    "POST /admin/districts/new": only("administrator"),
    "GET /admin/districts/<int:district_id>/edit": only("administrator"),
    "POST /admin/districts/<int:district_id>/edit": only("administrator"),
    "GET /admin/districts/<int:district_id>/archive": only("administrator"),
    "POST /admin/districts/<int:district_id>/archive": only("administrator"),
    "GET /admin/towns": only("administrator"),
    "GET /admin/towns/<int:town_id>": only("administrator"),
    "GET /admin/towns/new": only("administrator"),
    "POST /admin/towns/new": only("administrator"),
    "GET /admin/towns/<int:town_id>/edit": only("administrator"),
    "POST /admin/towns/<int:town_id>/edit": only("administrator"),
    "GET /admin/towns/<int:town_id>/archive": only("administrator"),
    "POST /admin/towns/<int:town_id>/archive": only("administrator"),
    "GET /admin/estates": only("administrator"),
    "GET /admin/estates/<int:estate_id>": only("administrator"),
    "GET /admin/estates/new": only("administrator"),
    "POST /admin/estates/new": only("administrator"),
    "GET /admin/estates/<int:estate_id>/edit": only("administrator"),
    "POST /admin/estates/<int:estate_id>/edit": only("administrator"),
    "GET /admin/estates/<int:estate_id>/archive": only("administrator"),
    "POST /admin/estates/<int:estate_id>/archive": only("administrator"),
    "GET /admin/companies": only("administrator"),
    "GET /admin/companies/<int:company_id>": only("administrator"),
    "GET /admin/companies/new": only("administrator"),
    "POST /admin/companies/new": only("administrator"),
    "GET /admin/companies/<int:company_id>/edit": only("administrator"),
    "POST /admin/companies/<int:company_id>/edit": only("administrator"),
    "GET /admin/companies/<int:company_id>/archive": only("administrator"),
    "POST /admin/companies/<int:company_id>/archive": only("administrator"),
    "GET /admin/carparks": only("administrator"),
    "GET /admin/carparks/<int:car_park_id>": only("administrator"),
    "GET /admin/carparks/new": only("administrator"),
    "POST /admin/carparks/new": only("administrator"),
    "GET /admin/carparks/<int:car_park_id>/edit": only("administrator"),
    "POST /admin/carparks/<int:car_park_id>/edit": only("administrator"),
    "GET /admin/carparks/<int:car_park_id>/archive": only("administrator"),
    "POST /admin/carparks/<int:car_park_id>/archive": only("administrator"),
    "GET /admin/estates/<int:estate_id>/company": only("administrator"),
    "POST /admin/estates/<int:estate_id>/company": only("administrator"),  # empty: refused
    "POST /admin/deliveries/retry": only("administrator"),  # no delivery_id: 400 past the check
    # Staff accounts (app/accounts/admin_views.py): administrators only; the account asked
    # for is the town supervisor scoped elsewhere (the administrator covers every place).
    "GET /admin/staff": only("administrator"),
    "GET /admin/staff/invite": only("administrator"),
    "POST /admin/staff/invite": only("administrator"),  # an empty form: refused on content
    "GET /admin/staff/<int:user_id>": only("administrator"),
    "GET /admin/staff/<int:user_id>/roles/add": only("administrator"),
    "POST /admin/staff/<int:user_id>/roles/add": only("administrator"),
    "GET /admin/staff/<int:user_id>/roles/<int:assignment_id>/remove": only("administrator"),
    "POST /admin/staff/<int:user_id>/roles/<int:assignment_id>/remove": only("administrator"),
    "GET /admin/staff/<int:user_id>/deactivate": only("administrator"),
    "POST /admin/staff/<int:user_id>/deactivate": only("administrator"),
    "GET /admin/staff/<int:user_id>/reactivate": only("administrator"),
    "POST /admin/staff/<int:user_id>/reactivate": only("administrator"),
    # Bulk import (app/imports, issue 15): administrators only; a job is its owner's alone, so
    # an administrator asking for a token that is not theirs gets 404.
    "GET /admin/imports": only("administrator"),
    "POST /admin/imports": only("administrator"),  # no file: the form answered, 200
    "GET /admin/imports/templates/<key>.<fmt>": only("administrator"),
    "GET /admin/imports/<token>": row("403", anonymous="login", administrator="404"),
    "GET /admin/imports/<token>/results.csv": row("403", anonymous="login", administrator="404"),
    "GET /admin/imports/<token>/apply": row("403", anonymous="login", administrator="404"),
    "POST /admin/imports/<token>/apply": row("403", anonymous="login", administrator="404"),
    # The service desk (app/desk): clerks only, residents and helpers refused. The resident's
    # page shows their name and masked number; the desk sees any resident by design.
    "GET /desk": DESK,
    "GET /desk/register": DESK,
    "POST /desk/register": DESK,  # an empty form: refused on content
    "GET /desk/residents/<int:resident_id>": DESK,
    "POST /desk/residents/<int:resident_id>/card": DESK,
    "GET /desk/residents/<int:resident_id>/consent": DESK,
    "POST /desk/residents/<int:resident_id>/consent": DESK,
    "GET /desk/residents/<int:resident_id>/real-name": DESK,
    "POST /desk/residents/<int:resident_id>/real-name": DESK,
    "GET /desk/residents/<int:resident_id>/close": DESK,
    "POST /desk/residents/<int:resident_id>/close": DESK,  # not confirmed: refused on content
    # The world's consent has no slip: missing for everyone (who sees a slip: tests/test_desk.py).
    "GET /desk/consents/<int:consent_id>/slip": row("404", anonymous="login"),
    "GET /card-signin": PUBLIC,  # signed in: sent home
    "POST /card-signin": PUBLIC,
    "GET /account/desk-actions": SIGNED_IN,  # one's own
    "GET /account/my-data": SIGNED_IN,
    "GET /account/my-data.json": SIGNED_IN,  # one's own data only (tests/test_mydata.py)
    "GET /account/close": SIGNED_IN,
    "POST /account/close": SIGNED_IN,  # no password: refused on content
    # Signed-in devices and API tokens (app/accounts/devices.py): each person's own. The
    # session and token asked for are the resident's (not the browser's own session, nor the
    # token the matrix uses): anyone else's answers 404.
    "GET /profile/devices": SIGNED_IN,
    "POST /profile/devices/<int:session_id>/end": OWNER,
    "POST /profile/devices/end-others": SIGNED_IN,  # after the row above: it ends the resident's
    "GET /profile/devices/end-all": SIGNED_IN,  # the confirmation page
    "GET /profile/tokens": SIGNED_IN,
    "POST /profile/tokens": SIGNED_IN,
    "GET /profile/tokens/<int:token_id>/revoke": OWNER,
    "POST /profile/tokens/<int:token_id>/revoke": OWNER,
    # The development outbox (app/sms): public while the outbox is the SMS provider (development
    # and tests; production refuses it), 404 otherwise (tests/test_sms.py).
    "GET /dev/outbox": PUBLIC,
    # The SMS provider's webhooks (app/notifications/webhooks.py): no session counts, only an
    # HMAC signature with SMS_WEBHOOK_SECRET, which no role here has (and tests leave unset).
    "POST /hooks/sms/inbound": row("401"),
    "POST /hooks/sms/receipts": row("401"),
    # Replying to a message on the development outbox page (PUBLIC as the page is; 404 without it).
    "POST /dev/outbox/reply": PUBLIC,
    # Household claims: the estate's managers decide claims to its homes; another estate's
    # manager gets a 404 for the resident's claim, everyone else has no queue at all.
    "GET /homes/claims": MANAGERS,
    "POST /homes/claims/<int:claim_id>/decide": row(
        "403", anonymous="login", property_manager="404", property_manager_here="ok"
    ),
    # "Moved out" asks first (a verified claim; otherwise back to the claims list).
    "GET /homes/claims/<int:claim_id>/end": row(
        "403", anonymous="login", property_manager="404", property_manager_here="ok"
    ),
    # Real names and 一网通办 (app/identity): one's own real-name page; the linked identity is
    # the resident's. Single sign-on is not configured in this app, so its start and answer are
    # 404 for everyone (the configured flow: tests/test_identity_sso.py).
    "GET /identity/real-name": SIGNED_IN,
    "POST /identity/real-name": SIGNED_IN,  # an empty form: refused on content
    "GET /identity/sso/start": row("404"),
    "GET /identity/sso/callback": row("404"),
    "POST /identity/sso/new-account": row("404"),
    "GET /identity/linked/<int:identity_id>/unlink": OWNER,
    "POST /identity/linked/<int:identity_id>/unlink": OWNER,
    # --- 全闵预约: finding and booking (any signed-in person books for themself) --------------
    "GET /venues": PUBLIC,
    "GET /venues/<int:venue_id>": PUBLIC,
    "GET /venues/<int:venue_id>/spaces/<int:space_id>/<day>": PUBLIC,
    "GET /venues/<int:venue_id>/spaces/<int:space_id>/<day>/book": SIGNED_IN,
    "POST /venues/<int:venue_id>/spaces/<int:space_id>/<day>/book": SIGNED_IN,
    "GET /venues/slots/<int:bucket_id>/book": SIGNED_IN,
    "POST /venues/slots/<int:bucket_id>/book": SIGNED_IN,
    "GET /venues/slots/<int:bucket_id>/check": SIGNED_IN,
    "POST /venues/slots/<int:bucket_id>/confirm": SIGNED_IN,
    "POST /venues/slots/<int:bucket_id>/waitlist": SIGNED_IN,
    "GET /venues/spaces/<int:space_id>/check": SIGNED_IN,
    "POST /venues/spaces/<int:space_id>/confirm": SIGNED_IN,
    "GET /media/venues/<filename>": PUBLIC,  # venue photos are public
    # --- 全闵预约: the resident's own bookings ---------------------------------------------
    "GET /bookings": SIGNED_IN,
    "GET /bookings/<reference>": OWNER,
    "GET /bookings/<reference>.ics": OWNER,
    "GET /bookings/<reference>/qr.svg": OWNER,
    "GET /bookings/<reference>/cancel": OWNER,
    "POST /bookings/<reference>/cancel": OWNER,
    "GET /bookings/<reference>/people": OWNER,  # traps-venues: change the number of people
    "POST /bookings/<reference>/people": OWNER,
    "POST /bookings/<reference>/accept": OWNER,
    "POST /bookings/<reference>/decline": OWNER,
    "POST /bookings/waitlist/<int:entry_id>/leave": OWNER,
    "GET /bookings/calendar": SIGNED_IN,
    "POST /bookings/calendar": SIGNED_IN,
    # The feed is a capability address: whoever holds the secret token reads it, no sign-in
    # (calendar apps cannot sign in). A wrong token is a 404 (tested in test_venue_booking).
    "GET /calendar/<token>.ics": PUBLIC,
    "GET /bookings/helpers": SIGNED_IN,
    "POST /bookings/helpers": SIGNED_IN,
    "POST /bookings/helpers/<int:consent_id>/revoke": OWNER,
    # The residents who let one act for them: a helper's, or a family member's (app/desk);
    # empty for everyone else.
    "GET /bookings/helping": SIGNED_IN,
    # Asking to act for the resident: a helper without their consent is refused like anyone.
    "POST /bookings/helping": row("403", anonymous="login"),
    # --- 全闵预约: venue staff and administrators (the resident's venue) ----------------------
    "GET /staff/venues/<int:venue_id>/door": VENUE_DOOR,
    "POST /staff/venues/<int:venue_id>/door": VENUE_DOOR,
    "GET /staff/venues/<int:venue_id>/bookings": VENUE_DOOR,
    "GET /staff/venues/<int:venue_id>/bookings.csv": VENUE_DOOR,
    "POST /staff/venues/<int:venue_id>/bookings/<reference>/decide": VENUE_DOOR,
    "GET /staff/venues/<int:venue_id>/crowd": VENUE_DOOR,
    "GET /staff/venues/<int:venue_id>/approvals": VENUE_DOOR,  # staff-tools: approval queue
    "POST /staff/venues/<int:venue_id>/approvals/<reference>": VENUE_DOOR,
    "GET /staff/venues/crowd": CROWD_OVERVIEW,
    "GET /staff/venues/admin": only("venue_admin", "venue_admin_elsewhere", "administrator"),
    "GET /staff/venues/admin/new": VENUE_ADMIN,  # district-wide venue admins only
    "POST /staff/venues/admin/new": VENUE_ADMIN,
    "GET /staff/venues/<int:venue_id>/edit": VENUE_ADMIN,
    "POST /staff/venues/<int:venue_id>/edit": VENUE_ADMIN,
    "GET /staff/venues/<int:venue_id>/manage": VENUE_ADMIN,
    "GET /staff/venues/<int:venue_id>/spaces/new": VENUE_ADMIN,
    "POST /staff/venues/<int:venue_id>/spaces/new": VENUE_ADMIN,
    "GET /staff/venues/<int:venue_id>/spaces/<int:space_id>": VENUE_ADMIN,
    "POST /staff/venues/<int:venue_id>/spaces/<int:space_id>": VENUE_ADMIN,
    "GET /staff/venues/<int:venue_id>/hours": VENUE_ADMIN,
    "POST /staff/venues/<int:venue_id>/hours": VENUE_ADMIN,
    "GET /staff/venues/<int:venue_id>/closures": VENUE_ADMIN,
    "POST /staff/venues/<int:venue_id>/closures": VENUE_ADMIN,
    "POST /staff/venues/<int:venue_id>/closures/<int:closure_id>/delete": VENUE_ADMIN,
    "GET /staff/venues/<int:venue_id>/photos": VENUE_ADMIN,
    "POST /staff/venues/<int:venue_id>/photos": VENUE_ADMIN,
    "POST /staff/venues/<int:venue_id>/photos/<int:photo_id>/move": VENUE_ADMIN,  # before delete
    "POST /staff/venues/<int:venue_id>/photos/<int:photo_id>/delete": VENUE_ADMIN,
    "GET /staff/venues/<int:venue_id>/photos/<int:photo_id>/delete": VENUE_ADMIN,  # confirm
    # --- 快捷停车: public pages ----------------------------------------------------------------
    "GET /parking": PUBLIC,
    "GET /parking/<int:car_park_id>": PUBLIC,
    "GET /parking/quote": PUBLIC,
    # --- 快捷停车: the driver's own parking ----------------------------------------------------
    "GET /parking/mine": SIGNED_IN,
    "GET /parking/vehicles": SIGNED_IN,
    "POST /parking/vehicles": SIGNED_IN,
    "POST /parking/vehicles/<int:vehicle_id>/autopay": OWNER,
    "GET /parking/vehicles/<int:vehicle_id>/licence": OWNER,
    "POST /parking/vehicles/<int:vehicle_id>/licence": OWNER,
    "GET /parking/<int:car_park_id>/reserve": SIGNED_IN,
    "POST /parking/<int:car_park_id>/reserve": SIGNED_IN,
    "GET /parking/reservations/<reference>": OWNER,
    "POST /parking/reservations/<reference>/cancel": OWNER,
    "GET /parking/reservations/<reference>/cancel": OWNER,  # the question, saying the cost
    "GET /parking/<int:car_park_id>/share": SIGNED_IN,
    "POST /parking/<int:car_park_id>/share": SIGNED_IN,
    "GET /parking/contracts/<int:contract_id>": OWNER,
    "POST /parking/contracts/<int:contract_id>/<any(cancel, stop, renew):action>": OWNER,
    "GET /parking/contracts/<int:contract_id>/<any(cancel, stop, renew):action>": OWNER,
    "GET /parking/charges/<reference>": OWNER,
    "POST /parking/charges/<reference>": OWNER,
    "POST /parking/vehicles/<int:vehicle_id>/remove": OWNER,  # sent after the others (it deletes)
    "GET /parking/vehicles/<int:vehicle_id>/remove": OWNER,  # the question before removing
    # --- 快捷停车: operators (the resident's car park) ----------------------------------------
    "GET /parking/operate": OPERATOR_INDEX,
    "GET /parking/operate/<int:car_park_id>": OPERATORS_HERE,
    "GET /parking/operate/<int:car_park_id>/capacity": OPERATORS_HERE,
    "POST /parking/operate/<int:car_park_id>/capacity": OPERATORS_HERE,
    "GET /parking/operate/<int:car_park_id>/tariff": OPERATORS_HERE,
    "POST /parking/operate/<int:car_park_id>/tariff": OPERATORS_HERE,
    "GET /parking/operate/<int:car_park_id>/windows/new": OPERATORS_HERE,
    "POST /parking/operate/<int:car_park_id>/windows/new": OPERATORS_HERE,
    "GET /parking/operate/<int:car_park_id>/windows/<int:window_id>": OPERATORS_HERE,
    "POST /parking/operate/<int:car_park_id>/windows/<int:window_id>": OPERATORS_HERE,
    "POST /parking/operate/<int:car_park_id>/token": OPERATORS_HERE,
    # The car park's gate token (made by its operator): its operators and administrators.
    "GET /parking/operate/<int:car_park_id>/tokens/<int:token_id>/revoke": OPERATORS_HERE,
    "POST /parking/operate/<int:car_park_id>/tokens/<int:token_id>/revoke": OPERATORS_HERE,
    # --- 快捷停车: verifying plates (the resident's claim, waiting with its licence photo) ------
    "GET /parking/verify": VERIFIERS,
    "GET /parking/verify/<int:vehicle_id>": VERIFIERS,
    "POST /parking/verify/<int:vehicle_id>": VERIFIERS,  # an empty decision: refused on content
    "GET /parking/verify/<int:vehicle_id>/licence": VERIFIERS,
    # --- 物业百事通 ---------------------------------------------------------------------------
    "GET /repairs": PUBLIC,  # signed in: their own reports listed
    "GET /repairs/report": SIGNED_IN,
    "POST /repairs/report": SIGNED_IN,
    "GET /repairs/tickets/<reference>": TICKET_READ,
    "POST /repairs/tickets/<reference>/act": TICKET,  # managers only; others: the message
    "POST /repairs/tickets/<reference>/info": TICKET,  # the reporter only; staff: the message
    "POST /repairs/tickets/<reference>/confirm": TICKET,
    "POST /repairs/tickets/<reference>/reopen": TICKET,
    "POST /repairs/tickets/<reference>/rate": TICKET,
    "POST /repairs/tickets/<reference>/cancel": TICKET,
    # The question before cancelling: the reporter's; staff who see the ticket are sent back to it.
    "GET /repairs/tickets/<reference>/cancel": TICKET,
    "POST /repairs/tickets/<reference>/note": TICKET,  # supervisors only; others: the message
    # Joining a report: only one open for the joiner's own home or for the estate's public
    # areas (the ones the report page offers). A neighbour may not join a private report of
    # someone else's home (and so read it); people without a home in the estate get a 404.
    "POST /repairs/tickets/<reference>/join": row("404", anonymous="login", resident="ok"),
    "GET /repairs/photos/<filename>": TICKET_READ,  # photos go with the ticket
    "GET /repairs/queue": MANAGERS,
    "GET /repairs/supervise": SUPERVISORS,
    "GET /repairs/supervise/tickets": SUPERVISORS,  # ?estate= the resident's: only theirs shown
    "GET /repairs/rating": SUPERVISORS,
    "GET /repairs/rating.csv": SUPERVISORS,
    "GET /repairs/companies": COMPANIES,
    "GET /repairs/companies/<int:company_id>": COMPANIES,
    "POST /repairs/companies/<int:company_id>": COMPANIES,
    # --- Open311 GeoReport v2 ---------------------------------------------------------------
    "GET /open311/v2/discovery.<fmt>": OPEN311,
    "GET /open311/v2/services.<fmt>": OPEN311,
    "GET /open311/v2/services/<code>.<fmt>": OPEN311,
    "GET /open311/v2/requests.<fmt>": OPEN311,
    "GET /open311/v2/requests/<request_id>.<fmt>": OPEN311,
    "GET /open311/v2/tokens/<token>.<fmt>": OPEN311,
    "POST /open311/v2/requests.<fmt>": OPEN311_FILE,
    # --- JSON API ---------------------------------------------------------------------------
    "GET /api/v1/openapi.json": API_PUBLIC,
    "GET /api/v1/me": API_SIGNED_IN,
    "GET /api/v1/notifications": API_SIGNED_IN,
    "POST /api/v1/notifications/<int:notification_id>/read": API_OWNER,
    "GET /api/v1/venues": API_PUBLIC,
    "GET /api/v1/venues/<int:venue_id>": API_PUBLIC,
    "GET /api/v1/venues/<int:venue_id>/availability": API_PUBLIC,
    "POST /api/v1/bookings": API_SIGNED_IN,
    "GET /api/v1/bookings": API_SIGNED_IN,
    "GET /api/v1/bookings/<int:booking_id>": API_OWNER,
    "GET /api/v1/bookings/<int:booking_id>.ics": API_OWNER,
    "DELETE /api/v1/bookings/<int:booking_id>": API_OWNER,
    "PATCH /api/v1/bookings/<int:booking_id>": API_OWNER,  # traps-venues: its party size
    "GET /api/v1/carparks": API_PUBLIC,
    "GET /api/v1/carparks/<int:car_park_id>": API_PUBLIC,
    "GET /api/v1/parking/feed": API_PUBLIC,
    "GET /api/v1/parking/quote": API_PUBLIC,
    # Reserving for the resident's plate: only the resident; for anyone else it is not one of
    # their vehicles (422 unknown_vehicle), and the API never registers it as a side effect.
    "POST /api/v1/parking/reservations": row("422", anonymous="401", resident="ok"),
    "GET /api/v1/parking/reservations/<int:reservation_id>": API_OWNER,
    "DELETE /api/v1/parking/reservations/<int:reservation_id>": API_OWNER,
    # Gate events for the resident's car park: its operators' tokens (and administrators').
    "POST /api/v1/parking/events": row(
        "403", anonymous="401", carpark_operator_here="ok", administrator="ok"
    ),
    # Payment callbacks are authenticated by the provider's signature, not by a role: an
    # unsigned one is refused (400 bad_callback) whoever sends it.
    "POST /api/v1/parking/payments/callback/<provider>": row("400"),
    # --- signing out, last --------------------------------------------------------------------
    "POST /logout": SIGNED_IN,
    # Asked after signing out (see `plan`: it signs the browser out too), so every role is sent
    # to sign in; tests/test_sessions.py signs out everywhere while signed in.
    "POST /profile/devices/end-all": row("login"),
}

# Routes deliberately left out of the matrix, and why.
EXCLUDED_ENDPOINTS = {"static"}  # the CSS, JS and images in static/: public files, no objects

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
PLATE = "沪K72Q58"  # not 沪A12345: the forms show that one as their example
NOTE_SUBJECT = "矩阵测试私信 MATRIX-NOTE-7Q"
TICKET_TEXT = "卫生间漏水 MATRIX-TICKET-3K"


def route_keys(app) -> set[str]:
    return {
        f"{method} {rule.rule}"
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in EXCLUDED_ENDPOINTS
        for method in METHODS
        if method in rule.methods
    }


def test_every_route_is_in_the_matrix(app):
    """A new route (or method) fails here until its row is written down; a removed one too."""
    routes = route_keys(app)
    assert sorted(routes - EXPECTED.keys()) == [], "routes missing from EXPECTED"
    assert sorted(EXPECTED.keys() - routes) == [], "rows in EXPECTED for routes that do not exist"
    endpoints = {r.endpoint for r in app.url_map.iter_rules()} - EXCLUDED_ENDPOINTS
    assert len(endpoints) > 100  # sanity: the whole app, not a blueprint or two


# --- the world: the resident's objects and a user for every role ------------------------------


def jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def world(app, session, places, make_user, make_venue, car_park, repair_company, frozen, tmp_path):
    from app import clock
    from app.accounts.models import HelperConsent
    from app.accounts.services import issue_token
    from app.notifications.services import notify
    from parking.models import Charge, DayPattern
    from parking.services import reservations, sharing, vehicles
    from repairs.models import Category
    from repairs.services import tickets
    from venues import current_settings
    from venues.calendar import feed_token
    from venues.services import admin, waitlist
    from venues.services import booking as booking_service

    app.config["UPLOAD_DIR"] = str(tmp_path)
    town, other_town = places["towns"]
    estate, other_estate = places["estates"]
    venue, other_venue = make_venue(capacity=2), make_venue(name="别的场馆")
    park, other_park = car_park.default, car_park(name="别的停车场")

    users = {
        "resident": make_user(home_estate_id=estate.id, home_building="5", home_room="301"),
        "other_resident": make_user(home_estate_id=estate.id, home_building="6", home_room="502"),
        "helper": make_user("community_helper"),
        "venue_staff": make_user("venue_staff", scope=other_venue),
        "venue_staff_here": make_user("venue_staff", scope=venue),
        "venue_admin": make_user("venue_admin"),
        "venue_admin_elsewhere": make_user("venue_admin", scope=other_venue),
        "carpark_operator": make_user("carpark_operator", scope=other_park),
        "carpark_operator_here": make_user("carpark_operator", scope=park),
        "property_manager": make_user("property_manager", scope=other_estate),
        "property_manager_here": make_user("property_manager", scope=estate),
        "town_supervisor": make_user("town_supervisor", scope=other_town),
        "town_supervisor_here": make_user("town_supervisor", scope=town),
        "district_supervisor": make_user("district_supervisor"),
        "service_desk": make_user("service_desk"),
        "administrator": make_user("administrator"),
    }
    resident = users["resident"]
    today = clock.today()

    # 全闵预约: a booking, a place on a full slot's waitlist, a helper's consent, the feed.
    hall, court = venue.spaces[0], venue.spaces[-1]
    bucket = slot_at(session, hall, 1, 10)
    booking = booking_service.book_general(
        session, resident, resident, bucket.id, 1, settings=current_settings()
    )
    full = slot_at(session, hall, 2, 10)
    filler = make_user()
    booking_service.book_general(session, filler, filler, full.id, 2, settings=current_settings())
    entry = waitlist.join_waitlist(
        session, resident, resident, full.id, 1, settings=current_settings()
    )
    consent = HelperConsent(
        resident_id=resident.id,
        helper_id=make_user("community_helper").id,
        venues=True,
        parking=True,
        repairs=True,
    )
    session.add(consent)
    session.commit()
    feed = feed_token(session, resident.id)
    closure, _ = admin.add_closure(
        session,
        users["venue_admin"],
        venue,
        today + timedelta(days=10),
        today + timedelta(days=10),
        "设备检修",
    )
    photo = admin.add_photo(session, users["venue_admin"], venue, jpeg(), "大厅", "The hall")
    court_start = slot_at(session, court, 1, 15).starts_at

    # 站内信
    note = notify(session, resident.id, kind="matrix", subject=NOTE_SUBJECT)
    session.commit()
    from app.identity.models import ExternalIdentity

    linked_identity = ExternalIdentity(user_id=resident.id, issuer="https://ywtb.test", subject="m")
    session.add(linked_identity)  # committed with the tokens below

    # 快捷停车: a claimed vehicle waiting for a verifier with its licence photo, a reservation,
    # next month's off-peak contract and its charge.
    vehicle = vehicles.send_licence(session, vehicles.register(session, resident, PLATE), jpeg())
    reservation = reservations.reserve(
        session,
        resident,
        resident,
        park,
        PLATE,
        clock.at(today, 11 * 60),
        settings=parking_settings(),
    )
    window = sharing.create_window(
        session,
        park,
        name_zh="工作日白天",
        name_en="Working days",
        days=DayPattern.WORKDAYS,
        start_minute=8 * 60,
        end_minute=18 * 60,
        spaces=2,
        monthly_fee_fen=30000,
    )
    contract = sharing.sign(
        session,
        resident,
        window,
        PLATE,
        clock.next_month(clock.month_start(today)),
        settings=parking_settings(),
    )
    charge = session.scalar(select(Charge).where(Charge.contract_id == contract.id))

    # 物业百事通: a report of a leak in the resident's home, with a photo.
    ticket = tickets.report(
        session,
        resident,
        resident,
        category=Category.WATER,
        description=TICKET_TEXT,
        photos=[jpeg()],
    )
    ticket_photo = ticket.photos[0]

    api_tokens = {role: issue_token(session, user) for role, user in users.items()}
    # The resident's other signed-in browser and another of their tokens (the devices and tokens
    # pages' objects), and the car park's gate token.
    from app.accounts.models import TokenScope, UserSession

    other_browser = UserSession(user_id=resident.id, digest="0" * 64)
    session.add(other_browser)
    from app.notifications.models import PushSubscription

    push_browser = PushSubscription(
        user_id=resident.id, endpoint="https://push.example.com/matrix", p256dh="x", auth="y"
    )
    session.add(push_browser)
    spare_token = issue_token(session, resident, "spare")
    gate_token = issue_token(
        session,
        users["carpark_operator_here"],
        f"gate {park.id}",
        scope=TokenScope.GATE,
        scope_id=park.id,
    )
    session.commit()
    from app.accounts.models import ApiToken

    token_id = {
        secret: session.scalar(
            select(ApiToken.id).where(ApiToken.digest == ApiToken.digest_of(secret))
        )
        for secret in (spare_token, gate_token)
    }

    tomorrow = (today + timedelta(days=1)).isoformat()
    ticket_ref = ticket.reference
    # URL arguments: by endpoint first (where one name means different objects), then by name.
    by_endpoint = {
        ("my_bookings", "reference"): booking.reference,
        ("venue_staff", "reference"): booking.reference,
        ("parking_driver.reservation", "reference"): reservation.booking.reference,
        ("parking_driver.cancel_reservation", "reference"): reservation.booking.reference,
        ("parking_driver.charge", "reference"): charge.reference,
        ("repairs", "reference"): ticket_ref,
        ("venue_staff", "space_id"): hall.id,
        ("venues", "space_id"): court.id,
        ("venue_media", "filename"): photo.filename,
        ("repairs", "filename"): ticket_photo.filename,
        ("calendar_feed", "token"): feed,
        ("open311", "token"): ticket_ref,
        ("notification_settings", "token"): "not-a-token",
        ("imports", "token"): "not-a-token",
        ("imports", "key"): "households",
        ("imports", "fmt"): "xlsx",
        ("opendata", "key"): "repair-tickets",
        ("opendata", "month"): "2026-11",
        ("opendata", "ext"): "csv",
        ("accounts.revoke_api_token", "token_id"): token_id[spare_token],
        ("parking_operator.revoke_token", "token_id"): token_id[gate_token],
    }
    by_name = {
        "venue_id": venue.id,
        "bucket_id": bucket.id,
        "day": tomorrow,
        "entry_id": entry.id,
        "consent_id": consent.id,
        "notification_id": note.id,
        "key": "0" * 64,  # a recording nobody made (readaloud.audio)
        "booking_id": booking.id,
        "closure_id": closure.id,
        "identity_id": linked_identity.id,
        "photo_id": photo.id,
        "car_park_id": park.id,
        "window_id": window.id,
        "vehicle_id": vehicle.id,
        "contract_id": contract.id,
        "action": "stop",
        "reservation_id": reservation.id,
        "company_id": repair_company.id,
        # The places administration (issue 15): the resident's estate, its town and district.
        "estate_id": estate.id,
        "town_id": estate.town_id,
        "district_id": estate.town.district_id,
        "request_id": ticket_ref,
        "code": Category.WATER.value,
        "fmt": "json",
        "provider": "demo_wallet",
        "claim_id": resident.home_claim.id,
        "resident_id": resident.id,
        "session_id": other_browser.id,
        "subscription_id": push_browser.id,
        # Staff accounts (/admin/staff): a staff member and one of their roles.
        "user_id": users["town_supervisor"].id,
        "assignment_id": users["town_supervisor"].roles[0].id,
    }
    span = {"start": court_start.isoformat(), "steps": 1}
    queries = {
        "venues.check": {"party_size": 1},
        "readaloud.page": {"path": "/bookings"},
        "venues.confirm": {"party_size": 1},
        "venues.span_check": span,
        "venues.span_confirm": span,
        "venue_staff.day": {"date": tomorrow},
        "venue_staff.export": {"date": tomorrow},
        "repairs.supervise_tickets": {"estate": estate.id, "flag": "open"},
        "parking_verify.queue": {"plate": PLATE},  # the desk's search: verifiers only
        "api_venues.availability": {"date": tomorrow},
        "api_parking.quote": {
            "carpark_id": park.id,
            "entry": "2026-12-01T09:00:00+08:00",
            "exit": "2026-12-01T11:30:00+08:00",
        },
    }
    # Minimal bodies. Pages: form fields (the CSRF token is added); API: JSON.
    forms = {
        "POST /bookings/helping": {"resident_id": resident.id},
        "POST /readaloud/speak": {"text": "你好"},
        "POST /venues/slots/<int:bucket_id>/waitlist": {"party_size": 1},
        "POST /parking/vehicles/<int:vehicle_id>/autopay": {"on": "0"},
        # A time that does not parse: refused on its content, without closing the venue.
        "POST /staff/venues/<int:venue_id>/hours": {"opens_0": "9am", "closes_0": "17:00"},
        "POST /open311/v2/requests.<fmt>": {
            "service_code": "water",
            "description": "楼道灯不亮",
            "address_id": str(estate.id),
        },
    }
    json_bodies = {
        "POST /api/v1/bookings": {"slot_id": slot_at(session, hall, 1, 11).id, "party_size": 1},
        "PATCH /api/v1/bookings/<int:booking_id>": {"party_size": 2},  # traps-venues
        "POST /api/v1/parking/reservations": {
            "carpark_id": park.id,
            "plate": PLATE,
            "arrive_at": clock.at(today, 13 * 60).isoformat(),
        },
        "POST /api/v1/parking/events": {
            "carpark_id": park.id,
            "plate": "沪B99999",
            "direction": "entry",
            "occurred_at": "2026-12-01T09:00:00+08:00",
        },
    }
    secrets = {
        "booking reference": booking.reference,
        "door code": booking.door_code,
        "reservation reference": reservation.booking.reference,
        "charge reference": charge.reference,
        "ticket reference": ticket_ref,
        "plate": PLATE,
        "message": NOTE_SUBJECT,
        "ticket text": TICKET_TEXT,
    }
    names = {
        "venue": venue.id,
        "other_venue": other_venue.id,
        "hall": hall.id,
        "closure": closure.id,
        "photo": photo.id,
        "park": park.id,
        "other_park": other_park.id,
        "window": window.id,
        "booking": booking.reference,
        "booking_id": booking.id,
        "reservation": reservation.booking.reference,
        "reservation_booking_id": reservation.booking_id,
        "contract_booking": contract.booking.reference,
        "charge": charge.reference,
        "door_code": booking.door_code,
    }
    return {
        "users": users,
        "api_tokens": api_tokens,
        "by_endpoint": by_endpoint,
        "by_name": by_name,
        "queries": queries,
        "forms": forms,
        "json": json_bodies,
        "secrets": secrets,
        "names": names,
    }


# --- asking and judging --------------------------------------------------------------------

ARG = re.compile(r"<(?:[^>]*:)?(\w+)>")


def build_url(world, rule) -> str:
    endpoint = rule.endpoint
    blueprint = endpoint.split(".")[0]

    def value(match):
        name = match.group(1)
        for key in ((endpoint, name), (blueprint, name)):
            if key in world["by_endpoint"]:
                return quote(str(world["by_endpoint"][key]))
        return quote(str(world["by_name"][name]))

    path = ARG.sub(value, rule.rule)
    query = world["queries"].get(endpoint)
    return f"{path}?{urlencode(query)}" if query else path


def matches(expected: str, response) -> bool:
    status = response.status_code
    if status >= 500:
        return False
    location = urlsplit(response.headers.get("Location", "")).path
    to_login = status in (301, 302, 303, 307, 308) and location == "/login"
    if expected == "ok":
        if status == 400 and b"CSRF" in response.get_data():
            return False  # the test's token was refused: nothing was asked
        return (
            200 <= status < 300
            or (300 <= status < 400 and not to_login)
            or status in (400, 409, 422)
        )
    if expected == "login":
        return to_login
    return status == int(expected)


def leaks(world, path: str, response) -> list[str]:
    # Open311 requests are public records by specification (see OPEN311); the calendar feed's
    # secret token in its address is the resident's own key (see "GET /calendar/<token>.ics").
    # Plate verifiers are shown the claimed plate in full by design (they compare it with the
    # licence photo); everyone else is refused those pages (the status check above).
    # A ticket's page and photos are read by the managers of its company's other estates
    # (TICKET_READ: they are alerted at a breach); the status check above refuses the rest.
    if path.startswith(("/open311/", "/calendar/", "/parking/verify")):
        return []
    if path.startswith(("/repairs/tickets/", "/repairs/photos/")) and response.status_code == 200:
        return []
    body = response.get_data().decode("utf-8", errors="replace")  # photos and QR codes too
    found = []
    for what, secret in world["secrets"].items():
        pattern = rf"(?<!\d){re.escape(secret)}(?!\d)" if secret.isdigit() else re.escape(secret)
        if re.search(pattern, body):
            found.append(what)
    return found


def plan(app):
    """(key, rule, method) for every route: reads, then writes in table order, then the writes
    that archive a place (an archived car park, estate or town refuses what the other writes
    ask of it), sign-out last."""
    rules = {}
    for rule in app.url_map.iter_rules():
        for method in METHODS:
            if method in rule.methods and rule.endpoint not in EXCLUDED_ENDPOINTS:
                rules[f"{method} {rule.rule}"] = (rule, method)
    order = [key for key in EXPECTED if key in rules]
    reads = [key for key in order if key.startswith("GET ")]
    writes = [key for key in order if not key.startswith("GET ") and key not in SIGN_OUTS]
    archives = [key for key in writes if key.endswith("/archive")]
    writes = [key for key in writes if key not in archives]
    return [(key, *rules[key]) for key in reads + writes + archives + list(SIGN_OUTS)]


# The writes that sign the browser out, asked last in this order.
SIGN_OUTS = ("POST /logout", "POST /profile/devices/end-all")


@pytest.mark.parametrize("role", ROLES)
def test_authorization_matrix(role, app, client, world):
    user = world["users"].get(role)
    if user is not None:
        login(client, user.login_name)
    token = csrf_token(client, "/display")
    bearer = {"Authorization": f"Bearer {world['api_tokens'][role]}"} if user else {}

    mismatches = []
    for key, rule, method in plan(app):
        expected = EXPECTED[key][role]
        url = build_url(world, rule)
        api = rule.rule.startswith("/api/")
        try:
            if api:
                response = client.open(
                    url,
                    method=method,
                    headers=bearer,
                    json=world["json"].get(key) if method != "GET" else None,
                )
            elif method == "GET":
                response = client.get(url)
            else:
                data = {"csrf_token": token, **world["forms"].get(key, {})}
                if key == "POST /open311/v2/requests.<fmt>" and user is not None:
                    data["api_key"] = world["api_tokens"][role]
                response = client.open(url, method=method, data=data)
        except Exception as error:  # noqa: BLE001 - every route is asked, whatever one does
            mismatches.append(f"{key}: expected {expected}, raised {type(error).__name__}: {error}")
            continue
        if not matches(expected, response):
            where = response.headers.get("Location", "")
            mismatches.append(
                f"{key}: expected {expected}, got {response.status_code}"
                + (f" -> {where}" if where else "")
            )
        elif method == "GET" and role in UNRELATED and 200 <= response.status_code < 300:
            shown = leaks(world, url, response)
            if shown:
                mismatches.append(f"{key}: {role} is shown the resident's {', '.join(shown)}")
    assert mismatches == [], f"{len(mismatches)} mismatches for {role}:\n" + "\n".join(mismatches)


# --- mixed addresses: one's own venue or car park with someone else's object inside it ------

# The matrix above puts the resident's venue and car park in every address, so staff of other
# ones are refused at the door (403). These put the staff's OWN venue or car park in the address
# and the resident's booking, space, closure, photo or sharing window after it: the inner object
# is not theirs, and answers 404 (or, at the door, "no such code" without showing the booking).
# The last rows ask the resident for their own objects through another service's pages (a
# parking reservation is a booking of the capacity engine too): not found there, never a 500.
CROSS = [
    ("venue_staff", "POST", "/staff/venues/{other_venue}/bookings/{booking}/decide", {}, "404"),
    ("venue_staff", "POST", "/staff/venues/{other_venue}/approvals/{booking}", {}, "404"),
    ("venue_staff", "POST", "/staff/venues/{other_venue}/door", {"code": "{door_code}"}, "ok"),
    ("venue_admin_elsewhere", "GET", "/staff/venues/{other_venue}/spaces/{hall}", {}, "404"),
    ("venue_admin_elsewhere", "POST", "/staff/venues/{other_venue}/spaces/{hall}", {}, "404"),
    (
        "venue_admin_elsewhere",
        "POST",
        "/staff/venues/{other_venue}/closures/{closure}/delete",
        {},
        "404",
    ),
    (
        "venue_admin_elsewhere",
        "POST",
        "/staff/venues/{other_venue}/photos/{photo}/delete",
        {},
        "404",
    ),
    ("carpark_operator", "GET", "/parking/operate/{other_park}/windows/{window}", {}, "404"),
    ("carpark_operator", "POST", "/parking/operate/{other_park}/windows/{window}", {}, "404"),
    ("resident", "GET", "/bookings/{reservation}", {}, "404"),
    ("resident", "GET", "/bookings/{contract_booking}/qr.svg", {}, "404"),
    ("resident", "POST", "/bookings/{reservation}/cancel", {}, "404"),
    ("resident", "GET", "/parking/reservations/{booking}", {}, "404"),
    ("resident", "GET", "/parking/charges/{booking}", {}, "404"),
    ("resident", "GET", "/api/v1/bookings/{reservation_booking_id}", {}, "404"),
    ("resident", "DELETE", "/api/v1/bookings/{reservation_booking_id}", {}, "404"),
]


def test_own_venue_or_car_park_with_someone_elses_object_inside(app, client, world):
    from app.extensions import db
    from bookings.models import Booking, BookingStatus

    mismatches = []
    signed_in = None
    for role, method, template, form, expected in CROSS:
        if role != signed_in:
            client = app.test_client()
            login(client, world["users"][role].login_name)
            token = csrf_token(client, "/display")
            signed_in = role
        url = template.format(**world["names"])
        if url.startswith("/api/"):
            response = client.open(
                url, method=method, headers={"Authorization": f"Bearer {world['api_tokens'][role]}"}
            )
        elif method == "GET":
            response = client.get(url)
        else:
            data = {"csrf_token": token, **{k: v.format(**world["names"]) for k, v in form.items()}}
            response = client.open(url, method=method, data=data)
        asked = f"{role} {method} {url}"
        if not matches(expected, response):
            mismatches.append(f"{asked}: expected {expected}, got {response.status_code}")
        elif role != "resident" and response.status_code == 200 and leaks(world, url, response):
            mismatches.append(f"{asked}: shown {', '.join(leaks(world, url, response))}")
    assert mismatches == [], "\n".join(mismatches)
    # Nothing of the resident's changed on the way: the booking is not checked in at a door
    # that is not its venue's, the reservation is not cancelled through the venue pages.
    db.session.rollback()
    statuses = set(
        db.session.scalars(
            select(Booking.status).where(
                Booking.reference.in_([world["names"]["booking"], world["names"]["reservation"]])
            )
        )
    )
    assert statuses == {BookingStatus.CONFIRMED}
