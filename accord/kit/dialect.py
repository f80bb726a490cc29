"""The little SQL that differs between SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignore(
    session: Session, table: Any, rows: Sequence[dict[str, Any]], conflict: Sequence[str]
) -> int:
    """INSERT ... ON CONFLICT (conflict) DO NOTHING; returns how many rows were inserted."""
    if not rows:
        return 0
    name = session.get_bind().dialect.name
    module: Any = postgresql if name == "postgresql" else sqlite
    stmt = (
        module.insert(table).on_conflict_do_nothing(index_elements=conflict).returning(table.c.id)
    )
    # One cached statement run over all rows (batched by SQLAlchemy's "insertmanyvalues");
    # counted from RETURNING, as drivers disagree on rowcount for ON CONFLICT inserts.
    return len(session.execute(stmt, list(rows)).all())


def lock_workspace(session: Session, workspace_id: uuid.UUID, purpose: str) -> None:
    """Serialize one kind of work per workspace across processes. PostgreSQL takes a
    transaction-level advisory lock; SQLite transactions already begin IMMEDIATE."""
    if session.get_bind().dialect.name == "postgresql":
        mixed = (workspace_id.int >> 64) ^ (workspace_id.int & 0xFFFFFFFFFFFFFFFF)
        key = (mixed ^ zlib.crc32(purpose.encode())) & 0x7FFFFFFFFFFFFFFF
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
