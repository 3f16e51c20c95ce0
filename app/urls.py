"""Small URL helpers shared by the views."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import request, url_for


def safe_next(target: str | None, default_endpoint: str = "main.home") -> str:
    """`target` if it is a path on this site, else the default page: never an open redirect."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") \
                and not target.startswith("//") and "\\" not in target:
            return target
    return url_for(default_endpoint)


def current_path() -> str:
    """This page's path and query, for a form that should come back here."""
    path = request.full_path
    return path[:-1] if path.endswith("?") else path
