"""The audit trail: every change to who may do what is recorded with its actor."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from accord.govern.audit.models import AuditEvent
from accord.govern.audit.repository import AuditRepository

if TYPE_CHECKING:
    from accord.govern.access.principal import Principal


def record(
    session: Session,
    actor: Principal,
    action: str,
    *,
    target: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    AuditRepository.from_session(session).add(
        AuditEvent(
            workspace_id=actor.workspace_id,
            actor=actor.label,
            action=action,
            target=target,
            data=data or {},
        )
    )


def recent(session: Session, workspace_id: uuid.UUID, limit: int = 100) -> list[AuditEvent]:
    return AuditRepository.from_session(session).recent(workspace_id, limit=limit)
