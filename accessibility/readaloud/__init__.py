"""Read-aloud (语音播报): a 朗读 control on every page reads its main content aloud.

With JavaScript, the browser's own speech synthesis reads when it has a Chinese voice
(static/js/readaloud.js); otherwise, and without JavaScript, the server reads with Debian's
espeak-ng (services/) and the browser plays the recording (views.py). Settings: READALOUD_* in
app/config.py. Cached recordings are removed by `flask sweep`.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from accessibility.readaloud.services import ReadAloudSettings


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
    )


def current_settings() -> ReadAloudSettings:
    app = current_app._get_current_object()
    return settings_from(app.config, app.instance_path)


def init_app(app) -> None:
    from accessibility.readaloud import services
    from accessibility.readaloud.views import bp
    from app.ratelimit import limit_endpoints
    from app.registry import register_sweeper

    app.register_blueprint(bp)
    # Synthesis costs CPU: the page that reads another and the script's requests share a limit
    # per address and per account.
    limit_endpoints(app, "READALOUD_RATE", "readaloud", ["readaloud.page", "readaloud.speak_text"])

    def sweep(session):
        return {
            "readaloud files removed": services.sweep(settings_from(app.config, app.instance_path))
        }

    register_sweeper(app, sweep)
