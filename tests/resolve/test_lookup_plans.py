"""Identifier look-ups by one value are an equality, which PostgreSQL matches against the
whole (workspace, type, value) index whatever its statistics: on a table that was never
analyzed, ``value = ANY(array)`` can be left to a filter over every identifier of the
type (the planner then takes the type's rows for few)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.dialect import insert_ignore
from accord.kit.ids import new_id
from accord.kit.time import utcnow
from accord.resolve.models import Identifier
from accord.resolve.repository import IdentifierRepository
from tests.helpers import plans_of

ROWS = 20_000


def _identifiers(session: Session, workspace: ProvisionedWorkspace) -> None:
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "workspace_id": workspace.workspace.id,
            "type": "email",
            "value": f"person-{i:06d}@example.com",
            "profile_id": None,
            "blocked": False,
            "source": "test",
            "first_event_id": None,
            "last_seen_at": now,
            "created_at": now,
        }
        for i in range(ROWS)
    ]
    insert_ignore(session, Identifier.__table__, rows, ["workspace_id", "type", "value"])


def _plans(session: Session, call: Any) -> list[dict[str, Any]]:
    return plans_of(session, call, lambda statement: "FROM identifiers" in statement)


def _scans(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = [node] if node.get("Relation Name") == "identifiers" else []
    for child in node.get("Plans", []):
        found += _scans(child)
    return found


def test_one_value_is_looked_up_by_the_whole_index_without_statistics(
    backend: str, session: Session, workspace: ProvisionedWorkspace
) -> None:
    if backend != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    _identifiers(session, workspace)
    analyzed = session.execute(
        text(
            "SELECT coalesce(last_analyze, last_autoanalyze) FROM pg_stat_user_tables "
            "WHERE relname = 'identifiers'"
        )
    ).scalar()
    repo = IdentifierRepository.from_session(session)
    ws = workspace.workspace.id
    wanted = ("email", "person-000123@example.com")
    plans = _plans(session, lambda: repo.find(ws, [wanted]))
    plans += _plans(session, lambda: repo.find_rows(ws, [wanted]))
    assert len(plans) == 2
    for plan in plans:
        [scan] = _scans(plan)
        assert "value" in scan.get("Index Cond", ""), (analyzed, scan)
        assert "Filter" not in scan, (analyzed, scan)
    assert repo.find(ws, [wanted])[wanted].value == wanted[1]
