"""Fuzzing (issue: "no 500, every refusal a clear 4xx message").

1. The JSON API: schemathesis generates requests for every operation of /api/v1/openapi.json
   (valid and invalid ones), sends them in-process with a resident's token (an operator's for
   gate events), and checks that nothing answers 5xx, that every 4xx is our error body
   `{"error": {"code": ..., "message": ...}}` with a message, and that answers conform to the
   documented schema.
2. Every form: hypothesis POSTs (GETs, for the search forms) generated values to each form's
   page as a signed-in user of the right role with a valid CSRF token: unicode, huge strings,
   control characters, numbers out of range, impossible dates, missing fields, mixed into an
   otherwise valid submission so the values reach the services. Nothing may answer 5xx, and a
   refusal is the page again with its error summary, a redirect, or a 4xx.

Both are derandomized (the same examples every run) and keep the hypothesis database off, so CI
is reproducible. Any failure prints the request that caused it. FUZZ_API_EXAMPLES (per
operation, 40) and FUZZ_FORM_EXAMPLES (per form page, 12) ask for more for a deeper search; with
`-s` the test prints what the requests got back. Section 3 pins down what the fuzzing found.
"""

from __future__ import annotations

import os
import re
import traceback
from datetime import UTC

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from app.accounts.services import issue_token
from app.ratelimit import limiter_for
from tests.conftest import parking_settings

# 40 per operation and 12 per form page keep the suite near its time budget (they were 150 and
# 30: 420 s of one worker, the suite's longest module; then 60 and 20: 237 s); `make fuzz` asks
# 300 and 60, and a deeper search sets the variables.
API_EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_API_EXAMPLES", 40))
FUZZ_SETTINGS = dict(
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
)


def _no_rate_limits(app):
    """Thousands of requests from one address would trip the sign-in and open-data limits,
    which is their job; the fuzzing is about what comes after them."""
    limiter_for(app).enabled = False


# --- 1. The JSON API with schemathesis -----------------------------------------------------


def error_body_check(ctx, response, case):
    """Every refusal (4xx) is our error body with a code and a non-empty message."""
    if 400 <= response.status_code < 500:
        body = response.json()
        assert isinstance(body, dict) and set(body) == {"error"}, body
        error = body["error"]
        assert isinstance(error.get("code"), str) and error["code"], body
        assert isinstance(error.get("message"), str) and error["message"].strip(), body


@pytest.fixture
def api_world(app, session, make_venue, make_user):
    """Demo towns, estates and car parks, a venue with slots, a resident with a booking and a
    reservation, and a car-park operator: ids the generated requests can hit."""
    from datetime import timedelta

    from app import clock
    from app.demo import seed_frame
    from parking.demo import seed_parking
    from parking.models import CarPark
    from parking.services import reservations, vehicles
    from parking.services.reservations import materialise_pool
    from tests.conftest import slot_at
    from venues import current_settings
    from venues.services import booking as venue_booking

    venue = make_venue(capacity=50)
    seed_frame(session)
    seed_parking(session)
    parks = session.query(CarPark).order_by(CarPark.id).all()
    for park in parks:
        materialise_pool(session, park, parking_settings().pool_days)
    resident = make_user("resident", phone="13812340001")
    operator = make_user("carpark_operator", scope=parks[0])
    slot = slot_at(session, venue.spaces[0], 1, 10)
    booking = venue_booking.book_general(
        session, resident, resident, slot.id, 2, settings=current_settings()
    )
    plate = vehicles.register(session, resident, "沪A12345").plate
    arrive = clock.at(clock.today() + timedelta(days=1), 10 * 60)
    reservation = reservations.reserve(
        session, resident, resident, parks[0], plate, arrive, settings=parking_settings()
    )
    tokens = {
        "resident": issue_token(session, resident),
        "operator": issue_token(session, operator),
    }
    session.commit()
    slots = [slot_at(session, venue.spaces[0], 1, h).id for h in (9, 10, 11)] + [
        slot_at(session, venue.spaces[1], 2, h).id for h in (9, 10)
    ]
    # Times around now (on the quarter hour, as reservations want, or to the second), ISO 8601.
    now = clock.now()
    near_now = st.builds(
        lambda quarters, seconds: (
            (now + timedelta(minutes=15 * quarters, seconds=seconds))
            .astimezone(clock.LOCAL_TZ)
            .isoformat()
        ),
        st.integers(-4 * 24 * 4, 4 * 24 * 4),
        st.sampled_from([0, 0, 0, 13]),
    )
    park_ids = st.sampled_from([p.id for p in parks])
    return {
        "tokens": tokens,
        # Real values to put into generated requests now and then, by parameter name.
        "real": {
            "venue_id": st.just(venue.id),
            "booking_id": st.just(booking.id),
            "reservation_id": st.just(reservation.id),
            "car_park_id": park_ids,
            "carpark_id": park_ids,
            "slot_id": st.sampled_from(slots),
            "town_id": st.just(venue.town_id),
            "notification_id": st.sampled_from([1, 2]),
            "provider": st.just("demo_wallet"),
            "plate": st.sampled_from(["沪A12345", "沪B54321", "沪AD12345"]),
            "entry": near_now,
            "exit": near_now,
            "arrive_at": near_now,
            "occurred_at": near_now,
            "date": st.builds(
                lambda days: (clock.today() + timedelta(days=days)).isoformat(), st.integers(-2, 16)
            ),
        },
    }


def test_api_fuzz(app, session, api_world):
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    _no_rate_limits(app)
    client = app.test_client()  # IsolatedClient: a fresh app context per request
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        error_body_check,
    ]
    operations = [result.ok() for result in schema.get_all_operations()]
    real = api_world["real"]
    sent, statuses = {}, {}  # requests per operation, and per operation and status
    failures = []

    for operation in operations:
        strategy = st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )

        @settings(max_examples=API_EXAMPLES_PER_OPERATION, **FUZZ_SETTINGS)
        @given(case=strategy, data=st.data())
        def run(case, data):
            positive = case.meta is None or case.meta.generation.mode.is_positive
            if positive:
                # Random integers seldom name a real row, random times are seldom near now: put
                # real ids, plates and times in now and then, to get past "not found".
                for container in (
                    case.path_parameters,
                    case.query,
                    case.body if isinstance(case.body, dict) else None,
                ):
                    for name in list(container or ()):
                        if name in real and data.draw(st.booleans(), label=f"real {name}"):
                            container[name] = data.draw(real[name], label=name)
            # The case's own operation (not the loop variable: `run` is a closure in the loop).
            label = case.operation.label
            role = "operator" if case.operation.path.endswith("/parking/events") else "resident"
            headers = {}
            # With the token mostly, so that token routes get past 401; now and then without.
            if data.draw(st.sampled_from(["token"] * 9 + ["without"]), label="auth") == "token":
                headers["Authorization"] = f"Bearer {api_world['tokens'][role]}"
            response = case.call(session=client, headers=headers)
            sent[label] = sent.get(label, 0) + 1
            key = (label, response.status_code)
            statuses[key] = statuses.get(key, 0) + 1
            case.validate_response(response, checks=checks, headers=headers)

        try:
            run()
        except Exception as error:  # every operation's failure, then report them all
            report = "".join(traceback.format_exception(error))
            failures.append(f"{operation.label}:\n{report[-6000:]}")

    total = sum(sent.values())
    print(f"schemathesis: {len(operations)} operations, {total} requests")
    for (label, status), count in sorted(statuses.items()):
        print(f"  {label}: {status} x{count}")
    assert not failures, "\n\n".join(failures)
    # Each operation gets its examples (an operation without parameters has fewer to give).
    assert len(operations) >= 20 and total >= 0.8 * API_EXAMPLES_PER_OPERATION * len(operations)


