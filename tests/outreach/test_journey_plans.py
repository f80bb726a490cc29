"""A batch of due journey steps is claimed along the due index (workspace, wake-up
time) in every plan PostgreSQL may use, on tables never analyzed: the read stops at the
batch's size. Joined to the journey and the person, the claim had let the planner read
and sort every due person of the workspace for each batch."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from accord.govern.access.principal import Principal
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.dialect import insert_ignore
from accord.kit.ids import new_ids
from accord.kit.planning import planner
from accord.kit.time import utcnow
from accord.outreach.journeys import service
from accord.outreach.journeys.models import JourneyEntry
from accord.outreach.journeys.repository import CLAIM_PLANNER, JourneyRepository
from accord.profile.models import Profile
from tests.helpers import count_queries, plans_of, provision, scans_of

PEOPLE = 20_000
FLOW = {
    "trigger": {"kind": "manual"},
    "steps": [{"id": "hello", "kind": "email", "subject": "Hi", "text": "Hi"}],
}


def _nodes(plan: dict[str, Any]) -> list[str]:
    return [plan["Node Type"], *(n for child in plan.get("Plans", []) for n in _nodes(child))]


def _waiting(session: Session, ws: ProvisionedWorkspace, n: int, merged: int = 0) -> Any:
    """A published journey of the workspace and ``n`` people waiting in it, due now;
    the ``merged`` after the first merged into it."""
    now = utcnow()
    ids = new_ids(n)
    person = {"traits": {}, "stats": {}, "contested": False, "order_count": 0, "revenue": 0}
    insert_ignore(
        session,
        Profile.__table__,
        [
            {
                "id": i,
                "workspace_id": ws.workspace.id,
                "created_at": now,
                "updated_at": now,
                "merged_into_id": ids[0] if 0 < k <= merged else None,
                **person,
            }
            for k, i in enumerate(ids)
        ],
        ["id"],
    )
    journey = service.create(session, Principal.cli(ws.workspace.id), name="Flow", definition=FLOW)
    service.publish(session, Principal.cli(ws.workspace.id), journey.id)
    entries = [
        {
            "id": e,
            "workspace_id": ws.workspace.id,
            "journey_id": journey.id,
            "version": 1,
            "profile_id": i,
            "status": "waiting",
            "step": "hello",
            "wake_at": now - timedelta(seconds=k % 100),
            "holdout": False,
            "entered_at": now,
            "context": {},
        }
        for k, (e, i) in enumerate(zip(new_ids(n), ids, strict=True))
    ]
    insert_ignore(session, JourneyEntry.__table__, entries, ["id"])
    return journey


def test_due_steps_are_claimed_along_the_due_index_in_every_plan(
    backend: str, session: Session, workspace: ProvisionedWorkspace
) -> None:
    if backend != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    journey = _waiting(session, workspace, PEOPLE, merged=3)
    other = provision(session, "Elsewhere")
    _waiting(session, other, 500)
    repo = JourneyRepository.from_session(session)
    now = utcnow()
    with count_queries(session.get_bind()) as statements:
        repo.claim_due(workspace.workspace.id, [journey.id], now, 2000)
    settings = " ".join(s for s in statements if "set_config" in s)
    assert settings.count("set_config") == 2 * len(CLAIM_PLANNER)  # set, then put back
    with planner(session, **CLAIM_PLANNER):  # the settings the claim reads under
        plans = plans_of(
            session,
            lambda: repo.claim_due(workspace.workspace.id, [journey.id], now, 2000),
            lambda s: "FROM journey_entries" in s and "FOR UPDATE" in s,
        )
    assert len(plans) == 2  # the plan for the values, and the generic one
    for plan in plans:
        assert "Sort" not in _nodes(plan), json.dumps(plan)
        (scan,) = [s for s in scans_of(plan) if s.get("Relation Name") == "journey_entries"]
        assert scan["Node Type"] == "Index Scan", scan["Node Type"]
        assert scan["Index Name"] == "ix_journey_entries_due"
        assert "workspace_id" in scan["Index Cond"]
        assert "wake_at" in scan["Index Cond"]
    rows = repo.claim_due(workspace.workspace.id, [journey.id], now, 2000)
    assert len(rows) == 2000
    assert {r[1] for r in rows} == {journey.id}  # none of the other workspace's journey
    assert all(r[4] for r in rows)  # plain: waiting for no event
    assert sum(1 for r in rows if not r[-1]) <= 3  # the merged people are marked
    everyone = repo.claim_due(workspace.workspace.id, [journey.id], now, PEOPLE)
    assert sum(1 for r in everyone if not r[-1]) == 3
    assert repo.claim_due(workspace.workspace.id, [], now, 2000) == []
