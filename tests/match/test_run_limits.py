"""Matching runs never answer 5xx for what a workspace holds or how often they are asked
for: a workspace with nothing to compare finishes a run that found nothing, a workspace
has at most one queued or running run (a second request is a 409 naming it), and a
failed run on a shared Spark session leaves nothing behind that refuses the next."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.time import utcnow
from accord.match import engine, features
from accord.match.models import MatchRun
from tests.govern.test_access_api import assert_problem
from tests.helpers import bearer


def identify(client: TestClient, ws: ProvisionedWorkspace, user: str, **traits: Any) -> None:
    response = client.post(
        "/v1/identify", json={"userId": user, "traits": traits}, auth=(ws.write_key, "")
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("named", [0, 1, 2])
def test_a_workspace_with_nothing_to_compare_finishes_a_run_that_found_nothing(
    client: TestClient, workspace: ProvisionedWorkspace, named: int
) -> None:
    for i in range(named):
        identify(client, workspace, f"u{i}", firstName=f"Ann{i}")
    identify(client, workspace, "anonymous-only")  # no name: not read by matching
    response = client.post(
        "/api/v1/resolve/runs", json={"wait": True}, headers=bearer(workspace.api_token)
    )
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["status"] == "done"
    assert run["merged"] == 0
    assert run["proposed"] == 0
    if named < 2:
        assert run["report"]["skipped"] == "fewer than two named people"


def test_one_queued_or_running_run_per_workspace(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    auth = bearer(workspace.api_token)
    first = client.post("/api/v1/resolve/runs", json={}, headers=auth)
    assert first.status_code == 202, first.text
    run_id = first.json()["id"]
    again = assert_problem(
        client.post("/api/v1/resolve/runs", json={}, headers=auth), 409, "run_in_progress"
    )
    assert again["run_id"] == run_id
    waiting = assert_problem(
        client.post("/api/v1/resolve/runs", json={"wait": True}, headers=auth),
        409,
        "run_in_progress",
    )
    assert waiting["run_id"] == run_id
    queued = session.scalars(
        select(MatchRun).where(MatchRun.workspace_id == workspace.workspace.id)
    ).all()
    assert [r.status for r in queued] == ["queued"]


def test_a_run_abandoned_long_ago_does_not_hold_the_workspace(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    auth = bearer(workspace.api_token)
    first = client.post("/api/v1/resolve/runs", json={}, headers=auth).json()
    stale = session.get(MatchRun, uuid.UUID(first["id"]))
    assert stale is not None
    stale.status = "running"
    stale.started_at = utcnow() - timedelta(days=1)
    session.commit()
    second = client.post("/api/v1/resolve/runs", json={}, headers=auth)
    assert second.status_code == 202, second.text
    session.refresh(stale)
    assert stale.status == "failed"
    assert stale.error


def test_a_failed_spark_run_leaves_nothing_behind() -> None:
    """Two runs on one Spark session: the first fails while its tables are registered;
    the second is not refused by what the first left."""
    rows = [
        features.from_traits(
            f"p{i}",
            {"firstName": {"value": name}, "lastName": {"value": "Lee"}},
            f"{name.lower()}@x.com",
            None,
        )
        for i, name in enumerate(["Ann", "Anne", "Bob", "Cy", "Dee"])
    ]
    table = features.prepare(rows)
    spark = engine.spark_session("local[1]", "1g")
    try:
        with pytest.raises(RuntimeError):
            engine.run(table, engine="spark", spark=spark, on_phase=_fail_at_scoring)
        result = engine.run(table, engine="spark", spark=spark)
        assert result.records == 5
        assert [t.name for t in spark.catalog.listTables() if "accord" in t.name] == []
    finally:
        spark.stop()


def _fail_at_scoring(phase: str) -> None:
    if phase == "scoring candidate pairs":
        raise RuntimeError("the run failed here")


def test_people_named_with_nothing_in_common_to_compare(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    identify(client, workspace, "u1", firstName="Ann")
    identify(client, workspace, "u2", lastName="Lee")
    response = client.post(
        "/api/v1/resolve/runs", json={"wait": True}, headers=bearer(workspace.api_token)
    )
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["status"] == "done"
    assert run["report"]["skipped"].startswith("no field to compare")
    stored = session.get(MatchRun, uuid.UUID(run["id"]))
    assert stored is not None
    assert stored.model is None  # nothing for incremental matching to score with
