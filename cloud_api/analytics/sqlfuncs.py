"""Two SQL expressions whose spelling differs between PostgreSQL and SQLite.

Kept as compiled constructs so every query stays one portable SQLAlchemy statement.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class local_date(FunctionElement[Any]):
    """The calendar date of a UTC timestamp column in an IANA zone (e.g. Asia/Shanghai)."""

    type = Date()
    inherit_cache = True

    def __init__(self, column: ColumnElement[Any] | InstrumentedAttribute[Any], zone: str) -> None:
        self.zone = zone
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


@compiles(seconds_between, "postgresql")
def _seconds_pg(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = element.clauses
    return f"date_part('epoch', {compiler.process(end, **kw)} - {compiler.process(start, **kw)})"


@compiles(seconds_between)
def _seconds_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = element.clauses
    return f"((julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)})) * 86400.0)"
