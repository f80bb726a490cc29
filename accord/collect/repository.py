from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from accord.collect.models import Event
from accord.kit.dialect import insert_ignore, update_by_id
from accord.kit.repository import Repository


class EventRepository(Repository):
    def insert_new(self, rows: list[dict[str, object]]) -> int:
        """Insert events, skipping any whose messageId the workspace already has."""
        return insert_ignore(self.session, Event.__table__, rows, ["workspace_id", "message_id"])

    def settle(self, rows: list[dict[str, Any]]) -> None:
        """Write resolved events' person, primary identifier and status, all at once."""
        update_by_id(self.session, Event.__table__, rows)

    def by_message_id(self, workspace_id: uuid.UUID, message_id: str) -> Event | None:
        stmt = select(Event).where(
            Event.workspace_id == workspace_id, Event.message_id == message_id
        )
        return self.session.scalars(stmt).first()
