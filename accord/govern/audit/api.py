from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from accord.govern.access.deps import AuditReader
from accord.govern.audit import service
from accord.govern.audit.schemas import AuditEventRead
from accord.kit.deps import DbSession
from accord.kit.schemas import DataList

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/audit", response_model=DataList[AuditEventRead], summary="Recent audit events")
def list_audit(
    session: DbSession,
    principal: AuditReader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DataList[AuditEventRead]:
    events = service.recent(session, principal.workspace_id, limit)
    return DataList(data=[AuditEventRead.model_validate(e) for e in events])
