"""Two grouping keys the datasets need, written once per database: the local (Asia/Shanghai)
day of a timestamp and the hour it falls in. Shanghai keeps UTC+8 all year (no daylight
saving), so a UTC hour is a local hour and a local day is the UTC timestamp shifted by 8 hours;
both databases group by them in SQL, and Python only labels the groups."""

from __future__ import annotations

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import String

OFFSET_HOURS = 8  # Asia/Shanghai, fixed (app.clock.LOCAL_TZ)


class local_day(FunctionElement):  # noqa: N801  # an SQL function, named as one
    """'YYYY-MM-DD': the Shanghai day of a UTCDateTime column."""

    type = String()
    inherit_cache = True
    name = "local_day"


class local_hour(FunctionElement):  # noqa: N801
    """'YYYY-MM-DD HH': the Shanghai day and hour of a UTCDateTime column."""

    type = String()
    inherit_cache = True
    name = "local_hour"


@compiles(local_day, "postgresql")
def _pg_day(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f"to_char(({column}) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')"


@compiles(local_hour, "postgresql")
def _pg_hour(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f"to_char(({column}) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24')"


# SQLite keeps UTCDateTime as naive UTC text (app/db.py): shift it, then format it.
@compiles(local_day, "sqlite")
def _sqlite_day(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f"strftime('%Y-%m-%d', {column}, '+{OFFSET_HOURS} hours')"


@compiles(local_hour, "sqlite")
def _sqlite_hour(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f"strftime('%Y-%m-%d %H', {column}, '+{OFFSET_HOURS} hours')"
