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
split (both sides again), or a row that cannot be advanced (none yet, or written before
rows kept their events) are computed in full. A person resolution has just made has no
row yet but no events either beyond those it noted: they are weighed against nothing,
as a stored row is weighed against its three. ``rebuild`` computes a whole
workspace a chunk of people per transaction. An erase deletes a person's row with them
(its foreign key to ``profiles``)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from accord.analyze.acquisition.channels import Touch
from accord.analyze.acquisition.models import AcquisitionTouch
from accord.analyze.acquisition.repository import Candidate, Picked, Stored, TouchRepository
from accord.collect import touch as touch_bits
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


# Each prefix's column names for the fields of a touch, then for its event and whether
# it is attributed (the first touch records no such flag).
_COLUMNS = {
    prefix: (
        tuple((f"{prefix}_{name}", name) for name in FIELDS),
        f"{prefix}_event_id",
        f"{prefix}_attributed" if prefix != "first" else None,
    )
    for prefix in PREFIXES
}


def _columns(prefix: str, chosen: Candidate | None) -> dict[str, Any]:
    """A prefix's columns for the event chosen (all None for none)."""
    fields, event_column, attributed_column = _COLUMNS[prefix]
    touch = chosen.grouped if chosen is not None else None
    out: dict[str, Any]
    if touch is None:
        out = dict.fromkeys(column for column, _ in fields)
    else:
        out = {column: getattr(touch, name) for column, name in fields}
    out[event_column] = chosen.id if chosen is not None else None
    if attributed_column is not None:
        out[attributed_column] = chosen.attributed if chosen is not None else None
    return out


def _row(
    workspace_id: uuid.UUID, picked: Picked, events: dict[uuid.UUID, Candidate], now: datetime
) -> dict[str, Any]:
    def chosen(event_id: uuid.UUID | None) -> Candidate | None:
        return events.get(event_id) if event_id is not None else None

    row: dict[str, Any] = {"profile_id": picked.profile_id, "workspace_id": workspace_id}
    for prefix, event_id in zip(
        PREFIXES, (picked.first_id, picked.last_id, picked.latest_id), strict=True
    ):
        row.update(_columns(prefix, chosen(event_id)))
    row["first_order_at"] = picked.first_order_at
    row["link_only"] = picked.link_only and picked.first_id is not None
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


@dataclass(frozen=True)
class Advanced:
    """A person's touches chosen anew (each None: no touch), and whether they are known
    by clicks alone."""

    first: Candidate | None
    last: Candidate | None
    latest: Candidate | None
    link_only: bool


def _kept(stored: Stored, profile_id: uuid.UUID) -> tuple[Candidate | None, list[Candidate]]:
    """The stored row's first touch, and its last and latest, as candidates. The first
    is weighed for the first alone (it was chosen by time, whatever its kind)."""

    def one(
        event_id: uuid.UUID | None, at: datetime | None, attributed: bool | None
    ) -> Candidate | None:
        if event_id is None or at is None:
            return None
        return Candidate(event_id, profile_id, at, True, bool(attributed), False)

    first = one(stored.first_id, stored.first_at, None)
    later = [
        c
        for c in (
            one(stored.last_id, stored.last_at, stored.last_attributed),
            one(stored.latest_id, stored.latest_at, stored.latest_attributed),
        )
        if c is not None
    ]
    return first, later


def _advanced(
    stored: Stored,
    profile_id: uuid.UUID,
    news: list[Candidate],
    first_order: datetime | None,
    others: bool = False,
) -> Advanced | None:
    """A person's touches chosen among their stored three and their new events (``news``
    and, with ``others``, new events weighed as no touch when they were accepted), or
    None when that cannot decide it (their first order moved, a row written before rows
    kept their events, or one only their whole history tells is known by clicks alone)."""
    if (not news and not others) or first_order != stored.first_order_at:
        return None
    if stored.first_at is not None and (stored.first_id is None or stored.latest_id is None):
        return None  # written before rows kept their events
    kept_first, kept_later = _kept(stored, profile_id)
    fresh = [c for c in news if c.touch]
    earliest = [*fresh, *([kept_first] if kept_first is not None else [])]
    first = min(earliest, key=_key) if earliest else None
    later = [*kept_later, *fresh]
    latest = _latest(later)
    last = latest
    if first_order is not None:
        last = _latest([c for c in later if c.timestamp <= first_order])
    clicks_only = not others and all(c.link for c in news)
    if stored.first_id is not None:
        link_only = stored.link_only and clicks_only
    elif clicks_only:
        return None  # no touch before: clicks alone only if there was nothing at all
    else:
        link_only = False
    return Advanced(first, last, latest, link_only)


