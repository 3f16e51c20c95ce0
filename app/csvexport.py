"""Every CSV download goes through `csv_response`.

A spreadsheet program runs a cell that begins with `=`, `+`, `-` or `@` as a formula (and tab or
CR can hide one), so a resident named `=HYPERLINK(...)` would run code on the staff member who
opens the day's bookings. Such cells get a leading single quote (OWASP "CSV injection"), which
the spreadsheet shows as text. tests/test_output_policy.py sends such a value through every CSV
route of the URL map.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from flask import Response

DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str:
    """The cell as text, with a leading quote when a spreadsheet would take it for a formula.
    Numbers are written as numbers (a negative one is not a formula)."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(DANGEROUS_START) else text


def csv_response(header: Iterable[str], rows: Iterable[Iterable], filename: str) -> Response:
    """A CSV attachment: the header, then the rows, every cell neutralised; a BOM first so that
    spreadsheet programs read Chinese as UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([neutralise(cell) for cell in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
