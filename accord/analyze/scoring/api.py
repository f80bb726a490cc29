"""/api/v1/scores: recomputes of customer analytics (started, followed, listed), a
person's scores, and the summary the customer dashboards show."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from accord.analyze.scoring import queries, service
from accord.analyze.scoring.models import CustomerScore
from accord.analyze.scoring.schemas import (
    CustomerSummary,
    GroupCount,
    RunDetail,
    RunRead,
    RunStarted,
    ScoreRead,
)
from accord.govern.access.deps import AnalyticsReader, SegmentsWriter
from accord.kit.deps import DbSession
from accord.kit.errors import AccordError, not_found
from accord.kit.schemas import DataList
from accord.kit.signals import after_commit
from accord.profile.queries import live_profile

router = APIRouter(prefix="/api/v1", tags=["customer analytics"])


def score_read(row: CustomerScore) -> ScoreRead:
    out = ScoreRead.model_validate(row)
    out.rfm_label = queries.group_label(row.rfm_group)
    return out


@router.post("/scores/runs", response_model=RunStarted, status_code=202)
def start_run(request: Request, session: DbSession, principal: SegmentsWriter) -> JSONResponse:
    """Recompute the workspace's scores (RFM, lifetime value, churn risk, personas,
    relationship value) in the background; the run under way is returned if there is
    one. Follow it at `GET /api/v1/scores/runs/{id}`."""
    run, new = service.request(session, principal.workspace_id, principal.label)
    jobs = getattr(request.app.state, "jobs", None)
    if new and jobs is not None:
        workspace_id, run_id = run.workspace_id, run.id
        after_commit(session, lambda: jobs.enqueue("scoring.recompute", workspace_id, run_id))
    body = RunStarted(run=RunRead.model_validate(run), new=new)
    return JSONResponse(body.model_dump(mode="json"), status_code=202)


@router.get("/scores/runs", response_model=DataList[RunRead])
def list_runs(
    session: DbSession,
    principal: AnalyticsReader,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> DataList[RunRead]:
    """The latest recomputes, newest first."""
    rows = queries.runs(session, principal.workspace_id, limit)
    return DataList(data=[RunRead.model_validate(r) for r in rows])


@router.get("/scores/runs/{run_id}", response_model=RunDetail)
def get_run(run_id: uuid.UUID, session: DbSession, principal: AnalyticsReader) -> RunDetail:
    """A recompute: its progress while it runs; its fitted models and held-out metrics
    (lifetime value's predicted vs actual repeat purchases, churn AUC beside recency
    alone, calibration, personas, Pareto, cohorts) once done."""
    run = queries.run(session, principal.workspace_id, run_id)
    if run is None:
        raise not_found("scoring run")
    return RunDetail.model_validate(run)


@router.get("/scores/summary", response_model=CustomerSummary)
def summary(session: DbSession, principal: AnalyticsReader) -> CustomerSummary:
    """The last finished recompute with its metrics, the one under way, and the people,
    revenue and average lifetime value per RFM group."""
    ws = principal.workspace_id
    latest = queries.latest(session, ws)
    running = queries.running(session, ws)
    return CustomerSummary(
        run=RunDetail.model_validate(latest) if latest is not None else None,
        running=RunRead.model_validate(running) if running is not None else None,
        groups=[GroupCount(**g) for g in queries.groups(session, ws)],
    )


@router.get("/profiles/{profile_id}/scores", response_model=ScoreRead)
def profile_scores(
    profile_id: uuid.UUID, session: DbSession, principal: AnalyticsReader
) -> ScoreRead:
    """A person's RFM group and scores, lifetime value, probability alive, churn risk
    with the factors raising it, persona and relationship value (a merged-away id
    answers for the person it was merged into)."""
    person = live_profile(session, principal.workspace_id, profile_id)
    row = queries.score(session, principal.workspace_id, person.id)
    if row is None:
        raise AccordError(
            "No scores have been computed for this person yet", code="not_found", status=404
        )
    return score_read(row)
