"""Insert many rows in one go: ``COPY … FROM STDIN`` on PostgreSQL, a plain executemany elsewhere.

Ingest writes five or six rows per event. Through executemany each row costs SQLAlchemy's parameter
building plus a Bind/Execute in psycopg's pipeline; COPY formats rows in psycopg's C code and PostgreSQL
parses them in one statement. The values are the same either way: each column's SQLAlchemy bind processor
(UTC datetimes, JSON) and Python-side default are applied here as ``insert()`` would apply them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import psycopg
import sqlalchemy.exc
from sqlalchemy import Column, Connection, Table, insert
from sqlalchemy.engine import Dialect

_Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _CopyColumn:
    name: str
    key: str
    given: bool  # the rows carry it; otherwise its Python-side default fills it
    default: Callable[[], Any] | None
    process: _Processor


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """All ``rows`` (same keys in each) into ``table``, in the connection's transaction."""
    if not rows:
        return
    keys = frozenset(rows[0])
    _check_keys(table, keys)  # insert() would drop unknown keys silently
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), list(rows))
        return
    columns = _copy_columns(table, connection.dialect, keys)
    names = ", ".join(f'"{c.name}"' for c in columns)
    statement = f'COPY "{table.name}" ({names}) FROM STDIN'
    driver = connection.connection.driver_connection
    if driver is None:
        raise RuntimeError("the connection has no driver connection")
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([_value(c, row) for c in columns])
    except psycopg.Error as exc:
        # the exception classes an executemany raises, so the worker's retry/quarantine logic holds
        raise sqlalchemy.exc.DBAPIError.instance(statement, None, exc, psycopg.Error) from exc


def _value(column: _CopyColumn, row: Mapping[str, Any]) -> Any:
    if column.given:
        value = row[column.key]
    else:
        assert column.default is not None
        value = column.default()
    return value if column.process is None or value is None else column.process(value)


@lru_cache(maxsize=64)
def _check_keys(table: Table, keys: frozenset[str]) -> None:
    unknown = keys - {c.key for c in table.columns}
    if unknown:
        raise ValueError(f"{table.name} has no columns {sorted(unknown)}")


@lru_cache(maxsize=64)
def _copy_columns(table: Table, dialect: Dialect, keys: frozenset[str]) -> tuple[_CopyColumn, ...]:
    out = []
    for column in table.columns:
        given = column.key in keys
        default = None if given else _python_default(column)
        if not given and default is None:
            continue  # server default, autoincrement or NULL
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        out.append(_CopyColumn(column.name, column.key, given, default, process))
    return tuple(out)


def _python_default(column: Column[Any]) -> Callable[[], Any] | None:
    default = column.default
    if default is None or not (default.is_scalar or default.is_callable):
        return None
    arg: Any = getattr(default, "arg", None)
    if default.is_scalar:
        return lambda: arg
    return lambda: arg(None)  # SQLAlchemy wraps zero-argument callables to take the execution context


__all__ = ["insert_rows"]