# --- 2. Every form with hypothesis ---------------------------------------------------------

FORM_EXAMPLES = int(os.environ.get("FUZZ_FORM_EXAMPLES", 12))
FORM_PACKAGES = ("app", "accessibility", "bookings", "venues", "parking", "repairs")

# Values that have broken forms elsewhere: empty and blank, control characters, right-to-left and
# full-width text, numbers far out of range or not numbers at all, impossible times and dates,
# markup and SQL (which must come back as text).
AWKWARD = [
    "",
    " ",
    "\x00",
    "\t\r\n",
    "\x1b[31m",
    "\u202e\u0645",
    "😀" * 3,
    "０８：３０",
    "８",
    "-1",
    "0",
    "1.5",
    "1e309",
    "NaN",
    "-inf",
    "9" * 30,
    "-" + "9" * 30,
    "00:00",
    "23:59",
    " 7:05 ",
    "12:00:00",
    "25:99",
    "24:00",
    "23:60",
    "8:5",
    ":",
    "2026-02-31",
    "2026-02-31 25:61",
    "2026-13-01 09:00",
    "0000-00-00",
    "None",
    "null",
    "true",
    "<script>alert(1)</script>",
    "'; DROP TABLE users; --",
    "%s%n%x",
    "{{7*7}}",
    "沪A12345",
    "../../etc/passwd",
]
# The ends of dates and of database integers.
EDGES = [
    "9999-12-31",
    "0001-01-01",
    "9999-12-31 23:59",
    "0001-01-01 00:00",
    "1970-01-01T00:00",
    "9999",
    "10000",
    "2147483647",
    "2147483648",
    "-2147483649",
    "9223372036854775808",
]
awkward_text = st.one_of(
    st.sampled_from(AWKWARD),
    st.sampled_from(["", " ", "\t", "\u3000"]),  # blank: Optional() lets it past a choice check
    st.sampled_from(EDGES),
    st.text(max_size=30),  # any unicode, control characters included
    st.integers(-(10**25), 10**25).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    # Huge: up to 20,000 characters.
    st.builds(
        lambda chunk, n: chunk * n, st.text(min_size=1, max_size=3), st.integers(100, 20_000)
    ),
)
# One box of a date (year, month or day): day 31 of February, month 13, the year 10000...
awkward_date_part = st.one_of(
    st.sampled_from(
        [
            "31",
            "30",
            "29",
            "2",
            "13",
            "0",
            "00",
            "-1",
            "9999",
            "10000",
            "2026",
            "1",
            "9" * 20,
            " 2 ",
        ]
    ),
    awkward_text,
)


def _png(size=(40, 30)) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, "teal").save(buffer, "PNG")
    return buffer.getvalue()


awkward_file = st.one_of(
    st.just(b""),
    st.binary(max_size=200),
    st.builds(_png),
    st.builds(lambda png, cut: png[:cut], st.builds(_png), st.integers(1, 60)),  # truncated image
    st.just(b"GIF89a" + b"\x00" * 50),
    st.just(b"%PDF-1.4\n" + b"x" * 100),
)
file_name = st.one_of(
    st.sampled_from(
        [
            "photo.png",
            "photo.jpg",
            "",
            "../../x.png",
            "a" * 300 + ".png",
            "照片.heic",
            "x.exe",
            "\x00.png",
        ]
    ),
    st.text(max_size=20),
)


class FormPage:
    """Where a form is shown and sent, by whom, and an answer that passes, to mutate.

    `url` and `valid` may use the world's names in {braces} (see `form_world`). `ok_page` is for
    pages that answer a valid submission with the page itself (search results, the door's
    outcome), where a 200 need not be a refusal."""

    def __init__(self, url, role, valid, *, method="POST", extra=(), ok_page=False, page=None):
        self.url, self.role, self.valid, self.method = url, role, valid, method
        self.extra, self.ok_page, self.page = tuple(extra), ok_page, page

    def fill(self, world):
        """The URL, the page to open first, and the valid answer, with the world's values put in.
        A tuple in `valid` is a choice of valid values; a list, the values of one field."""

        def one(value):
            if isinstance(value, bytes):  # a file's content (with its name: a tuple)
                return value
            if isinstance(value, str):
                return value.format(**world)
            return type(value)(one(v) for v in value)

        return (
            self.url.format(**world),
            (self.page or self.url).format(**world),
            {k: one(v) for k, v in self.valid.items()},
        )


HOURS = {f"opens_{d}": "09:00" for d in range(7)} | {f"closes_{d}": "17:00" for d in range(7)}
VENUE = {
    "name_zh": "新图书馆",
    "name_en": "New Library",
    "type": "library",
    "town_id": "{town}",
    "address_zh": "新路 1 号",
    "address_en": "1 New Road",
    "phone": "021-12345678",
    "description_zh": "说明",
    "description_en": "About",
    "rules_zh": "规则",
    "rules_en": "Rules",
    "step_free": "y",
    "accessible_toilet": "y",
    "lift": "",
    "hearing_loop": "",
    "opens_days_ahead": "7",
    "opens_at": "08:00",
    "max_per_day": "2",
    "max_per_week": "5",
    "cancel_cutoff_minutes": "60",
    "checkin_grace_minutes": "15",
    "crowd_warning_percent": "80",
    "waitlist_offer_minutes": "30",
    "active": "y",
}
SPACE = {
    "name_zh": "自习室",
    "name_en": "Study room",
    "mode": "general",
    "capacity": "30",
    "slot_minutes": "120",
    "max_party_size": "2",
    "max_steps": "1",
    "requires_approval": "",
    "active": "y",
}
TARIFF = {
    "free_minutes": "15",
    "first_hour_yuan": "6.50",
    "period_minutes": "30",
    "period_yuan": "3",
    "night_unit_yuan": "1",
    "day_starts": "07:00",
    "day_ends": "19:00",
    "daily_cap_yuan": "60",
}
WINDOW = {
    "name_zh": "周末",
    "name_en": "Weekends",
    "days": "weekends",
    "start_time": "09:00",
    "end_time": "21:00",
    "spaces": "5",
    "monthly_fee_yuan": "120",
    "active": "y",
}
QUOTE = {
    "car_park": "{park}",
    "entry_day-year": "2026",
    "entry_day-month": "12",
    "entry_day-day": "1",
    "entry_time": "09:00",
    "exit_day-year": "2026",
    "exit_day-month": "12",
    "exit_day-day": "1",
    "exit_time": "11:30",
}