# A person with no row yet: nothing chosen, no order.
NOTHING = Stored(None, None, None, None, None, None, None, None, None, False)


def _as_picked(profile_id: uuid.UUID, got: Advanced) -> Picked:
    """A row's events chosen by weighing, as ``pick`` gives them (no order yet)."""

    def event(chosen: Candidate | None) -> uuid.UUID | None:
        return chosen.id if chosen is not None else None

    first, last, latest = (event(c) for c in (got.first, got.last, got.latest))
    return Picked(profile_id, first, last, latest, None, got.link_only)


def advance(
    session: Session,
    workspace_id: uuid.UUID,
    news: dict[uuid.UUID, set[uuid.UUID]],
    born: Collection[uuid.UUID] = frozenset(),
    others: Collection[uuid.UUID] = frozenset(),
) -> set[uuid.UUID]:
    """Weigh these people's new events (person: event ids, to read back) against the
    touches their rows chose, writing the columns that move; returns the people whose
    rows could not be advanced (``refresh`` computes those). A person of ``others`` had
    new events besides, weighed as no touch when they were accepted and not read back
    (``weighable``). A person of ``born`` (made by the change that noted their events,
    which are then all they have) with no row yet is weighed against nothing, and their
    row written whole. Serialized per workspace; the caller commits."""
    if not news:
        return set()
    repo = TouchRepository.from_session(session)
    repo.lock(workspace_id)
    session.flush()
    now = utcnow()
    full: set[uuid.UUID] = set()
    for chunk in chunked(sorted(news, key=str), CHUNK):
        stored = repo.stored(chunk)
        full.update(p for p in chunk if p not in stored and p not in born)
        people = [p for p in chunk if p in stored or p in born]
        weighed = repo.candidates({i for p in people for i in news[p]})
        orders = repo.first_orders(people)
        # One write a person, whichever of their touches moved: rows are grouped by the
        # columns they set (the last and the latest usually move together).
        moved: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        made: list[dict[str, Any]] = []
        for p in people:
            s = stored.get(p, NOTHING)
            mine = [weighed[i] for i in news[p] if i in weighed and weighed[i].profile_id == p]
            # All the events to read back gone (moved to someone else): in full.
            gone = bool(news[p]) and not mine
            got = None if gone else _advanced(s, p, mine, orders.get(p), p in others)
            if got is None:
                full.add(p)
                continue
            if p not in stored:
                made.append(_row(workspace_id, _as_picked(p, got), weighed, now))
                continue
            row: dict[str, Any] = {}
            before = (s.first_id, s.last_id, s.latest_id)
            for prefix, chosen, was in zip(
                PREFIXES, (got.first, got.last, got.latest), before, strict=True
            ):
                if (chosen.id if chosen is not None else None) != was:
                    assert chosen is not None  # a touch once chosen is never unchosen
                    row.update(_columns(prefix, chosen))
            if got.link_only != s.link_only:
                row["link_only"] = got.link_only
            if row:
                moved.setdefault(tuple(row), []).append(
                    {"profile_id": p, **row, "computed_at": now}
                )
        for rows in moved.values():
            repo.update(rows)
        repo.replace([r["profile_id"] for r in made], made)
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
        events = repo.candidates(wanted)
        rows = [_row(workspace_id, p, events, now) for p in picked]
        repo.replace(chunk, rows)
        written += len(rows)
    return written


def people(session: Session, workspace_id: uuid.UUID) -> int:
    """How many people (live or merged) a rebuild of the workspace walks."""
    return TouchRepository.from_session(session).people_count(workspace_id)


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


BACKLOG_ROWS = 20  # waiting changes advanced together in one transaction


