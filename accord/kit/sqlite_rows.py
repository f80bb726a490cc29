"""Many rows written to SQLite through the driver: one prepared statement run over
tuples, each value converted once by its column's own bind processor. SQLAlchemy's
executemany builds a parameter dict and runs every processor through its generic loop
for each row, which costs more than SQLite's own work on wide rows (a person's twenty
columns); the values written are the same."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from accord.kit.db import UTCDateTime

Convert = Callable[[Any], Any] | None


_UTC_COLUMN = UTCDateTime()


def _utc_text(value: datetime | None) -> str | None:
    """UTCDateTime as SQLite stores it ("YYYY-MM-DD HH:MM:SS.ffffff", UTC, no zone), as
    its bind processor writes it (a time in another zone converted, a naive one
    refused, by the type itself)."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = _UTC_COLUMN.process_bind_param(value, None)
        assert value is not None
    return value.isoformat(" ", "microseconds")[:26]


@dataclass(frozen=True)
class SqliteRows:
    """A statement and, per parameter, the column it binds and its conversion."""

    sql: str
    names: tuple[str, ...]
    convert: tuple[Convert, ...]

    def params(self, rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
        pairs = tuple(zip(self.names, self.convert, strict=True))
        return [tuple(row[n] if f is None else f(row[n]) for n, f in pairs) for row in rows]

    def run(self, session: Session, rows: Sequence[dict[str, Any]]) -> int:
        """Run over the rows; how many rows they changed."""
        result = session.connection().exec_driver_sql(self.sql, self.params(rows))
        return int(result.rowcount)


def _converter(table: Table, name: str, dialect: Dialect) -> Convert:
    column_type = table.c[name].type
    if isinstance(column_type, UTCDateTime):
        return _utc_text
    return column_type.dialect_impl(dialect).bind_processor(dialect)


_plans: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], SqliteRows | None] = {}


def _plan(
    dialect: Dialect, table: Table, kind: str, names: tuple[str, ...], keys: tuple[str, ...]
) -> SqliteRows | None:
    """The statement for rows naming ``names``; None when a column the rows leave out
    has a default or an update value computed in Python (SQLAlchemy's statement fills
    those in)."""
    found_key = (table.name, kind, names, keys)
    if found_key in _plans:
        return _plans[found_key]
    given = set(names)
    quote = dialect.identifier_preparer.quote
    target = dialect.identifier_preparer.format_table(table)
    sql: str | None = None
    if kind == "insert":
        left_out = [c for c in table.columns if c.name not in given and c.default is not None]
        order = names
        if not left_out:
            sql = (
                f"INSERT INTO {target} ({', '.join(map(quote, order))}) "  # noqa: S608
                f"VALUES ({', '.join('?' for _ in order)}) "
                f"ON CONFLICT ({', '.join(map(quote, keys))}) DO NOTHING"
            )
    else:
        left_out = [c for c in table.columns if c.name not in given and c.onupdate is not None]
        (key,) = keys
        sets = tuple(n for n in names if n != key)
        order = (*sets, key)
        if not left_out and sets:
            sql = (
                f"UPDATE {target} SET "  # noqa: S608
                f"{', '.join(f'{quote(n)} = ?' for n in sets)} WHERE {quote(key)} = ?"
            )
    plan = (
        None
        if sql is None
        else SqliteRows(sql, order, tuple(_converter(table, n, dialect) for n in order))
    )
    _plans[found_key] = plan
    return plan


def insert_ignore(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], conflict: Sequence[str]
) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING over the rows; how many were inserted, or None
    when the rows need SQLAlchemy's statement (a Python default left out)."""
    plan = _plan(session.get_bind().dialect, table, "insert", tuple(rows[0]), tuple(conflict))
    return None if plan is None else plan.run(session, rows)


def update_by_key(session: Session, table: Table, rows: Sequence[dict[str, Any]], key: str) -> bool:
    """UPDATE ... WHERE key = ? over the rows; False when they need SQLAlchemy's
    statement (a column set on update in Python left out)."""
    plan = _plan(session.get_bind().dialect, table, "update", tuple(rows[0]), (key,))
    if plan is None:
        return False
    plan.run(session, rows)
    return True