# Every FlaskForm subclass of the packages, keyed "module.Class": the pages it is sent to, who
# sends it, and a valid answer. (test_every_form_is_fuzzed fails when a form is missing here.)
TICKET = "/repairs/tickets/{ticket}"
FIXED = "/repairs/tickets/{fixed_ticket}"
FORM_PAGES = {
    # The development outbox's reply (app/sms/views.py): anyone there, as the message's recipient.
    "app.sms.forms.ReplyForm": [
        FormPage("/dev/outbox/reply", None, {"delivery": "1", "text": "1"}, page="/dev/outbox")
    ],
    "app.accounts.forms.LoginForm": [
        FormPage("/login", None, {"login": "{resident_phone}", "password": "wrong-password-1"})
    ],
    # Sign-in and registration by SMS code, reset and change of password and number. A second
    # step needs the number its first step kept in the visitor's session: a fresh visitor is
    # sent back to the first step (tests/test_signin.py walks the steps with real codes).
    "app.accounts.forms.PhoneForm": [
        FormPage("/register", None, {"phone": ("13712345678", "{resident_phone}")}),
        FormPage("/login/send-code", None, {"phone": "{resident_phone}"}, page="/login"),
        FormPage("/password/forgot", None, {"phone": "{resident_phone}"}),
    ],
    "app.accounts.forms.CodeForm": [
        FormPage("/login/code", None, {"code": "123456"}, page="/login"),
        FormPage("/profile/phone/confirm", "resident", {"code": "123456"}, page="/profile"),
    ],
    "app.accounts.forms.RegisterForm": [
        FormPage(
            "/register/details",
            None,
            {
                "code": "123456",
                "name": "新居民",
                "password": ("", "correct-horse-9"),
                "confirm": ("", "correct-horse-9"),
                "consent": "y",
            },
            page="/register",
        )
    ],
    "app.accounts.forms.ResetForm": [
        FormPage(
            "/password/reset",
            None,
            {"code": "123456", "password": "new-horse-battery-7", "confirm": "new-horse-battery-7"},
            page="/password/forgot",
        )
    ],
    "app.accounts.forms.ChangePasswordForm": [
        FormPage(
            "/profile/password",
            "resident",
            {
                "current_password": "correct-horse-9",
                "code": "",
                "password": "new-horse-battery-7",
                "confirm": "new-horse-battery-7",
            },
            extra=["action"],
        )
    ],
    "app.accounts.forms.NewPhoneForm": [
        FormPage("/profile/phone", "resident", {"phone": ("13712345679", "{resident_phone}")})
    ],
    "app.accounts.forms.ProfileForm": [
        FormPage(
            "/profile",
            "resident",
            {
                "name": "居民",
                "locale": "zh_CN",
                "display_mode": "standard",
                "home_estate_id": "{estate}",
                "home_building": "5",
                "home_unit": "2",
                "home_room": "301",
            },
        )
    ],
    # One's notification settings and e-mail address (app/notifications/forms.py).
    "app.notifications.forms.NotificationSettingsForm": [
        FormPage(
            "/profile/notifications",
            "resident",
            {
                "quiet_hours": "y",
                "quiet_from": ("22:00", "21:30"),
                "quiet_until": ("07:00", "6:45"),
                "waitlist_offers_sms": "y",
                "parking_email": "y",
                "booking_reminders_push": "y",
            },
        )
    ],
    "app.notifications.forms.EmailForm": [
        FormPage("/profile/email", "resident", {"email": ("li.lei@example.com", "")})
    ],
    "app.accounts.devices.ConfirmForm": [
        FormPage("/profile/devices/end-others", "resident", {}, page="/profile/devices"),
    ],
    "app.accounts.devices.TokenForm": [
        FormPage(
            "/profile/tokens",
            "resident",
            {"name": "我的脚本", "kind": ("personal", "open311")},
            ok_page=True,
        )
    ],
    "app.accounts.forms.DisplayForm": [
        FormPage("/display", "resident", {"display_mode": "elderly"})
    ],
    # The district chooser (app/places/district_views.py, issue 15): kept on the device.
    "app.places.district_views.DistrictChoiceForm": [
        FormPage("/district", None, {"district": "310112"})
    ],
    # 显示设置 (accessibility/views.py): mode, text size, colours and language in one form.
    "accessibility.forms.DisplaySettingsForm": [
        FormPage(
            "/display",
            None,
            {
                "display_mode": "elderly",
                "text_size": "larger",
                "colour_scheme": "contrast",
                "locale": "en",
            },
        )
    ],
    # Read-aloud: the words a page's script sends when the browser has no Chinese voice.
    "accessibility.readaloud.forms.SpeakForm": [
        FormPage(
            "/readaloud/speak",
            None,
            {"text": "你好", "lang": "zh", "speed": "slow"},
            page="/",
            ok_page=True,  # JSON: the recording's address, or {"error": ...} with a 400
        )
    ],
    # The service desk (app/desk), my data and closing an account.
    # Staff accounts (app/accounts/admin_views.py): a two-step form answers its first step
    # with the second (the place list), so a 200 without errors is a valid answer there.
    "app.accounts.staff_forms.StaffSearchForm": [
        FormPage(
            "/admin/staff",
            "administrator",
            {"q": "139", "role": "town_supervisor", "kind": "town"},
            method="GET",
            ok_page=True,
        )
    ],
    "app.accounts.staff_forms.InviteForm": [
        FormPage(
            "/admin/staff/invite",
            "administrator",
            {
                "phone": "13944449999",
                "name": "孙经理",
                "role": "property_manager",
                "scope": "estate:{estate}",
                "q": "",
                "action": "save",
            },
            extra=("action",),
            ok_page=True,
        )
    ],
    "app.accounts.staff_forms.RoleForm": [
        FormPage(
            "/admin/staff/{staff}/roles/add",
            "administrator",
            {"role": "town_supervisor", "scope": "town:{town}", "q": "", "action": "save"},
            extra=("action",),
            ok_page=True,
        )
    ],
    "app.accounts.staff_forms.ConfirmForm": [
        FormPage("/admin/staff/{staff}/roles/{staff_role}/remove", "administrator", {}),
        FormPage("/admin/staff/{staff}/deactivate", "administrator", {}),
    ],
    # Bulk import (app/imports): the upload (a two-row towns file), and the confirmation of
    # the administrator's checked job (the world's `import_job`).
    "app.imports.forms.UploadForm": [
        FormPage(
            "/admin/imports",
            "administrator",
            {"kind": "towns", "file": ("district,name\n310112,浦锦街道\n".encode(), "t.csv")},
        )
    ],
    "app.imports.forms.ApplyForm": [
        FormPage("/admin/imports/{import_job}/apply", "administrator", {})
    ],
    # Places and organisations (issue 15: app/places/admin_views.py, repairs/admin_views.py,
    # parking/admin_views.py): edits of the world's own places, so a valid answer stays valid.
    "app.places.admin_forms.SearchForm": [
        FormPage("/admin/estates", "administrator", {"q": "莘"}, method="GET", ok_page=True)
    ],
    "app.places.admin_forms.ConfirmForm": [
        FormPage("/admin/towns/{town}/archive", "administrator", {}),
    ],
    "app.places.admin_forms.DistrictForm": [
        FormPage(
            "/admin/districts/{district}/edit",
            "administrator",
            {
                "code": "310112",
                "name_zh": "闵行区",
                "name_en": "Minhang District",
                "hotline": "12345",
                "booking_name_zh": "全闵预约",
                "booking_name_en": "Minhang Booking",
                "footer_zh": "闵行区人民政府办公室",
                "footer_en": "Minhang District Government",
            },
        )
    ],
    "app.places.admin_forms.TownForm": [
        FormPage(
            "/admin/towns/{town}/edit",
            "administrator",
            {
                "district_id": "{district}",
                "code": "xinzhuang",
                "name_zh": "莘庄镇",
                "name_en": "Xinzhuang Town",
            },
        )
    ],
    "app.places.admin_forms.EstateForm": [
        FormPage(
            "/admin/estates/{estate}/edit",
            "administrator",
            {
                "town_id": "{town}",
                "name_zh": "莘城苑",
                "name_en": "Xincheng Garden",
                "address_zh": "莘松路100弄",
                "address_en": "Lane 100, Xinsong Road",
                "latitude": "31.11",
                "longitude": "121.37",
            },
        )
    ],
    "app.places.admin_forms.CompanyForm": [
        FormPage(
            "/admin/companies/{company}/edit",
            "administrator",
            {
                "name_zh": "测试物业",
                "name_en": "Test Property",
                "response_minutes": "30",
                "work_starts": "08:00",
                "work_ends": "18:00",
                "work_days": ["0", "1", "2"],
            },
        )
    ],
    # A valid answer is shown its confirmation page (200, no errors).
    "app.places.admin_forms.ChangeCompanyForm": [
        FormPage(
            "/admin/estates/{estate}/company",
            "administrator",
            {"company_id": "{other_company}", "from_date": "{tomorrow}"},
            ok_page=True,
        )
    ],
    "app.places.admin_forms.CarParkForm": [
        FormPage(
            "/admin/carparks/{park}/edit",
            "administrator",
            {
                "town_id": "{town}",
                "kind": "public",
                "name_zh": "测试停车场",
                "name_en": "Test Car Park",
                "address_zh": "测试路 9 号",
                "address_en": "9 Test Road",
                "latitude": "31.11",
                "longitude": "121.38",
            },
        )
    ],
    "app.desk.forms.FindResidentForm": [
        FormPage("/desk", "service_desk", {"q": "{resident_phone}"}, method="GET", ok_page=True)
    ],
    "app.desk.forms.RegisterInPersonForm": [
        FormPage(
            "/desk/register",
            "service_desk",
            {
                "name": "王阿婆",
                "phone": ("", "13912345678"),
                "display_mode": "elderly",
                "privacy": "y",
            },
            ok_page=True,  # without a phone: the printed card, answered at once
        )
    ],
    "app.desk.forms.WrittenConsentForm": [
        FormPage(
            "/desk/residents/{resident}/consent",
            "service_desk",
            {
                "helper": "{helper_name}",
                "relation": "helper",
                "services": ["venues", "repairs"],
                "starts_on-year": "2026",
                "starts_on-month": "12",
                "starts_on-day": "2",
                "ends_on-year": "2027",
                "ends_on-month": "3",
                "ends_on-day": "1",
                "slip": "<png>",
            },
        )
    ],
    "app.desk.forms.ActionForm": [
        FormPage(
            "/desk/residents/{resident}/card",
            "service_desk",
            {},
            page="/desk/residents/{resident}",
            ok_page=True,  # the new card, answered at once
        )
    ],
    "app.desk.forms.RealNameForm": [
        FormPage(
            "/desk/residents/{resident}/real-name",
            "service_desk",
            {"name": "王阿婆", "id_number": "11010519491231002X", "seen": "y"},
        )
    ],
    "app.desk.forms.DeskCloseForm": [
        # The first valid answer closes the resident's account (each case has its own world);
        # the examples after it find no such resident (404).
        FormPage("/desk/residents/{resident}/close", "service_desk", {"confirm": "y"})
    ],
    "app.desk.forms.CardSigninForm": [
        FormPage("/card-signin", None, {"account": "80000000", "code": "1234 5678"})
    ],
    # A wrong password: a right one would close the account the other examples need.
    "app.desk.forms.CloseAccountForm": [
        FormPage("/account/close", "resident", {"password": "wrong-password-1", "confirm": "y"})
    ],
    "app.places.forms.ClaimDecisionForm": [
        FormPage(
            "/homes/claims/{claim}/decide",
            "manager",
            {"decision": ("approve", "refuse"), "reason": "名册无此户"},
            page="/homes/claims",
        )
    ],
    # Real names and 一网通办 (app/identity).
    "app.identity.forms.RealNameForm": [
        FormPage(
            "/identity/real-name",
            "resident",
            {"name": "王小明", "id_number": "31011219800101005X", "confirm": "y"},
        )
    ],
    # Single sign-on is not configured here: the new-account consent answers 404.
    "app.identity.forms.NewAccountForm": [
        FormPage("/identity/sso/new-account", None, {"consent": "y"}, page="/login")
    ],
    "app.identity.forms.UnlinkForm": [
        FormPage("/identity/linked/{identity}/unlink", "resident", {})
    ],
    "venues.forms.SearchForm": [
        FormPage(
            "/venues",
            None,
            {
                "q": "测试",
                "type": "museum",
                "town": "{town}",
                "day-year": "2026",
                "day-month": "12",
                "day-day": "2",
                "time_of_day": "morning",
                "places": "2",
                "facilities": ["step_free"],
            },
            method="GET",
            ok_page=True,
        )
    ],
    "venues.forms.PartySizeForm": [
        FormPage("/venues/slots/{slot}/book", "resident", {"party_size": "2"}),
        # traps-venues: the number of people of a booking one holds
        FormPage("/bookings/{hall_booking}/people", "resident", {"party_size": "2"}),
    ],
    # traps-venues: the cancel page (accept_cost: "1" only when the page said the cost)
    "venues.forms.CancelForm": [
        FormPage("/bookings/{hall_booking}/cancel", "resident", {"accept_cost": ("", "1")})
    ],
    "venues.forms.ConfirmForm": [
        FormPage(
            "/venues/slots/{slot}/confirm?party_size=1",
            "resident",
            {"idempotency_key": "key-1"},
            page="/venues/slots/{slot}/check?party_size=1",
        ),
        FormPage(
            "/venues/slots/{full_slot}/waitlist",
            "resident",
            {"party_size": "1"},
            extra=["party_size"],
            page="/venues/{venue}/spaces/{hall}/{day_after}",
        ),
        FormPage(
            "/bookings/helping", "helper", {"resident_id": "{resident}"}, extra=["resident_id"]
        ),
    ],
    "venues.forms.SpanForm": [
        FormPage(
            "/venues/{venue}/spaces/{court}/{tomorrow}/book",
            "resident",
            {"start": "{court_start}", "steps": "1"},
        )
    ],
    "venues.forms.ReasonForm": [
        FormPage(
            "/staff/venues/{venue}/bookings/{court_booking}/decide",
            "venue_staff",
            {"reason": "场地维护", "decision": "reject"},
            extra=["decision"],
            page="/staff/venues/{venue}/bookings?date={tomorrow}",
        )
    ],
    "venues.forms.DoorForm": [
        FormPage("/staff/venues/{venue}/door", "venue_staff", {"code": "{door_code}"}, ok_page=True)
    ],
    "venues.forms.ConsentForm": [
        FormPage(
            "/bookings/helpers", "resident", {"helper": "{helper_name}", "services": "parking"}
        )
    ],
    "venues.forms.VenueForm": [
        FormPage("/staff/venues/{venue}/edit", "venue_admin", VENUE),
        FormPage("/staff/venues/admin/new", "venue_admin", VENUE),
    ],
    "venues.forms.SpaceForm": [FormPage("/staff/venues/{venue}/spaces/new", "venue_admin", SPACE)],
    "venues.forms.HoursForm": [FormPage("/staff/venues/{venue}/hours", "venue_admin", HOURS)],
    "venues.forms.ClosureForm": [
        FormPage(
            "/staff/venues/{venue}/closures",
            "venue_admin",
            {
                "starts_on-year": "2026",
                "starts_on-month": "12",
                "starts_on-day": "20",
                "ends_on-year": "2026",
                "ends_on-month": "12",
                "ends_on-day": "21",
                "reason": "设备检修",
            },
        )
    ],
    # Venue photos (venues/photo_views.py, helper "look").
    "venues.photo_forms.VenuePhotoForm": [
        FormPage(
            "/staff/venues/{venue}/photos",
            "venue_admin",
            {"photo": "<png>", "alt_zh": "大厅", "alt_en": "The hall"},
        )
    ],
    "venues.photo_forms.MovePhotoForm": [
        FormPage(
            "/staff/venues/{venue}/photos/{photo}/move",
            "venue_admin",
            {"step": ("earlier", "later")},
            page="/staff/venues/{venue}/photos",
        )
    ],
    "venues.photo_forms.RemovePhotoForm": [
        FormPage("/staff/venues/{venue}/photos/{photo}/delete", "venue_admin", {})
    ],
    "parking.forms.QuoteForm": [
        FormPage("/parking/quote", None, QUOTE, method="GET", ok_page=True)
    ],
    "parking.forms.VehicleForm": [FormPage("/parking/vehicles", "resident", {"plate": "沪B54321"})],
    "parking.forms.AutopayForm": [
        FormPage(
            "/parking/vehicles/{vehicle}/autopay",
            "resident",
            {"vehicle": "{vehicle}", "on": "1"},
            page="/parking/vehicles",
        )
    ],
    "parking.forms.LicenceForm": [
        FormPage("/parking/vehicles/{plate_claim}/licence", "resident", {"photo": "<png>"})
    ],
    "parking.forms.PlateSearchForm": [
        FormPage(
            "/parking/verify", "service_desk", {"plate": "沪E24680"}, method="GET", ok_page=True
        )
    ],
    "parking.forms.PlateDecisionForm": [
        FormPage(
            "/parking/verify/{pending_plate}",
            "service_desk",
            {"decision": ("approve", "refuse"), "reason": "照片看不清"},
        )
    ],
    "parking.forms.ReserveForm": [
        FormPage(
            "/parking/{park}/reserve",
            "resident",
            {"plate": "{plate}", "day": "{tomorrow}", "time": "10:00", "idempotency_key": "key-2"},
        )
    ],
    "parking.forms.ArrivalStepsForm": [
        FormPage(
            "/parking/{park}/reserve",
            "resident",
            {"plate": "{plate}", "day": "{tomorrow}", "part": "morning", "answered": "part"},
            method="GET",
            extra=("answered", "step"),
            ok_page=True,  # each step answers with the next question
        )
    ],
    "parking.forms.ContractForm": [
        FormPage(
            "/parking/{park}/share",
            "resident",
            {
                "window": "{window}",
                "plate": "{plate}",
                "month": "{next_month}",
                "renew": "y",
                "idempotency_key": "key-3",
                "confirm": "1",  # the summary page's button (signing asks first)
            },
            ok_page=True,  # without confirm=1 a valid answer shows the summary before signing
        )
    ],
    "parking.forms.ConfirmForm": [
        FormPage("/parking/charges/{charge}", "resident", {}),
        FormPage(
            "/parking/reservations/{reservation}/cancel",
            "resident",
            {},
            page="/parking/reservations/{reservation}",
        ),
    ],
    "parking.forms.CapacityForm": [
        FormPage(
            "/parking/operate/{park}/capacity",
            "operator",
            {
                "total_spaces": "120",
                "reservable_spaces": "5",
                "grace_minutes": "30",
                "cancel_cutoff_minutes": "30",
                "open": "y",
            },
        )
    ],
    "parking.forms.TariffForm": [FormPage("/parking/operate/{park}/tariff", "operator", TARIFF)],
    "parking.forms.WindowForm": [
        FormPage("/parking/operate/{park}/windows/new", "operator", WINDOW),
        FormPage("/parking/operate/{park}/windows/{window}", "operator", WINDOW),
    ],
    "repairs.forms.ReportForm": [
        FormPage(
            "/repairs/report",
            "resident",
            {
                "category": "water",
                "description": "厨房水管漏水",
                "public_area": "",
                "area": "",
                "preferred_time": "工作日晚上",
                "photos": "<png>",
            },
        )
    ],
    "repairs.forms.MessageForm": [
        FormPage(
            TICKET + "/info", "resident", {"message": "还在漏", "photos": "<png>"}, page=TICKET
        )
    ],
    "repairs.forms.ReopenForm": [
        FormPage(FIXED + "/reopen", "resident", {"message": "又坏了"}, page=FIXED)
    ],
    "repairs.forms.RateForm": [
        FormPage(FIXED + "/rate", "resident", {"rating": "5", "comment": "很快"}, page=FIXED)
    ],
    "repairs.forms.ActionForm": [
        FormPage(
            TICKET + "/act",
            "manager",
            {
                "action": (
                    "visit",
                    "assign",
                    "reply",
                    "acknowledge",
                    "start",
                    "resolve",
                    "duplicate",
                ),
                "message": "明天上门",
                "canned": ("", "0", "1"),
                "technician_name": "王师傅",
                "technician_phone": "13812345678",
                "visit_at": "2026-12-02 14:30",
                "duplicate_of": ("", "{other_ticket}"),
                "from": ("", "queue"),
                "confirmed": ("", "1"),
            },
            extra=["from", "confirmed"],
            page=TICKET,
            ok_page=True,  # a duplicate is asked about first: a page, not a redirect
        )
    ],
    "repairs.forms.NoteForm": [
        FormPage(TICKET + "/note", "town_supervisor", {"message": "请尽快处理"}, page=TICKET)
    ],
    "app.places.forms.ClaimsFilterForm": [
        FormPage("/homes/claims", "manager", {"estate": "{estate}"}, method="GET", ok_page=True)
    ],
    "repairs.forms.QueueFilterForm": [
        FormPage(
            "/repairs/queue",
            "manager",
            {"state": "submitted", "category": "water"},
            method="GET",
            ok_page=True,
        )
    ],
    "repairs.forms.CompanyForm": [
        FormPage(
            "/repairs/companies/{company}",
            "district",
            {
                "response_minutes": "30",
                "work_starts": "09:00",
                "work_ends": "17:00",
                "work_days": ["0", "1", "2"],
                "reopen_days": "7",
                "auto_close_days": "7",
            },
        )
    ],
}
FORM_CASES = [(name, index) for name, pages in FORM_PAGES.items() for index in range(len(pages))]


