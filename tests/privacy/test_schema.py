"""An erase reaches every table that names a person, and each of its statements goes
through an index: a table added later with a foreign key to a person table is erased by
that column, which an index must lead with; on PostgreSQL every statement an erase runs
is planned with sequential scans turned off, and none may still need one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Table, event

from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.models import Base
from accord.privacy.erase_repository import HANDLED, PERSON_TABLES, references
from tests.helpers import Committed, bearer
from tests.privacy.people import build


def leading(table: Table) -> set[tuple[str, ...]]:
    """The column lists indexes and unique keys of ``table`` start with (one or two)."""
    out: set[tuple[str, ...]] = set()
    keys = [list(ix.columns) for ix in table.indexes]
    keys += [list(c.columns) for c in table.constraints if hasattr(c, "columns") and len(c.columns)]
    for columns in keys:
        names = [c.name for c in columns]
        out.add(tuple(names[:1]))
        out.add(tuple(names[:2]))
    return out


def test_every_table_naming_a_person_is_erased_by_an_index() -> None:
    walked = references()
    assert {t for _, _, t in walked} >= {"profiles", "identifiers", "conversations", "events"}
    assert {(t.name, c) for t, c, _ in walked} >= HANDLED  # none renamed away
    assert all(name in Base.metadata.tables for name in PERSON_TABLES)
    for table, column, _ in walked:
        # The database follows each of these keys for every row an erase deletes.
        assert (column,) in leading(table), f"{table.name}.{column} needs an index leading with it"


def test_every_column_named_for_a_person_is_walked_by_the_erase() -> None:
    """A column called after a person table's rows (``profile_id``, ``identifier_id``,
    ``a_id``/``b_id`` of links) is walked, whether a foreign key or marked as naming
    them without one (``info``): dropping a key for its cost must not drop the erase."""
    walked = {(t.name, c) for t, c, _ in references()}
    named = {
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if column.name.endswith(("profile_id", "identifier_id"))
        or (table.name == "identity_links" and column.name in ("a_id", "b_id"))
    }
    # Erased by their own rows' path: events with their person (by ``profile_id``, the
    # primary identifier being one the person holds), and a consent record by the
    # person it belongs to, whom the person it was recorded for merged into.
    assert named - walked == {
        ("events", "profile_id"),
        ("events", "primary_identifier_id"),
        ("consent_records", "origin_profile_id"),
    }


def full_scans(node: dict[str, Any], tables: tuple[str, ...], first: dict[str, str]) -> Any:
    """Plan nodes that read a whole table or a whole index: a sequential scan, or an
    index scan whose condition leaves the index's first column free (PostgreSQL 15 then
    walks the entire index)."""
    kind = node.get("Node Type", "")
    table = node.get("Relation Name")
    index = node.get("Index Name")
    if kind == "Seq Scan" and table in tables:
        yield kind, table
    if index is not None and index in first:
        condition = str(node.get("Index Cond", ""))
        if f"{first[index]} " not in condition.replace("(", " ").replace(")", " "):
            yield kind, index
    for child in node.get("Plans", []):
        yield from full_scans(child, tables, first)


def test_on_postgresql_every_statement_of_an_erase_uses_an_index(
    backend: str,
    privacy_db: Committed,
    api: TestClient,
    ws: ProvisionedWorkspace,
    data_dir: Path,
    privacy_app: Any,
) -> None:
    if backend != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    p = build(privacy_db.factory, api, ws)
    auth = bearer(ws.api_token)
    made = api.post(
        "/api/v1/privacy/requests",
        headers=auth,
        json={"kind": "erase", "identifier_type": "email", "identifier_value": p.email},
    ).json()
    engine = privacy_app.state.engine
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        done = api.post(f"/api/v1/privacy/requests/{made['id']}/erase", headers=auth)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert done.status_code == 200, done.text
    big = (
        "events",
        "profiles",
        "identifiers",
        "identity_links",
        "conversations",
        "messages",
        "merges",
        "orders",
        "consent_records",
        "access_log",
        "audit_events",
        "attachments",
        "chat_visitors",
        "match_candidates",
    )
    checked = 0
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(
            "SELECT c.relname, a.attname FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid"
            " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
        )
        first = {name: column for name, column in cursor.fetchall()}
        for statement, parameters in seen:
            head = statement.lstrip().split(None, 1)[0].upper()
            if head not in ("SELECT", "DELETE", "UPDATE") or "pg_" in statement:
                continue
            if not any(f" {t}" in statement or f'"{t}"' in statement for t in big):
                continue
            cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
            plan = cursor.fetchone()[0][0]["Plan"]
            assert not list(full_scans(plan, big, first)), f"{statement}\n{plan}"
            checked += 1
        raw.rollback()
    finally:
        raw.close()
    assert checked > 20
