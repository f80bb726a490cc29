"""Every accepted batch of tracking calls asks whether any of its identifiers is on the
suppression list: the question finds each digest through the whole unique index, in the
plan made for its values and in the generic plan of the prepared statement, on a table
that was never analyzed, and its text is the same whatever the number of digests."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from accord.govern.consent import suppression
from accord.govern.consent.repository import SuppressionRepository
from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import leading_columns, plans_of, scans_of

LISTED = 5_000


def _listed(session: Session, workspace: ProvisionedWorkspace) -> None:
    pairs = [("email", f"gone-{i:05d}@example.com") for i in range(LISTED)]
    suppression.suppress(session, workspace.workspace.id, pairs, reason="test")


def test_the_check_at_the_door_seeks_each_digest_through_the_whole_index(
    backend: str, session: Session, workspace: ProvisionedWorkspace
) -> None:
    if backend != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    _listed(session, workspace)
    ws = workspace.workspace.id
    asked = [("email", "gone-00042@example.com"), ("email", "here@example.com")]
    asked += [("anonymous_id", f"anon-{i}") for i in range(30)]

    plans = plans_of(
        session,
        lambda: suppression.suppressed(session, ws, asked),
        lambda statement: "FROM suppressions" in statement,
    )
    assert len(plans) == 2  # as planned for its values, and its generic plan
    for plan in plans:
        scans = [s for s in scans_of(plan) if s.get("Relation Name") == "suppressions"]
        assert scans, plan
        for scan in scans:
            assert scan["Node Type"] != "Seq Scan", scan
            assert "Filter" not in scan, scan
            assert "digest" in leading_columns(session, scan), scan
    assert suppression.suppressed(session, ws, asked) == {("email", "gone-00042@example.com")}


def test_the_check_is_one_statement_text_whatever_the_number_of_digests(
    backend: str, session: Session, workspace: ProvisionedWorkspace
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite's driver takes an IN list as it comes")
    _listed(session, workspace)
    ws = workspace.workspace.id
    repo = SuppressionRepository.from_session(session)
    texts: set[str] = set()

    def record(*args: Any) -> None:
        statement = args[2]
        if "FROM suppressions" in statement:
            texts.add(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        found = [repo.present(ws, [f"{n:064x}" for n in range(count)]) for count in (2, 3, 40, 100)]
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert found == [set()] * 4
    assert len(texts) == 1, texts
