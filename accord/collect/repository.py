from __future__ import annotations

from accord.collect.models import Event
from accord.kit.dialect import insert_ignore
from accord.kit.repository import Repository


class EventRepository(Repository):
    def insert_new(self, rows: list[dict[str, object]]) -> int:
        """Insert events, skipping any whose messageId the workspace already has."""
        return insert_ignore(self.session, Event.__table__, rows, ["workspace_id", "message_id"])
