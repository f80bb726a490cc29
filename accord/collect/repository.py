from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    and_,
    bindparam,
    case,
    false,
    func,
    literal_column,
    select,
    type_coerce,
    update,
)

from accord.collect.models import Event, PendingEvent
from accord.kit.dialect import insert_ignore, one_of, update_by_id
from accord.kit.repository import Repository

# Written into the statement, not bound: every plan, the generic one PostgreSQL makes for
# a prepared statement too, then matches the condition of the index of pending events.
PENDING = Event.status == literal_column("'pending'")


class EventRepository(Repository):
    def insert_new(self, rows: list[dict[str, object]]) -> int:
        """Insert events, skipping any whose messageId the workspace already has."""
        return insert_ignore(self.session, Event.__table__, rows, ["workspace_id", "message_id"])

    def settle(self, rows: list[dict[str, Any]]) -> None:
        """Write resolved events' person, primary identifier and status, all at once."""
        update_by_id(self.session, Event.__table__, rows)

    def pending(
        self,
        workspace_id: uuid.UUID,
        limit: int,
        ids: list[uuid.UUID] | None = None,
        after: uuid.UUID | None = None,
    ) -> list[PendingEvent]:
        """The workspace's oldest pending events, as plain rows (only those of ``ids``
        when given, only those from the id ``after`` on when given)."""
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
                Event.consent,
                Event.touch,
            )
            .where(Event.workspace_id == workspace_id, PENDING)
            .order_by(Event.id)
            .limit(limit)
        )
        if ids is not None:
            stmt = stmt.where(Event.id.in_(ids))
        if after is not None:
            stmt = stmt.where(Event.id >= after)
        return [PendingEvent(*row) for row in self.plain_rows(stmt)]

    def of_primaries(
        self, identifier_ids: Collection[uuid.UUID], holders: Collection[uuid.UUID]
    ) -> ColumnElement[bool]:
        """Events whose primary identifier is one of ``identifier_ids``, among the events
        of ``holders``: the people who hold those identifiers (or held them until the
        change at hand). An event belongs to whoever holds its primary identifier, so
        they are found through the index of events by person; events are not indexed by
        primary identifier, an index every resolved event would write."""
        if not identifier_ids or not holders:
            return false()
        return and_(
            Event.profile_id.is_not(None),
            one_of(self.session, Event.profile_id, holders),
            one_of(self.session, Event.primary_identifier_id, identifier_ids),
        )

    def move_people(self, moved: dict[uuid.UUID, uuid.UUID]) -> None:
        """Every event of each person of ``moved`` now belongs to the person it maps to (an
        absorbed person's to the survivor), found through the index of events by person."""
        if not moved:
            return
        stmt = (
            update(Event)
            .where(Event.profile_id.is_not(None), Event.profile_id == bindparam("from_person"))
            .values(profile_id=bindparam("to_person"))
        )
        self.session.connection().execute(
            stmt, [{"from_person": old, "to_person": new} for old, new in moved.items()]
        )

    def pending_ids(self, workspace_id: uuid.UUID, limit: int) -> list[uuid.UUID]:
        """The ids of the workspace's oldest pending events."""
        stmt = (
            select(Event.id)
            .where(Event.workspace_id == workspace_id, PENDING)
            .order_by(Event.id)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def mark_failed(self, workspace_id: uuid.UUID, event_id: uuid.UUID, error: str) -> bool:
        """A pending event that resolution failed on becomes ``failed``, with the error."""
        result = self.session.execute(
            update(Event)
            .where(
                Event.workspace_id == workspace_id,
                Event.id == event_id,
                PENDING,
            )
            .values(status="failed", error=error),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0))

    def failed(self, workspace_id: uuid.UUID, *, limit: int, offset: int) -> list[Event]:
        """The workspace's failed events, latest first."""
        stmt = (
            select(Event)
            .where(Event.workspace_id == workspace_id, Event.status == "failed")
            .order_by(Event.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(self.session.scalars(stmt))

    def count_failed(self, workspace_id: uuid.UUID) -> int:
        stmt = (
            select(func.count())
            .select_from(Event)
            .where(Event.workspace_id == workspace_id, Event.status == "failed")
        )
        return int(self.session.scalar(stmt) or 0)

    def retry_failed(self, workspace_id: uuid.UUID, ids: list[uuid.UUID] | None) -> int:
        """Failed events (all of the workspace's, or those of ``ids``) back to pending;
        returns how many."""
        stmt = (
            update(Event)
            .where(Event.workspace_id == workspace_id, Event.status == "failed")
            .values(status="pending", error=None)
        )
        if ids is not None:
            stmt = stmt.where(Event.id.in_(ids))
        result = self.session.execute(stmt, execution_options={"synchronize_session": False})
        return int(getattr(result, "rowcount", 0) or 0)

    def pending_workspaces(self, limit: int) -> list[uuid.UUID]:
        """Up to ``limit`` workspaces with events to resolve: one probe of the pending
        index per workspace found (a DISTINCT would read every pending event, and the
        resolver asks on every pass, when the backlog is longest)."""
        out: list[uuid.UUID] = []
        while len(out) < limit:
            stmt = select(Event.workspace_id).where(PENDING).order_by(Event.workspace_id).limit(1)
            if out:
                stmt = stmt.where(Event.workspace_id > out[-1])
            found = self.session.scalar(stmt)
            if found is None:
                break
            out.append(found)
        return out

    def oldest_pending(
        self, workspace_id: uuid.UUID, after: uuid.UUID | None = None
    ) -> uuid.UUID | None:
        """The id of the workspace's oldest pending event (from the id ``after`` on when
        given), or None: one probe of the pending index, from ``after``."""
        stmt = (
            select(Event.id)
            .where(Event.workspace_id == workspace_id, PENDING)
            .order_by(Event.id)
            .limit(1)
        )
        if after is not None:
            stmt = stmt.where(Event.id >= after)
        return self.session.scalar(stmt)

    def pending_above(self, floors: dict[uuid.UUID, uuid.UUID]) -> list[uuid.UUID]:
        """The workspaces of ``floors`` with a pending event from their floor's id on:
        one probe of the pending index each, from the floor."""
        return [
            workspace_id
            for workspace_id, floor in sorted(floors.items())
            if self.oldest_pending(workspace_id, floor) is not None
        ]

    def made_since(self, since: uuid.UUID, cap: int) -> int:
        """How many events, of every workspace, have an id from ``since`` on (ids are
        time-ordered, so: accepted since then), up to ``cap``: the newest ``cap`` entries
        of the primary key, read backwards, those from ``since`` on counted. (Asked for
        ids from ``since`` on, a table never analyzed is scanned from its first page for
        its newest rows, which are at its end.)"""
        newest = select(Event.id.label("id")).order_by(Event.id.desc()).limit(cap).subquery()
        stmt = select(func.count()).select_from(newest).where(newest.c.id >= since)
        return int(self.session.scalar(stmt) or 0)

    def by_message_id(self, workspace_id: uuid.UUID, message_id: str) -> Event | None:
        stmt = select(Event).where(
            Event.workspace_id == workspace_id, Event.message_id == message_id
        )
        return self.session.scalars(stmt).first()
