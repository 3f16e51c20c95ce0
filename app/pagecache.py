"""A micro-cache for public catalogue pages seen by visitors who are not signed in.

The venue search and venue pages are the same for every visitor who reads them in the same
language and display mode, a few seconds apart: nothing on them is personal once the CSRF
token of the page's two small forms (language, elderly mode) is left out. `cached_page` keeps
such a page for PAGE_CACHE_SECONDS (0 turns the cache off) and serves it again, with the
visitor's own CSRF token put back in, without running the view. A booking re-checks
everything, so a page a few seconds old can at worst offer a place that has just gone.

What the cache guarantees:
- Only GET answers of status 200 rendered for a visitor who is not signed in and has no
  flashed message waiting are kept or served. Signed-in pages never touch the cache.
- The key is the path and query string, the script root, the language and the display mode:
  everything an anonymous catalogue page depends on besides the data.
- Every visitor gets their own CSRF token: the token the page was rendered with is cut out
  when it is kept, and this visitor's (`flask_wtf.csrf.generate_csrf`, which also puts it in
  their session) is put in its place. Headers are not kept: each answer gets its own from the
  app's after-request hooks (Set-Cookie for the visitor's session, Vary: Cookie, security
  headers, rate-limit headers), as a rendered page would.
- Single flight: while a page is being rendered for a key, other requests in the same worker
  for that key wait for it (at most PAGE_CACHE_WAIT seconds) instead of rendering it again.
- At most PAGE_CACHE_ENTRIES pages are kept per worker (query strings are the visitor's to
  choose); expired ones go first, then the oldest.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import wraps

from flask import current_app, g, request, session
from flask_babel import get_babel, get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

PAGE_CACHE_WAIT = 10.0  # seconds a request waits for another one rendering the same page


@dataclass(frozen=True)
class Page:
    expires: float  # by the cache's clock (time.monotonic)
    parts: tuple[str, ...]  # the page cut where its CSRF token was
    status: int
    mimetype: str

    def body(self, token: str) -> str:
        return token.join(self.parts)


class PageCache:
    """The pages one worker keeps, for one app."""

    def __init__(self, seconds: float, entries: int, clock=time.monotonic):
        self.seconds = seconds
        self.entries = entries
        self.clock = clock
        self._pages: dict[tuple, Page] = {}
        self._rendering: dict[tuple, threading.Event] = {}
        self._lock = threading.Lock()

    def fresh(self, key) -> Page | None:
        page = self._pages.get(key)
        return page if page is not None and page.expires > self.clock() else None

    def serve(self, key, render) -> tuple[Page | None, object]:
        """(the kept page for `key`, None), rendering it first (`render()` returns the view's
        answer, or (None, answer) when the answer is not one to keep) if nobody has; or
        (None, answer) when this request rendered an answer that is not kept."""
        page = self.fresh(key)
        if page is not None:
            return page, None
        with self._lock:
            page = self.fresh(key)
            if page is not None:
                return page, None
            rendering = self._rendering.get(key)
            if rendering is None:
                self._rendering[key] = rendering = threading.Event()
                leader = True
            else:
                leader = False
        if not leader:
            rendering.wait(PAGE_CACHE_WAIT)
            page = self.fresh(key)
            # The page that was rendered was not one to keep (an error, a flashed message),
            # or it took too long: render this visitor's own.
            return (page, None) if page is not None else (None, render()[1])
        try:
            page, answer = render()
            if page is not None:
                self._keep(key, page)
            return None, answer
        finally:
            with self._lock:
                del self._rendering[key]
            rendering.set()

    def _keep(self, key, page: Page) -> None:
        with self._lock:
            if len(self._pages) >= self.entries and key not in self._pages:
                now = self.clock()
                for old in [k for k, p in self._pages.items() if p.expires <= now]:
                    del self._pages[old]
                while len(self._pages) >= self.entries:
                    del self._pages[next(iter(self._pages))]  # the oldest kept
            self._pages[key] = page


def page_cache(app) -> PageCache:
    """This app's cache (made on first use, from PAGE_CACHE_SECONDS and PAGE_CACHE_ENTRIES)."""
    cache = app.extensions.get("page_cache")
    if cache is None:
        cache = app.extensions.setdefault(
            "page_cache",
            PageCache(
                float(app.config.get("PAGE_CACHE_SECONDS") or 0),
                int(app.config.get("PAGE_CACHE_ENTRIES") or 1),
            ),
        )
    return cache


def anonymous_visit() -> bool:
    """A GET by a visitor who is not signed in and has no flashed message waiting (which the
    page would show, and use up)."""
    return (
        request.method in ("GET", "HEAD")
        and not current_user.is_authenticated
        and "_flashes" not in session
    )


def _language() -> str:
    """The language the app's locale selector gives for this request: what Flask-Babel's
    get_locale would parse into a Locale, which a kept page does not need."""
    selector = get_babel().locale_selector
    return selector() if selector is not None else str(get_locale())


def _key() -> tuple:
    from accessibility import display_classes

    return (
        request.script_root,
        request.path,
        request.query_string,
        _language(),
        display_classes(),  # the mode, text size and colours: all on <html>
        request.cookies.get("district", ""),  # the district chosen (app/places/districts.py)
    )


def cached_page(view):
    """View decorator: the view's page, from the micro-cache for anonymous visits (see the
    module's docstring). The view must return a rendered page (a string) for answers to be
    kept; anything else (a redirect, an abort, a tuple with a status) passes through."""

    @wraps(view)
    def cached(*args, **kwargs):
        cache = page_cache(current_app)
        if not cache.seconds or not anonymous_visit():
            return view(*args, **kwargs)

        def render():
            answer = view(*args, **kwargs)
            if not isinstance(answer, str) or "_flashes" in session:
                return None, answer
            # The token the page was rendered with, if it has a form.
            token = g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
            parts = tuple(answer.split(token)) if token else (answer,)
            return Page(cache.clock() + cache.seconds, parts, 200, "text/html"), answer

        page, answer = cache.serve(_key(), render)
        if page is None:
            return answer
        body = page.body(generate_csrf()) if len(page.parts) > 1 else page.parts[0]
        return current_app.response_class(body, status=page.status, mimetype=page.mimetype)

    return cached
