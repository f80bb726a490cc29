"""The identity rules of a workspace over the API: ``/api/v1/resolve/rules``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from accord.govern.access.deps import WorkspaceAdmin, WorkspaceReader
from accord.kit.deps import DbSession
from accord.resolve import settings
from accord.resolve.settings import IdentitySettingsBody

router = APIRouter(prefix="/api/v1/resolve", tags=["resolve"])


@router.get("/rules", response_model=IdentitySettingsBody, summary="The identity rules")
def get_rules(session: DbSession, principal: WorkspaceReader) -> dict[str, Any]:
    return settings.current(session, principal.workspace_id)


@router.put("/rules", response_model=IdentitySettingsBody, summary="Change the identity rules")
def put_rules(
    session: DbSession, principal: WorkspaceAdmin, body: IdentitySettingsBody
) -> dict[str, Any]:
    """Applies to events resolved from now on; people already resolved keep their links
    until a change touches them."""
    return settings.update_versioned(session, principal, body)
