from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from accord.customers import export, queries, service
from accord.customers.schemas import MergeRead, OrderRead, ProfileRead, SplitRequest, Timeline
from accord.govern.access.deps import (
    ProfilesReader,
    ProfilesWriter,
    WorkspaceAdmin,
    WorkspaceReader,
)
from accord.govern.audit import access
from accord.govern.workspaces.service import get_workspace
from accord.kit.db import read_only
from accord.kit.deps import DbSession
from accord.kit.schemas import MAX_OFFSET, DataList
from accord.kit.streams import closing_stream
from accord.profile.queries import live_profile, summary
from accord.profile.schemas import ProfileSummary
from accord.profile.settings import PROFILE, ProfileSettingsBody

router = APIRouter(prefix="/api/v1/profiles", tags=["profiles"])


@router.get("", response_model=DataList[ProfileSummary], summary="Search people")
def search_profiles(
    session: DbSession,
    principal: ProfilesReader,
    q: Annotated[
        str | None, Query(description="Name, email or phone prefix", max_length=200)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> DataList[ProfileSummary]:
    rows = queries.search(session, principal.workspace_id, q, limit=limit, offset=offset)
    return DataList(data=[summary(p) for p in rows])


@router.get(
    "/export",
    summary="Export every person (JSON lines or CSV)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}, "text/csv": {}}}},
)
def export_profiles(
    request: Request,
    principal: ProfilesReader,
    format: Annotated[Literal["jsonl", "csv"], Query()] = "jsonl",
) -> StreamingResponse:
    factory = request.app.state.session_factory

    def chunks() -> Iterator[str]:
        # Its own read-only unit of work: the stream outlives the request's transaction.
        with read_only(factory) as session:
            yield from export.stream(session, principal.workspace_id, format)

    media = "application/x-ndjson" if format == "jsonl" else "text/csv"
    filename = f"profiles.{format}"
    return StreamingResponse(
        closing_stream(chunks()),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/lookup", response_model=ProfileRead, summary="Find a person by an identifier")
def lookup_profile(
    session: DbSession,
    principal: ProfilesReader,
    email: str | None = None,
    phone: str | None = None,
    user_id: str | None = None,
    anonymous_id: str | None = None,
    identifier: Annotated[str | None, Query(description="TYPE:VALUE")] = None,
) -> ProfileRead:
    region = get_workspace(session, principal.workspace_id).default_region
    type_name, value = queries.parse_lookup(
        email=email,
        phone=phone,
        user_id=user_id,
        anonymous_id=anonymous_id,
        identifier=identifier,
        region=region,
    )
    profile = queries.lookup(session, principal.workspace_id, type_name, value)
    access.record(session, principal, profile.id, "lookup", via="api")
    return queries.full(session, profile)


@router.get(
    "/survivorship",
    response_model=ProfileSettingsBody,
    summary="Golden record source priority",
)
def get_survivorship(session: DbSession, principal: WorkspaceReader) -> dict[str, Any]:
    return PROFILE.current_of(session, principal.workspace_id)


@router.put(
    "/survivorship", response_model=ProfileSettingsBody, summary="Change the source priority"
)
def put_survivorship(
    session: DbSession, principal: WorkspaceAdmin, body: ProfileSettingsBody
) -> dict[str, Any]:
    """Golden records follow it as their people change (``accord resolve`` recomputes)."""
    return PROFILE.write_body(session, principal, body)


@router.get("/{profile_id}", response_model=ProfileRead, summary="A person's profile")
def get_profile(
    session: DbSession, principal: ProfilesReader, profile_id: uuid.UUID
) -> ProfileRead:
    profile = live_profile(session, principal.workspace_id, profile_id)
    access.record(session, principal, profile.id, "view", via="api")
    return queries.full(session, profile, requested=profile_id)


@router.get("/{profile_id}/timeline", response_model=Timeline, summary="Everything they did")
def get_timeline(
    session: DbSession,
    principal: ProfilesReader,
    profile_id: uuid.UUID,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
    type: Annotated[list[str] | None, Query(description="identify, track, page...")] = None,
    channel: Annotated[list[str] | None, Query(description="web, app, store...")] = None,
    name: Annotated[str | None, Query(description="Event name, e.g. Order Completed")] = None,
) -> Timeline:
    profile = live_profile(session, principal.workspace_id, profile_id)
    access.record(session, principal, profile.id, "timeline", via="api")
    return queries.timeline(
        session, profile, limit=limit, cursor=cursor, types=type, channels=channel, name=name
    )


@router.get("/{profile_id}/orders", response_model=DataList[OrderRead], summary="Their orders")
def get_orders(
    session: DbSession, principal: ProfilesReader, profile_id: uuid.UUID
) -> DataList[OrderRead]:
    profile = live_profile(session, principal.workspace_id, profile_id)
    access.record(session, principal, profile.id, "orders", via="api")
    return DataList(data=queries.orders(session, profile))


def _merge_read(m: object) -> MergeRead:
    return MergeRead.model_validate(m, from_attributes=True)


@router.get("/{profile_id}/merges", response_model=DataList[MergeRead], summary="Merge history")
def get_merges(
    session: DbSession, principal: ProfilesReader, profile_id: uuid.UUID
) -> DataList[MergeRead]:
    profile = live_profile(session, principal.workspace_id, profile_id)
    merges = service.merges_of(session, principal.workspace_id, profile.id)
    return DataList(data=[_merge_read(m) for m in merges])


@router.post("/{profile_id}/split", response_model=MergeRead, summary="Undo a merge")
def split_profile(
    session: DbSession,
    principal: ProfilesWriter,
    profile_id: uuid.UUID,
    body: SplitRequest | None = None,
) -> MergeRead:
    merge = service.undo_merge(session, principal, profile_id, body.merge_id if body else None)
    return _merge_read(merge)
