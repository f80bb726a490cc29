from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from accord.govern.access.deps import ProfilesReader, ProfilesWriter, ResolveRunner
from accord.govern.access.principal import Principal
from accord.kit.deps import DbSession
from accord.kit.errors import not_found
from accord.kit.schemas import DataList
from accord.match import queries, service
from accord.match.models import MatchRun
from accord.match.repository import CandidateRepository, MatchRunRepository
from accord.match.schemas import CandidateRead, Household, RunRead, RunRequest

router = APIRouter(prefix="/api/v1/resolve", tags=["resolve"])


def _run_read(run: MatchRun) -> RunRead:
    return RunRead.model_validate(run, from_attributes=True)


@router.post(
    "/runs",
    response_model=RunRead,
    status_code=202,
    summary="Start a probabilistic matching run",
    responses={200: {"description": "The finished run (wait=true)"}},
)
def start_run(
    request: Request, session: DbSession, principal: ResolveRunner, body: RunRequest | None = None
) -> JSONResponse:
    body = body or RunRequest()
    settings = request.app.state.settings
    run = service.start_run(session, principal.workspace_id, engine_name=body.engine, trigger="api")
    if not body.wait:
        matcher = getattr(request.app.state, "matcher", None)
        session.commit()
        if matcher is not None:
            matcher.kick()
        return JSONResponse(_run_read(run).model_dump(mode="json"), status_code=202)
    run.status = "running"
    run.started_at = run.created_at
    snap = service.snapshot(session, principal.workspace_id, settings)
    result = service.compute(snap, engine_name=body.engine)
    summary = service.apply(
        session,
        principal.workspace_id,
        result,
        snap.thresholds,
        snap.rows,
        run_id=run.id,
        actor=principal.label,
    )
    service.finish_run(run, result, summary)
    session.flush()
    return JSONResponse(_run_read(run).model_dump(mode="json"), status_code=200)


@router.get("/runs", response_model=DataList[RunRead], summary="Recent matching runs")
def list_runs(
    session: DbSession, principal: ProfilesReader, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> DataList[RunRead]:
    runs = MatchRunRepository.from_session(session).recent(principal.workspace_id, limit)
    return DataList(data=[_run_read(r) for r in runs])


@router.get("/runs/{run_id}", response_model=RunRead, summary="One matching run")
def get_run(session: DbSession, principal: ProfilesReader, run_id: uuid.UUID) -> RunRead:
    run = MatchRunRepository.from_session(session).get(principal.workspace_id, run_id)
    if run is None:
        raise not_found("Run", field="run_id")
    return _run_read(run)


@router.get(
    "/candidates",
    response_model=DataList[CandidateRead],
    summary="Possible duplicates, with the per-field evidence",
)
def list_candidates(
    session: DbSession,
    principal: ProfilesReader,
    status: Annotated[
        Literal["pending", "accepted", "rejected"] | None, Query(description="pending by default")
    ] = "pending",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DataList[CandidateRead]:
    return DataList(
        data=queries.candidates(session, principal.workspace_id, status, limit=limit, offset=offset)
    )


def _decided(session: DbSession, principal: Principal, candidate_id: uuid.UUID) -> CandidateRead:
    candidate = CandidateRepository.from_session(session).get(principal.workspace_id, candidate_id)
    assert candidate is not None
    return queries.candidates_by_id(session, [candidate])[0]


@router.post(
    "/candidates/{candidate_id}/accept",
    response_model=CandidateRead,
    summary="Accept a possible duplicate: the two are merged",
)
def accept_candidate(
    session: DbSession, principal: ProfilesWriter, candidate_id: uuid.UUID
) -> CandidateRead:
    service.accept(session, principal.workspace_id, candidate_id, actor=principal.label)
    return _decided(session, principal, candidate_id)


@router.post(
    "/candidates/{candidate_id}/reject",
    response_model=CandidateRead,
    summary="Reject a possible duplicate: never proposed or merged again",
)
def reject_candidate(
    session: DbSession, principal: ProfilesWriter, candidate_id: uuid.UUID
) -> CandidateRead:
    service.reject(session, principal.workspace_id, candidate_id, actor=principal.label)
    return _decided(session, principal, candidate_id)


@router.get(
    "/households", response_model=DataList[Household], summary="People linked as households"
)
def list_households(
    session: DbSession, principal: ProfilesReader, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> DataList[Household]:
    return DataList(data=queries.households(session, principal.workspace_id, limit=limit))
