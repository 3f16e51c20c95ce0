"""HTTP security headers on every response. The CSP allows no inline script or style, so every
template keeps its CSS and JS in static files.

Caching, one rule for every answer: pages are `no-store`; every other answer (calendars, QR
images, CSV, photos, JSON, XML) is `private, no-store`, whatever the view or `send_file` said,
unless its endpoint is registered as public with `allow_public_cache` (static files, the parking
open data feed, public venue photos), where the view's own header stands. A new private route
is private without doing anything. Production also sends HSTS (`STRICT_TRANSPORT_SECURITY`).
"""

from __future__ import annotations

from flask import current_app, request
from flask.sessions import SecureCookieSessionInterface

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


PRIVATE = "private, no-store"
# Sent on every answer unless the view set its own.
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", "geolocation=(), microphone=()"),
)


def remember_on_device(response, name: str, value: str):
    """Keep a preference of this device (language, display mode, text size, colours) for a year:
    read by the server only (HttpOnly), sent over HTTPS only where the session cookie is."""
    response.set_cookie(
        name,
        value,
        max_age=365 * 86400,
        httponly=True,
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        samesite="Lax",
    )
    return response


def allow_public_cache(app, *endpoints: str) -> None:
    """Let these endpoints' answers keep the Cache-Control their view sets (public data only)."""
    app.extensions.setdefault("public_cache_endpoints", set()).update(endpoints)


class PortalSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, without its cost on requests that have no session cookie
    (API clients, first visits): Flask builds the cookie's signing serializer on every request
    before it looks for the cookie. Here it is built when a cookie is read or written, once per
    secret key (and fallbacks), and reused. Signing, expiry and the cookie itself are Flask's."""

    def __init__(self):
        self._serializers: dict = {}

    def get_signing_serializer(self, app):
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        if key not in self._serializers:
            self._serializers[key] = super().get_signing_serializer(app)
        return self._serializers[key]

    def open_session(self, app, request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def init_app(app) -> None:
    from app.forms import install_text_policy

    app.session_interface = PortalSessionInterface()

    install_text_policy()  # every form follows the input policy (app/forms.py)
    allow_public_cache(app, "static")

    @app.after_request
    def set_headers(response):
        headers = response.headers
        present = {key.lower() for key in headers.keys()}  # one pass over the headers
        added = [(name, value) for name, value in SECURITY_HEADERS if name.lower() not in present]
        if response.mimetype == "text/html":
            # Pages can hold personal data: never keep them in shared caches.
            if "cache-control" not in present:
                added.append(("Cache-Control", "no-store"))
        elif request.endpoint not in app.extensions.get("public_cache_endpoints", ()):
            headers["Cache-Control"] = PRIVATE
            if "expires" in present:
                del headers["Expires"]
        hsts = app.config.get("STRICT_TRANSPORT_SECURITY")
        if hsts and "strict-transport-security" not in present:
            added.append(("Strict-Transport-Security", hsts))
        headers.extend(added)
        return response
