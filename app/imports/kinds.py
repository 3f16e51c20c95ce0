"""What a kind of import is, and where packages register theirs.

A kind (towns, estates, households, ...) lives in the package that owns its tables
(app/places/imports.py, repairs/imports.py, ...) and registers itself from that package's
`init_app`, so the frame never imports a service package. The framework (services.py) reads
the file, answers duplicates and runs the kind's three steps:

- `prepare(session, rows, settings, actor)`: every lookup the rows need, in a few bulk queries
  (a dict per natural key), never one SELECT per row;
- `check(ctx, row)`: the row's outcome ("create", "update" or "unchanged") and what to write,
  or a `RowError` naming the column; no writes. A row may leave a note in `ctx` for the rows
  after it (a company the file creates is known to the next row that names it);
- `apply(session, actor, ctx, planned)`: write the planned rows, inside the import's one unit
  of work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import lazy_gettext as _l


class RowError(Exception):
    """This row cannot be imported: `message` (translated, lazy) about `column`."""

    def __init__(self, message, column: str = ""):
        super().__init__(str(message))
        self.message = message
        self.column = column


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    example: str
    hint: object = ""  # what the column holds, for the README and the import page


# The place columns most kinds begin with, written once.
DISTRICT_COLUMN = Column(
    "district", True, "闵行区", _l("The district: its name or its code (310112)")
)
TOWN_COLUMN = Column("town", True, "莘庄镇", _l("The town: Chinese or English name"))


@dataclass
class Planned:
    """A checked row: its outcome and what `apply` needs to write it."""

    outcome: str  # "create", "update" or "unchanged"
    payload: object = None
    message: object = ""  # what will change, for an update ("address, latitude")


@dataclass(frozen=True)
class Kind:
    key: str
    label: object
    description: object
    columns: tuple[Column, ...]
    key_columns: tuple[str, ...]  # the natural key: two rows with it are the same thing
    prepare: Callable
    check: Callable
    apply: Callable
    order: int = 50  # place in the list and in the README's "Go live" order
    # A second example row for the template, when one row cannot show the format.
    more_examples: tuple[tuple[str, ...], ...] = field(default=())

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def example_rows(self) -> list[list[str]]:
        return [[c.example for c in self.columns], *[list(r) for r in self.more_examples]]


def register_kind(app, kind: Kind) -> None:
    app.extensions.setdefault("import_kinds", {})[kind.key] = kind


def kinds(app=None) -> list[Kind]:
    registered = (app or current_app).extensions.get("import_kinds", {})
    return sorted(registered.values(), key=lambda k: (k.order, k.key))


def kind_of(key: str, app=None) -> Kind | None:
    return (app or current_app).extensions.get("import_kinds", {}).get(key)
