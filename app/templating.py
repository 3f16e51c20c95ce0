"""What every template can use: site settings, the inbox count, formatting filters.

Rendering is on the path of every page, and a page calls the same few helpers dozens of times,
so these are made cheap without changing what they return (tests/test_templating.py):
- every translated string (`_()` in templates, `gettext`, lazy strings) finds this request's
  catalogue once, not once per string (`remember_translations`), and `_()` skips Jinja's
  extra indirection;
- the `date` filter formats a calendar day once per locale, day and style (Babel's formatting
  is a pure function of them; a 14-day table formats 28 dates per space);
- `url_for` builds the URL of a route without variable parts (and of a static file) once per
  app and script root;
- `render_fragment` keeps a rendered part of a page for as long as what it shows is the same
  (its key holds all of it, read for this request: `content_key`), so it is never stale;
  `frame_part` keeps every page's header and footer that way, the visitor's CSRF token put in
  per request;
- the inbox badge uses the count read with the signed-in account (`unread_messages`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from operator import attrgetter

from babel.lists import format_list
from flask import current_app, g, render_template, request
from flask import url_for as flask_url_for
from flask_babel import get_locale, get_translations
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from jinja2 import pass_context
from markupsafe import Markup
from sqlalchemy import inspect as sa_inspect

from app import clock
from app.accounts.services import mask_phone
from app.clock import hhmm
from app.extensions import db
from app.forms import error_list
from app.i18n import format_fen, html_lang, human, human_date, human_month, human_span, is_english
from app.notifications.services import unread_count
from app.places import districts
from app.registry import page_banners, registry
from app.urls import current_path

MEMO_LIMIT = 4096  # entries per memo; emptied when full (the working set is far smaller)
FRAGMENT_LIMIT = 256  # rendered fragments kept per app (3 to 25 KB each)


def remember_translations(domain) -> None:
    """Make Flask-Babel's `domain.get_translations()` find the catalogue once per request and
    locale. Every `gettext`, lazy string (`_l`: form labels, role and venue type names) and
    Babel filter asks for it, and Flask-Babel looks the locale up again each time (about
    10 µs a string; a search page translates some 150). The catalogue is kept in Flask-Babel's
    own per-request namespace with the locale object it was loaded for, and used only while
    that locale is the one Flask-Babel holds, so `force_locale` and `refresh` are followed."""
    if getattr(domain, "portal_remembers", False):
        return
    load = domain.get_translations

    def get_translations():
        babel = _babel_namespace()
        locale = getattr(babel, "babel_locale", None)
        if locale is None:  # outside a request, or the locale is not selected yet
            return load()
        kept = getattr(babel, "portal_translations", None)
        if kept is None or kept[0] is not locale or kept[1] is not domain:
            kept = babel.portal_translations = (locale, domain, load(), str(locale))
        return kept[2]

    domain.get_translations = get_translations
    domain.portal_remembers = True


def _babel_namespace():
    """Flask-Babel's per-request namespace (`g._flask_babel`), or None. Through the real `g`
    object: each access through the `g` proxy costs more than the lookup it guards, and
    a page makes hundreds."""
    try:
        app_globals = g._get_current_object()
    except RuntimeError:  # outside an app context
        return None
    return app_globals.__dict__.get("_flask_babel")


def _kept():
    """(locale, domain, catalogue, locale name) that `remember_translations` kept for this
    request, if they are still the locale and domain Flask-Babel uses; else None."""
    babel = _babel_namespace()
    kept = getattr(babel, "portal_translations", None)
    if (
        kept is not None
        and kept[0] is getattr(babel, "babel_locale", None)
        and kept[1] is getattr(babel, "babel_domain", None)
    ):
        return kept
    return None


def _catalogue():
    kept = _kept()
    return kept[2] if kept is not None else get_translations()


def _locale_name() -> str:
    """The request's locale as a string (the key of the date memo)."""
    kept = _kept()
    return kept[3] if kept is not None else str(get_locale())


