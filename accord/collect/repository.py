from __future__ import annotations

import uuid

from sqlalchemy import select

from accord.collect.models import Event
from accord.kit.dialect import insert_ignore
from accord.kit.repository import Repository


class EventRepository(Repository):
    def insert_new(self, rows: list[dict[str, object]]) -> int:
        """Insert events, skipping any whose messageId the workspace already has."""
        return insert_ignore(self.session, Event.__table__, rows, ["workspace_id", "message_id"])

    def by_message_id(self, workspace_id: uuid.UUID, message_id: str) -> Event | None:
        stmt = select(Event).where(
            Event.workspace_id == workspace_id, Event.message_id == message_id
        )
        return self.session.scalars(stmt).first()
