"""SQL expressions whose spelling differs between PostgreSQL and SQLite.

Kept as compiled constructs so every query stays one portable SQLAlchemy statement.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, DateTime, Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal


class local_date(FunctionElement[Any]):
    """The calendar date of a UTC timestamp column in an IANA zone (e.g. Asia/Shanghai)."""

    type = Date()
    inherit_cache = True

    def __init__(self, column: ColumnElement[Any] | InstrumentedAttribute[Any], zone: str) -> None:
        self.zone = zone
        super().__init__(column)


class local_day_start(FunctionElement[Any]):
    """The UTC instant at which the local calendar day of a UTC timestamp column begins, ``days`` later.

    Compared only with timestamp columns in SQL (never selected): ``col >= local_day_start(x, zone) AND
    col < local_day_start(x, zone, 1)`` is "same local day as x" and can use an index on ``col``.
    """

    type = DateTime(timezone=True)
    inherit_cache = True
    # zone and days are part of the SQL text, so they must be part of the statement cache key
    _traverse_internals = [  # noqa: RUF012
        *FunctionElement._traverse_internals,
        ("zone", InternalTraversal.dp_string),
        ("days", InternalTraversal.dp_plain_obj),
    ]

    def __init__(self, column: ColumnElement[Any] | InstrumentedAttribute[Any], zone: str, days: int = 0) -> None:
        self.zone = zone
        self.days = int(days)
        super().__init__(column)


class seconds_between(FunctionElement[Any]):
    """``end - start`` in seconds (NULL when either is NULL)."""

    type = Float()
    inherit_cache = True


def _zone_offset_minutes(zone: str) -> int:
    """SQLite has no zone database: use the zone's fixed offset (Asia/Shanghai has had no DST since 1991)."""
    info = ZoneInfo(zone)
    offsets = {datetime(2024, m, 1, tzinfo=info).utcoffset() for m in (1, 7)}
    if len(offsets) != 1:
        raise ValueError(f"zone {zone!r} has daylight saving time; SQLite analytics need a fixed-offset zone")
    offset = offsets.pop()
    assert offset is not None
    return int(offset.total_seconds() // 60)


@compiles(local_date, "postgresql")
def _local_date_pg(element: local_date, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    zone = element.zone.replace("'", "''")
    return f"CAST(timezone('{zone}', {compiler.process(column, **kw)}) AS DATE)"


@compiles(local_date)
def _local_date_sqlite(element: local_date, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    return f"date({compiler.process(column, **kw)}, '{_zone_offset_minutes(element.zone):+d} minutes')"


@compiles(local_day_start, "postgresql")
def _local_day_start_pg(element: local_day_start, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    zone = element.zone.replace("'", "''")
    local = f"date_trunc('day', timezone('{zone}', {compiler.process(column, **kw)}))"
    return f"timezone('{zone}', {local} + interval '{element.days} days')"


@compiles(local_day_start)
def _local_day_start_sqlite(element: local_day_start, compiler: SQLCompiler, **kw: Any) -> str:
    # 'YYYY-MM-DD HH:MM:SS' sorts right against the stored 'YYYY-MM-DD HH:MM:SS.ffffff' UTC text
    (column,) = element.clauses
    minutes = _zone_offset_minutes(element.zone)
    day = f"date({compiler.process(column, **kw)}, '{minutes:+d} minutes')"
    return f"datetime({day}, '{element.days:+d} days', '{-minutes:+d} minutes')"


@compiles(seconds_between, "postgresql")
def _seconds_pg(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = element.clauses
    return f"date_part('epoch', {compiler.process(end, **kw)} - {compiler.process(start, **kw)})"


@compiles(seconds_between)
def _seconds_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = element.clauses
    return f"((julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)})) * 86400.0)"
