"""Rate limiting with Flask-Limiter, one Limiter per app.

Flask-Limiter keeps its configuration and storage on the Limiter object, so a module-level
instance shared by several apps in one process (tests, a live server beside them) lets the last
app initialised reconfigure the others. Each app gets its own; routes declare their limits
through `limits(app)` when the app is built. Counters live in `RATELIMIT_STORAGE_URI` (memory
for one process, Redis when several app servers must share them; production refuses memory
when configured with several, see `app.config.check_rate_limit_storage`).

Abuse limits (`limit_endpoints`) count each client address always and, besides, each account
when the request is signed in (a session, or a Bearer token), so neither a crowd of accounts on
one address nor one account from many addresses gets past them. The client address is the
socket's, or the one the TRUSTED_PROXIES in front of the app report (ProxyFix, `create_app`).
"""

from __future__ import annotations

import hashlib

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user

# Methods whose bodies may carry uploaded files.
UPLOAD_METHODS = {"POST", "PUT", "PATCH"}


def init_app(app) -> Limiter:
    limiter = Limiter(key_func=get_remote_address, app=app)
    app.extensions["portal_limiter"] = limiter
    _check_only_when_limited(app, limiter)
    return limiter


def _check_only_when_limited(app, limiter: Limiter) -> None:
    """Flask-Limiter checks every request before its view for the limits that apply to all
    routes (RATELIMIT_DEFAULT, RATELIMIT_APPLICATION, RATELIMIT_META). The portal's own limits
    are on their routes (`limit_endpoints`, checked by their decorators), so with none of those
    configured the check finds nothing, at a cost on every page and API call: it is installed
    only when one is configured."""
    manager = limiter.limit_manager
    if manager.default_limits or manager.application_limits or limiter._meta_limits:
        return
    checks = app.before_request_funcs.get(None, [])
    checks[:] = [check for check in checks if check != limiter._check_request_limit]


def limiter_for(app=None) -> Limiter:
    return (app or current_app).extensions["portal_limiter"]


def account_key() -> str | None:
    """The signed-in account making this request, or None for a visitor. A Bearer token counts
    by its digest (no database lookup before the limit; an invented token only gets a bucket
    of its own, and the address limit still applies)."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "token:" + hashlib.sha256(token.strip().encode("utf-8", "replace")).hexdigest()[:32]
    return None


def limit_endpoints(
    app, config_key: str, scope: str, endpoints, *, methods=None, cost=1, exempt_when=None
) -> None:
    """Limit `endpoints` together to `app.config[config_key]` per client address and per
    account (one shared count per scope, so spreading requests over the endpoints does not
    multiply the allowance). Installed on this app's own view table, since the limiter is per
    app; `methods` restricts the limit to those methods, `cost` is what one request counts."""
    limiter = limiter_for(app)
    skip = exempt_when or (lambda: False)

    def rate() -> str:
        return app.config[config_key]

    # override_defaults=False: an operator's RATELIMIT_DEFAULT still applies to these routes.
    per_address = limiter.shared_limit(
        rate,
        scope=f"{scope}-address",
        methods=methods,
        cost=cost,
        exempt_when=skip,
        override_defaults=False,
    )
    per_account = limiter.shared_limit(
        rate,
        scope=f"{scope}-account",
        key_func=lambda: account_key() or "",
        methods=methods,
        cost=cost,
        override_defaults=False,
        exempt_when=lambda: skip() or account_key() is None,
    )
    for endpoint in endpoints:
        app.view_functions[endpoint] = per_account(per_address(app.view_functions[endpoint]))


def limit_public_lists(app, *endpoints) -> None:
    """The catalogue and search pages and APIs anyone may call (PUBLIC_LIST_RATE)."""
    limit_endpoints(app, "PUBLIC_LIST_RATE", "public-lists", endpoints)


def _uploaded_files() -> int:
    if request.mimetype != "multipart/form-data":
        return 0
    return sum(1 for file in request.files.values() if file.filename)


def limit_uploads(app) -> None:
    """UPLOAD_RATE counts photos received, on every form that takes files: each request that
    can carry a body is limited, costing the number of files it brings (nothing for a request
    without files). Installed last in `create_app`, so upload routes added by any package are
    covered without declaring themselves.

    The JSON API's operations (`app.api.register_api_blueprint`) are left out: they read JSON
    and query strings only, so a file sent to one is never received (the request is refused
    as not JSON), and they are spared the limiter's work on every call (a booking's most
    frequent path)."""
    json_only = app.extensions.get("json_api_blueprints", set())
    endpoints = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.methods
        and rule.methods & UPLOAD_METHODS
        and rule.endpoint in app.view_functions
        and rule.endpoint.partition(".")[0] not in json_only
    ]
    limit_endpoints(
        app,
        "UPLOAD_RATE",
        "uploads",
        sorted(set(endpoints)),
        methods=sorted(UPLOAD_METHODS),
        cost=_uploaded_files,
        exempt_when=lambda: _uploaded_files() == 0,
    )
