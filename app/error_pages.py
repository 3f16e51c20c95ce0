"""The portal's own pages for failed form posts (issue 14): a form whose security token is gone
(a phone closed the browser, the session cookie was lost) or whose upload is over the size limit
comes back as the same form, in the person's language and mode, with a plain explanation, the
hotline, and (after a token failure) what they typed. The refused post itself is never acted on:
the form's page is shown as for a GET, with the typed values as its data, and the person sends it
again with the fresh token the page carries."""

from __future__ import annotations

import json
import time

from flask import current_app, g, make_response, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.exceptions import HTTPException

from app.errors import DomainError
from app.uploads import MAX_BYTES

REPLAY_KEY = "form_replay"
# Never written back into a page: the token is replaced, passwords are typed again.
_NOT_REPLAYED = ("csrf_token", "confirm")


# A refused post whose page needs a sign-in (the session was lost with the token): what was
# typed waits in this browser's session cookie (which survives signing in) for the form's page,
# for REPLAY_MINUTES; never passwords or files. The cookie must stay under the browsers' 4 KB.
SIGNIN_REPLAY_KEY = "form_replay_after_signin"
REPLAY_MINUTES = 15
_REPLAY_MAX_BYTES = 2500


def replayed_formdata():
    """What the refused post sent, for the forms of the page shown instead (app/forms.py), or
    what was kept across a sign-in for this page (read once), or None."""
    if REPLAY_KEY not in g:
        kept = session.get(SIGNIN_REPLAY_KEY)
        if (
            kept
            and request.method == "GET"
            and kept.get("path") == request.path
            and current_user.is_authenticated
        ):
            session.pop(SIGNIN_REPLAY_KEY, None)
            if time.time() - kept.get("at", 0) < REPLAY_MINUTES * 60:
                g.setdefault(REPLAY_KEY, MultiDict(kept.get("values") or ()))
    return g.get(REPLAY_KEY)


def _keep_for_signin(values) -> bool:
    """Keep `values` for the page at this path after a sign-in; False when too large."""
    kept = {"path": request.path, "at": int(time.time()), "values": list(values)}
    if len(json.dumps(kept).encode()) > _REPLAY_MAX_BYTES:
        return False
    session[SIGNIN_REPLAY_KEY] = kept
    return True


def _is_signin_redirect(response) -> bool:
    login = url_for("accounts.login")
    return response.status_code in (301, 302, 303) and (response.location or "").split("?")[
        0
    ].endswith(login)


def _show_form_again(status: int, message: str, *, keep_values: bool):
    """The GET page of the refused post's URL (its view, with its own access checks) with
    `message` at the top, or None when that URL has no page to show."""
    rule = request.url_rule
    view = current_app.view_functions.get(request.endpoint or "")
    if rule is None or view is None or "GET" not in (rule.methods or ()):
        return None
    if keep_values:
        g.setdefault(
            REPLAY_KEY,
            MultiDict(
                (k, v)
                for k, v in request.form.items(multi=True)
                if k not in _NOT_REPLAYED and "password" not in k
            ),
        )
    # Werkzeug reads the method once, into this attribute: from here on the view (and
    # Flask-WTF's "was this form submitted?") sees a GET, so nothing of the post is acted on.
    request.method = "GET"
    try:
        response = make_response(view(**(request.view_args or {})))
    except (HTTPException, DomainError):
        # The URL has no page for this person now (a token already revoked, a booking gone):
        # the explanation page instead, never an error inside the error page.
        g.pop(REPLAY_KEY, None)
        return None
    if _is_signin_redirect(response) and not current_user.is_authenticated:
        # The page needs a sign-in: the csrf page says so itself (not the sign-in's flash).
        flashes = session.get("_flashes") or []
        if flashes:
            session["_flashes"] = flashes[:-1]
        g.pop(REPLAY_KEY, None)
        g.needs_signin = True
        return None
    if keep_values and not _shows_fields(response, g.get(REPLAY_KEY)):
        # The URL's page is not this form (the sign-in page's password tab posts to the page
        # that shows the code tab): the page that sends the values again instead.
        g.pop(REPLAY_KEY, None)
        return None
    if response.status_code == 200:
        response.status_code = status
    flash_now(response, message)
    return response


def _shows_fields(response, values) -> bool:
    """Whether the page has a field for each value sent (by name)."""
    if response.status_code != 200 or response.mimetype != "text/html":
        return False
    html = response.get_data(as_text=True)
    names = {
        k.split("-", 1)[0] if k.rsplit("-", 1)[-1] in ("year", "month", "day") else k
        for k in values or ()
    }
    return all(f'name="{name}' in html for name in names)


def flash_now(response, message: str) -> None:
    """`message` at the top of the page already rendered (a flash would wait for the next)."""
    html = response.get_data(as_text=True)
    notice = str(render_template("errors/_notice.html", message=message))
    marker = '<main id="main"'
    at = html.find(">", html.find(marker)) + 1 if marker in html else -1
    if at > 0:
        response.set_data(html[:at] + notice + html[at:])


def csrf_failure(error):
    """The form again with what was typed, or an explanation where there is no form page."""
    message = _(
        "For your safety this form was not sent: the page had been open a long time, or the "
        "browser was closed in between. What you typed is below. Check it and send it again."
    )
    values = [
        (k, v)
        for k, v in request.form.items(multi=True)
        if k not in _NOT_REPLAYED and "password" not in k
    ]
    shown = _show_form_again(400, message, keep_values=True)
    if shown is not None:
        return shown
    chosen = any(f.filename for f in request.files.values())
    if g.get("needs_signin"):
        # Signing in is a new page: what was typed waits for the form's page in the session.
        kept = bool(values) and _keep_for_signin(values)
        return render_template(
            "errors/csrf.html",
            signin=url_for("accounts.login", next=request.path),
            kept=kept,
            files=chosen,
        ), 400
    return render_template(
        "errors/csrf.html",
        action=request.full_path if request.query_string else request.path,
        values=values,
        kept=bool(values),
        files=chosen,
    ), 400


def too_large(error):
    """The form again (the body was never read, so nothing typed can be shown) saying the
    limit."""
    message = _(
        "What you sent was too large. Each photo can be at most %(mb)d MB. Choose a smaller "
        "photo (or send fewer at once) and send the form again.",
        mb=upload_limit_mb(),
    )
    # The body was refused unread: the page shown instead reads it as empty.
    request.__dict__.update(form=ImmutableMultiDict(), files=ImmutableMultiDict())
    return _show_form_again(413, message, keep_values=False) or (
        render_template("errors/413.html", mb=upload_limit_mb()),
        413,
    )


def upload_limit_mb() -> int:
    """The largest photo accepted, in MB, as hints and the error pages state it."""
    return MAX_BYTES // (1024 * 1024)
