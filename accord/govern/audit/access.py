"""The access log: who read which person's data, where. ``record`` is its one writer,
called when the Customer 360 is served, when the API reads a person, and when a
data-subject export is made; ``of_person`` is what the 360 shows admins and what an
export carries. A read repeated by the same actor the same way within a few minutes is
recorded once (a page reloaded, a timeline paged through)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.orm import Session

from accord.govern.access.principal import Principal
from accord.govern.audit.models import AccessLogEntry
from accord.govern.audit.repository import AccessLogRepository
from accord.kit.time import utcnow

ACTIONS = ("view", "lookup", "timeline", "orders", "export")
VIAS = ("console", "api", "cli")
REPEAT_WITHIN = timedelta(minutes=10)


def record(
    session: Session, actor: Principal, profile_id: uuid.UUID, action: str, *, via: str
) -> bool:
    """Note that ``actor`` read the person ``profile_id`` (``action``, through ``via``);
    returns whether a new entry was written."""
    if action not in ACTIONS or via not in VIAS:
        raise ValueError(f"unknown access {action!r} via {via!r}")
    repo = AccessLogRepository.from_session(session)
    now = utcnow()
    last = repo.latest(profile_id, actor.label, action, via)
    if last is not None and now - last < REPEAT_WITHIN:
        return False
    repo.add(
        AccessLogEntry(
            workspace_id=actor.workspace_id,
            profile_id=profile_id,
            actor=actor.label[:200],
            actor_kind=actor.kind[:12],
            action=action,
            via=via,
            at=now,
        )
    )
    session.flush()
    return True


def of_person(
    session: Session,
    workspace_id: uuid.UUID,
    profile_ids: Sequence[uuid.UUID],
    *,
    limit: int | None = 50,
) -> list[AccessLogEntry]:
    """The latest reads of these profiles (a person and those merged into them)."""
    return AccessLogRepository.from_session(session).of_profiles(
        workspace_id, profile_ids, limit=limit
    )
