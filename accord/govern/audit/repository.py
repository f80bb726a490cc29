from __future__ import annotations

import uuid

from sqlalchemy import select

from accord.govern.audit.models import AuditEvent
from accord.kit.repository import Repository


class AuditRepository(Repository):
    def add(self, event: AuditEvent) -> None:
        self.session.add(event)

    def recent(self, workspace_id: uuid.UUID, *, limit: int = 100) -> list[AuditEvent]:
        stmt = (
            select(AuditEvent)
            .where(AuditEvent.workspace_id == workspace_id)
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
        return list(self.session.scalars(stmt))
