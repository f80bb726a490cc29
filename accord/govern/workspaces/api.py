from __future__ import annotations

from fastapi import APIRouter

from accord.govern.access.deps import WorkspaceAdmin, WorkspaceReader
from accord.govern.workspaces import service
from accord.govern.workspaces.schemas import WorkspaceRead, WorkspaceUpdate
from accord.kit.deps import DbSession

router = APIRouter(prefix="/api/v1", tags=["workspace"])


@router.get("/workspace", response_model=WorkspaceRead, summary="The token's workspace")
def get_workspace(session: DbSession, principal: WorkspaceReader) -> WorkspaceRead:
    return WorkspaceRead.of(service.get_workspace(session, principal.workspace_id))


@router.patch("/workspace", response_model=WorkspaceRead, summary="Rename the workspace")
def update_workspace(
    session: DbSession, principal: WorkspaceAdmin, body: WorkspaceUpdate
) -> WorkspaceRead:
    return WorkspaceRead.of(service.rename_workspace(session, principal.workspace_id, body.name))