def all_form_classes() -> dict[str, type]:
    """Every FlaskForm subclass defined in the packages, by "module.Class"."""
    import importlib
    import pkgutil

    from flask_wtf import FlaskForm

    for package in FORM_PACKAGES:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, package + "."):
            importlib.import_module(info.name)
    found, todo = {}, list(FlaskForm.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in FORM_PACKAGES:
            found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return found


def form_fields(cls) -> dict[str, type]:
    """The form's field names and classes, CSRF aside."""
    from wtforms.fields.core import UnboundField

    return {
        name: getattr(cls, name).field_class
        for name in dir(cls)
        if isinstance(getattr(cls, name, None), UnboundField)
    }


def test_every_form_is_fuzzed():
    """A new form must be added to FORM_PAGES (and so fuzzed) before this passes."""
    forms = all_form_classes()
    assert len(forms) >= 30
    assert sorted(set(forms) - set(FORM_PAGES)) == [], "forms missing from FORM_PAGES"
    assert sorted(set(FORM_PAGES) - set(forms)) == [], "FORM_PAGES names forms that do not exist"


@pytest.fixture
def form_world(
    app, session, places, make_user, make_venue, car_park, repair_company, frozen, tmp_path
):
    """One of everything the forms act on, and a user of every role they need, by name."""
    from datetime import timedelta

    from app import clock
    from app.accounts.models import HelperConsent
    from parking.models import Charge, DayPattern
    from parking.services import reservations, sharing, vehicles
    from repairs.models import Category
    from repairs.services import tickets
    from tests.conftest import slot_at, verified_vehicle
    from venues import current_settings
    from venues.services import booking as booking_service

    app.config["UPLOAD_DIR"] = str(tmp_path)
    _no_rate_limits(app)
    # E-mail on, through a closed port on loopback: the address form runs to the send, which
    # fails at once (app/notifications/email.py).
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=9, MAIL_USE_TLS=False)
    town, estate = places["towns"][0], places["estates"][0]
    venue = make_venue(capacity=4, approval=True, max_per_day=20, max_per_week=50)
    park = car_park.default
    users = {
        "resident": make_user(
            phone="13812340001", home_estate_id=estate.id, home_building="5", home_room="301"
        ),
        "helper": make_user("community_helper"),
        "venue_staff": make_user("venue_staff", scope=venue),
        "venue_admin": make_user("venue_admin"),
        "operator": make_user("carpark_operator", scope=park),
        "manager": make_user("property_manager", scope=estate),
        "town_supervisor": make_user("town_supervisor", scope=town),
        "district": make_user("district_supervisor"),
        "service_desk": make_user("service_desk"),
        "administrator": make_user("administrator"),  # staff accounts (/admin/staff)
    }
    resident = users["resident"]
    today, tomorrow = clock.today(), clock.today() + timedelta(days=1)
    session.add(
        HelperConsent(
            resident_id=resident.id,
            helper_id=users["helper"].id,
            venues=True,
            parking=True,
            repairs=True,
        )
    )

    hall, court = venue.spaces[0], venue.spaces[-1]
    booking = booking_service.book_general(
        session,
        resident,
        resident,
        slot_at(session, hall, 1, 10).id,
        1,
        settings=current_settings(),
    )
    court_booking = booking_service.book_personalised(
        session,
        resident,
        resident,
        court.id,
        slot_at(session, court, 1, 15).starts_at,
        1,
        settings=current_settings(),
    )
    full = slot_at(session, hall, 2, 10)
    filler = make_user()
    booking_service.book_general(session, filler, filler, full.id, 4, settings=current_settings())

    plate = "沪A12345"
    vehicle = verified_vehicle(session, resident, plate, verifier=users["service_desk"])
    plate_claim = vehicles.register(session, resident, "沪C13579")  # no licence photo yet
    pending_plate = vehicles.send_licence(
        session, vehicles.register(session, make_user(), "沪E24680"), _png()
    )
    reservation = reservations.reserve(
        session,
        resident,
        resident,
        park,
        plate,
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
    next_month = clock.next_month(clock.month_start(today))
    contract = sharing.sign(
        session, resident, window, plate, next_month, settings=parking_settings()
    )
    charge = session.query(Charge).filter_by(contract_id=contract.id).one()

    def report(category, description, **where):
        return tickets.report(
            session, resident, resident, category=category, description=description, **where
        )

    ticket = report(Category.WATER, "厨房水管漏水")
    other_ticket = report(Category.LIFT, "电梯坏了", public_area=True, area="5号楼")
    fixed_ticket = report(Category.DOORS, "门锁坏了")
    tickets.act(session, users["manager"], fixed_ticket, "resolve")
    from app.identity.models import ExternalIdentity

    identity = ExternalIdentity(user_id=resident.id, issuer="https://ywtb.test", subject="f")
    session.add(identity)
    newcomer = make_user(
        home_estate_id=estate.id, home_building="9", home_room="901", home_verified=False
    )
    from venues.services.photos import add_photo

    venue_photo = add_photo(session, users["venue_admin"], venue, _png(), "大厅", "The hall")
    add_photo(session, users["venue_admin"], venue, _png(), "门口", "The door")
    from repairs.models import PropertyCompany

    other_company = PropertyCompany(name_zh="接手物业", name_en="Next Property")
    session.add(other_company)
    session.commit()
    return {
        "claim": newcomer.home_claim.id,
        "users": users,
        "staff": users["venue_staff"].id,  # staff accounts: an account and one of its roles
        "staff_role": users["venue_staff"].roles[0].id,
        "import_job": _import_job(session, users["administrator"]),
        "resident_phone": resident.phone,
        "resident": resident.id,
        "helper_name": users["helper"].username,
        "town": town.id,
        "estate": estate.id,
        "venue": venue.id,
        "photo": venue_photo.id,
        "hall": hall.id,
        "court": court.id,
        "identity": identity.id,
        "slot": slot_at(session, hall, 1, 11).id,
        "full_slot": full.id,
        "tomorrow": tomorrow.isoformat(),
        "day_after": (tomorrow + timedelta(days=1)).isoformat(),
        "court_start": slot_at(session, court, 1, 11).starts_at.isoformat(),
        "court_booking": court_booking.reference,
        "hall_booking": booking.reference,
        "door_code": booking.door_code,
        "park": park.id,
        "plate": plate,
        "vehicle": vehicle.id,
        "window": window.id,
        "plate_claim": plate_claim.id,
        "pending_plate": pending_plate.id,
        "next_month": next_month.isoformat(),
        "charge": charge.reference,
        "reservation": reservation.booking.reference,
        "ticket": ticket.reference,
        "other_ticket": other_ticket.reference,
        "fixed_ticket": fixed_ticket.reference,
        "company": repair_company.id,
        # The places administration: the town's district and a company managing nothing yet.
        "district": town.district_id,
        "other_company": other_company.id,
    }


MISSING = object()
DATE_PART = "one of a date's three boxes"
ERROR_SUMMARY_RE = re.compile(
    r'class="error-summary".*?<ul class="error-summary-list">(.*?)</ul>', re.S
)


def _valid_values(valid):
    """The field's valid value (a tuple is a choice of them), or nothing when there is none."""
    if valid is MISSING:
        return st.just(MISSING)
    return st.sampled_from(valid) if isinstance(valid, tuple) else st.just(valid)


def _near(value: str):
    """Values next to a valid one: padded, doubled, cut short, a digit more, negative..."""
    return st.sampled_from(
        [
            f" {value} ",
            value.upper(),
            value * 2,
            value[:-1],
            value + "0",
            "-" + value,
            value + "\x00",
            value.replace(":", "："),
            value + ".5",
            value + "\u0301",
        ]
    )


def _awkward_values(field_class, valid=MISSING):
    """Something awkward for a field of this class (or next to its valid value), or the field
    left out."""
    from flask_wtf.file import FileField, MultipleFileField
    from wtforms import SelectMultipleField

    if field_class is DATE_PART:
        awkward = awkward_date_part
    elif field_class is not None and issubclass(field_class, (FileField, MultipleFileField)):
        awkward = st.tuples(awkward_file, file_name)
    elif field_class is not None and issubclass(field_class, SelectMultipleField):
        awkward = st.lists(awkward_text, max_size=4)
    else:
        awkward = awkward_text
    options = [
        v for v in (valid if isinstance(valid, tuple) else (valid,)) if isinstance(v, str) and v
    ]
    if options and field_class is not DATE_PART and awkward is awkward_text:
        awkward = st.one_of(awkward, st.sampled_from(options).flatmap(_near))
    return st.one_of(awkward, st.just(MISSING))


def _import_job(session, admin) -> str:
    """A checked towns import of `admin`'s, ready to apply (the ApplyForm's page)."""
    from flask import current_app

    from app.imports import jobs
    from app.imports.kinds import kind_of
    from app.imports.services import settings_from

    kind = kind_of("towns")
    data = "district,name\n310112,浦锦街道\n".encode()
    job = jobs.create(session, admin, kind, "towns.csv", data, 1)
    jobs.check(session, job, kind, settings_from(current_app.config), admin)
    return job.token


def _sendable(value):
    import io

    if value == "<png>":
        return (io.BytesIO(_png()), "photo.png")
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], bytes):
        return (io.BytesIO(value[0]), value[1])
    return value


