"""数字无障碍: elderly mode (长辈模式), large text, the accessibility statement, form helpers.

Display mode is a user setting, and a cookie for visitors; a signed-in person's mode is written
to the device's cookie too, so it survives signing out. The text size beyond it (text-larger) and
the high-contrast colours (scheme-contrast) are the device's (cookies). Each becomes a class on
<html> that switches CSS custom properties, so one template tree serves every mode. Switching is
a plain form post, so it works without JavaScript.
"""

from __future__ import annotations

import re

from flask import g, request
from flask_login import current_user

from app.accounts.models import DisplayMode
from app.i18n import is_english
from app.security import remember_on_device

MODE_COOKIE = "display_mode"
TEXT_COOKIE = "text_size"
SCHEME_COOKIE = "colour_scheme"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")


# A run of Chinese on an English page: Chinese characters, then Chinese punctuation, digits and
# capitals (a plate: 沪A·12345; an address: 七宝镇漕宝路3号), up to a space or Latin text.
_CHINESE_RUN = re.compile(
    r"[\u3400-\u9fff\uf900-\ufaff][\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef0-9A-Z·]*"
)
_TAG = re.compile(r"(<[^>]*>)")
# Text inside these is no HTML (or may not hold HTML elements: an HTML <span> inside SVG <text>
# is not drawn at all): left as it is.
_RAW = ("script", "style", "textarea", "title", "option", "svg")


def mark_chinese(html: str) -> str:
    """An English page's Chinese text (names, addresses, plates, data with no English form)
    wrapped in <span lang="zh-CN">, so a screen reader reads it in Chinese, not letter by letter
    in an English voice. Only text between tags changes, never attributes or raw-text elements."""
    parts = _TAG.split(html)
    raw = None
    for i, part in enumerate(parts):
        if i % 2:  # a tag
            name = part[1:].split(None, 1)[0].rstrip(">/").lower() if len(part) > 2 else ""
            if raw is None and name in _RAW:
                raw = name
            elif raw is not None and name == "/" + raw:
                raw = None
        elif raw is None and part and _CJK.search(part):
            parts[i] = _with_spaces_kept(
                part, _CHINESE_RUN.sub(r'<span lang="zh-CN">\g<0></span>', part)
            )
    return "".join(parts)


def _with_spaces_kept(part: str, marked: str) -> str:
    """`marked` (text with its Chinese runs in spans) as one inline box when it has other text
    too: in a flex container (a button, an elderly-mode link) each span would become a flex item
    of its own and the spaces beside it would be dropped ("Yes, remove沪A12345")."""
    core = part.strip()
    if not core or _CHINESE_RUN.fullmatch(core):
        return marked
    lead = marked[: len(marked) - len(marked.lstrip())]
    trail = marked[len(marked.rstrip()) :]
    return f"{lead}<span>{marked.strip()}</span>{trail}"


def has_chinese(text) -> bool:
    """Whether `text` has a Chinese character (or Chinese punctuation) in it."""
    return bool(text) and _CJK.search(str(text)) is not None


def visitor_display_mode() -> DisplayMode:
    try:
        return DisplayMode(request.cookies.get(MODE_COOKIE, DisplayMode.STANDARD.value))
    except ValueError:
        return DisplayMode.STANDARD


def text_size() -> str:
    """This device's text size: 'larger' (beyond the display mode's) or 'standard'."""
    return "larger" if request.cookies.get(TEXT_COOKIE) == "larger" else "standard"


def colour_scheme() -> str:
    """This device's colours: 'contrast' (high contrast) or 'standard'."""
    return "contrast" if request.cookies.get(SCHEME_COOKIE) == "contrast" else "standard"


def display_classes() -> str:
    """The classes of <html>: the mode, then the device's text size and colours when chosen."""
    classes = [f"mode-{current_display_mode().value}"]
    if text_size() == "larger":
        classes.append("text-larger")
    if colour_scheme() == "contrast":
        classes.append("scheme-contrast")
    return " ".join(classes)


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
        return {
            "display_mode": mode.value,
            "display_classes": display_classes(),
            "elderly": mode == DisplayMode.ELDERLY,
        }

    @app.after_request
    def chinese_marked_on_english_pages(response):
        if (
            response.mimetype == "text/html"
            and not response.direct_passthrough
            and not response.is_streamed
            and is_english()
        ):
            response.set_data(mark_chinese(response.get_data(as_text=True)))
        return response

    @app.after_request
    def mode_on_the_device(response):
        """A signed-in person's display mode (chosen anywhere: the header, 显示设置, the
        profile, the service desk) is written to this device too, so that signing out keeps
        it. Only when the request already loaded the user, so no page loads one for this."""
        user = g.get("_login_user")
        if request.path.startswith("/api/"):
            return response  # an app's token, not a browser's device
        if user is not None and user.is_authenticated and user.display_mode is not None:
            mode = user.display_mode.value
            if request.cookies.get(MODE_COOKIE) != mode and MODE_COOKIE not in str(
                response.headers.getlist("Set-Cookie")
            ):
                remember_on_device(response, MODE_COOKIE, mode)
        return response
