"""Resolution over the API: a workspace's identity rules (``/api/v1/resolve/rules``) and
the events resolution failed on (``/api/v1/events/failed``), for admins to retry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from accord.govern.access.deps import WorkspaceAdmin, WorkspaceReader
from accord.kit.deps import DbSession
from accord.kit.schemas import MAX_OFFSET
from accord.resolve import failures
from accord.resolve.schemas import FailedEventPage, FailedEventRead, RetryRequest, RetryResult
from accord.resolve.settings import IDENTITY, IdentitySettingsBody

router = APIRouter(prefix="/api/v1", tags=["resolve"])


@router.get("/resolve/rules", response_model=IdentitySettingsBody, summary="The identity rules")
def get_rules(session: DbSession, principal: WorkspaceReader) -> dict[str, Any]:
    return IDENTITY.current_of(session, principal.workspace_id)


@router.put(
    "/resolve/rules", response_model=IdentitySettingsBody, summary="Change the identity rules"
)
def put_rules(
    session: DbSession, principal: WorkspaceAdmin, body: IdentitySettingsBody
) -> dict[str, Any]:
    """Applies to events resolved from now on; people already resolved keep their links
    until a change touches them."""
    return IDENTITY.write_body(session, principal, body)


@router.get(
    "/events/failed",
    response_model=FailedEventPage,
    summary="Events resolution failed on",
)
def list_failed(
    session: DbSession,
    principal: WorkspaceAdmin,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> FailedEventPage:
    """Latest first, with the error that failed each one. The rest of the workspace was
    resolved without them."""
    page = failures.failed(session, principal.workspace_id, limit=limit, offset=offset)
    return FailedEventPage(
        data=[FailedEventRead.model_validate(e, from_attributes=True) for e in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post(
    "/events/failed/retry",
    response_model=RetryResult,
    summary="Resolve failed events again",
)
def retry_failed(
    request: Request,
    session: DbSession,
    principal: WorkspaceAdmin,
    body: RetryRequest | None = None,
) -> RetryResult:
    """Sets the events named by ``ids`` (or every failed one) back to pending; the
    resolver takes them up again. Recorded in the audit log."""
    ids = body.ids if body is not None else None
    count = failures.retry(session, principal, ids, wake=list(request.app.state.accept_listeners))
    return RetryResult(retried=count)
