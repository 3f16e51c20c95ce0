"""数字无障碍: elderly mode (长辈模式), large text, the accessibility statement, form helpers.

Display mode is a user setting, and a cookie for visitors. It becomes a class on <html> that
switches CSS custom properties, so one template tree serves every mode. Switching is a plain
form post, so it works without JavaScript.
"""

from __future__ import annotations

from flask import request
from flask_login import current_user

from app.accounts.models import DisplayMode

MODE_COOKIE = "display_mode"


def visitor_display_mode() -> DisplayMode:
    try:
        return DisplayMode(request.cookies.get(MODE_COOKIE, DisplayMode.STANDARD.value))
    except ValueError:
        return DisplayMode.STANDARD


def current_display_mode() -> DisplayMode:
    if current_user and current_user.is_authenticated:
        return current_user.display_mode
    return visitor_display_mode()


def init_app(app) -> None:
    from accessibility.views import bp

    app.register_blueprint(bp)

    @app.context_processor
    def display_context():
        mode = current_display_mode()
        return {"display_mode": mode.value, "elderly": mode == DisplayMode.ELDERLY}
