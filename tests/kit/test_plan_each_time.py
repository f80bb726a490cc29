"""Batch work over many values (resolution, the acquisition touches) is planned for its
values on PostgreSQL, for its transaction only: a generic plan, made once a statement
has been prepared and kept for the connection's life, would be made while a workspace's
tables are small and never again (without ANALYZE), however they grow. Other work keeps
PostgreSQL's default (a request's statements reuse their plans)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from accord.analyze.acquisition import touches
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.resolve import service as resolve


def _mode(session: Session) -> str:
    return str(session.execute(text("SHOW plan_cache_mode")).scalar_one())


@pytest.mark.parametrize(
    "work",
    [
        lambda s, ws: resolve.resolve_pending(s, ws),
        lambda s, ws: touches.follow(s, ws),
    ],
    ids=["resolution", "touches"],
)
def test_batch_work_is_planned_for_its_values_within_its_transaction(
    backend: str, session: Session, workspace: ProvisionedWorkspace, work: Any
) -> None:
    if backend != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    ws = workspace.workspace.id
    assert _mode(session) == "auto"
    with session.begin_nested():
        work(session, ws)
        assert _mode(session) == "force_custom_plan"
    session.rollback()
    assert _mode(session) == "auto"  # the next transaction plans as it would
