from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from accord.govern.access.deps import (
    ProfilesReader,
    ProfilesWriter,
    ResolveRunner,
    WorkspaceAdmin,
    WorkspaceReader,
)
from accord.kit.deps import DbSession
from accord.kit.schemas import MAX_OFFSET, DataList
from accord.match import queries, service
from accord.match import settings as match_settings
from accord.match.models import MatchRun
from accord.match.schemas import CandidateRead, Household, RunRead, RunRequest
from accord.match.settings import MATCH, MatchSettingsBody

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
    if not body.wait:
        run = service.queue_run(
            session,
            principal.workspace_id,
            engine_name=body.engine,
            wake=request.app.state.matcher.kick if request.app.state.matcher else None,
        )
        return JSONResponse(_run_read(run).model_dump(mode="json"), status_code=202)
    run = service.run_now(
        session,
        principal.workspace_id,
        request.app.state.settings,
        engine_name=body.engine,
        actor=principal.label,
    )
    return JSONResponse(_run_read(run).model_dump(mode="json"), status_code=200)


@router.get("/runs", response_model=DataList[RunRead], summary="Recent matching runs")
def list_runs(
    session: DbSession, principal: ProfilesReader, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> DataList[RunRead]:
    runs = queries.recent_runs(session, principal.workspace_id, limit)
    return DataList(data=[_run_read(r) for r in runs])


@router.get("/runs/{run_id}", response_model=RunRead, summary="One matching run")
def get_run(session: DbSession, principal: ProfilesReader, run_id: uuid.UUID) -> RunRead:
    return _run_read(queries.run(session, principal.workspace_id, run_id))


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
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> DataList[CandidateRead]:
    return DataList(
        data=queries.candidates(session, principal.workspace_id, status, limit=limit, offset=offset)
    )


@router.post(
    "/candidates/{candidate_id}/accept",
    response_model=CandidateRead,
    summary="Accept a possible duplicate: the two are merged",
)
def accept_candidate(
    session: DbSession, principal: ProfilesWriter, candidate_id: uuid.UUID
) -> CandidateRead:
    service.accept(session, principal.workspace_id, candidate_id, actor=principal.label)
    return queries.candidate(session, principal.workspace_id, candidate_id)


@router.post(
    "/candidates/{candidate_id}/reject",
    response_model=CandidateRead,
    summary="Reject a possible duplicate: never proposed or merged again",
)
def reject_candidate(
    session: DbSession, principal: ProfilesWriter, candidate_id: uuid.UUID
) -> CandidateRead:
    service.reject(session, principal.workspace_id, candidate_id, actor=principal.label)
    return queries.candidate(session, principal.workspace_id, candidate_id)


@router.get(
    "/households", response_model=DataList[Household], summary="People linked as households"
)
def list_households(
    session: DbSession, principal: ProfilesReader, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> DataList[Household]:
    return DataList(data=queries.households(session, principal.workspace_id, limit=limit))


@router.get("/thresholds", response_model=MatchSettingsBody, summary="Matching settings")
def get_thresholds(session: DbSession, principal: WorkspaceReader) -> dict[str, Any]:
    return MATCH.current_of(session, principal.workspace_id)


@router.put("/thresholds", response_model=MatchSettingsBody, summary="Change matching settings")
def put_thresholds(
    request: Request, session: DbSession, principal: WorkspaceAdmin, body: MatchSettingsBody
) -> dict[str, Any]:
    """Thresholds and the traits holding id numbers (``id_traits``). Unset thresholds
    fall back to the server's ACCORD_MATCH_AUTO_MERGE and ACCORD_MATCH_REVIEW; the next
    run uses them."""
    return match_settings.update_versioned(session, principal, body, request.app.state.settings)
