"""A campaign's batch is claimed along the index of its people, in its order, in every
plan PostgreSQL may use on a table never analyzed (as a campaign's just planned sends
are): the read stops at the batch's size. The planner had gathered and sorted every send
still due for each batch. On both databases, batches walk the campaign in order, each
send taken once."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.dialect import insert_ignore
from accord.kit.ids import new_id, new_ids
from accord.kit.planning import planner
from accord.kit.time import utcnow
from accord.outreach.models import Campaign, Send
from accord.outreach.repository import CLAIM_PLANNER, SendRepository
from tests.helpers import count_queries, plans_of, scans_of

PEOPLE = 20_000


def _nodes(plan: dict[str, Any]) -> list[str]:
    return [plan["Node Type"], *(n for child in plan.get("Plans", []) for n in _nodes(child))]


def _queued(session: Session, ws: ProvisionedWorkspace, n: int) -> Campaign:
    campaign = Campaign(workspace_id=ws.workspace.id, name="Spring sale", status="sending")
    session.add(campaign)
    session.flush()
    now = utcnow()
    insert_ignore(
        session,
        Send.__table__,
        [
            {
                "id": new_id(),
                "workspace_id": ws.workspace.id,
                "source_key": f"campaign:{campaign.id}",
                "campaign_id": campaign.id,
                "profile_id": person,
                "channel": "email",
                "purpose": "marketing",
                "promotional": True,
                "address": f"p{k}@example.com",
                "status": "queued",
                "attempts": 0,
                "queued_at": now,
                "opens": 0,
                "clicks": 0,
                "meta": {},
            }
            for k, person in enumerate(new_ids(n))
        ],
        ["id"],
    )
    return campaign


def test_a_batch_is_claimed_along_the_campaigns_index_in_every_plan(
    backend: str, session: Session, workspace: ProvisionedWorkspace
) -> None:
    campaign = _queued(session, workspace, PEOPLE if backend == "postgresql" else 500)
    repo = SendRepository.from_session(session)
    scope = [Send.campaign_id == campaign.id]
    now = utcnow()
    if backend == "postgresql":
        with count_queries(session.get_bind()) as statements:
            repo.claim(scope, new_id(), 200, now)
        settings = " ".join(s for s in statements if "set_config" in s)
        assert settings.count("set_config") == 2 * len(CLAIM_PLANNER)  # set, then put back
        with planner(session, **CLAIM_PLANNER):  # the settings the claim runs under
            plans = plans_of(
                session,
                lambda: repo.claim(scope, new_id(), 200, now),
                lambda s: "FROM outreach_sends" in s and "FOR UPDATE" in s,
            )
        assert len(plans) == 2  # the plan for the values, and the generic one
        for plan in plans:
            assert "Sort" not in _nodes(plan), json.dumps(plan)
            scans = [s for s in scans_of(plan) if s.get("Index Name", "").startswith("ix_")]
            (scan,) = scans
            assert scan["Node Type"] == "Index Scan", scan["Node Type"]
            assert scan["Index Name"] == "ix_outreach_sends_campaign_id_profile_id"
            assert "campaign_id" in scan["Index Cond"]
    # Batch after batch, each from the last person of the one before: in order, once.
    taken: list[Any] = [
        row[0] for row in session.execute(select(Send.profile_id).where(Send.status == "sending"))
    ]
    after = max(taken) if taken else None
    while batch := repo.claim(scope, new_id(), 200, now, after):
        people = [c.profile_id for c in batch]
        assert people == sorted(people)
        assert after is None or people[0] > after
        taken += people
        after = people[-1]
    total = PEOPLE if backend == "postgresql" else 500
    assert sorted(taken) == sorted(set(taken))
    assert len(taken) == total


def test_the_frequency_caps_read_each_person_through_the_index_in_every_plan(
    backend: str, session: Session, workspace: ProvisionedWorkspace
) -> None:
    """The caps count each person's promotions for every batch: with ``= ANY``, a table
    never analyzed was read whole each time (48 ms a batch at 100,000 sends)."""
    if backend != "postgresql":
        return
    campaign = _queued(session, workspace, PEOPLE)
    people = list(
        session.scalars(select(Send.profile_id).where(Send.campaign_id == campaign.id).limit(200))
    )
    repo = SendRepository.from_session(session)
    since = utcnow()
    plans = plans_of(
        session,
        lambda: repo.promotions_since(people, since, "email"),
        lambda s: "FROM outreach_sends" in s and "count(" in s,
    )
    assert plans
    for plan in plans:
        scans = [s for s in scans_of(plan) if s.get("Relation Name") == "outreach_sends"]
        assert scans, json.dumps(plan)
        assert all(scan["Node Type"] != "Seq Scan" for scan in scans), json.dumps(plan)
        indexes = {s.get("Index Name") for s in scans_of(plan)}
        assert "ix_outreach_sends_profile_id" in indexes, json.dumps(plan)
