"""Each person's acquisition, kept up to date: the first touch, the last touch up to the
first order (with no order yet: the latest) and the latest touch, read from their events
and grouped by ``channels.py``.

``refresh`` computes the rows of a set of people in a few statements a chunk (the
touches picked in SQL, then classified in Python: three events a person at most).
``advance`` takes a person's new events alone: weighed against the three events their
row chose, they give the same choice as all their events would (the earliest touch of
all is the earlier of the chosen first and the new ones; likewise the latest and the
last before the first order), so a batch reads its own events, not people's histories,
and writes only the rows that move. Resolution's changes call them (``listener``, set
on the session factory by the edge): a batch's new events advance; orders, a merge (the
absorbed person's row goes, the survivor's is computed again from all their events), a
split (both sides again), or a row that cannot be advanced (none yet, written before
rows kept their events, or a chosen event gone) are computed in full. ``rebuild`` computes a whole
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
from accord.analyze.acquisition.repository import Candidate, Picked, Stored, TouchRepository
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
    row["first_event_id"] = picked.first_id
    row["last_event_id"] = picked.last_id
    row["latest_event_id"] = picked.latest_id
    row["computed_at"] = now
    return row


def _key(c: Candidate) -> tuple[datetime, str]:
    # Ties on time go by id, as the database orders ids (the hex digits' order).
    return (c.timestamp, c.id.hex)


def _latest(touches: list[Candidate]) -> Candidate | None:
    """The latest attributed touch, or with none the latest touch (``pick``'s rule)."""
    attributed = [c for c in touches if c.attributed]
    pool = attributed or touches
    return max(pool, key=_key) if pool else None


def _advanced(
    stored: Stored, mine: list[Candidate], new: set[uuid.UUID], first_order: datetime | None
) -> Picked | None:
    """A person's touches chosen among their stored three and their new events, or None
    when that cannot decide it (their first order moved, a chosen event is gone, or only
    their whole history tells whether they are known by clicks alone)."""
    if first_order != stored.first_order_at:
        return None
    chosen = {i for i in (stored.first_id, stored.last_id, stored.latest_id) if i is not None}
    if stored.first_at is not None and stored.first_id is None:
        return None  # written before rows kept their events
    if not chosen <= {c.id for c in mine}:
        return None
    news = [c for c in mine if c.id in new]
    if not news:
        return None
    touches = [c for c in mine if c.touch]
    first = min(touches, key=_key) if touches else None
    latest = _latest(touches)
    last = latest
    if first_order is not None:
        last = _latest([c for c in touches if c.timestamp <= first_order])
    clicks_only = all(c.link for c in news)
    if stored.first_id is not None:
        link_only = stored.link_only and clicks_only
    elif clicks_only:
        return None  # no touch before: clicks alone only if there was nothing at all
    else:
        link_only = False

    def of(c: Candidate | None) -> uuid.UUID | None:
        return c.id if c is not None else None

    return Picked(mine[0].profile_id, of(first), of(last), of(latest), first_order, link_only)


def advance(
    session: Session, workspace_id: uuid.UUID, news: dict[uuid.UUID, set[uuid.UUID]]
) -> set[uuid.UUID]:
    """Weigh these people's new events (person: event ids) against the touches their rows
    chose, writing the rows that move; returns the people whose rows could not be
    advanced (``refresh`` computes those). Serialized per workspace; the caller commits."""
    if not news:
        return set()
    repo = TouchRepository.from_session(session)
    repo.lock(workspace_id)
    session.flush()
    now = utcnow()
    full: set[uuid.UUID] = set()
    for chunk in chunked(sorted(news, key=str), CHUNK):
        stored = repo.stored(chunk)
        full.update(p for p in chunk if p not in stored)
        people = [p for p in chunk if p in stored]
        ids = {i for p in people for i in news[p]}
        for s in (stored[p] for p in people):
            ids.update(i for i in (s.first_id, s.last_id, s.latest_id) if i is not None)
        by_person: dict[uuid.UUID, list[Candidate]] = {}
        for c in repo.candidates(ids):
            by_person.setdefault(c.profile_id, []).append(c)
        orders = repo.first_orders(people)
        moved: list[Picked] = []
        for p in people:
            s = stored[p]
            picked = _advanced(s, by_person.get(p, []), news[p], orders.get(p))
            if picked is None:
                full.add(p)
            elif (picked.first_id, picked.last_id, picked.latest_id, picked.link_only) != (
                s.first_id,
                s.last_id,
                s.latest_id,
                s.link_only,
            ):
                moved.append(picked)
        wanted = {i for p in moved for i in (p.first_id, p.last_id, p.latest_id) if i}
        events = {i: classify(raw) for i, raw in repo.events(wanted).items()}
        repo.update([_row(workspace_id, p, events, now) for p in moved])
    return full


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
        news: dict[uuid.UUID, set[uuid.UUID]] = {}
        rest: set[uuid.UUID] = set()
        for p in change.profiles:
            new = change.new_events(p)
            if new is None:
                rest.add(p)
            else:
                news[p] = new
        try:
            with session.connection().begin_nested():
                rest |= advance(session, change.workspace_id, news)
                refresh(session, change.workspace_id, rest)
        except Exception:
            log.exception(
                "acquisition: the touches of %d people were not refreshed", len(change.profiles)
            )

    return changes.Listener(record=record)
