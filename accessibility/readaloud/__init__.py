"""Read-aloud (语音播报): a 朗读 control on every page reads its main content aloud.

With JavaScript, the browser's own speech synthesis reads when it has a Chinese voice
(static/js/readaloud.js); otherwise, and without JavaScript, the server reads with Debian's
espeak-ng (services/) and the browser plays the recording (views.py). Settings: READALOUD_* in
app/config.py. Cached recordings are removed by `flask sweep`.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app, request
from jinja2 import pass_context
from markupsafe import Markup

from accessibility.readaloud.services import ReadAloudSettings

CONTROLS_KEPT = 1024  # rendered controls kept per app (paths are the visitor's to choose)


def settings_from(config, instance_path: str) -> ReadAloudSettings:
    """The service's settings from the app's config (READALOUD_*)."""
    return ReadAloudSettings(
        cache_dir=Path(config.get("READALOUD_CACHE_DIR") or Path(instance_path) / "readaloud"),
        secret=("readaloud:" + str(config["SECRET_KEY"])).encode(),
        espeak=config["READALOUD_ESPEAK"],
        voice_zh=config["READALOUD_VOICE_ZH"],
        voice_en=config["READALOUD_VOICE_EN"],
        words_per_minute_normal=int(config["READALOUD_SPEED_NORMAL"]),
        words_per_minute_slow=int(config["READALOUD_SPEED_SLOW"]),
        max_chars=int(config["READALOUD_MAX_CHARS"]),
        cache_seconds=int(config["READALOUD_CACHE_SECONDS"]),
        cache_bytes=int(config["READALOUD_CACHE_MB"]) * 1024 * 1024,
        timeout_seconds=float(config["READALOUD_TIMEOUT_SECONDS"]),
        bitrate_kbps=int(config["READALOUD_MP3_KBPS"]),
    )


def current_settings() -> ReadAloudSettings:
    app = current_app._get_current_object()
    return settings_from(app.config, app.instance_path)


@pass_context
def readaloud_control(context) -> Markup:
    """The 朗读 control for this page (templates/readaloud/control.html), at the top of every
    page's <main> (base.html). It depends only on the page's path, the language and the script
    root, so it is rendered once for each and kept (at most CONTROLS_KEPT, emptied when full):
    a page view pays a dictionary lookup, not a template."""
    from app.i18n import is_english
    from app.urls import current_path

    english = context.get("english")  # the frame's site context has it for every page
    if english is None:
        english = is_english()
    path = context.get("readaloud_path") or current_path()
    key = (path, english, request.script_root)
    kept = current_app.extensions.setdefault("readaloud_controls", {})
    html = kept.get(key)
    if html is None:
        template = current_app.jinja_env.get_template("readaloud/control.html")
        # Our own autoescaped template: as safe as the page it goes into.
        html = Markup(template.render(english=english, readaloud_target=path))  # nosec B704  # our autoescaped template
        if len(kept) >= CONTROLS_KEPT:
            kept.clear()
        kept[key] = html
    return html


def init_app(app) -> None:
    from accessibility.readaloud import services
    from accessibility.readaloud.views import bp
    from app.ratelimit import limit_endpoints
    from app.registry import register_sweeper

    app.register_blueprint(bp)
    app.jinja_env.globals["readaloud_control"] = readaloud_control
    # Synthesis costs CPU: the page that reads another and the script's requests share a limit
    # per address and per account.
    limit_endpoints(app, "READALOUD_RATE", "readaloud", ["readaloud.page", "readaloud.speak_text"])

    def sweep(session):
        return {
            "readaloud files removed": services.sweep(settings_from(app.config, app.instance_path))
        }

    register_sweeper(app, sweep)