@pytest.mark.parametrize(
    "form_name, index",
    FORM_CASES,
    ids=[f"{name.split('.')[0]}.{name.rsplit('.', 1)[-1]}-{i}" for name, i in FORM_CASES],
)
def test_form_fuzz(app, session, form_world, form_name, index):
    from accessibility.forms import DatePartsField
    from tests.conftest import CSRF_RE, login

    page = FORM_PAGES[form_name][index]
    url, page_url, valid = page.fill(form_world)
    fields = {}  # what is sent: name -> (field class or None, valid value or MISSING)
    for name, field_class in form_fields(all_form_classes()[form_name]).items():
        if issubclass(field_class, DatePartsField):  # sent as three boxes
            for part in ("year", "month", "day"):
                fields[f"{name}-{part}"] = (DATE_PART, valid.get(f"{name}-{part}", MISSING))
        else:
            fields[name] = (field_class, valid.get(name, MISSING))
    for name in page.extra:  # what the view reads from the request besides the form
        fields[name] = (None, valid.get(name, MISSING))
    assert set(valid) <= set(fields), (
        f"unknown fields in the valid answer: {set(valid) - set(fields)}"
    )
    names = sorted(fields)
    # Fields the form does not have, which it should ignore (a form without fields gets
    # something to vary too).
    unexpected = st.dictionaries(
        st.text(min_size=1, max_size=12).filter(lambda k: k not in fields), awkward_text, max_size=2
    )

    def signed_in_client():
        client = app.test_client()
        if page.role is not None:
            user = form_world["users"][page.role]
            login(client, user.username or user.phone)
        shown = client.get(page_url)
        assert shown.status_code == 200, (page_url, shown.status_code)
        match = CSRF_RE.search(shown.text)
        return client, match.group(1) if match else None

    client, token = signed_in_client()
    if page.method == "POST":
        assert token, f"no CSRF token on {page_url}"
    seen = {}  # outcome -> count, printed with -s to see how deep the examples get

    @settings(max_examples=FORM_EXAMPLES, **FUZZ_SETTINGS)
    @given(st.data())
    def run(draw):
        nonlocal client, token
        # Up to three fields get something awkward (or go missing); the others keep their valid
        # answer, so that the awkward ones get past the form's own checks to the services.
        mutated = (
            draw.draw(st.lists(st.sampled_from(names), max_size=3, unique=True), label="mutated")
            if names
            else []
        )
        values = {
            name: draw.draw(
                _awkward_values(*fields[name])
                if name in mutated
                else _valid_values(fields[name][1]),
                label=name,
            )
            for name in names
        }
        junk = draw.draw(unexpected, label="unexpected fields")
        if page.role is None and page.method == "POST":
            client, token = signed_in_client()  # a fresh visitor: a success may have signed them in
        data = {
            **junk,
            **{name: _sendable(value) for name, value in values.items() if value is not MISSING},
        }
        data.pop("csrf_token", None)  # the token stays valid: the fuzzing is about what follows it
        if page.method == "GET":
            response = client.get(url, query_string=data)
        else:
            response = client.post(url, data={"csrf_token": token, **data})
        status, html = response.status_code, response.text
        summary = ERROR_SUMMARY_RE.search(html) if status == 200 else None
        outcome = f"{status} " + (
            re.sub(r"<[^>]+>|\s+", " ", summary.group(1)).strip()[:50]
            if summary
            else response.headers.get("Location", "")[:40]
        )
        seen[outcome] = seen.get(outcome, 0) + 1

        assert status < 500, (status, url)
        assert status in (200, 302, 303) or 400 <= status < 500, (status, url)
        if status == 200 and not page.ok_page:
            # A refusal: the page again, its error summary naming the problem.
            assert summary, f"200 without an error summary from {url}"
            assert re.sub(r"<[^>]+>", "", summary.group(1)).strip(), (
                f"an empty error summary from {url}"
            )

    run()
    print(form_name, url, sum(seen.values()), sorted(seen.items(), key=lambda kv: -kv[1]))
    assert sum(seen.values()) >= min(FORM_EXAMPLES, 10)


