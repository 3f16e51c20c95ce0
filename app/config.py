"""Configuration classes, read from the environment.

`create_app()` picks one by name (`PORTAL_ENV`: development, testing, production) or takes a
class or mapping directly. Production refuses to start without a real `SECRET_KEY`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# opendata (issue 15, installing for production): a wheel built by setup.py carries templates,
# static and migrations inside the package as app/bundled; a repository checkout has them at
# its root. An installed portal keeps its instance folder (SQLite file, uploads) in the working
# directory, or PORTAL_INSTANCE_DIR, never inside site-packages.
_BUNDLED = Path(__file__).resolve().parent / "bundled"
RESOURCE_ROOT = _BUNDLED if _BUNDLED.is_dir() else PROJECT_ROOT
INSTANCE_DIR = Path(
    os.environ.get("PORTAL_INSTANCE_DIR")
    or (Path.cwd() / "instance" if _BUNDLED.is_dir() else PROJECT_ROOT / "instance")
)

# The service packages mounted by the frame. Each exposes `init_app(app)`; adding a service means
# adding its package here and nothing else in the frame.
# opendata (issue 15): /open-data, which reads the tables of venues, repairs and parking.
DEFAULT_PACKAGES = ("accessibility", "bookings", "venues", "parking", "repairs", "opendata")


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


# The SMS message kinds (app/sms): the carrier's template id (set per installation: ids are
# given when the carrier approves a template), the parameters in the template's order, and the
# approved text with {1}, {2}..., which the development outbox shows. Services add kinds here.
DEFAULT_SMS_TEMPLATES = {
    "verification_code": {
        "template_id": "",
        "params": ["code", "minutes"],
        "text": "您的验证码为{1}，{2}分钟内有效，请勿告诉他人。如非本人操作，请忽略本短信。",
    },
    "account_exists": {
        "template_id": "",
        "params": [],
        "text": "您的手机号已注册账号，请直接用手机号和验证码登录。如非本人操作，请忽略本短信。",
    },
    # sms-repairs (issue 13): the repair alerts to the estate's managers and the updates to
    # residents, each its own template so it fits one 70-character segment with the link
    # (app/sms/channel.py allows two segments, then shortens the estate's name or the subject
    # when a long PORTAL_URL leaves less room). A manager's reply "1" to the first two
    # acknowledges the ticket.
    "repair.new": {
        "template_id": "",
        "params": ["estate", "deadline", "url"],
        "text": "【报修】{1}新报修，{2}前响应，回复1受理。{3}",
    },
    "repair.warning": {
        "template_id": "",
        "params": ["estate", "deadline", "url"],
        "text": "【催办】{1}报修须{2}前响应，回复1受理。{3}",
    },
    "repair.escalated": {
        "template_id": "",
        "params": ["estate", "deadline", "url"],
        "text": "【超时】{1}报修未在{2}前响应，已上报。{3}",
    },
    "repair.escalated_district": {
        "template_id": "",
        "params": ["estate", "url"],
        "text": "【督办】{1}报修超时30分钟仍未响应。{2}",
    },
    "repair.submitted": {
        "template_id": "",
        "params": ["time", "url"],
        "text": "【报修】已收到您的报修，物业将于{1}前响应。{2}",
    },
    # The ticket's reference and its state's word (app/sms/channel.py STATUS_WORDS) always;
    # the subject shortened if the text would need more than two segments.
    "repair.update": {
        "template_id": "",
        "params": ["ref", "status", "subject", "url"],
        "text": "【报修进度】报修单{1}{2}。{3} {4}",
    },
    # staffadmin (issue 15): an invited staff member is told how to sign in (app/accounts/
    # staff_services.py): with a code on the sign-in page, or, where their role needs a password
    # and a code (SIGNIN_SECOND_FACTOR_ROLES), by setting a password with a code first.
    "staff.invited": {
        "template_id": "",
        "params": ["role", "url"],
        "text": "【员工账号】您已被添加为{1}。请用本手机号和短信验证码登录：{2}",
    },
    "staff.invited_password": {
        "template_id": "",
        "params": ["role", "url"],
        "text": "【员工账号】您已被添加为{1}。请先用本手机号和短信验证码设置密码：{2}",
    },
    # A notification sent by SMS (app/sms/channel.py) when its kind has no template of its
    # own: the message's subject (cut to fit two segments) and the link to its page.
    "notice": {
        "template_id": "",
        "params": ["subject", "url"],
        "text": "{1} 详情：{2}",
    },
    # msgs-bench (issue 13): venue and parking messages whose point the generic notice would
    # lose: the waitlist offer's hold (minutes, and the time it ends) with the link that
    # accepts it; the day-before reminder's start and door code; the parking reminder's start.
    # Times are HH:MM (and MM-DD) in Shanghai time, whatever the recipient's language.
    # slot_zh: the slot's day and time ("12月2日 09:00"), written by venues/services/waitlist.py.
    "venue.offer": {
        "template_id": "",
        "params": ["venue", "slot_zh", "places", "minutes", "until_hm", "url"],
        "text": "【候补】{1} {2}有{3}个位置为您保留{4}分钟，{5}前点链接确认：{6}",
    },
    "venue.reminder": {
        "template_id": "",
        "params": ["venue", "start", "code", "url"],
        "text": "【预约提醒】{1} {2}，入场码{3}。不能去请取消：{4}",
    },
    "parking.reminder": {
        "template_id": "",
        "params": ["park", "start", "url"],
        "text": "【停车提醒】{1}车位预约{2}开始，不能去请取消：{3}",
    },
}


def sms_templates(raw: str | None) -> dict:
    """DEFAULT_SMS_TEMPLATES with SMS_TEMPLATES (JSON: kind -> the keys it changes) over it."""
    templates = {kind: dict(entry) for kind, entry in DEFAULT_SMS_TEMPLATES.items()}
    if not raw:
        return templates
    try:
        given = json.loads(raw)
    except ValueError as error:
        raise RuntimeError(f"SMS_TEMPLATES is not valid JSON: {error}") from None
    if not isinstance(given, dict) or not all(isinstance(v, dict) for v in given.values()):
        raise RuntimeError('SMS_TEMPLATES must map each kind to an object: {"kind": {...}}')
    for kind, entry in given.items():
        templates.setdefault(kind, {"template_id": "", "params": [], "text": ""}).update(entry)
    return templates


# A known placeholder, never a secret: check_production() refuses to start with it.
DEVELOPMENT_SECRET = "dev-only-not-secret"  # nosec B105 # public placeholder, refused in prod


class Config:
    SECRET_KEY = _env("SECRET_KEY", DEVELOPMENT_SECRET)
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'portal.db'}")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # PostgreSQL (psycopg) only, added to SQLALCHEMY_ENGINE_OPTIONS by `engine_options` unless set
    # there: each worker process keeps one connection per request thread (gunicorn's --threads,
    # which the app cannot see), so no request waits for a connection or opens a new one, and a
    # few more for anything else.
    DATABASE_POOL_SIZE = int(_env("DATABASE_POOL_SIZE", "16"))
    DATABASE_MAX_OVERFLOW = int(_env("DATABASE_MAX_OVERFLOW", "4"))
    # psycopg prepares a statement once it has run this many times on a connection, and keeps it
    # while the connection lives (requests end read transactions with COMMIT: a ROLLBACK would
    # discard them). "none" never prepares (a pooler in transaction mode in front of PostgreSQL).
    DATABASE_PREPARE_THRESHOLD = _env("DATABASE_PREPARE_THRESHOLD", "2")
    PORTAL_PACKAGES = DEFAULT_PACKAGES

    # districts (issue 15): the district rows (app/places/models.py District) name each page's
    # district, hotline, booking service and footer. These four settings only name the district
    # migration 0024 creates for an installation that already had towns, and stand in on pages
    # before any district exists (a new installation). The car-park map draws the chosen
    # district's outline (parking/outlines/<code>.json).
    # How long a process keeps the list of districts before reading it again (the frame of every
    # page needs it; a change made in this process is seen at once).
    DISTRICT_CACHE_SECONDS = int(_env("DISTRICT_CACHE_SECONDS", "30"))
    PORTAL_DISTRICT_NAME = _env("PORTAL_DISTRICT_NAME", "闵行区")
    PORTAL_DISTRICT_NAME_EN = _env("PORTAL_DISTRICT_NAME_EN", "Minhang District")
    # Its administrative code (行政区划代码): the car-park map draws parking/outlines/<code>.json,
    # made once by `python -m parking.outline_import <code>` (helper "look", issue 14).
    PORTAL_DISTRICT_ADCODE = _env("PORTAL_DISTRICT_ADCODE", "310112")
    PORTAL_HOTLINE = _env("PORTAL_HOTLINE", "12345")
    # fix-accounts (issue 12): words a new password may not be built on besides the district's
    # names (NIST SP 800-63B context-specific words; app/accounts/passwords.py), comma-separated.
    PASSWORD_CONTEXT_WORDS = _env(
        "PASSWORD_CONTEXT_WORDS", "shanghai,上海,minhang,闵行,portal,citizen,zhengwu,yiwangtongban"
    )
    # A household register row with a mobile number confirms a claim from an account with that
    # number, when the account's number was proven by an SMS code (User.phone_verified_at: set
    # at registration, code sign-in, reset or change of number); a number only typed in is never
    # trusted. Off by default: a district turns it on once its register's numbers are current.
    HOUSEHOLD_REGISTER_TRUSTS_PHONE = _env("HOUSEHOLD_REGISTER_TRUSTS_PHONE", "0") in (
        "1",
        "true",
        "yes",
    )
    # Bulk import (app/imports, issue 15): files of at most IMPORT_INLINE_ROWS rows are checked
    # and applied within the request; larger ones in a background thread whose page refreshes
    # itself. An uploaded file is kept (in the database, so any app server can apply it) for
    # IMPORT_KEEP_HOURS, then deleted by the sweep. The results page lists at most
    # IMPORT_ROWS_SHOWN rows (errors first); the CSV download has them all.
    IMPORT_INLINE_ROWS = int(_env("IMPORT_INLINE_ROWS", "500"))
    IMPORT_KEEP_HOURS = int(_env("IMPORT_KEEP_HOURS", "24"))
    IMPORT_ROWS_SHOWN = int(_env("IMPORT_ROWS_SHOWN", "1000"))

    # --- Sign-in (app/accounts, issue 12) -----------------------------------------------------
    # Staff roles that sign in with a password AND an SMS code sent to their mobile number:
    # comma-separated role names (app.accounts.models.Role), "all" (every role but resident) or
    # "none". Unset: every staff role, except in an app with TESTING on, where none (a test
    # that checks the second factor sets it).
    SIGNIN_SECOND_FACTOR_ROLES = _env("SIGNIN_SECOND_FACTOR_ROLES")
    # The privacy notice's version (templates/accounts/privacy.html): stored with each
    # resident's consent, so a changed notice can be shown and consented to again.
    PRIVACY_NOTICE_VERSION = _env("PRIVACY_NOTICE_VERSION", "2026-11-30")
    # The government site identity in every page's footer (政府网站标识), each shown only when
    # set: 主办单位 (the sponsoring body), 承办单位 (the body that runs the site), 网站标识码
    # (the site code from the national government site register), ICP备案号 (e.g. 沪ICP备
    # 12345678号) and 公安备案号 (e.g. 沪公网安备 31011202000000号).
    SITE_SPONSOR = _env("SITE_SPONSOR", "")
    SITE_OPERATOR = _env("SITE_OPERATOR", "")
    SITE_CODE = _env("SITE_CODE", "")
    SITE_ICP_RECORD = _env("SITE_ICP_RECORD", "")
    SITE_PSB_RECORD = _env("SITE_PSB_RECORD", "")

    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    # Babel canonicalises zh_CN to zh_Hans_CN, so that is the catalogue directory's name.
    BABEL_TRANSLATION_DIRECTORIES = str(PROJECT_ROOT / "app" / "translations")
    PORTAL_LOCALES = ("zh_CN", "en")

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # no time limits on forms (适老化: nothing expires while you type)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    # Server-side sessions (app/accounts/sessions.py): a signed-in browser is signed out after
    # this long without a request (idle), and this long after signing in whatever it does
    # (absolute). Staff accounts (any role but resident) see other people's data, so theirs are
    # shorter. Signing out, "sign out everywhere" and deactivation end sessions at once.
    # A resident's idle limit is a day: 适老化 asks for no time limits, and WCAG 2.2.1 (Timing
    # Adjustable) exempts only limits over 20 hours, so an elderly person slowly filling in a
    # form is never signed out under it.
    SESSION_IDLE_MINUTES = int(_env("SESSION_IDLE_MINUTES", "1440"))
    SESSION_ABSOLUTE_HOURS = int(_env("SESSION_ABSOLUTE_HOURS", "720"))  # 30 days
    STAFF_SESSION_IDLE_MINUTES = int(_env("STAFF_SESSION_IDLE_MINUTES", "30"))
    STAFF_SESSION_ABSOLUTE_HOURS = int(_env("STAFF_SESSION_ABSOLUTE_HOURS", "12"))
    # Ended sessions (browser, network, times) are deleted by the sweep this many days later.
    SESSION_KEEP_DAYS = int(_env("SESSION_KEEP_DAYS", "30"))
    # API tokens (personal, gate, Open311 keys) expire this many days after they are made.
    API_TOKEN_DAYS = int(_env("API_TOKEN_DAYS", "365"))

    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    # Failed sign-ins allowed per account, and per client address, in the window.
    LOGIN_FAILURES_PER_ACCOUNT = _env("LOGIN_FAILURES_PER_ACCOUNT", "5 per 15 minutes")
    LOGIN_ATTEMPTS_PER_ADDRESS = _env("LOGIN_ATTEMPTS_PER_ADDRESS", "30 per 15 minutes")
    # Open311 reports filed (POST requests.*), per api_key's account and per client address.
    OPEN311_POSTS_PER_ACCOUNT = _env("OPEN311_POSTS_PER_ACCOUNT", "20 per hour")
    OPEN311_POSTS_PER_ADDRESS = _env("OPEN311_POSTS_PER_ADDRESS", "60 per hour")
    # The Strict-Transport-Security header, production only (ProductionConfig); unset, none is sent.
    STRICT_TRANSPORT_SECURITY = None
    # Abuse limits (app/ratelimit.py), each counted per client address and, when signed in, per
    # account. Generous for people (a household behind one carrier NAT shares an address),
    # tight enough that one client cannot flood a worker.
    REGISTRATION_RATE = _env("REGISTRATION_RATE", "20 per hour")  # accounts made, per address
    UPLOAD_RATE = _env("UPLOAD_RATE", "60 per hour")  # photos received, on any upload form
    QUOTE_RATE = _env("QUOTE_RATE", "60 per minute")  # parking fee quotes, page and API
    PUBLIC_LIST_RATE = _env("PUBLIC_LIST_RATE", "300 per minute")  # catalogue/search pages and APIs
    # Anonymous catalogue pages (venue search, venue pages) kept this many seconds and served to
    # every visitor with their own CSRF token (app/pagecache.py); 0 turns it off. Off unless
    # set, so development and tests see every change at once; production keeps them 3 s.
    PAGE_CACHE_SECONDS = float(_env("PAGE_CACHE_SECONDS", "0"))
    PAGE_CACHE_ENTRIES = int(_env("PAGE_CACHE_ENTRIES", "500"))  # pages kept per worker
    # Pixels decoded from uploaded images in one request (six 12-megapixel phone photos fit;
    # a handful of small, huge-dimension PNGs do not).
    UPLOAD_PIXEL_BUDGET = int(_env("UPLOAD_PIXEL_BUDGET", "100000000"))
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted (0: none, the
    # client address is the socket's). Set to the number of proxies, or anyone can pick their
    # address.
    TRUSTED_PROXIES = int(_env("TRUSTED_PROXIES", "0"))
    # How many processes serve the app: gunicorn workers per node (gunicorn reads WEB_CONCURRENCY
    # as its default --workers) times nodes. memory:// rate limits are refused in production if > 1.
    WEB_CONCURRENCY = int(_env("WEB_CONCURRENCY", "1"))
    PORTAL_NODES = int(_env("PORTAL_NODES", "1"))

    # How long the current month's company rating is kept per worker (repairs/services/rating.py;
    # past months' figures still move, so they are kept as long); 0 computes every time.
    REPAIRS_RATING_CACHE_SECONDS = int(_env("REPAIRS_RATING_CACHE_SECONDS", "60"))
    # No-show rule: this many no-shows within the window suspend venue booking for some days.
    VENUE_NO_SHOW_LIMIT = int(_env("VENUE_NO_SHOW_LIMIT", "3"))
    VENUE_NO_SHOW_WINDOW_DAYS = int(_env("VENUE_NO_SHOW_WINDOW_DAYS", "30"))
    VENUE_SUSPENSION_DAYS = int(_env("VENUE_SUSPENSION_DAYS", "14"))
    # opendata (issue 15): the city parking platform push (parking/citypush.py). Off while the
    # URL is unset. A car park's status is queued when its free spaces move by more than
    # THRESHOLD or its status changes, and at least every INTERVAL_MINUTES (by `flask sweep`);
    # `flask deliver` POSTs it with `Authorization: Bearer TOKEN` and an Idempotency-Key.
    CITY_PARKING_PUSH_URL = _env("CITY_PARKING_PUSH_URL")
    CITY_PARKING_PUSH_TOKEN = _env("CITY_PARKING_PUSH_TOKEN")
    CITY_PARKING_PUSH_THRESHOLD = int(_env("CITY_PARKING_PUSH_THRESHOLD", "5"))
    CITY_PARKING_PUSH_INTERVAL_MINUTES = float(_env("CITY_PARKING_PUSH_INTERVAL_MINUTES", "5"))
    CITY_PARKING_PUSH_TIMEOUT = float(_env("CITY_PARKING_PUSH_TIMEOUT", "10"))
    # Open data (/open-data): the licence and publisher the catalogue names, requests per minute.
    OPEN_DATA_LICENSE_URL = _env(
        "OPEN_DATA_LICENSE_URL", "https://creativecommons.org/licenses/by/4.0/"
    )
    OPEN_DATA_LICENSE_NAME = _env("OPEN_DATA_LICENSE_NAME", "CC BY 4.0")
    OPEN_DATA_PUBLISHER = _env("OPEN_DATA_PUBLISHER")  # default: PORTAL_DISTRICT_NAME
    OPEN_DATA_PUBLISHER_EN = _env("OPEN_DATA_PUBLISHER_EN")
    OPEN_DATA_RATE = _env("OPEN_DATA_RATE", "60 per minute")
    PARKING_FEED_RATE = _env(
        "PARKING_FEED_RATE", "120 per minute"
    )  # per client, for the open data feed
    PARKING_RESERVE_DAYS_AHEAD = int(_env("PARKING_RESERVE_DAYS_AHEAD", "2"))
    PARKING_MAX_UPCOMING = int(_env("PARKING_MAX_UPCOMING", "3"))
    PARKING_NO_SHOW_LIMIT = int(_env("PARKING_NO_SHOW_LIMIT", "3"))
    PARKING_NO_SHOW_WINDOW_DAYS = int(_env("PARKING_NO_SHOW_WINDOW_DAYS", "30"))
    PARKING_SUSPENSION_DAYS = int(_env("PARKING_SUSPENSION_DAYS", "7"))
    # An off-peak sharing contract holds its space unpaid for this long after signing (without
    # 无感支付), then lapses and frees it. Long enough to top up a wallet and pay from a phone,
    # short enough that an abandoned signature gives the space back within the hour.
    PARKING_SHARING_PAY_MINUTES = int(_env("PARKING_SHARING_PAY_MINUTES", "30"))
    # Which provider collects parking fees. "demo_wallet" is the built-in, clearly labelled demo.
    PARKING_PAYMENT_PROVIDER = _env("PARKING_PAYMENT_PROVIDER", "demo_wallet")
    # Gate events, parking sessions, reservations and paid charges older than this lose their
    # plate to an anonymous marker in the sweep (counts and fees stay for statistics).
    PARKING_RETENTION_DAYS = int(_env("PARKING_RETENTION_DAYS", "180"))
    # Per-provider callback secrets; without one, a secret is derived from SECRET_KEY.
    PAYMENT_CALLBACK_SECRETS: dict = {}
    UPLOAD_DIR = _env("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    # --- Service desk (app/desk, issue 12) ---------------------------------------------------
    # A printed sign-in card's one-time code works for this many days; the card names the
    # portal's address for residents to type. Card sign-in attempts per client address (the
    # code is 8 digits: guessing must stay slow).
    DESK_CARD_VALID_DAYS = int(_env("DESK_CARD_VALID_DAYS", "30"))
    DESK_PORTAL_ADDRESS = _env("DESK_PORTAL_ADDRESS", "https://portal.example.gov.cn")
    CARD_SIGNIN_RATE = _env("CARD_SIGNIN_RATE", "10 per hour")

    # --- Read-aloud (accessibility/readaloud, issue 14) ------------------------------------
    # The server's voice, for browsers without a Chinese one and without JavaScript: Debian's
    # espeak-ng (a command on PATH or an absolute path), its voices and speeds in words per
    # minute. Recordings (they can hold personal data) live in READALOUD_CACHE_DIR (default
    # instance/readaloud) at most READALOUD_CACHE_SECONDS and READALOUD_CACHE_MB in all; texts
    # longer than READALOUD_MAX_CHARS are read up to there. READALOUD_RATE: pages read aloud and
    # script requests, per address and per account.
    READALOUD_ESPEAK = _env("READALOUD_ESPEAK", "espeak-ng")
    READALOUD_VOICE_ZH = _env("READALOUD_VOICE_ZH", "cmn")
    READALOUD_VOICE_EN = _env("READALOUD_VOICE_EN", "en-gb")
    READALOUD_SPEED_NORMAL = int(_env("READALOUD_SPEED_NORMAL", "160"))
    READALOUD_SPEED_SLOW = int(_env("READALOUD_SPEED_SLOW", "110"))
    READALOUD_MAX_CHARS = int(_env("READALOUD_MAX_CHARS", "1500"))
    READALOUD_CACHE_DIR = _env("READALOUD_CACHE_DIR")
    READALOUD_CACHE_SECONDS = int(_env("READALOUD_CACHE_SECONDS", "3600"))
    READALOUD_CACHE_MB = int(_env("READALOUD_CACHE_MB", "200"))
    READALOUD_TIMEOUT_SECONDS = float(_env("READALOUD_TIMEOUT_SECONDS", "30"))
    READALOUD_RATE = _env("READALOUD_RATE", "60 per minute")
    # Recordings are MP3 at this bitrate (16 kHz mono; 8-64 kbit/s): 24 is clear speech at about
    # 180 KB a minute, 15 times smaller than espeak-ng's WAV (access14, issue 14).
    READALOUD_MP3_KBPS = int(_env("READALOUD_MP3_KBPS", "24"))

    # --- SMS gateway (app/sms, issue 12) -----------------------------------------------------
    # Who delivers text messages: "outbox" (the development outbox: every message kept in the
    # sms_message table with status "stored", nothing sent; listed by `flask messages list` and
    # on /dev/outbox) or "tencent" (Tencent Cloud SMS). Unset: the outbox, except in production,
    # where it is Tencent; production refuses "outbox" (check_production), so no code is ever
    # silently kept back from a resident.
    SMS_PROVIDER = _env("SMS_PROVIDER")
    # Chinese SMS may only use templates approved by the carrier: each message kind maps to the
    # provider's template id and the names of its parameters in the template's order ({1}, {2}).
    # JSON from the environment, merged kind by kind over DEFAULT_SMS_TEMPLATES, e.g.
    # SMS_TEMPLATES='{"verification_code": {"template_id": "1234567"}}'.
    SMS_TEMPLATES = sms_templates(_env("SMS_TEMPLATES"))
    SMS_CODE_MINUTES = float(_env("SMS_CODE_MINUTES", "5"))  # how long a code works
    SMS_CODE_TRIES = int(_env("SMS_CODE_TRIES", "5"))  # wrong tries before a code is dead
    # Codes sent to one number: at most one per interval, and so many an hour (whatever the
    # purpose); and asked for from one client address an hour (a household or office shares
    # one). Counted from the code rows, so they hold across processes and nodes.
    SMS_CODE_INTERVAL_SECONDS = float(_env("SMS_CODE_INTERVAL_SECONDS", "60"))
    SMS_CODES_PER_NUMBER_HOUR = int(_env("SMS_CODES_PER_NUMBER_HOUR", "5"))
    SMS_CODES_PER_ADDRESS_HOUR = int(_env("SMS_CODES_PER_ADDRESS_HOUR", "20"))
    # Text messages (a number and what was sent to it: personal data) are deleted by `flask
    # sweep` this many days after they were made; verification codes after a day.
    SMS_RETENTION_DAYS = float(_env("SMS_RETENTION_DAYS", "30"))
    # Tencent Cloud SMS (SendSms, API 2021-01-11): an API key (CAM SecretId/SecretKey), the SMS
    # application's SmsSdkAppId and approved signature (签名), the region and the endpoint.
    TENCENT_SMS_SECRET_ID = _env("TENCENT_SMS_SECRET_ID", "")
    TENCENT_SMS_SECRET_KEY = _env("TENCENT_SMS_SECRET_KEY", "")
    TENCENT_SMS_APP_ID = _env("TENCENT_SMS_APP_ID", "")
    TENCENT_SMS_SIGN_NAME = _env("TENCENT_SMS_SIGN_NAME", "")
    TENCENT_SMS_REGION = _env("TENCENT_SMS_REGION", "ap-guangzhou")
    TENCENT_SMS_ENDPOINT = _env("TENCENT_SMS_ENDPOINT", "https://sms.tencentcloudapi.com")
    TENCENT_SMS_TIMEOUT = float(_env("TENCENT_SMS_TIMEOUT", "10"))  # seconds per request
    # msgs-bench (issue 13): the dispatcher's settings (`flask deliver`; what each means:
    # app/notifications/settings.py), from the environment so that a dispatcher service (and
    # the SIGKILL test's and the benchmark's dispatcher processes) can be tuned without code:
    # tries before a dead letter, the first backoff and its cap, the lease after which a
    # dead dispatcher's claims are taken again, rows per claim, provider calls in flight, the
    # idle poll, and messages per second per channel and dispatcher (0: unpaced).
    DELIVERY_MAX_ATTEMPTS = int(_env("DELIVERY_MAX_ATTEMPTS", "6"))
    DELIVERY_BACKOFF_SECONDS = float(_env("DELIVERY_BACKOFF_SECONDS", "30"))
    DELIVERY_BACKOFF_MAX_SECONDS = float(_env("DELIVERY_BACKOFF_MAX_SECONDS", "3600"))
    DELIVERY_LEASE_SECONDS = float(_env("DELIVERY_LEASE_SECONDS", "300"))
    DELIVERY_BATCH = int(_env("DELIVERY_BATCH", "50"))
    DELIVERY_CONCURRENCY = int(_env("DELIVERY_CONCURRENCY", "8"))
    DELIVERY_POLL_SECONDS = float(_env("DELIVERY_POLL_SECONDS", "2"))
    DELIVERY_RATE_SMS = float(_env("DELIVERY_RATE_SMS", "20"))
    DELIVERY_RATE_EMAIL = float(_env("DELIVERY_RATE_EMAIL", "20"))
    DELIVERY_RATE_PUSH = float(_env("DELIVERY_RATE_PUSH", "100"))
    # msgs-bench: the portal's public address, which every link in an SMS, e-mail or push
    # message starts with (https://...; app/notifications/settings.py). Unset, links point to
    # the development server (http://127.0.0.1:5000): set it in production.
    PORTAL_URL = _env("PORTAL_URL", "")
    # sms-repairs (issue 13): the provider's webhooks (app/notifications/webhooks.py: replies at
    # POST /hooks/sms/inbound, delivery receipts at POST /hooks/sms/receipts) are signed with
    # HMAC-SHA256 under this secret; unset, both refuse every request. A signature older than
    # SMS_WEBHOOK_MAX_AGE_SECONDS is refused (a replayed request). A manager's "1" answers the
    # newest repair alert sent to their number within SMS_REPLY_WINDOW_MINUTES.
    SMS_WEBHOOK_SECRET = _env("SMS_WEBHOOK_SECRET", "")
    SMS_WEBHOOK_MAX_AGE_SECONDS = float(_env("SMS_WEBHOOK_MAX_AGE_SECONDS", "300"))
    SMS_REPLY_WINDOW_MINUTES = float(_env("SMS_REPLY_WINDOW_MINUTES", "120"))
    # traps-pr (issue 14): a repair report like one sent from the same home (same category,
    # similar words) within this many minutes is first offered as "the one you just sent".
    REPAIR_SIMILAR_MINUTES = int(_env("REPAIR_SIMILAR_MINUTES", "10"))

    # --- E-mail (app/notifications/email.py; email-prefs, issue 13) ----------------------------
    # The SMTP server messages are sent through. Unset: e-mail is off (the settings page asks
    # for no address, and nothing is mailed); set, production checks the rest (check_mail).
    MAIL_SERVER = _env("MAIL_SERVER", "")
    MAIL_PORT = int(_env("MAIL_PORT", "587"))
    # MAIL_USE_TLS: upgrade the connection with STARTTLS (port 587, the default);
    # MAIL_USE_SSL: TLS from the first byte (port 465). Both off only for a relay on loopback.
    MAIL_USE_TLS = _env("MAIL_USE_TLS", "true").strip().lower() in ("1", "true", "yes", "on")
    MAIL_USE_SSL = _env("MAIL_USE_SSL", "false").strip().lower() in ("1", "true", "yes", "on")
    MAIL_USERNAME = _env("MAIL_USERNAME", "")  # SMTP AUTH; empty: no login
    MAIL_PASSWORD = _env("MAIL_PASSWORD", "")
    # The sender: an address, or a name and address ("物业百事通 <noreply@example.gov.cn>"); its
    # domain also ends each Message-ID.
    MAIL_FROM = _env("MAIL_FROM", "")
    MAIL_TIMEOUT = float(_env("MAIL_TIMEOUT", "10"))  # seconds to connect and for each answer
    # How long the link that confirms a person's e-mail address works.
    EMAIL_CONFIRM_HOURS = float(_env("EMAIL_CONFIRM_HOURS", "48"))
    # Confirmation mails a person (and a client address) may ask for: each goes to an address
    # they typed, so this keeps the portal from being used to flood someone's mailbox.
    EMAIL_CONFIRMATIONS_LIMIT = _env("EMAIL_CONFIRMATIONS_LIMIT", "5 per hour")

    # --- Web Push and the installable web app (app/notifications/push.py, issue 13) ---------
    # push-pwa: PUSH_ENABLED=0 turns browser notifications off (the page says so). The VAPID
    # key pair (base64url; `flask --app wsgi vapid-keys` prints a new one) signs every push;
    # production refuses to start without it while push is on (check_push); development makes
    # one in instance/vapid.json on first use. VAPID_SUBJECT: mailto: the push services may
    # write to. How long a push service keeps a message for a browser that is offline (urgent
    # categories longer, sent with Urgency: high), the request timeout, browsers per person.
    PUSH_ENABLED = _env("PUSH_ENABLED", "1")
    VAPID_PRIVATE_KEY = _env("VAPID_PRIVATE_KEY", "")
    VAPID_PUBLIC_KEY = _env("VAPID_PUBLIC_KEY", "")
    VAPID_SUBJECT = _env("VAPID_SUBJECT", "")
    PUSH_TTL_SECONDS = int(_env("PUSH_TTL_SECONDS", "86400"))
    PUSH_URGENT_TTL_SECONDS = int(_env("PUSH_URGENT_TTL_SECONDS", "259200"))
    PUSH_TIMEOUT_SECONDS = float(_env("PUSH_TIMEOUT_SECONDS", "10"))
    PUSH_SUBSCRIPTIONS_PER_PERSON = int(_env("PUSH_SUBSCRIPTIONS_PER_PERSON", "10"))

    # --- Real names and 一网通办 single sign-on (app/identity, issue 12) ----------------------
    # The master key sealing real names and ID numbers: 32 random bytes, URL-safe base64.
    # Production refuses to start without one (check_production); elsewhere a key derived from
    # SECRET_KEY stands in. Keys it replaced, comma-separated, still open what they sealed.
    IDENTITY_ENCRYPTION_KEY = _env("IDENTITY_ENCRYPTION_KEY")
    IDENTITY_OLD_ENCRYPTION_KEYS = _env("IDENTITY_OLD_ENCRYPTION_KEYS", "")
    # Who checks a declared real name: "checksum" (the number's own check character and birth
    # date only: self-declared) or "package.module:factory" (app/identity/providers.py).
    IDENTITY_PROVIDER = _env("IDENTITY_PROVIDER", "checksum")
    # 一网通办 (OpenID Connect). Without an issuer and a client id, single sign-on is off.
    YWTB_OIDC_ISSUER = _env("YWTB_OIDC_ISSUER", "")
    YWTB_OIDC_DISCOVERY_URL = _env("YWTB_OIDC_DISCOVERY_URL")  # default: issuer's well-known
    YWTB_OIDC_CLIENT_ID = _env("YWTB_OIDC_CLIENT_ID", "")
    YWTB_OIDC_CLIENT_SECRET = _env("YWTB_OIDC_CLIENT_SECRET", "")
    YWTB_OIDC_SCOPES = _env("YWTB_OIDC_SCOPES", "openid profile")
    YWTB_OIDC_DISPLAY_NAME = _env("YWTB_OIDC_DISPLAY_NAME", "一网通办")
    # Which id_token claims carry the verified name, the ID number and its level. With no
    # level claim, every ID number the issuer sends counts as verified by it; with one, only
    # the values listed in YWTB_OIDC_VERIFIED_LEVELS (comma-separated) do.
    YWTB_OIDC_NAME_CLAIM = _env("YWTB_OIDC_NAME_CLAIM", "name")
    YWTB_OIDC_ID_NUMBER_CLAIM = _env("YWTB_OIDC_ID_NUMBER_CLAIM", "")
    YWTB_OIDC_LEVEL_CLAIM = _env("YWTB_OIDC_LEVEL_CLAIM", "")
    YWTB_OIDC_VERIFIED_LEVELS = _env("YWTB_OIDC_VERIFIED_LEVELS", "")
    YWTB_OIDC_PHONE_CLAIM = _env("YWTB_OIDC_PHONE_CLAIM", "phone_number")

    API_TITLE = "citizen-portal API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"


class DevelopmentConfig(Config):
    DEBUG = False  # the dev server runs without the debugger by default; `--debug` turns it on


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-secret"  # nosec B105 # test-only key, never used by ProductionConfig
    SQLALCHEMY_DATABASE_URI = _env("TEST_DATABASE_URL", "sqlite://")
    # A cheap hash so that tests creating hundreds of users stay fast; production uses scrypt.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # nosec B105 # a hash method name, not a password
    # CSRF stays on in tests: the test client helpers fetch the token like a browser would.
    WTF_CSRF_ENABLED = True


class ProductionConfig(Config):
    PAGE_CACHE_SECONDS = float(_env("PAGE_CACHE_SECONDS", "3"))
    # Browsers keep to HTTPS for a year, subdomains included (app/security.py sends it).
    STRICT_TRANSPORT_SECURITY = _env(
        "STRICT_TRANSPORT_SECURITY", "max-age=31536000; includeSubDomains"
    )
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def engine_options(config) -> dict:
    """SQLALCHEMY_ENGINE_OPTIONS completed for the database: on PostgreSQL through psycopg, the
    pool sized by DATABASE_POOL_SIZE and DATABASE_MAX_OVERFLOW and psycopg's
    `prepare_threshold` (DATABASE_PREPARE_THRESHOLD) in `connect_args`, each unless the options
    set it already. Other databases get the options as they are. The benchmark's baseline copies
    the result (bench/baseline.py), so both run with the same pool and driver settings."""
    from sqlalchemy.engine import make_url

    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    url = make_url(config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "postgresql" or url.get_driver_name() != "psycopg":
        return options
    if "poolclass" not in options:
        options.setdefault("pool_size", int(config.get("DATABASE_POOL_SIZE", 16)))
        options.setdefault("max_overflow", int(config.get("DATABASE_MAX_OVERFLOW", 4)))
    threshold = str(config.get("DATABASE_PREPARE_THRESHOLD", "2")).strip().lower()
    connect_args = dict(options.get("connect_args") or {})
    connect_args.setdefault(
        "prepare_threshold", None if threshold in ("", "none") else int(threshold)
    )
    options["connect_args"] = connect_args
    return options


def check_production(config: dict) -> None:
    """Refuse to run in production without a real secret (set, not the development one, long)."""
    if config.get("SECRET_KEY") in (None, "", DEVELOPMENT_SECRET) or len(config["SECRET_KEY"]) < 32:
        raise RuntimeError("SECRET_KEY must be set to a long random value in production")
    check_rate_limit_storage(config)
    check_sms_provider(config)
    check_identity_key(config)
    check_mail(config)
    check_push(config)
    check_portal_url(config)


def check_portal_url(config: dict) -> None:
    """Every link in an SMS, e-mail or push message starts with PORTAL_URL: production refuses
    to start without the portal's public https:// address (unset, the links would point to the
    development server and reach nobody)."""
    from urllib.parse import urlsplit

    url = urlsplit(str(config.get("PORTAL_URL") or ""))
    if url.scheme != "https" or not url.netloc:
        raise RuntimeError(
            "PORTAL_URL must be the portal's public https:// address in production (every link "
            "in an SMS, e-mail or push message starts with it)"
        )


def check_push(config: dict) -> None:
    """push-pwa: refuse production without its own VAPID keys and subject while Web Push is on
    (app/notifications/push.py): a key made on the fly would change at every restart and
    silently cut off every browser that subscribed."""
    from app.notifications.push import check_key_pair, push_enabled

    if not push_enabled(config):
        return
    if not (config.get("VAPID_PRIVATE_KEY") and config.get("VAPID_PUBLIC_KEY")):
        raise RuntimeError(
            "VAPID_PRIVATE_KEY and VAPID_PUBLIC_KEY must be set in production while PUSH_ENABLED "
            "(flask --app wsgi vapid-keys prints a pair), or set PUSH_ENABLED=0"
        )
    if not str(config.get("VAPID_SUBJECT") or "").startswith(("mailto:", "https:")):
        raise RuntimeError("VAPID_SUBJECT must be a mailto: or https: address in production")
    check_key_pair(config["VAPID_PRIVATE_KEY"], config["VAPID_PUBLIC_KEY"])


def check_mail(config: dict) -> None:
    """With e-mail on (MAIL_SERVER set), refuse a configuration that would fail every mail or
    send addresses and the SMTP password in clear text over the network (email-prefs)."""
    server = str(config.get("MAIL_SERVER") or "").strip()
    if not server:
        return  # e-mail is off: the settings page offers no address
    if not config.get("MAIL_FROM"):
        raise RuntimeError("MAIL_SERVER is set but MAIL_FROM is not: mails need a sender")
    if config.get("MAIL_USE_TLS") and config.get("MAIL_USE_SSL"):
        raise RuntimeError("MAIL_USE_TLS (STARTTLS) and MAIL_USE_SSL (TLS) exclude each other")
    loopback = server in ("localhost", "127.0.0.1", "::1")
    if not (config.get("MAIL_USE_TLS") or config.get("MAIL_USE_SSL") or loopback):
        raise RuntimeError(
            f"MAIL_SERVER {server} is not on this machine, so MAIL_USE_TLS or MAIL_USE_SSL "
            "must be on: addresses and the SMTP password would cross the network in clear"
        )


def check_identity_key(config: dict) -> None:
    """Refuse production without its own key for real names (app/identity/crypto.py): the
    development stand-in is derived from SECRET_KEY, so whoever has that could open them."""
    from app.identity.crypto import SealError, parse_master_key

    if not config.get("IDENTITY_ENCRYPTION_KEY"):
        raise RuntimeError(
            "IDENTITY_ENCRYPTION_KEY must be set in production: 32 random bytes, URL-safe base64"
        )
    try:
        parse_master_key(config["IDENTITY_ENCRYPTION_KEY"])
    except SealError as error:
        raise RuntimeError(str(error)) from None


def check_sms_provider(config: dict) -> None:
    """Refuse the development SMS outbox in production: it sends nothing, so every resident
    would wait for a code that never comes (app/sms)."""
    if str(config.get("SMS_PROVIDER") or "").strip().lower() == "outbox":
        raise RuntimeError(
            "SMS_PROVIDER is outbox, the development outbox that sends nothing: production "
            "needs a real provider (SMS_PROVIDER=tencent and the TENCENT_SMS_* settings)"
        )


def check_rate_limit_storage(config: dict) -> None:
    """Refuse per-process rate-limit counters when more than one process serves the app: with
    `memory://` each gunicorn worker and each node counts alone, so every limit is multiplied by
    their number. How many there are is what WEB_CONCURRENCY (gunicorn's default worker count)
    and PORTAL_NODES say; a `gunicorn -w N` on the command line is invisible to the app."""
    processes = int(config.get("WEB_CONCURRENCY") or 1) * int(config.get("PORTAL_NODES") or 1)
    if (
        str(config.get("RATELIMIT_STORAGE_URI", "memory://")).startswith("memory://")
        and processes > 1
    ):
        raise RuntimeError(
            f"RATELIMIT_STORAGE_URI is memory:// but {processes} processes serve the app "
            "(WEB_CONCURRENCY x PORTAL_NODES): each would count rate limits alone. Set "
            "RATELIMIT_STORAGE_URI to a shared store, e.g. redis://host:6379/0."
        )
