"""Events resolution gave up on. When a batch fails on its data, the resolver resolves the
workspace's events one at a time and marks each that fails alone ``failed``, with the
error's text, so the rest go on (``resolve/worker.py: drain``). Admins list them and
send them back to be resolved (the API and Settings > Workspace); a retry is audited."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from accord.collect.repository import EventRepository
from accord.govern.access.principal import Principal
from accord.govern.audit import service as audit
from accord.kit.signals import after_commit
from accord.kit.textcheck import printable

MAX_ERROR = 1000
# How many ids one retry names at most (and how many are written in the audit log).
MAX_RETRY_IDS = 1000


@dataclass(frozen=True)
class FailedEvent:
    id: uuid.UUID
    message_id: str
    type: str
    name: str | None
    error: str | None
    received_at: datetime
    timestamp: datetime


@dataclass(frozen=True)
class FailedPage:
    items: list[FailedEvent]
    total: int
    limit: int
    offset: int


def error_text(error: BaseException) -> str:
    """What went wrong, for people to read: the database's own message without the SQL
    and its parameters (which may hold the very value that failed), and never a NUL or a
    lone surrogate, which the column could not hold either."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        detail = str(error.orig)
    else:
        detail = str(error)
    return printable(f"{type(error).__name__}: {detail}".strip(), MAX_ERROR)


def pending_ids(session: Session, workspace_id: uuid.UUID, limit: int) -> list[uuid.UUID]:
    return EventRepository.from_session(session).pending_ids(workspace_id, limit)


def mark_failed(
    session: Session, workspace_id: uuid.UUID, event_id: uuid.UUID, error: BaseException
) -> bool:
    """Mark a pending event failed with the error that failed it; returns whether it was
    still pending."""
    return EventRepository.from_session(session).mark_failed(
        workspace_id, event_id, error_text(error)
    )


def failed(session: Session, workspace_id: uuid.UUID, *, limit: int, offset: int) -> FailedPage:
    """A page of the workspace's failed events, latest first."""
    repo = EventRepository.from_session(session)
    items = [
        FailedEvent(
            id=e.id,
            message_id=e.message_id,
            type=e.type,
            name=e.name,
            error=e.error,
            received_at=e.received_at,
            timestamp=e.timestamp,
        )
        for e in repo.failed(workspace_id, limit=limit, offset=offset)
    ]
    return FailedPage(
        items=items, total=repo.count_failed(workspace_id), limit=limit, offset=offset
    )


def retry(
    session: Session,
    actor: Principal,
    ids: list[uuid.UUID] | None,
    *,
    wake: Sequence[Callable[[], None]] = (),
) -> int:
    """Send failed events back to be resolved: all of the workspace's, or those of
    ``ids``; returns how many. Recorded in the audit log. Each of ``wake`` (callables:
    the resolver's kick) is called once the change is committed."""
    count = EventRepository.from_session(session).retry_failed(actor.workspace_id, ids)
    if count:
        data: dict[str, object] = {"count": count}
        if ids is not None:
            data["ids"] = [str(i) for i in ids[:MAX_RETRY_IDS]]
        audit.record(session, actor, "events.failed.retry", target="events", data=data)
        for fn in wake:
            after_commit(session, fn)
    session.flush()
    return count