# --- 3. What the fuzzing found, pinned down ---------------------------------------------------


def test_regressions_found_by_fuzzing(app, session, form_world):
    """Each of these was a server error (or a request that never ended) before its fix."""
    from tests.conftest import csrf_token, login

    anonymous = app.test_client()
    park, venue, big = form_world["park"], form_world["venue"], 2**31

    # A quote for a stay of centuries priced every unit of it (the request hung), and times next
    # to the year 9999 overflowed: refused, in the API and on the page.
    quote = f"/api/v1/parking/quote?carpark_id={park}&entry=2026-12-01T09:00:00%2B08:00"
    for exit in ("2028-12-01T09:00:00%2B08:00", "9999-12-31T23:59:59%2B08:00"):
        refused = anonymous.get(f"{quote}&exit={exit}")
        assert refused.status_code == 422 and refused.json["error"]["fields"]["query"]["exit"]
    page = "/parking/quote?" + "&".join(f"{k}={v}" for k, v in QUOTE.items()).replace(
        "{park}", str(park)
    )
    for year in ("9999", "99999999999999999999"):
        html = anonymous.get(page.replace("exit_day-year=2026", f"exit_day-year={year}")).text
        assert 'class="error-summary"' in html and 'href="#exit_day' in html
    # ... and a long stay is priced in one pass: a year costs the daily cap each day.
    from datetime import datetime, timedelta

    from parking.services.tariffs import TariffRules
    from parking.services.tariffs import quote as price

    entry = datetime(2026, 12, 1, 9, tzinfo=UTC)
    year = price(TariffRules(), entry, entry + timedelta(days=366))
    assert (year.fen, year.capped_days) == (366 * 6000, 366)

    # A gate event from the year 1 or 9999 (an operator's token): refused, not priced.
    operator = app.test_client()
    headers = {"Authorization": f"Bearer {issue_token(session, form_world['users']['operator'])}"}
    for moment in (
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-12:00",
        "2025-11-01T09:00:00+08:00",
    ):
        refused = operator.post(
            "/api/v1/parking/events",
            headers=headers,
            json={
                "carpark_id": park,
                "plate": "沪A12345",
                "direction": "entry",
                "occurred_at": moment,
            },
        )
        assert (
            refused.status_code == 422 and "occurred_at" in refused.json["error"]["fields"]["json"]
        )

    # Ids larger than an INTEGER column (PostgreSQL refused to compare them): 404 or 422.
    assert anonymous.get(f"/api/v1/venues/{big}").json["error"]["code"] == "not_found"
    assert anonymous.get(f"/api/v1/carparks?town_id={big}").status_code == 422
    assert anonymous.get(f"/venues/{big}").status_code == 404
    assert anonymous.get(f"/parking?town={big * 2**40}").status_code == 200
    resident = app.test_client()
    login(resident, form_world["resident_phone"])
    resident_headers = {
        "Authorization": f"Bearer {issue_token(session, form_world['users']['resident'])}"
    }
    assert (
        resident.post(
            "/api/v1/bookings", headers=resident_headers, json={"slot_id": big, "party_size": 1}
        ).status_code
        == 422
    )
    assert (
        resident.get(f"/api/v1/notifications?offset={2**63}", headers=resident_headers).status_code
        == 422
    )

    # A NUL character: PostgreSQL's text cannot hold one. Dropped before anything reads it, and
    # a field that had one is refused like any control character (app/text.py); no route in a path.
    from app.text import CONTROL_MESSAGE

    html = anonymous.post(
        "/login",
        data={
            "csrf_token": csrf_token(anonymous, "/login"),
            "login": "admin\x00",
            "password": "x\x00",
        },
    ).text
    assert (
        'class="error-summary"' in html and 'href="#login"' in html and str(CONTROL_MESSAGE) in html
    )
    assert resident.get("/repairs/tickets/BX%00").status_code == 404

    # A blank " " passes Optional() but is no choice: the queue's and the search's filters
    # ignore it, the ready reply is none.
    manager = app.test_client()
    login(manager, form_world["users"]["manager"].username)
    assert manager.get("/repairs/queue?state=%20&category=nope").status_code == 200
    assert anonymous.get("/venues?type=%20").status_code == 200
    assert "error-summary" in anonymous.get(f"/venues?town={big}").text  # not a town on offer
    ticket = f"/repairs/tickets/{form_world['ticket']}"
    replied = manager.post(
        ticket + "/act",
        data={
            "csrf_token": csrf_token(manager, ticket),
            "action": "reply",
            "canned": " ",
            "message": "好的",
        },
    )
    assert replied.status_code == 302

    # A field left out of the form: None where the view expected text.
    url = "/profile"
    answer = {
        "name": "居民",
        "phone": form_world["resident_phone"],
        "locale": "zh_CN",
        "display_mode": "standard",
        "home_estate_id": str(form_world["estate"]),
    }
    missing = resident.post(url, data={**answer, "csrf_token": csrf_token(resident, url)})
    assert (
        missing.status_code == 200 and 'href="#home_building"' in missing.text
    )  # a home needs its building
    assert (
        resident.post(
            url, data={**answer, "home_estate_id": "", "csrf_token": csrf_token(resident, url)}
        ).status_code
        == 302
    )  # no home at all
    html = resident.post(
        url,
        data={**answer, "home_estate_id": str(big - 1), "csrf_token": csrf_token(resident, url)},
    ).text
    assert 'class="error-summary"' in html  # no such estate
    district = app.test_client()
    login(district, form_world["users"]["district"].username)
    url = f"/repairs/companies/{form_world['company']}"
    html = district.post(
        url,
        data={
            "csrf_token": csrf_token(district, url),
            "response_minutes": "30",
            "work_ends": "17:00",
            "reopen_days": "7",
            "auto_close_days": "7",
        },
    ).text
    assert 'href="#work_ends"' in html  # both times or neither

    # A numeric field "sNaN", a day 10^20, a missing town: the form's error summary.
    operator_page = app.test_client()
    login(operator_page, form_world["users"]["operator"].username)
    url = f"/parking/operate/{park}/tariff"
    html = operator_page.post(
        url, data={**TARIFF, "period_yuan": "sNaN", "csrf_token": csrf_token(operator_page, url)}
    ).text
    assert 'href="#period_yuan"' in html
    admin = app.test_client()
    login(admin, form_world["users"]["venue_admin"].username)
    url = f"/staff/venues/{venue}/closures"
    html = admin.post(
        url,
        data={
            "csrf_token": csrf_token(admin, url),
            "reason": "检修",
            "starts_on-year": "2026",
            "starts_on-month": "12",
            "starts_on-day": "9" * 20,
            "ends_on-year": "2026",
            "ends_on-month": "12",
            "ends_on-day": "21",
        },
    ).text
    assert 'href="#starts_on' in html
    url = "/staff/venues/admin/new"
    new_venue = {k: v for k, v in VENUE.items() if k != "town_id"}
    html = admin.post(url, data={**new_venue, "csrf_token": csrf_token(admin, url)}).text
    assert 'href="#town_id"' in html
    html = admin.post(
        url, data={**new_venue, "town_id": str(big - 1), "csrf_token": csrf_token(admin, url)}
    ).text
    assert 'href="#town_id"' in html

    # An idempotency key longer than its column, from a tampered form: cut, the booking made.
    slot = form_world["slot"]
    url = f"/venues/slots/{slot}/confirm?party_size=1"
    token = csrf_token(resident, f"/venues/slots/{slot}/check?party_size=1")
    made = resident.post(url, data={"csrf_token": token, "idempotency_key": "k" * 500})
    assert made.status_code == 302 and "/bookings/" in made.headers["Location"]
    again = resident.post(url, data={"csrf_token": token, "idempotency_key": "k" * 500})
    assert again.headers["Location"] == made.headers["Location"]  # still one booking per key

    # Dates next to the years 1 and 9999 overflowed wherever a page or the API used them.
    staff = app.test_client()
    login(staff, form_world["users"]["venue_staff"].username)
    court, hall = form_world["court"], form_world["hall"]
    for client, url, expected in [
        (resident, f"/venues/spaces/{court}/check?start=9999-12-31T23:30:00%2B08:00&steps=1", 404),
        (resident, f"/venues/spaces/{court}/check?start=0001-01-01T00:00:00%2B14:00&steps=1", 404),
        (resident, f"/venues/{venue}/spaces/{hall}/9999-12-31", 404),
        (resident, f"/parking/{park}/reserve?day=9999-12-31", 200),
        (resident, "/venues?day-year=9999&day-month=12&day-day=31", 200),
        (anonymous, f"/api/v1/venues/{venue}/availability?date=9999-12-31", 422),
        (staff, f"/staff/venues/{venue}/bookings?date=9999-12-31", 200),
        (staff, f"/staff/venues/{venue}/bookings.csv?date=0001-01-01", 200),
        (district, "/repairs/rating?month=9999-12", 200),
        (district, "/repairs/rating.csv?month=1-1", 200),
        (district, f"/repairs/rating?month={'9' * 20}-1", 200),
        (district, f"/audit?page={'9' * 20}", 200),
        (district, f"/repairs/supervise/tickets?estate={big}&company={big}", 200),
        (anonymous, "/open311/v2/requests.json?start_date=9999-12-31T23:59:59-12:00", 400),
        (anonymous, "/open311/v2/requests.json?end_date=0001-01-01T00:00:00%2B14:00", 400),
    ]:
        assert client.get(url).status_code == expected, url
    html = resident.get("/venues?day-year=9999&day-month=12&day-day=31").text
    assert 'class="error-summary"' in html and 'href="#day"' in html
