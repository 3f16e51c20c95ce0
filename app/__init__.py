"""citizen-portal: the application factory.

`create_app` only builds the app: no migrations, prompts or network calls. The database schema
comes from Alembic (`flask db upgrade`), demo data from `flask seed-demo`.
"""

from __future__ import annotations

import importlib
import logging

from flask import Flask, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from app.config import CONFIGS, INSTANCE_DIR, RESOURCE_ROOT, check_production, engine_options

log = logging.getLogger(__name__)


def create_app(config=None) -> Flask:
    """Build the portal. `config` is a config name, a config class, or a mapping of overrides
    (applied on top of the class chosen by `PORTAL_ENV`, default development)."""
    import os

    app = Flask(
        __name__,
        template_folder=str(RESOURCE_ROOT / "templates"),
        static_folder=str(RESOURCE_ROOT / "static"),
        instance_path=str(INSTANCE_DIR),
    )
    overrides = {}
    if isinstance(config, dict):
        overrides, config = config, None
    if config is None or isinstance(config, str):
        config = CONFIGS[config or os.environ.get("PORTAL_ENV", "development")]
    app.config.from_object(config)
    app.config.update(overrides)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)
    if app.config.get("PREFERRED_URL_SCHEME") == "https":
        check_production(app.config)
    os.makedirs(app.instance_path, exist_ok=True)
    # Requests as the database can take them (see app/urls.py): set before any route is added.
    from app.urls import BoundedIntConverter, NulFreeStringConverter, PortalRequest

    app.request_class = PortalRequest
    app.url_map.converters.update(
        int=BoundedIntConverter, default=NulFreeStringConverter, string=NulFreeStringConverter
    )

    _init_extensions(app)
    _register_frame(app)
    from accessibility import readaloud

    readaloud.init_app(app)  # 朗读 on every page (issue 14): its control is in base.html
    for package in app.config["PORTAL_PACKAGES"]:
        importlib.import_module(package).init_app(app)
    from app.ratelimit import limit_uploads

    limit_uploads(app)  # after every package, so each upload route is covered
    _register_error_pages(app)
    _trust_proxies(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, take the client's address and scheme from the
    X-Forwarded-For/-Proto entries they added (the rightmost n), so rate limits and logs see
    the client rather than the proxy. With 0 (the default) the headers are ignored: anyone can
    send them, and trusting them would let a client pick the address its limits are counted on."""
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)


def _init_extensions(app: Flask) -> None:
    from app import (
        models,  # noqa: F401  (every table known to SQLAlchemy and Alembic)
        ratelimit,
    )
    from app.db import configure_engine
    from app.extensions import babel, csrf, db, login_manager, migrate
    from app.i18n import select_locale

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    migrate.init_app(app, db, directory=str(RESOURCE_ROOT / "migrations"))
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    ratelimit.init_app(app)

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message_category = "info"
    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please sign in to see this page.")

    @login_manager.user_loader
    def load_user(user_id: str):
        # The account with its roles and inbox count, only while this browser's server-side
        # session is live: one statement (app/accounts/sessions.py).
        from app.accounts.sessions import load

        return load(user_id)


def _register_frame(app: Flask) -> None:
    from app import api, cli, security, templating
    from app.accounts import devices  # noqa: F401  (its routes are on the accounts blueprint)
    from app.accounts.api import blp as accounts_api
    from app.accounts.views import bp as accounts_bp
    from app.accounts.views import init_limits
    from app.audit.views import bp as audit_bp
    from app.main.views import bp as main_bp
    from app.notifications import push_views  # noqa: F401  (routes on the notifications bp)
    from app.notifications.api import blp as notifications_api
    from app.notifications.views import bp as notifications_bp
    from app.places.views import bp as places_bp
    from app.ratelimit import limiter_for

    for blueprint in (main_bp, accounts_bp, notifications_bp, audit_bp, places_bp):
        app.register_blueprint(blueprint)
    from app.places.district_views import bp as districts_bp  # the district chooser (issue 15)

    app.register_blueprint(districts_bp)
    init_limits(app, limiter_for(app))
    from app.ratelimit import limit_endpoints

    limit_endpoints(
        app, "REGISTRATION_RATE", "registration", ["accounts.register_details"], methods=["POST"]
    )
    api.init_app(app)
    api.register_api_blueprint(app, accounts_api)
    api.register_api_blueprint(app, notifications_api)
    templating.init_app(app)
    security.init_app(app)
    cli.init_app(app)
    from app.accounts import sessions

    sessions.init_app(app)  # old session rows purged by the sweep
    from app import notifications, sms  # the SMS gateway and verification codes (issue 12)

    notifications.init_app(app)  # the delivery outbox and `flask deliver` (issue 13)
    from app.notifications import admin_views as deliveries_admin

    deliveries_admin.init_app(app)  # dead letters for administrators (/admin/deliveries)
    from app.accounts import admin_views as staff_admin

    staff_admin.init_app(app)  # staff accounts for administrators (/admin/staff, issue 15)
    sms.init_app(app)
    from app.identity.views import init_app as init_identity

    init_identity(app)  # real names and 一网通办 sign-in (app/identity/)
    _register_workspaces(app)
    from app.desk import init_app as init_desk

    init_desk(app)  # the service desk, my data and closing an account (app/desk/__init__.py)
    from app import imports

    imports.init_app(app)  # bulk import: pages, kinds, `flask import` (app/imports/, issue 15)
    from app.places import admin_views as place_admin

    place_admin.init_app(app)  # districts, towns, estates for administrators (/admin/places)


def _register_workspaces(app: Flask) -> None:
    """The frame's own tasks in each role's workspace on the home page."""
    from flask import url_for
    from flask_babel import lazy_gettext as _l

    from app.accounts.models import Role
    from app.registry import Link, register_workspace_links

    def resident_links(user, assignment):
        return [
            Link(_l("My details"), url_for("accounts.profile")),
            Link(_l("Inbox"), url_for("notifications.inbox")),
        ]

    def audit_links(user, assignment):
        return [Link(_l("Audit log"), url_for("audit.log"))]

    def claims_links(user, assignment):
        return [Link(_l("Household claims"), url_for("places.claims"))]

    register_workspace_links(app, Role.RESIDENT, resident_links)
    register_workspace_links(app, Role.PROPERTY_MANAGER, claims_links)
    register_workspace_links(app, Role.ADMINISTRATOR, audit_links)
    register_workspace_links(app, Role.DISTRICT_SUPERVISOR, audit_links)


def _register_error_pages(app: Flask) -> None:
    from flask_limiter.errors import RateLimitExceeded

    from app.api import handle_domain_error, handle_http_error, is_api_request
    from app.db import end_read
    from app.errors import DomainError
    from app.extensions import db
    from app.ratelimit import limiter_for

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if is_api_request():
            return handle_http_error(error)
        if isinstance(error, RateLimitExceeded) and request.endpoint == "accounts.login":
            from app.accounts.views import login_locked_out

            return login_locked_out(limiter_for().current_limit), 429
        if error.code in (401, 403, 404, 405, 429):
            return render_template(f"errors/{error.code}.html", error=error), error.code
        # The portal's own page, never Werkzeug's bare English one (issue 14): a lost form
        # token or an upload over the limit shows the form again (app/error_pages.py).
        from flask_wtf.csrf import CSRFError

        from app import error_pages

        if isinstance(error, CSRFError):
            return error_pages.csrf_failure(error)
        if error.code == 413:
            return error_pages.too_large(error)
        if error.code and 400 <= error.code < 500:
            return render_template("errors/http.html", error=error), error.code
        return error

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        db.session.rollback()
        if is_api_request():
            return handle_domain_error(error)
        return render_template("errors/domain.html", error=error), error.status

    @app.teardown_appcontext
    def close_session(exc):
        """Runs before Flask-SQLAlchemy's own teardown (teardowns run in reverse order). A
        transaction that only read ends with COMMIT (`app.db.end_read`: a ROLLBACK would make
        psycopg discard the connection's prepared statements); after an unhandled error, or
        changes no unit of work wrote, closing the session rolls back. If the database went
        away after the page was rendered, that COMMIT or ROLLBACK raises and the finished page
        would become a 500. Let the answer stand, and invalidate the connection that failed, so
        the pool opens a new one. SQLAlchemy does that itself when the driver reports the
        connection lost, but not otherwise; and the failed close has already detached the
        connection from the session (`Session.invalidate()` then finds nothing), so it is taken
        from the transaction before closing."""
        if not db.session.registry.has():
            return
        transaction = db.session().get_transaction()
        try:
            if exc is None and transaction is not None:
                end_read(db.session)
            db.session.remove()
        except OperationalError:
            log.warning("database connection lost while closing the session")
            for connection in transaction.connections if transaction is not None else ():
                if not connection.closed:
                    connection.invalidate()  # no I/O: the pool discards it and reconnects
            db.session.registry.clear()

    @app.errorhandler(OperationalError)
    def database_unavailable(error):
        """The database is unreachable (restarting, failing over): a clear "try again" answer,
        never a stack trace. The session's connections are invalidated rather than rolled back
        (a ROLLBACK on a dead connection raises again, in this handler or at teardown), so the
        pool replaces them: the next request reconnects by itself, with or without pre-ping, and
        whether or not the driver reported the connection lost (tests/test_resilience.py)."""
        log.error("database unavailable: %s", error.orig if hasattr(error, "orig") else error)
        from flask import g

        g.database_down = True  # templates skip their own queries (inbox count, banners)
        if "_login_user" not in g:
            # The failure may have been loading the user: show the page as to a visitor.
            g._login_user = app.login_manager.anonymous_user()
        # On the Session itself (scoped_session does not proxy invalidate()). It does no I/O on
        # the dead connection, so it cannot fail the way a ROLLBACK would.
        db.session().invalidate()
        if is_api_request():
            from app.api import GENERIC_MESSAGES, error_response

            return error_response(503, "try_again", GENERIC_MESSAGES[503])
        return render_template("errors/503.html"), 503

    @app.errorhandler(500)
    def internal_error(error):
        db.session.rollback()
        if is_api_request():
            from app.api import GENERIC_MESSAGES, error_response

            return error_response(500, "internal_error", GENERIC_MESSAGES[500])
        return render_template("errors/500.html"), 500
