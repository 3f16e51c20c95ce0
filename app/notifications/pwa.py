"""The portal as an installable web app: the manifest (/manifest.webmanifest), the service
worker (/sw.js, static/sw.js) and the offline page it keeps (/offline); and the wiring of Web
Push (app/notifications/push.py: the channel, `flask --app wsgi vapid-keys`).

The worker only shows pushed notifications, opens their page when one is clicked, and shows the
offline page when a page cannot be fetched. It caches nothing but that page and the stylesheet:
every other request goes to the server as without it, and the portal works the same in a
browser that never runs it."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, send_from_directory
from flask_babel import force_locale
from flask_babel import gettext as _

bp = Blueprint("pwa", __name__)

THEME_COLOUR = "#0b4f9c"  # --brand in static/css/portal.css
BACKGROUND_COLOUR = "#ffffff"  # --page
ICONS = [
    ("icons/app-192.png", "192x192", "any"),
    ("icons/app-512.png", "512x512", "any"),
    ("icons/app-maskable-512.png", "512x512", "maskable"),
]
OFFLINE_LOCALES = ("zh_CN", "en")


@bp.route("/manifest.webmanifest")
def manifest():
    """In the default language: browsers fetch the manifest without cookies."""
    from flask import url_for

    from app.places import districts

    config = current_app.config
    district = districts.current()  # without cookies: the first district (issue 15)
    with force_locale(config["BABEL_DEFAULT_LOCALE"]):
        name = district.name_zh + _("Citizen services")
    body = {
        "id": "/",
        "name": name,
        "short_name": district.name_zh,
        "lang": "zh-CN",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": [
            {
                "src": url_for("static", filename=path),
                "sizes": sizes,
                "type": "image/png",
                "purpose": purpose,
            }
            for path, sizes, purpose in ICONS
        ],
    }
    response = jsonify(body)
    response.mimetype = "application/manifest+json"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.route("/sw.js")
def service_worker():
    # At the root, so its scope can be the whole portal; no-cache, so a new version is seen
    # at the next visit (browsers check at most daily anyway).
    response = send_from_directory(current_app.static_folder, "sw.js", max_age=0)
    response.mimetype = "text/javascript"
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/offline")
def offline():
    """The page the worker shows when a page cannot be fetched: the same for everyone (the
    worker keeps one copy), so in both languages and in the large type of elderly mode."""
    from app.places import districts

    hotline = districts.current().hotline  # the visitor's district's (issue 15)
    texts = {}
    for locale in OFFLINE_LOCALES:
        with force_locale(locale):
            texts[locale] = {
                "title": _("You are offline"),
                "lead": _("This page could not be opened: there is no connection to the internet."),
                "retry": _("Check that Wi-Fi or mobile data is on, then open the page again."),
                "hotline": _(
                    "For urgent help call %(hotline)s.",
                    hotline=hotline,
                ),
                "home": _("Go to the home page"),
            }
    response = current_app.make_response(render_template("pwa/offline.html", texts=texts))
    response.headers["Cache-Control"] = "no-cache"
    return response


def init_app(app) -> None:
    from app.notifications.channels import register
    from app.notifications.models import Channel
    from app.notifications.push import (
        channel_for,
        erase_personal_data,
        export_personal_data,
        vapid_keys_command,
    )
    from app.registry import register_personal_data
    from app.security import allow_public_cache

    app.register_blueprint(bp)
    allow_public_cache(app, "pwa.manifest", "pwa.service_worker")  # the same for all
    register(app, Channel.PUSH, channel_for)
    app.cli.add_command(vapid_keys_command)
    register_personal_data(app, "push", export_personal_data, erase_personal_data)