def weighable(events: set[uuid.UUID], marks: dict[uuid.UUID, int]) -> tuple[set[uuid.UUID], bool]:
    """Of a person's new events, those ``advance`` must read back to give the answer all
    of them give: every touch, and every event not weighed when it was accepted (no
    mark); and whether any was weighed as no touch. Such an event moves none of the three
    touches: it only tells that not all of the new events were clicks on a tracked link
    (a click is always a touch)."""
    kept: set[uuid.UUID] = set()
    other = False
    for event_id in events:
        mark = marks.get(event_id)
        if mark is None or mark & touch_bits.TOUCH:
            kept.add(event_id)
        else:
            other = True
    return kept, other


@dataclass
class Split:
    """A change's people with only new events (person: the events ``advance`` reads back,
    ``weighable``; those with new events weighed as no touch besides, in ``others``), the
    rest (computed in full), and those of the first whom it made (their new events are
    all they have)."""

    news: dict[uuid.UUID, set[uuid.UUID]] = field(default_factory=dict)
    rest: set[uuid.UUID] = field(default_factory=set)
    born: set[uuid.UUID] = field(default_factory=set)
    others: set[uuid.UUID] = field(default_factory=set)


def _split(change: changes.Changes) -> Split:
    out = Split()
    for p in change.profiles:
        new = change.new_events(p)
        if new is None:
            out.rest.add(p)
            continue
        out.news[p], other = weighable(new, change.marks)
        if other:
            out.others.add(p)
        if change.made_here(p):
            out.born.add(p)
    return out


def _bring_up_to_date(session: Session, workspace_id: uuid.UUID, split: Split) -> None:
    """Advance the people with only new events; compute the rest, and those that could
    not be advanced, in full."""
    advanced = advance(session, workspace_id, split.news, split.born, split.others)
    refresh(session, workspace_id, split.rest | advanced)


def follow(session: Session, workspace_id: uuid.UUID, limit: int = BACKLOG_ROWS) -> int:
    """Advance, at once, the touches of the changes waiting for the workspace (up to
    ``limit`` of them, oldest first; under load many changes become one pass and each
    person one write); returns how many were taken. The caller commits."""
    repo = TouchRepository.from_session(session)
    repo.lock(workspace_id)
    rows = repo.take(workspace_id, limit)
    if not rows:
        return 0
    split = Split()
    for row in rows:
        split.rest.update(uuid.UUID(whole) for whole in row.people)
        split.born.update(uuid.UUID(made) for made in row.born)
        split.others.update(uuid.UUID(other) for other in row.others or ())
        for person, ids in row.events.items():
            split.news.setdefault(uuid.UUID(person), set()).update(uuid.UUID(e) for e in ids)
    for whole in split.rest:
        split.news.pop(whole, None)  # computed whole anyway
    split.others -= split.rest
    # The rows are taken oldest first, so a person made by one of them has no events but
    # those of the rows taken with it (or a row of their own, written by an earlier job).
    _bring_up_to_date(session, workspace_id, split)
    return len(rows)


def listener(later: Callable[[uuid.UUID], None] | None = None) -> changes.Listener:
    """Keeps the rows of the people a transaction changed up to date.

    Without ``later``: inside the transaction, just before it commits. A failure is
    logged and undone alone (a savepoint): the change never fails for it, and the next
    change or a rebuild puts the rows right.

    With ``later`` (the resolver, whose batches come one after another): the change is
    only kept in its transaction, one backlog row, and once it has committed
    ``later(workspace_id)`` starts what follows it (``follow``, in a job): a batch of
    events reaches its people without waiting for their touches, and under load many
    batches are advanced together."""
    kept: set[uuid.UUID] = set()

    def record(session: Session, change: changes.Changes) -> None:
        if not change.profiles or not relevant(change.topics):
            return
        split = _split(change)
        if later is not None:
            TouchRepository.from_session(session).keep(
                change.workspace_id, split.news, split.rest, split.born, utcnow(), split.others
            )
            kept.add(change.workspace_id)
            return
        # Written objects first, outside the savepoint, which only the refresh's own
        # statements use (a savepoint of the session would run these listeners again).
        session.flush()
        try:
            with session.connection().begin_nested():
                _bring_up_to_date(session, change.workspace_id, split)
        except Exception:
            log.exception(
                "acquisition: the touches of %d people were not refreshed", len(change.profiles)
            )

    def committed(change: changes.Changes) -> None:
        if later is not None and change.workspace_id in kept:
            kept.discard(change.workspace_id)
            later(change.workspace_id)

    return changes.Listener(committed=committed, record=record)
