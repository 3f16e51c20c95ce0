"""Reading an uploaded table: CSV (UTF-8 with or without a BOM, or GBK/GB18030 as Excel saves it
on a Chinese Windows) or XLSX (openpyxl, read-only), into a normalised header and numbered rows.

Guarantees: the header's names are normalised (case, full-width characters, spaces, a BOM);
blank lines are skipped but keep their line numbers, so an answer's line is the line a person
sees in Excel or a text editor; anything that is not a readable table is a `FileError` with a
message for a person, never an exception from the parser."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

XLSX_MAGIC = b"PK\x03\x04"
MAX_CELL = 500  # characters kept of any value: a longer one is not a name or an address
# Rows read from one file: a district's largest register is tens of thousands; a sheet of
# millions (or a compressed XLSX that expands to them) would only fill the server's memory.
MAX_ROWS = 100_000


class FileError(Exception):
    """The file as a whole cannot be read (encoding, format, header)."""

    def __init__(self, message, column: str = ""):
        super().__init__(str(message))
        self.message = message
        self.column = column


@dataclass
class Row:
    line: int
    values: dict[str, str]
    blank: bool = False  # a blank line among the rows: answered, never written


def normalise_header(name) -> str:
    """ "Ｔｏｗｎ ", "Name EN" and "name-en" are the columns `town` and `name_en`."""
    text = unicodedata.normalize("NFKC", str(name or "")).strip().lstrip("\ufeff").lower()
    return re.sub(r"[\s\-]+", "_", text)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)  # Excel stores 301 as 301.0: a room number is "301"
    return str(value).strip()[:MAX_CELL]


def decode(data: bytes) -> str:
    """UTF-8 (with or without a BOM), else GB18030 (a superset of GBK, what Excel writes on a
    Chinese Windows); a FileError for anything else."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise FileError(
            _l(
                "The file is neither UTF-8 nor GBK text. In Excel, save it as "
                "“CSV UTF-8” or as an Excel workbook (.xlsx)."
            )
        ) from None


def _csv_lines(data: bytes):
    text = decode(data)
    if "\x00" in text:
        raise FileError(_l("This is not a CSV file. Upload a .csv or .xlsx file."))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for values in reader:
            yield reader.line_num, values
    except csv.Error as error:
        raise FileError(
            _l("Line %(line)d cannot be read as CSV: %(error)s", line=reader.line_num, error=error)
        ) from None


def _xlsx_lines(data: bytes):
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise FileError(_l("This Excel file cannot be opened. Save it again as .xlsx.")) from None
    try:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(values)
    finally:
        book.close()


def read_table(
    data: bytes, filename: str = "", written: dict | None = None
) -> tuple[list[str], list[Row]]:
    """(header, rows) of the file's first sheet: an XLSX by its content (a zip), else CSV.
    `written`, when given, is filled with each normalised column name's text as written (an
    answer about an unknown column quotes the file)."""
    if not data.strip():
        raise FileError(_l("The file is empty."))
    is_xlsx = data.startswith(XLSX_MAGIC)
    if not is_xlsx and filename.lower().endswith((".xlsx", ".xlsm")):
        raise FileError(_l("This Excel file cannot be opened. Save it again as .xlsx."))
    if not is_xlsx and filename.lower().endswith(".xls"):
        raise FileError(_l("Old Excel files (.xls) cannot be read. Save it as .xlsx or CSV."))
    lines = _xlsx_lines(data) if is_xlsx else _csv_lines(data)
    header: list[str] | None = None
    rows: list[Row] = []
    blanks: list[Row] = []
    for number, values in lines:
        cells = [_cell(v) for v in values]
        if not any(cells):
            # A blank line is answered where a row follows it (a person may have meant
            # something there); Excel's empty rows at the end are not.
            if header is not None:
                blanks.append(Row(number, {}, blank=True))
            continue
        if blanks:
            rows.extend(blanks)
            blanks = []
        if header is None:
            header = [normalise_header(c) for c in cells]
            if written is not None:
                written.update(zip(header, cells, strict=False))
            while header and not header[-1]:
                header.pop()
            continue
        rows.append(Row(number, dict(zip(header, cells, strict=False))))
        if len(rows) > MAX_ROWS:  # blank lines among them count: they are answered too
            raise FileError(
                _l(
                    "The file has more than %(rows)d rows: split it into smaller files.",
                    rows=MAX_ROWS,
                )
            )
    if header is None:
        raise FileError(_l("The file is empty."))
    return header, rows
