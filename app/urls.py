"""Small URL helpers shared by the views."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Request, request, url_for
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter, UnicodeConverter

# The largest value an INTEGER column holds (PostgreSQL's int4; every id is one). A larger
# number names nothing, and PostgreSQL refuses to compare it with such a column: before these
# bounds an id like 2147483648 in a URL, a query or a body was a server error (tests/test_fuzz.py).
MAX_INT = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` in every route: no larger than MAX_INT, so an impossible id is a plain 404."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_INT)
        super().__init__(map, *args, **kwargs)


def _without_nul(value):
    return value.replace("\x00", "") if isinstance(value, str) else value


class NulFreeParameters(ImmutableMultiDict):
    """Query and form values without NUL characters. PostgreSQL's text cannot hold one, so a NUL
    typed into any field was a server error (tests/test_fuzz.py); no keyboard or browser sends
    one, so it is dropped before anything reads it. The names of the values that had one are
    kept in `had_nul`, so that a form field can still refuse them like any other control
    character (app/text.py)."""

    def __init__(self, mapping=None):
        self.had_nul = frozenset()
        if isinstance(mapping, list):  # how werkzeug builds request.args and request.form
            self.had_nul = frozenset(
                _without_nul(key)
                for key, value in mapping
                if isinstance(value, str) and "\x00" in value
            )
            mapping = [(_without_nul(key), _without_nul(value)) for key, value in mapping]
        super().__init__(mapping)


class PortalRequest(Request):
    parameter_storage_class = NulFreeParameters


class NulFreeStringConverter(UnicodeConverter):
    """`<name>` in every route: a segment with a NUL (%00) matches nothing, so it is a 404
    rather than a database error when the value is looked up."""

    def __init__(self, map, *args, **kwargs):
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", "[^/\\x00]")


def int_arg(values, name: str, default: int | None = None) -> int | None:
    """An integer from `request.args` or `request.form` that fits a column, else `default`."""
    value = values.get(name, type=int)
    return value if value is not None and -MAX_INT <= value <= MAX_INT else default


def _has_control(target: str) -> bool:
    return any(ord(char) < 32 or ord(char) == 127 for char in target)


def check_next(target: str | None) -> None:
    """Refuse, before anything is done, a return address no page of ours sends: one with a
    control character (a line break would split the redirect's headers; werkzeug refused it with
    a server error after the sign-in or switch had happened). A 400 with a message, and nothing
    changed: the person goes back and tries again from the page."""
    if target and _has_control(target):
        from flask_babel import lazy_gettext as _l

        from app.errors import DomainError

        raise DomainError(
            _l(
                "The address to return to after this is not valid, so nothing was done. "
                "Go back to the page and try again."
            ),
            code="bad_next",
            field="next",
        )


def safe_next(target: str | None, default_endpoint: str = "main.home") -> str:
    """`target` if it is a path on this site, else the default page: never an open redirect.

    A control character (a line break, a tab) is never part of a path a page of ours links to,
    and one in a Location header made werkzeug refuse the response: the sign-in or switch that
    asked for it failed with a server error. Such a target is ignored like a foreign one, so
    what the person did (signing in, choosing a language) still takes effect."""
    if target and not _has_control(target):
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
            and "\\" not in target
        ):
            return target
    return url_for(default_endpoint)


def current_path() -> str:
    """This page's path and query, for a form that should come back here."""
    path = request.full_path
    return path[:-1] if path.endswith("?") else path