@pass_context
def _gettext(context, string, **variables):
    """Jinja's newstyle `gettext` (jinja2.ext._make_new_gettext) without its indirection
    through `Context.call` for the catalogue."""
    rv = _catalogue().ugettext(string)
    if context.eval_ctx.autoescape:
        rv = Markup(rv)  # nosec B704 # our own catalogue's text, as Jinja's i18n marks it
    return rv % variables  # always a format string, as in Jinja


@pass_context
def _ngettext(context, singular, plural, num, **variables):
    """Jinja's newstyle `ngettext`, likewise."""
    variables.setdefault("num", num)
    rv = _catalogue().ungettext(singular, plural, num)
    if context.eval_ctx.autoescape:
        rv = Markup(rv)  # nosec B704 # our own catalogue's text, as Jinja's i18n marks it
    return rv % variables


_dates: dict = {}


def format_day(value, style: str = "medium") -> str:
    """The `date` filter: the human day (app.i18n.human_date), memoised for calendar days (a
    datetime depends on the reader's time zone too, so it is formatted every time)."""
    if not value:
        return ""
    if type(value) is not date:
        return human_date(value, style)
    # (the human day shows the year only when it is not this year: the year is in the key)
    key = (_locale_name(), value, style, clock.today().year)
    text = _dates.get(key)
    if text is None:
        if len(_dates) >= MEMO_LIMIT:
            _dates.clear()
        text = _dates[key] = human_date(value, style)
    return text


def listing(items) -> str:
    """The `listing` filter: names joined as the reader's language writes a list ("无障碍通道、
    电梯和无障碍卫生间", "Step-free access, lift and accessible toilet"), not always with 、."""
    items = [str(item) for item in items]
    return format_list(items, locale=_locale_name()) if items else ""


def memoised_url_for(app):
    """`url_for` for templates: a route without variable parts, or a static file, is built once
    per script root (what Flask's url_for returns for it depends on nothing else while the app
    has no url_defaults); anything else goes to Flask's url_for."""
    urls: dict = {}

    def url_for(endpoint: str, **values) -> str:
        if endpoint.startswith(".") or (values and values.keys() != {"filename"}):
            return flask_url_for(endpoint, **values)
        if any(app.url_default_functions.values()):
            return flask_url_for(endpoint, **values)
        key = (request.script_root, endpoint, values.get("filename"))
        url = urls.get(key)
        if url is None:
            url = flask_url_for(endpoint, **values)
            if url.startswith("/"):  # never memoise an external URL (another host or scheme)
                if len(urls) >= MEMO_LIMIT:
                    urls.clear()
                urls[key] = url
        return url

    return url_for


def render_fragment(template_name: str, key, **context) -> Markup:
    """`template_name` rendered with `context`, once per `key`, language and script root (per
    app, at most FRAGMENT_LIMIT kept). For a part of a page that depends on nothing but what
    `key` holds: the caller puts everything the part shows in `key` (the request arguments it
    echoes, the rows it shows as read for this request: see `content_key`), so a kept part
    is never stale; it is rendered again as soon as anything in it changes. Nothing personal
    belongs in a fragment (no CSRF token, nothing of the signed-in person's): it is shown to
    whoever brings the same key."""
    app = current_app._get_current_object()
    kept = app.extensions.setdefault("template_fragments", {})
    full_key = (template_name, _locale_name(), request.script_root, key)
    html = kept.get(full_key)
    if html is None:
        # Our own template, autoescaped: its text is as safe as the page it goes into.
        html = Markup(render_template(template_name, **context))  # nosec B704 # see above
        if len(kept) >= FRAGMENT_LIMIT:
            kept.clear()
        kept[full_key] = html
    return html


_columns: dict[type, object] = {}  # a class -> a getter of its columns' values, or None


def content_key(value):
    """A hashable stand-in for everything `value` holds, for `render_fragment` keys: a mapped
    object as its class and the value of each of its columns; lists, tuples and dicts element
    by element; anything else as it is (it must be hashable: a date, a number, a frozen
    dataclass, a row)."""
    if isinstance(value, (list, tuple)):
        return tuple(content_key(v) for v in value)
    if isinstance(value, dict):
        return tuple((k, content_key(v)) for k, v in value.items())
    kind = type(value)
    if kind not in _columns:
        mapper = sa_inspect(kind, raiseerr=False)
        mapped = mapper is not None and hasattr(mapper, "column_attrs")
        names = [a.key for a in mapper.column_attrs] if mapped else []
        # (attrgetter of two or more names gives a tuple; a class has an id and more)
        _columns[kind] = attrgetter(*names) if len(names) > 1 else None
    getter = _columns[kind]
    return value if getter is None else (kind, getter(value))


