"""Each person's acquisition, kept up to date: the first touch, the last touch up to the
first order (with no order yet: the latest) and the latest touch, read from their events
and grouped by ``channels.py``.

``refresh`` computes the rows of a set of people in a few statements a chunk (the
touches picked in SQL, then classified in Python: three events a person at most) and is
what resolution's changes call (``listener``, set on the session factory by the edge):
new events, orders, a merge (the absorbed person's row goes, the survivor's is computed
again from all their events) or a split (both sides again). ``rebuild`` computes a whole
workspace a chunk of people per transaction. An erase deletes a person's row with them
(its foreign key to ``profiles``)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from accord.analyze.acquisition.channels import Touch, classify
from accord.analyze.acquisition.models import AcquisitionTouch
from accord.analyze.acquisition.repository import Picked, TouchRepository
from accord.kit import changes
from accord.kit.db import transaction
from accord.kit.time import utcnow
from accord.profile.queries import live_profile

log = logging.getLogger(__name__)

CHUNK = 500  # people a statement
REBUILD_CHUNK = 2000  # people a transaction of a rebuild
PREFIXES = ("first", "last", "latest")
FIELDS = ("group", "source", "medium", "campaign", "term", "content", "referrer", "channel", "at")
# What a change must touch for a person's acquisition to move: their events (each batch
# notes ``activity``), their orders, or everything (a merge or a split).
TOPICS = frozenset({"activity", "orders", changes.EVERYTHING})

T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _columns(prefix: str, touch: Touch | None) -> dict[str, Any]:
    if touch is None:
        return {f"{prefix}_{name}": None for name in FIELDS}
    return {f"{prefix}_{name}": getattr(touch, name) for name in FIELDS}


def _row(
    workspace_id: uuid.UUID, picked: Picked, events: dict[uuid.UUID, Touch], now: datetime
) -> dict[str, Any]:
    def touch(event_id: uuid.UUID | None) -> Touch | None:
        return events.get(event_id) if event_id is not None else None

    row: dict[str, Any] = {"profile_id": picked.profile_id, "workspace_id": workspace_id}
    for prefix, event_id in zip(
        PREFIXES, (picked.first_id, picked.last_id, picked.latest_id), strict=True
    ):
        row.update(_columns(prefix, touch(event_id)))
    row["first_order_at"] = picked.first_order_at
    row["link_only"] = picked.link_only and picked.first_id is not None
    row["computed_at"] = now
    return row


def refresh(session: Session, workspace_id: uuid.UUID, profile_ids: Iterable[uuid.UUID]) -> int:
    """Compute the rows of these people again from their events and orders (a person
    merged into another, or gone, loses theirs); returns how many rows were written.
    Serialized per workspace; the caller commits."""
    ids = sorted(set(profile_ids), key=str)
    if not ids:
        return 0
    repo = TouchRepository.from_session(session)
    repo.lock(workspace_id)
    session.flush()
    now = utcnow()
    written = 0
    for chunk in chunked(ids, CHUNK):
        picked = repo.pick(workspace_id, chunk)
        wanted = {i for p in picked for i in (p.first_id, p.last_id, p.latest_id) if i}
        events = {i: classify(raw) for i, raw in repo.events(wanted).items()}
        rows = [_row(workspace_id, p, events, now) for p in picked]
        repo.replace(chunk, rows)
        written += len(rows)
    return written


@dataclass
class Rebuilt:
    people: int = 0
    rows: int = 0


def rebuild(
    factory: sessionmaker[Session],
    workspace_id: uuid.UUID,
    *,
    chunk: int = REBUILD_CHUNK,
    progress: Callable[[int], None] | None = None,
) -> Rebuilt:
    """Compute every person's row of a workspace again, ``chunk`` people (by id) a
    transaction, so a large workspace never holds one long transaction; what resolution
    changes meanwhile is refreshed by its own transaction, before or after a chunk."""
    done = Rebuilt()
    after: uuid.UUID | None = None
    while True:
        with transaction(factory) as session:
            ids = TouchRepository.from_session(session).profile_ids_after(
                workspace_id, after, chunk
            )
            if not ids:
                return done
            done.rows += refresh(session, workspace_id, ids)
        done.people += len(ids)
        after = ids[-1]
        if progress is not None:
            progress(len(ids))


def of_profile(
    session: Session, workspace_id: uuid.UUID, profile_id: uuid.UUID
) -> tuple[uuid.UUID, AcquisitionTouch | None]:
    """The live person (following merges) and their row, computed now if it never was."""
    person = live_profile(session, workspace_id, profile_id)
    repo = TouchRepository.from_session(session)
    row = repo.get(workspace_id, person.id)
    if row is None:
        refresh(session, workspace_id, [person.id])
        row = repo.get(workspace_id, person.id)
    return person.id, row


def touch_of(row: AcquisitionTouch | None, prefix: str) -> Touch | None:
    """One of a row's three touches (None when the person has none)."""
    if row is None or getattr(row, f"{prefix}_at") is None:
        return None
    values = {name: getattr(row, f"{prefix}_{name}") for name in FIELDS}
    return Touch(**values)


def relevant(topics: Iterable[str]) -> bool:
    return any(t in TOPICS or t.startswith("event:") for t in topics)


def listener() -> changes.Listener:
    """Keeps the rows of the people a transaction changed up to date, inside it, just
    before it commits. A failure is logged and undone alone (a savepoint): resolution
    never fails for it, and the next change or a rebuild puts the rows right."""

    def record(session: Session, change: changes.Changes) -> None:
        if not change.profiles or not relevant(change.topics):
            return
        # Written objects first, outside the savepoint, which only the refresh's own
        # statements use (a savepoint of the session would run these listeners again).
        session.flush()
        try:
            with session.connection().begin_nested():
                refresh(session, change.workspace_id, change.profiles)
        except Exception:
            log.exception(
                "acquisition: the touches of %d people were not refreshed", len(change.profiles)
            )

    return changes.Listener(record=record)
