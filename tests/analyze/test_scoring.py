"""Customer analytics end to end on a shop's history: a recompute scores every person
(RFM, lifetime value, churn risk with its factors, personas, relationship value), checks
its models on held-out time, respects a refusal of profiling, and feeds segments and the
API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from accord.analyze.acquisition.models import AcquisitionTouch, Campaign
from accord.analyze.scoring import service, tasks
from accord.analyze.scoring.models import CustomerScore, ScoringRun
from accord.analyze.scoring.service import COLUMNS
from accord.analyze.segments import service as segments
from accord.govern.consent import service as consent
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.inbox import metrics_costs
from accord.inbox.scoring_facts import ServiceHistory, service_costs
from accord.kit.db import transaction
from accord.kit.ids import new_id
from tests.analyze.helpers import ENGINE, principal, segment
from tests.analyze.shop import Shop, seed_shop
from tests.helpers import bearer

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
INPUTS = service.Inputs(
    service=ServiceHistory(), costs_of=lambda s, w: {"email": 4.0, "chat": 2.5, "phone": 6.0}
)


def score_now(session: Session, ws: ProvisionedWorkspace) -> ScoringRun:
    run, new = service.request(session, ws.workspace.id, "test")
    assert new
    service.start(session, run)
    result = service.analyse(session, ws.workspace.id, INPUTS, now=NOW)
    service.store(session, run, result)
    return run


@pytest.fixture
def shop(session: Session, workspace: ProvisionedWorkspace) -> Shop:
    return seed_shop(session, workspace.workspace.id, NOW)


def test_the_score_columns_are_the_tables(session: Session) -> None:
    assert tuple(c.name for c in CustomerScore.__table__.columns) == COLUMNS


def test_a_recompute_scores_every_person_and_checks_itself_on_held_out_time(
    session: Session, workspace: ProvisionedWorkspace, shop: Shop
) -> None:
    run = score_now(session, workspace)
    assert run.status == "done"
    assert run.progress == 1.0
    assert run.people == len(shop.people)
    customers = session.scalar(
        select(func.count()).where(
            CustomerScore.workspace_id == workspace.workspace.id, CustomerScore.frequency > 0
        )
    )
    assert run.customers == customers == 400
    rows = {r.profile_id: r for r in session.scalars(select(CustomerScore))}
    bought = [r for r in rows.values() if r.frequency > 0]
    assert all(1 <= r.r_score <= 5 and r.rfm_group for r in bought)
    assert all(0 <= r.p_alive <= 1 and r.clv is not None and r.clv >= 0 for r in bought)
    # Quintiles: every score is used.
    assert {r.f_score for r in bought} == {1, 2, 3, 4, 5}

    metrics = run.metrics
    # Lifetime value: predicted vs actual repeat purchases over the holdout weeks.
    life = metrics["lifetime"]
    assert len(life["weeks"]) == len(life["predicted"]) == len(life["actual"]) == 13
    assert life["actual"][-1] > 0
    assert abs(life["error"]) < 0.5  # within half of what happened
    # Churn: evaluated on the later period, beside recency alone, and better.
    churn = metrics["churn"]
    assert 0.5 < churn["auc"] <= 1
    assert churn["auc"] > churn["baseline_auc"]
    assert len(churn["calibration"]) >= 3
    scored = [r for r in bought if r.churn_risk is not None]
    assert scored
    assert all(len(r.churn_factors) <= 3 for r in scored)
    risky = [r for r in scored if r.churn_risk > 0.5]
    assert risky
    assert all(r.churn_factors for r in risky)
    assert all(f["contribution"] > 0 and f["label"] for r in risky for f in r.churn_factors)
    unhappy = [r.churn_risk for r in scored if r.profile_id in shop.unhappy]
    happy = [r.churn_risk for r in scored if r.profile_id not in shop.unhappy]
    assert sum(unhappy) / len(unhappy) > sum(happy) / len(happy)
    # Personas: named, covering the active people.
    names = {p["name"] for p in metrics["personas"]}
    assert len(names) >= 2
    assert all(r.persona_name in names for r in bought)
    # Pareto and relationship value.
    assert 0.2 < metrics["pareto"]["revenue"]["top20_share"] <= 1
    served = [r for r in rows.values() if r.conversations > 0]
    assert served
    assert all(r.service_cost > 0 for r in served)
    assert all(
        abs(r.relationship_value - (float(r.monetary) - r.service_cost)) < 0.01 for r in served
    )
    # Cohorts: each first-purchase month starts at 100%.
    cohorts = metrics["cohorts"]
    assert cohorts["cohorts"]
    assert all(row[0] == 1.0 for row in cohorts["retention"])


def test_a_person_who_refused_profiling_is_not_scored(
    session: Session, workspace: ProvisionedWorkspace, shop: Shop
) -> None:
    ws = workspace.workspace.id
    who = shop.people[0]
    consent.record(
        session,
        ws,
        who,
        channel="all",
        purpose="personalization",
        status="denied",
        source="api",
    )
    run = score_now(session, workspace)
    assert session.get(CustomerScore, who) is None
    assert run.metrics["not_scored_for_consent"] == 1


def test_segments_on_scores(session: Session, workspace: ProvisionedWorkspace, shop: Shop) -> None:
    ws = workspace.workspace.id
    score_now(session, workspace)
    risky = segment(
        session, ws, {"kind": "score", "field": "churn_risk", "op": "gte", "value": 0.5}
    )
    champions = segment(
        session, ws, {"kind": "score", "field": "rfm_group", "op": "eq", "value": "champions"}
    )
    assert risky.topics == ["scores"]
    segments.build(session, ENGINE, risky, now=NOW)
    segments.build(session, ENGINE, champions, now=NOW)
    expected = session.scalar(
        select(func.count()).where(
            CustomerScore.workspace_id == ws, CustomerScore.churn_risk >= 0.5
        )
    )
    assert expected is not None
    assert risky.size == expected > 0
    assert champions.size > 0
    assert set(segments.depending_on(session, ws, "scores")) == {risky.id, champions.id}


def test_the_recompute_job_reports_progress_and_failure(
    session_factory: sessionmaker[Session], workspace: ProvisionedWorkspace, session: Session
) -> None:
    ws = workspace.workspace.id
    with transaction(session_factory) as s:
        seed_shop(s, ws, NOW, customers=120, browsers=10)
        run, _ = service.request(s, ws, "test")
        run_id = run.id
    after: list[object] = []
    tasks.recompute(session_factory, ws, run_id, inputs=INPUTS, after=after.append)
    with session_factory() as s:
        done = s.get(ScoringRun, run_id)
        assert done is not None
        assert done.status == "done"
        assert done.stage == "Done"
    assert after == [ws]

    broken = service.Inputs(service=ServiceHistory(), costs_of=lambda s, w: 1 / 0)  # type: ignore[arg-type,return-value]
    with transaction(session_factory) as s:
        run, _ = service.request(s, ws, "test")
        run_id = run.id
    tasks.recompute(session_factory, ws, run_id, inputs=broken)
    with session_factory() as s:
        failed = s.get(ScoringRun, run_id)
        assert failed is not None
        assert failed.status == "failed"
        assert "ZeroDivisionError" in (failed.error or "")


def test_the_api(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
    shop: Shop,
) -> None:
    auth = bearer(workspace.api_token)
    run = score_now(session, workspace)
    session.commit()
    summary = client.get("/api/v1/scores/summary", headers=auth)
    assert summary.status_code == 200, summary.text
    body = summary.json()
    assert body["run"]["id"] == str(run.id)
    assert sum(g["people"] for g in body["groups"]) == 400
    assert body["run"]["metrics"]["churn"]["auc"] > 0.5

    person = shop.people[1]
    one = client.get(f"/api/v1/profiles/{person}/scores", headers=auth)
    assert one.status_code == 200, one.text
    assert one.json()["rfm_label"]
    assert one.json()["clv"] is not None
    other = bearer(other_workspace.api_token)
    hidden = client.get(f"/api/v1/profiles/{person}/scores", headers=other)
    assert hidden.status_code == 404
    assert client.get(f"/api/v1/scores/runs/{run.id}", headers=other).status_code == 404
    listed = client.get("/api/v1/scores/runs", headers=auth).json()["data"]
    assert [r["id"] for r in listed] == [str(run.id)]

    started = client.post("/api/v1/scores/runs", headers=auth)
    assert started.status_code == 202, started.text
    again = client.post("/api/v1/scores/runs", headers=auth)
    assert again.json()["run"]["id"] == started.json()["run"]["id"]
    assert again.json()["new"] is False


def test_the_cost_of_a_conversation_comes_from_the_workspaces_service_costs(
    session: Session, workspace: ProvisionedWorkspace, shop: Shop
) -> None:
    ws = workspace.workspace.id
    assert service_costs(session, ws) == {}  # nothing set: no cost
    metrics_costs.save(
        session,
        ws,
        {
            "currency": "USD",
            "per_conversation": {"email": "3.00", "phone": "5.00"},
            "agent_hourly": "30",
            "reply_minutes": {"email": 6, "phone": 10, "chat": 3},
        },
        actor=principal(ws),
    )
    costs = service_costs(session, ws)
    # The shop's conversations have no agent replies: only the fixed cost remains.
    assert costs["email"] == 3.0
    assert costs["phone"] == 5.0
    assert costs["chat"] == 0.0
    run, _ = service.request(session, ws, "test")
    service.start(session, run)
    inputs = service.Inputs(service=ServiceHistory(), costs_of=service_costs)
    service.store(session, run, service.analyse(session, ws, inputs, now=NOW))
    assert run.metrics["options"]["costs"]["email"] == 3.0
    served = session.scalars(
        select(CustomerScore).where(
            CustomerScore.workspace_id == ws, CustomerScore.conversations > 0
        )
    ).all()
    assert served
    assert all(r.service_cost in (0.0, 3.0, 5.0) for r in served)


def test_a_campaigns_cost_is_shared_among_the_customers_it_acquired(
    session: Session, workspace: ProvisionedWorkspace, shop: Shop
) -> None:
    ws = workspace.workspace.id
    acquired = shop.people[:4]  # customers, all four
    session.add(
        Campaign(
            id=new_id(),
            workspace_id=ws,
            name="Radio",
            utm_campaign="radio-spring",
            channel="radio",
            source="radio",
            medium="offline",
            cost=Decimal("100.00"),
            currency="USD",
        )
    )
    for pid in acquired:
        session.add(
            AcquisitionTouch(
                profile_id=pid, workspace_id=ws, first_campaign="radio-spring", computed_at=NOW
            )
        )
    session.flush()
    run = score_now(session, workspace)
    for pid in acquired:
        row = session.get(CustomerScore, pid)
        assert row is not None
        assert row.acquisition_cost == pytest.approx(25.0)
        expected = float(row.monetary) - row.service_cost - 25.0
        assert row.relationship_value == pytest.approx(expected, abs=0.01)
    assert run.metrics["acquisition_cost"] == pytest.approx(100.0)


def test_a_run_lost_with_its_worker_does_not_block_the_next(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    ws = workspace.workspace.id
    lost, _ = service.request(session, ws, "test")
    again, new = service.request(session, ws, "test")
    assert again.id == lost.id
    assert not new
    lost.queued_at = lost.queued_at - service.STALE - timedelta(minutes=1)
    session.flush()
    fresh, new = service.request(session, ws, "test")
    assert new
    assert fresh.id != lost.id
    assert lost.status == "failed"
    assert "abandoned" in (lost.error or "")
