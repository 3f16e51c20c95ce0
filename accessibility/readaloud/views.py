"""Read-aloud pages: hear this page (no JavaScript needed), the audio files, and the words a
page's script asks to hear.

`/readaloud?path=/venues/3&speed=slow` reads the main content of /venues/3 *as the person asking
sees it*: the page is rendered inside the app for this request's own cookies (GET only, a path
of this site only, never another address, never with anyone else's credentials), its <main>
read with `main_text`, synthesised (or found in the cache) and shown in an <audio controls>
element with a link to the file and the words as text. Ordinary pages pay nothing for this:
the work happens only when someone asks.
"""

from __future__ import annotations

from io import BytesIO
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import lazy_gettext as _l
from werkzeug.test import EnvironBuilder, run_wsgi_app

from accessibility.readaloud import current_settings
from accessibility.readaloud.forms import SpeakForm
from accessibility.readaloud.services import MIMETYPE, SPEEDS, cached_file, language_of, speak
from accessibility.readaloud.services.text import main_text
from app.db import end_read
from app.errors import DomainError
from app.extensions import db
from app.urls import safe_next

bp = Blueprint("readaloud", __name__)

INNER = "portal.readaloud"  # marks the environ of a page rendered for reading aloud
REDIRECTS = 3  # a page that sends the person on (to sign in, say) is followed this far
# Headers of the person's own request that shape the page they see; nothing else is passed
# (no Authorization: a page is read with the browser's session cookie, as the browser sees it).
PASSED_HEADERS = ("Cookie", "Accept-Language", "User-Agent")


class NotReadable(DomainError):
    code = "readaloud_not_a_page"


def _own_path(target: str | None) -> str:
    """`target` if it is a page path of this site (not read-aloud itself), else NotReadable."""
    if (
        not target
        or safe_next(target, "main.home") != target
        or urlsplit(target).path.startswith(url_for("readaloud.page"))
    ):
        raise NotReadable(_l("Only pages of this site can be read aloud."), field="path")
    return target


def render_for_reading(path: str) -> str:
    """The HTML the person making this request gets for GET `path` (following the app's own
    redirects, such as to the sign-in page): rendered inside this app, in a fresh application
    context (its own database session and `g`), with this request's cookies, language and
    address. A path that is not an HTML page of this site raises NotReadable."""
    app = current_app._get_current_object()
    end_read(db.session)  # hold no read transaction while the page's request runs
    headers = {name: request.headers[name] for name in PASSED_HEADERS if name in request.headers}
    for _ in range(REDIRECTS + 1):
        builder = EnvironBuilder(
            path=path,
            base_url=request.host_url.rstrip("/") + request.script_root,
            headers=headers,
            environ_base={"REMOTE_ADDR": request.remote_addr or "", INNER: True},
        )
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        environ["wsgi.input"] = BytesIO()
        with app.app_context():
            body, status, response_headers = run_wsgi_app(app.wsgi_app, environ, buffered=True)
            html = b"".join(body)
            if hasattr(body, "close"):
                body.close()
        code = int(status.split(" ", 1)[0])
        location = response_headers.get("Location")
        if 300 <= code < 400 and location:
            parts = urlsplit(location)
            if parts.netloc and parts.netloc != request.host:
                break
            path = _own_path(parts.path + (f"?{parts.query}" if parts.query else ""))
            continue
        if response_headers.get("Content-Type", "").startswith("text/html"):
            return html.decode("utf-8", errors="replace")
        break
    raise NotReadable(_l("Only pages of this site can be read aloud."), field="path")


def _speed() -> str:
    speed = request.args.get("speed", "normal")
    return speed if speed in SPEEDS else "normal"


@bp.route("/readaloud")
def page():
    """Hear the main content of the page at `path`, at `speed` (normal or slow)."""
    target = request.args.get("path") or url_for("main.home")
    speed = _speed()
    if request.environ.get(INNER):
        abort(404)  # a page read aloud never reads another one
    path = _own_path(target)
    text, lang = main_text(render_for_reading(path))
    language = language_of(lang)
    speech, problem = None, None
    try:
        speech = speak(current_settings(), text, language, speed)
    except DomainError as error:
        problem = error
    return render_template(
        "readaloud/page.html",
        readaloud_path=path,
        speed=speed,
        speech=speech,
        problem=problem,
        text=speech.text if speech else text,
        text_lang="en" if language == "en" else "zh-CN",
    )  # 200 with the problem said (espeak-ng missing, nothing to read): the words still show


@bp.route("/readaloud/audio/<key>.mp3")
def audio(key: str):
    """A cached recording, while it lives (READALOUD_CACHE_SECONDS). Its name is a keyed hash:
    only someone who was given the address can ask for it."""
    path = cached_file(current_settings(), key)
    if path is None:
        abort(404)
    response = send_file(path, mimetype=MIMETYPE, conditional=True, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/readaloud/speak", methods=["POST"])
def speak_text():
    """For the page's script in a browser without a Chinese voice: the address of the audio of
    the words it sends (the main content, or the focused field's label, hint and error), as
    JSON. Refusals are JSON too: {"error": message}."""
    form = SpeakForm()
    if not form.validate_on_submit():
        message = next(iter(form.errors.values()))[0]
        return jsonify(error=str(message)), 400
    try:
        speech = speak(current_settings(), form.text.data, form.lang.data, form.speed.data)
    except DomainError as error:
        return jsonify(error=str(error)), error.status
    answer = {"audio": url_for("readaloud.audio", key=speech.key), "cut": speech.cut}
    if speech.cut:  # said as the no-JavaScript page says it
        answer["message"] = str(_l("This page is long: only its first part is read."))
    return jsonify(answer)
