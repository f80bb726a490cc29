"""/api/v1/segments and /api/v1/computed-traits: definitions as JSON, the size estimate
and preview, members, history, sizes, explain, and a person's segments."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from accord.analyze.segments import computed, queries, service
from accord.analyze.segments.models import Segment, SegmentChange
from accord.analyze.segments.rules import KEY
from accord.analyze.segments.schemas import (
    BuildRead,
    ChangeRead,
    ComputedTraitIn,
    ComputedTraitRead,
    DefinitionIn,
    EstimateRead,
    ExplainRead,
    MembersPage,
    PersonBrief,
    ProfileSegment,
    ProfileSegments,
    SegmentIn,
    SegmentMemberRead,
    SegmentRead,
    SizePoint,
)
from accord.govern.access.deps import AnalyticsReader, SegmentsWriter
from accord.govern.access.principal import Principal
from accord.kit.deps import DbSession
from accord.kit.schemas import DataList
from accord.kit.signals import after_commit
from accord.profile.queries import live_profile

router = APIRouter(prefix="/api/v1", tags=["segments"])

# A workspace up to this many people is built within the request; a larger one in a job.
INLINE_BUILD = 20_000
EVENTS = {"entered": "Audience Entered", "exited": "Audience Exited"}


def segment_engine(request: Request) -> service.Engine:
    engine = getattr(request.app.state, "segment_engine", None)
    return engine if engine is not None else service.Engine()


Engine = Annotated[service.Engine, Depends(segment_engine)]


def change_read(c: SegmentChange) -> ChangeRead:
    return ChangeRead(
        segment_id=c.segment_id,
        profile_id=c.profile_id,
        kind=c.kind,
        at=c.at,
        cause=c.cause,
        detail=c.detail,
        event=EVENTS[c.kind],
    )


def build_now_or_later(
    request: Request, session: Session, engine: service.Engine, segment: Segment
) -> BuildRead:
    """Build within the request for a small workspace; else leave it to a job."""
    jobs = getattr(request.app.state, "jobs", None)
    people = queries.people(session, segment.workspace_id)
    if jobs is not None and people > INLINE_BUILD:
        workspace_id, segment_id = segment.workspace_id, segment.id
        after_commit(session, lambda: jobs.enqueue("segments.build", workspace_id, segment_id))
        return BuildRead(
            segment=SegmentRead.model_validate(segment), queued=True, entered=0, exited=0
        )
    out = service.build(
        session, engine, segment, cause="build" if segment.version == 1 else "definition changed"
    )
    return BuildRead(
        segment=SegmentRead.model_validate(segment),
        queued=False,
        entered=out.entered,
        exited=out.exited,
    )


@router.get("/segments", response_model=DataList[SegmentRead])
def list_segments(
    session: DbSession, principal: AnalyticsReader, archived: bool = False
) -> dict[str, Any]:
    rows = queries.segments(session, principal.workspace_id, archived=archived)
    return {"data": [SegmentRead.model_validate(r) for r in rows]}


@router.post("/segments", response_model=BuildRead, status_code=201)
def create_segment(
    body: SegmentIn, request: Request, session: DbSession, principal: SegmentsWriter, engine: Engine
) -> BuildRead:
    segment = service.save(
        session,
        principal.workspace_id,
        name=body.name,
        definition=body.definition,
        description=body.description,
        actor=principal,
    )
    return build_now_or_later(request, session, engine, segment)


@router.post("/segments/estimate", response_model=EstimateRead)
def estimate_segment(
    body: DefinitionIn, session: DbSession, principal: AnalyticsReader, engine: Engine
) -> EstimateRead:
    """The size a definition would have now and a sample of its people, unsaved."""
    got = queries.estimate(
        session, engine, principal.workspace_id, body.definition, sample=body.sample
    )
    return EstimateRead(
        size=got.size,
        total=got.total,
        exact=got.exact,
        fraction=got.fraction,
        sample=[
            PersonBrief(id=p.id, name=p.display_name, email=p.email, last_seen_at=p.last_seen_at)
            for p in got.sample
        ],
        millis=round(got.millis, 1),
    )


@router.get("/segments/fields")
def segment_fields(session: DbSession, principal: AnalyticsReader) -> dict[str, Any]:
    """What the builder offers: the workspace's traits, events (with properties),
    identifier types, computed traits, values and operators."""
    return queries.fields(session, principal.workspace_id)


@router.get("/segments/suggest", response_model=list[str])
def suggest_values(
    session: DbSession,
    principal: AnalyticsReader,
    kind: Annotated[str, Query(pattern="^(trait|location|event)$")],
    field: Annotated[str, Query(min_length=1, max_length=200, pattern=KEY)],
    q: Annotated[str, Query(max_length=100)] = "",
    event: Annotated[str | None, Query(max_length=200)] = None,
) -> list[str]:
    """Values the workspace has for a field, most frequent first."""
    return queries.suggest(
        session, principal.workspace_id, kind=kind, field=field, q=q, event=event
    )


def _segment(session: Session, principal: Principal, segment_id: uuid.UUID) -> Segment:
    return service.get(session, principal.workspace_id, segment_id)


@router.get("/segments/{segment_id}", response_model=SegmentRead)
def read_segment(segment_id: uuid.UUID, session: DbSession, principal: AnalyticsReader) -> Segment:
    return _segment(session, principal, segment_id)


@router.put("/segments/{segment_id}", response_model=BuildRead)
def update_segment(
    segment_id: uuid.UUID,
    body: SegmentIn,
    request: Request,
    session: DbSession,
    principal: SegmentsWriter,
    engine: Engine,
) -> BuildRead:
    segment = _segment(session, principal, segment_id)
    version = segment.version
    service.save(
        session,
        principal.workspace_id,
        name=body.name,
        definition=body.definition,
        description=body.description,
        actor=principal,
        segment=segment,
    )
    if segment.version == version or segment.status != "active":
        return BuildRead(
            segment=SegmentRead.model_validate(segment), queued=False, entered=0, exited=0
        )
    return build_now_or_later(request, session, engine, segment)


@router.post("/segments/{segment_id}/duplicate", response_model=BuildRead, status_code=201)
def duplicate_segment(
    segment_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: SegmentsWriter,
    engine: Engine,
) -> BuildRead:
    copy = service.duplicate(session, _segment(session, principal, segment_id), principal)
    return build_now_or_later(request, session, engine, copy)


@router.post("/segments/{segment_id}/archive", response_model=SegmentRead)
def archive_segment(
    segment_id: uuid.UUID, session: DbSession, principal: SegmentsWriter
) -> Segment:
    segment = _segment(session, principal, segment_id)
    service.set_status(session, segment, "archived", principal)
    return segment


@router.post("/segments/{segment_id}/restore", response_model=BuildRead)
def restore_segment(
    segment_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: SegmentsWriter,
    engine: Engine,
) -> BuildRead:
    segment = _segment(session, principal, segment_id)
    service.set_status(session, segment, "active", principal)
    return build_now_or_later(request, session, engine, segment)


@router.post("/segments/{segment_id}/build", response_model=BuildRead)
def rebuild_segment(
    segment_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: SegmentsWriter,
    engine: Engine,
) -> BuildRead:
    """Evaluate the segment for everyone again now (it is kept up to date by itself;
    this is for after a bulk import)."""
    return build_now_or_later(request, session, engine, _segment(session, principal, segment_id))


@router.get("/segments/{segment_id}/members", response_model=MembersPage)
def segment_members(
    segment_id: uuid.UUID,
    session: DbSession,
    principal: AnalyticsReader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: uuid.UUID | None = None,
) -> MembersPage:
    segment = _segment(session, principal, segment_id)
    rows = queries.members(session, segment, limit, after)
    data = [
        SegmentMemberRead(profile_id=p.id, name=p.display_name, email=p.email, since=m.since)
        for m, p in rows
    ]
    return MembersPage(data=data, next_after=data[-1].profile_id if len(data) == limit else None)


@router.get("/segments/{segment_id}/history", response_model=DataList[ChangeRead])
def segment_history(
    segment_id: uuid.UUID,
    session: DbSession,
    principal: AnalyticsReader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    segment = _segment(session, principal, segment_id)
    return {"data": [change_read(c) for c in queries.history(session, segment, limit)]}


@router.get("/segments/{segment_id}/sizes", response_model=DataList[SizePoint])
def segment_sizes(
    segment_id: uuid.UUID,
    session: DbSession,
    principal: AnalyticsReader,
    days: Annotated[int, Query(ge=1, le=730)] = 90,
) -> dict[str, Any]:
    segment = _segment(session, principal, segment_id)
    return {"data": [SizePoint(day=d, size=s) for d, s in queries.sizes(session, segment, days)]}


@router.get("/segments/{segment_id}/explain/{profile_id}", response_model=ExplainRead)
def explain_member(
    segment_id: uuid.UUID,
    profile_id: uuid.UUID,
    session: DbSession,
    principal: AnalyticsReader,
    engine: Engine,
) -> dict[str, Any]:
    """Why a person is or is not in the segment: every condition, held or not."""
    segment = _segment(session, principal, segment_id)
    person = live_profile(session, principal.workspace_id, profile_id)
    return queries.why(session, engine, segment, person.id)


@router.get("/profiles/{profile_id}/segments", response_model=ProfileSegments)
def profile_segments(
    profile_id: uuid.UUID, session: DbSession, principal: AnalyticsReader, engine: Engine
) -> ProfileSegments:
    person = live_profile(session, principal.workspace_id, profile_id)
    got = queries.of_profile(session, principal.workspace_id, person.id)
    return ProfileSegments(
        current=[ProfileSegment(id=s.id, name=s.name, since=since) for s, since in got["current"]],
        history=[change_read(c) for c, _name in got["history"]],
        computed=queries.computed_values(session, engine, principal.workspace_id, person.id),
    )


# --- computed traits ------------------------------------------------------------------------


@router.get("/computed-traits", response_model=DataList[ComputedTraitRead])
def list_computed(session: DbSession, principal: AnalyticsReader) -> dict[str, Any]:
    return {"data": computed.all(session, principal.workspace_id)}


@router.post("/computed-traits", response_model=ComputedTraitRead, status_code=201)
def create_computed(body: ComputedTraitIn, session: DbSession, principal: SegmentsWriter) -> Any:
    return computed.create(session, principal.workspace_id, body, principal)


@router.delete("/computed-traits/{key}", status_code=204)
def delete_computed(key: str, session: DbSession, principal: SegmentsWriter) -> None:
    computed.delete(session, principal.workspace_id, key, principal)
