from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select

from accord.govern.audit.models import AccessLogEntry, AuditEvent
from accord.kit.planning import in_index_order
from accord.kit.repository import Repository


class AuditRepository(Repository):
    def add(self, event: AuditEvent) -> None:
        self.session.add(event)

    def recent(self, workspace_id: uuid.UUID, *, limit: int = 100) -> list[AuditEvent]:
        """The newest events, read along the index of their order (time, then id): never
        all of the workspace's events sorted, with or without statistics
        (``in_index_order``)."""
        stmt = (
            select(AuditEvent)
            .where(AuditEvent.workspace_id == workspace_id)
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
        with in_index_order(self.session):
            return list(self.session.scalars(stmt))


class AccessLogRepository(Repository):
    def add(self, entry: AccessLogEntry) -> None:
        self.session.add(entry)

    def latest(self, profile_id: uuid.UUID, actor: str, action: str, via: str) -> datetime | None:
        """When this actor last did this to this person this way."""
        stmt = select(func.max(AccessLogEntry.at)).where(
            AccessLogEntry.profile_id == profile_id,
            AccessLogEntry.actor == actor,
            AccessLogEntry.action == action,
            AccessLogEntry.via == via,
        )
        return self.session.scalar(stmt)

    def of_profiles(
        self, workspace_id: uuid.UUID, profile_ids: Sequence[uuid.UUID], *, limit: int | None
    ) -> list[AccessLogEntry]:
        if not profile_ids:
            return []
        stmt = (
            select(AccessLogEntry)
            .where(
                AccessLogEntry.workspace_id == workspace_id,
                AccessLogEntry.profile_id.in_(list(profile_ids)),
            )
            .order_by(AccessLogEntry.at.desc(), AccessLogEntry.id.desc())
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        return list(self.session.scalars(stmt))
