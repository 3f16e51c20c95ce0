"""Bulk import (issue 15): one framework (reading CSV and XLSX, each row answered, one unit of
work), the kinds each package registers (kinds.py), the administrators' pages (views.py) and
`flask --app wsgi import KIND FILE [--dry-run]` (app/cli.py)."""

from __future__ import annotations


def init_app(app) -> None:
    from app.imports import views
    from app.places import imports as place_kinds

    place_kinds.init_app(app)
    from app.accounts.imports import STAFF
    from app.imports.kinds import register_kind

    register_kind(app, STAFF)
    views.init_app(app)
