"""The little SQL that differs between SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator, TypeEngine


def insert_ignore(
    session: Session, table: Any, rows: Sequence[dict[str, Any]], conflict: Sequence[str]
) -> int:
    """INSERT ... ON CONFLICT (conflict) DO NOTHING; returns how many rows were inserted."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        inserted = _insert_ignore_json(session, dialect, table, rows, conflict)
        if inserted is not None:
            return inserted
    module: Any = postgresql if dialect.name == "postgresql" else sqlite
    stmt = (
        module.insert(table).on_conflict_do_nothing(index_elements=conflict).returning(table.c.id)
    )
    # One cached statement run over all rows (batched by SQLAlchemy's "insertmanyvalues");
    # counted from RETURNING, as drivers disagree on rowcount for ON CONFLICT inserts.
    return len(session.execute(stmt, list(rows)).all())


@dataclass(frozen=True)
class _JsonInsert:
    sql: str
    plain: tuple[tuple[str, TypeDecorator[Any] | None], ...]  # columns that are not JSON


_json_inserts: dict[tuple[str, tuple[str, ...], tuple[str, ...]], _JsonInsert] = {}


def _json_insert(
    dialect: Dialect, table: Table, names: tuple[str, ...], conflict: tuple[str, ...]
) -> _JsonInsert:
    key = (table.name, names, conflict)
    found = _json_inserts.get(key)
    if found is not None:
        return found
    quote = dialect.identifier_preparer.quote
    plain: list[tuple[str, TypeDecorator[Any] | None]] = []
    columns = []
    selected = []
    for name in names:
        column_type: TypeEngine[Any] = table.c[name].type
        decorator = column_type if isinstance(column_type, TypeDecorator) else None
        if decorator is not None:
            column_type = decorator.impl_instance
        columns.append(f"{quote(name)} {column_type.compile(dialect=dialect)}")
        if isinstance(column_type, JSON):
            # As the JSON type binds it, None is JSON null unless none_as_null, and
            # json_to_recordset reads a JSON null as SQL NULL.
            keep = column_type.none_as_null
            selected.append(quote(name) if keep else f"COALESCE({quote(name)}, 'null'::json)")
        else:
            selected.append(quote(name))
            plain.append((name, decorator))
    # Names and types come from the table's metadata, quoted; the rows are a parameter.
    sql = (
        f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "  # noqa: S608
        f"({', '.join(map(quote, names))}) SELECT {', '.join(selected)} "
        f"FROM json_to_recordset(CAST(:rows AS json)) AS r({', '.join(columns)}) "
        f"ON CONFLICT ({', '.join(map(quote, conflict))}) DO NOTHING RETURNING id"
    )
    found = _json_inserts[key] = _JsonInsert(sql, tuple(plain))
    return found


def _insert_ignore_json(
    session: Session,
    dialect: Dialect,
    table: Table,
    rows: Sequence[dict[str, Any]],
    conflict: Sequence[str],
) -> int | None:
    """PostgreSQL: the rows travel as one JSON document, turned back into typed rows by
    ``json_to_recordset``. The statement's text is the same whatever the number of rows,
    where a multi-row VALUES list is built and parsed anew in the driver for every batch
    (which costs more than the insert itself). None when the rows hold a NUL character,
    which PostgreSQL's JSON functions refuse (a json column stores it as given)."""
    plan = _json_insert(dialect, table, tuple(rows[0]), tuple(conflict))
    docs = []
    for row in rows:
        doc = dict(row)
        for name, decorator in plan.plain:
            value = doc[name]
            if decorator is not None:
                value = decorator.process_bind_param(value, dialect)
            if isinstance(value, uuid.UUID | Decimal):
                value = str(value)
            elif isinstance(value, datetime | date):
                value = value.isoformat()
            doc[name] = value
        docs.append(doc)
    payload = json.dumps(docs)
    if "\\u0000" in payload:
        return None
    return len(session.execute(text(plan.sql), {"rows": payload}).all())


def lock_workspace(session: Session, workspace_id: uuid.UUID, purpose: str) -> None:
    """Serialize one kind of work per workspace across processes. PostgreSQL takes a
    transaction-level advisory lock; SQLite transactions already begin IMMEDIATE."""
    if session.get_bind().dialect.name == "postgresql":
        mixed = (workspace_id.int >> 64) ^ (workspace_id.int & 0xFFFFFFFFFFFFFFFF)
        key = (mixed ^ zlib.crc32(purpose.encode())) & 0x7FFFFFFFFFFFFFFF
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
