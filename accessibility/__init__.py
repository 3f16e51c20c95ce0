"""数字无障碍: elderly mode (长辈模式), large text, the accessibility statement, form helpers.

Display mode is a user setting, and a cookie for visitors. It becomes a class on <html> that
switches CSS custom properties, so one template tree serves every mode. Switching is a plain
form post, so it works without JavaScript.
"""

from __future__ import annotations

import re

from flask import request
from flask_login import current_user

from app.accounts.models import DisplayMode

MODE_COOKIE = "display_mode"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")


def has_chinese(text) -> bool:
    """Whether `text` has a Chinese character (or Chinese punctuation) in it."""
    return bool(text) and _CJK.search(str(text)) is not None


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
    # {% if name is has_chinese %}: Chinese on an English page gets lang="zh-CN" (macros/text.html)
    app.jinja_env.tests["has_chinese"] = has_chinese
    from app.error_pages import upload_limit_mb

    app.jinja_env.globals["upload_limit_mb"] = upload_limit_mb()

    @app.context_processor
    def display_context():
        mode = current_display_mode()
        return {"display_mode": mode.value, "elderly": mode == DisplayMode.ELDERLY}