# Stands for the CSRF token in a kept frame part: it cannot occur in a page (a NUL character).
CSRF_MARK = "\x00csrf-token\x00"


@pass_context
def frame_part(context, template_name: str) -> Markup:
    """A part of every page's frame (templates/frame/: the header with its language and
    display forms, account links and service navigation; the help block and footer),
    rendered once per language, script root and what it shows besides (see
    `render_fragment`): display mode, signed in or not, the inbox count, this page's path
    (the forms come back to it), the district's name, hotline, booking-service name and footer
    identity (so each district's pages have a frame of their own). The CSRF token of its forms
    is this visitor's, put in for each request."""
    user = context.get("current_user")
    signed_in = bool(user is not None and user.is_authenticated)
    path = current_path()
    shown = {
        name: context.get(name)
        for name in (
            "district_name",
            "hotline",
            "booking_name",
            "district_footer",
            "english",
            "elderly",
            "unread_count",
        )
    }
    html = render_fragment(
        template_name,
        (signed_in, path, *shown.values()),
        **shown,
        current_user=user,
        current_path=lambda: path,
        csrf_token=lambda: CSRF_MARK,
    )
    if CSRF_MARK in html:
        html = Markup(html.replace(CSRF_MARK, generate_csrf()))  # nosec B704 # a token: [\w.-]
    return html


def unread_messages(user) -> int:
    """How many inbox messages `user` has not read, for the header's badge: the count the user
    loader read with the account (`app.accounts.models.signed_in_user`) while the session is
    still in the transaction that read it, else counted now (a request that committed since,
    marking messages read or writing one, shows its own change)."""
    kept = getattr(user, "unread_kept", None)
    if kept is not None and kept[1] is not None and kept[1] is db.session().get_transaction():
        return kept[0]
    return unread_count(db.session, user.id)


def _services_named(services, booking_name: str):
    """The services as the district names them: venue booking takes the district's own name
    ("全闵预约") when it has one."""
    if not booking_name:
        return services
    return [replace(s, title=booking_name) if s.key == "venues" else s for s in services]


def init_app(app) -> None:
    from flask_babel import get_babel

    with app.app_context():  # (Flask-Babel makes its domain on first use, from the app's config)
        remember_translations(get_babel(app).instance.domain_instance)
    app.jinja_env.globals.update(
        html_lang=html_lang,
        current_path=current_path,
        error_list=error_list,
        hhmm=hhmm,
        when_span=human_span,
        month_name=human_month,
        # Flask-Babel installed Jinja's gettext callables; these return the same strings.
        gettext=_gettext,
        _=_gettext,
        ngettext=_ngettext,
        url_for=memoised_url_for(app),
        frame_part=frame_part,
    )
    app.jinja_env.filters.update(
        fen=format_fen,
        mask_phone=mask_phone,
        datetime=human,  # one human format per language (app/i18n.py)
        date=format_day,
        listing=listing,
    )

    @app.context_processor
    def site_context():
        english = is_english()
        database_up = not g.get("database_down")
        signed_in = database_up and current_user and current_user.is_authenticated
        unread = unread_messages(current_user) if signed_in else 0
        # The district the page is about: its row's name, hotline, booking-service name and
        # footer identity (app/places/districts.py); PORTAL_DISTRICT_* only before one exists.
        district = districts.current()
        booking_name = district.booking_name
        return {
            "district": district,
            "district_name": district.name,
            "hotline": district.hotline,
            "booking_name": booking_name,
            "district_footer": district.footer,
            # More than one district to choose between: the lists show the chooser's line.
            "several_districts": districts.several(),
            "english": english,
            "unread_count": unread,
            "services_nav": _services_named(registry().services, booking_name),
            "page_banners": page_banners() if signed_in else [],
        }
