"""Building people for segment tests: messages accepted and resolved as of a fixed
moment, so windows and timers are exact."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.analyze.segments import service
from accord.analyze.segments.models import Segment
from accord.collect import service as collect
from accord.govern.access.principal import Principal
from accord.govern.access.scopes import ALL_SCOPES
from accord.jobs import segment_engine
from accord.resolve import service as resolve
from accord.resolve.models import Identifier

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ENGINE = segment_engine()


def at(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    """A moment before NOW."""
    return NOW - timedelta(days=days, hours=hours, minutes=minutes)


class People:
    def __init__(self, session: Session, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id
        self.n = 0

    def send(self, *msgs: dict[str, Any]) -> None:
        prepared = []
        for m in msgs:
            self.n += 1
            m = {"messageId": f"m-{self.n}", **m}
            if isinstance(m.get("timestamp"), datetime):
                m["timestamp"] = m["timestamp"].isoformat()
            prepared.append(m)
        report = collect.accept(
            self.session,
            workspace_id=self.workspace_id,
            source="test",
            region="US",
            messages=prepared,
            received_at=NOW,
            field_prefix="batch",
        )
        assert not report.errors, report.errors
        resolve.resolve_pending(self.session, self.workspace_id, limit=10_000)

    def person(
        self, user: str, traits: dict[str, Any] | None = None, when: datetime | None = None
    ) -> uuid.UUID:
        self.send(
            {
                "type": "identify",
                "userId": user,
                "traits": traits or {},
                "timestamp": when or at(days=30),
            }
        )
        return self.id(user)

    def track(self, user: str, event: str, when: datetime, **properties: Any) -> None:
        self.send(
            {
                "type": "track",
                "userId": user,
                "event": event,
                "properties": properties,
                "timestamp": when,
            }
        )

    def id(self, user: str) -> uuid.UUID:
        pid = self.session.scalars(
            select(Identifier.profile_id).where(
                Identifier.workspace_id == self.workspace_id,
                Identifier.type == "user_id",
                Identifier.value == user,
            )
        ).one()
        assert pid is not None
        return pid


def principal(workspace_id: uuid.UUID) -> Principal:
    return Principal(
        workspace_id=workspace_id,
        kind="cli",
        label="tester",
        scopes=frozenset(str(s) for s in ALL_SCOPES),
    )


def segment(
    session: Session, workspace_id: uuid.UUID, definition: dict[str, Any], name: str | None = None
) -> Segment:
    return service.save(
        session,
        workspace_id,
        name=name or f"s-{uuid.uuid4().hex[:8]}",
        definition=definition,
        description=None,
        actor=principal(workspace_id),
    )


def members(
    session: Session, workspace_id: uuid.UUID, definition: dict[str, Any], now: datetime = NOW
) -> set[uuid.UUID]:
    """Who a definition holds for, built as a saved segment."""
    row = segment(session, workspace_id, definition)
    service.build(session, ENGINE, row, now=now)
    from accord.analyze.segments.repository import SegmentRepository

    return SegmentRepository.from_session(session).member_ids(row.id)
