from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import JSON, case, func, select, type_coerce

from accord.collect.models import Event, PendingEvent
from accord.kit.dialect import insert_ignore, update_by_id
from accord.kit.repository import Repository


class EventRepository(Repository):
    def insert_new(self, rows: list[dict[str, object]]) -> int:
        """Insert events, skipping any whose messageId the workspace already has."""
        return insert_ignore(self.session, Event.__table__, rows, ["workspace_id", "message_id"])

    def settle(self, rows: list[dict[str, Any]]) -> None:
        """Write resolved events' person, primary identifier and status, all at once."""
        update_by_id(self.session, Event.__table__, rows)

    def pending(self, workspace_id: uuid.UUID, limit: int) -> list[PendingEvent]:
        """The workspace's oldest pending events, as plain rows."""
        stmt = (
            select(
                Event.id,
                Event.workspace_id,
                Event.message_id,
                Event.type,
                Event.name,
                Event.channel,
                Event.source,
                Event.identifiers,
                Event.traits,
                type_coerce(case((Event.type == "track", Event.properties)), JSON),
                Event.timestamp,
            )
            .where(Event.workspace_id == workspace_id, Event.status == "pending")
            .order_by(Event.id)
            .limit(limit)
        )
        return [PendingEvent(*row) for row in self.session.execute(stmt)]

    def pending_workspaces(self, limit: int) -> list[uuid.UUID]:
        """Up to ``limit`` workspaces with events to resolve: one probe of the pending
        index per workspace found (a DISTINCT would read every pending event, and the
        resolver asks on every pass, when the backlog is longest)."""
        out: list[uuid.UUID] = []
        while len(out) < limit:
            stmt = (
                select(Event.workspace_id)
                .where(Event.status == "pending")
                .order_by(Event.workspace_id)
                .limit(1)
            )
            if out:
                stmt = stmt.where(Event.workspace_id > out[-1])
            found = self.session.scalar(stmt)
            if found is None:
                break
            out.append(found)
        return out

    def made_since(self, since: uuid.UUID, cap: int) -> int:
        """How many events, of every workspace, have an id from ``since`` on (ids are
        time-ordered, so: accepted since then), counted up to ``cap`` along the primary
        key."""
        newest = select(Event.id).where(Event.id >= since).limit(cap).subquery()
        return int(self.session.scalar(select(func.count()).select_from(newest)) or 0)

    def by_message_id(self, workspace_id: uuid.UUID, message_id: str) -> Event | None:
        stmt = select(Event).where(
            Event.workspace_id == workspace_id, Event.message_id == message_id
        )
        return self.session.scalars(stmt).first()
