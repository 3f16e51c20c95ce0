"""Running an import: every row answered, then all rows written in one unit of work or none.

Guarantees:
- Every row gets an outcome: create, update, unchanged, or error with a reason and the column.
  A file that cannot be read at all is one error on line 1.
- Two rows with the same natural key are one thing: the same values again are "unchanged"
  (said so), different values are an error on the second row, naming the first.
- Nothing is written on a dry run or when any row has an error. Otherwise every row is written
  in ONE unit of work, with one audit entry naming the kind, the file and the counts; the
  lookups and checks that decided each row's outcome run inside that same unit, so what is
  written is what the data said at that moment (not what a dry run saw minutes before).
- Re-importing the same file finds every row "unchanged" and writes nothing but the audit
  entry: rows are matched on their natural keys, never appended.
- Fast: each kind looks up what the rows name in a few bulk queries (see kinds.py).
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from app.audit.services import record
from app.db import in_unit_of_work, unit_of_work
from app.imports.kinds import Kind, Planned, RowError
from app.imports.reading import FileError, Row, read_table

OUTCOMES = ("error", "create", "update", "unchanged")
PROGRESS_EVERY = 1000  # rows between progress reports


@dataclass(frozen=True)
class ImportSettings:
    """What imports read from configuration (built by `settings_from`)."""

    register_phone_match: bool = False  # HOUSEHOLD_REGISTER_TRUSTS_PHONE
    keep_hours: int = 24  # IMPORT_KEEP_HOURS: how long an uploaded file is kept


def settings_from(config) -> ImportSettings:
    return ImportSettings(
        register_phone_match=bool(config["HOUSEHOLD_REGISTER_TRUSTS_PHONE"]),
        keep_hours=int(config["IMPORT_KEEP_HOURS"]),
    )


@dataclass
class RowOutcome:
    line: int
    outcome: str  # "create", "update", "unchanged" or "error"
    message: object = ""  # a lazy string: read in the reader's language
    column: str = ""  # the column an error is about

    def __str__(self) -> str:
        detail = ": ".join(p for p in (self.column, str(self.message)) if p)
        return f"line {self.line}: {self.outcome}" + (f": {detail}" if detail else "")

    def stored(self) -> list:
        """[line, outcome, Chinese message, English message, column] for the job's record."""
        if not self.message:
            return [self.line, self.outcome, "", "", self.column]
        with force_locale("zh_CN"):
            zh = str(self.message)
        with force_locale("en"):
            en = str(self.message)
        return [self.line, self.outcome, zh, en, self.column]


@dataclass
class Result:
    outcomes: list[RowOutcome] = field(default_factory=list)
    written: bool = False

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(o.outcome for o in self.outcomes)
        return {name: counted.get(name, 0) for name in OUTCOMES}

    @property
    def ok(self) -> bool:
        return not any(o.outcome == "error" for o in self.outcomes)


class _Discarded(Exception):
    """Leaves the import's unit of work without keeping anything."""


@lru_cache(maxsize=65536)  # a file repeats its districts, towns and estates on every row
def _fold(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().casefold()


def check_rows(
    session,
    kind: Kind,
    header: list[str],
    rows: list[Row],
    settings,
    progress=None,
    actor=None,
    written: dict | None = None,
) -> tuple[list[RowOutcome], list[Planned], object]:
    """Every row's outcome, without writing: (outcomes, planned rows to write, the context).
    `written`: the header's names as the file wrote them, quoted in an unknown column's answer."""
    unknown = [(written or {}).get(h, h) for h in header if h and h not in kind.column_names]
    missing = [c for c in kind.required if c not in header]
    if missing or unknown:
        message = (
            _l("Missing columns: %(columns)s", columns=", ".join(missing))
            if missing
            else _l(
                "Unknown columns: %(columns)s. The columns are: %(expected)s",
                columns=", ".join(unknown),
                expected=", ".join(kind.column_names),
            )
        )
        return [RowOutcome(1, "error", message, ", ".join(missing or unknown))], [], None
    ctx = kind.prepare(session, [row for row in rows if not row.blank], settings, actor)
    outcomes: list[RowOutcome] = []
    planned: list[Planned] = []
    seen: dict[tuple, Row] = {}
    for index, row in enumerate(rows, start=1):
        if row.blank:
            outcomes.append(RowOutcome(row.line, "unchanged", _l("A blank line: skipped.")))
            continue
        values = {name: row.values.get(name, "") for name in kind.column_names}
        row.values = values
        key = tuple(_fold(values[c]) for c in kind.key_columns)
        first = seen.get(key)
        if first is not None:
            outcomes.append(_repeated(row, first, kind))
        else:
            seen[key] = row
            try:
                plan = kind.check(ctx, row)
            except RowError as error:
                outcomes.append(RowOutcome(row.line, "error", error.message, error.column))
            else:
                outcomes.append(RowOutcome(row.line, plan.outcome, plan.message))
                if plan.outcome != "unchanged":
                    planned.append(plan)
        if progress is not None and index % PROGRESS_EVERY == 0:
            progress(index)
    return outcomes, planned, ctx


def _repeated(row: Row, first: Row, kind: Kind) -> RowOutcome:
    different = [c for c in kind.column_names if _fold(row.values[c]) != _fold(first.values[c])]
    if not different:
        return RowOutcome(row.line, "unchanged", _l("The same as line %(line)d", line=first.line))
    return RowOutcome(
        row.line,
        "error",
        _l(
            "Line %(line)d already gives this %(key)s with a different %(column)s",
            line=first.line,
            key=" + ".join(kind.key_columns),
            column=different[0],
        ),
        different[0],
    )


def run_import(
    session,
    actor,
    kind: Kind,
    data: bytes,
    *,
    filename: str = "",
    dry_run: bool = False,
    settings: ImportSettings | None = None,
    progress: Callable[[int], None] | None = None,
) -> Result:
    """Check every row of `data` and, unless `dry_run` or any row has an error, write them all
    in one unit of work (see the module's guarantees). Its own unit, never part of a caller's:
    it may have to discard all it did."""
    if in_unit_of_work(session):
        raise RuntimeError("an import cannot join another unit of work")
    settings = settings or ImportSettings()
    written: dict = {}
    try:
        header, rows = read_table(data, filename, written)
    except FileError as error:
        return Result([RowOutcome(1, "error", error.message, error.column)])
    if dry_run:
        outcomes, _planned, _ctx = check_rows(
            session, kind, header, rows, settings, progress, actor, written
        )
        return Result(outcomes)
    result = Result()
    try:
        with unit_of_work(session):
            outcomes, planned, ctx = check_rows(
                session, kind, header, rows, settings, progress, actor, written
            )
            result.outcomes = outcomes
            if not result.ok:
                raise _Discarded
            try:
                kind.apply(session, actor, ctx, planned)
            except RowError as error:  # the data changed between a row's check and its write
                result.outcomes.append(RowOutcome(0, "error", error.message, error.column))
                raise _Discarded from None
            record(
                session,
                actor,
                "import.apply",
                object_type="import",
                object_id=kind.key,
                kind=kind.key,
                filename=filename[:200],
                **{k: v for k, v in result.counts.items() if k != "error"},
            )
    except _Discarded:
        return result
    result.written = True
    return result
