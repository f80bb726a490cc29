"""What a transaction changed about people: the owners of writes note the people and
the topics (``traits``, ``orders``, ``activity``, ``event:<name>``, ``identifiers``,
``consent``, ``service``, or ``*`` for everything). A listener may record them in the
same transaction, just before it commits (so they are as durable as the change
itself), and hears of them once it has committed (to start a job); a rollback leaves
nothing.

Listeners are set on the session factory by the edge (``listen``), so the layers that
note changes never know who listens."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from accord.kit.signals import after_commit

log = logging.getLogger(__name__)
KEY = "accord_changes"
LISTENERS = "accord_change_listeners"
EVERYTHING = "*"


@dataclass
class Changes:
    """People of one workspace and what changed about them.

    ``events`` holds, for the people whose change was noted with its events (resolution
    notes each batch's new events), the ids of those events; ``whole`` the people noted
    at least once without them (a merge, an import, an edit): for those only a full look
    at the person tells what changed. ``born`` holds the people the transaction made
    whose noted events are all they have (resolution's new people): for those, as long
    as nothing else was noted about them, the events noted are their whole history.
    ``marks`` holds what the writer read of some noted events, as bits a listener that
    knows them may use instead of reading the events back (``events.touch``, read by the
    acquisition touches); an event without a mark is unknown."""

    workspace_id: uuid.UUID
    profiles: set[uuid.UUID] = field(default_factory=set)
    topics: set[str] = field(default_factory=set)
    events: dict[uuid.UUID, set[uuid.UUID]] = field(default_factory=dict)
    whole: set[uuid.UUID] = field(default_factory=set)
    born: set[uuid.UUID] = field(default_factory=set)
    marks: dict[uuid.UUID, int] = field(default_factory=dict)

    def new_events(self, profile_id: uuid.UUID) -> set[uuid.UUID] | None:
        """The new events that are all that changed about this person, or None when
        more did (or the change did not say)."""
        if profile_id in self.whole:
            return None
        return self.events.get(profile_id)

    def made_here(self, profile_id: uuid.UUID) -> bool:
        """Whether the person was made by this change and its noted events are all they
        have (``new_events`` is then their whole history)."""
        return profile_id in self.born and profile_id not in self.whole


@dataclass(frozen=True)
class Listener:
    """``record(session, changes)`` runs inside the transaction before it commits;
    ``committed(changes)`` after it has."""

    committed: Callable[[Changes], None] | None = None
    record: Callable[[Session, Changes], None] | None = None


def listen(factory: sessionmaker[Session], listener: Listener | Callable[[Changes], None]) -> None:
    """Have ``listener`` hear the changes of every transaction of ``factory``'s sessions
    (a plain callable hears them after the commit)."""
    info = factory.kw.setdefault("info", {})
    info.setdefault(LISTENERS, []).append(listener)
    if not getattr(factory, "_accord_changes", False):
        event.listen(factory, "before_commit", _record)
        factory._accord_changes = True  # type: ignore[attr-defined]


def unlisten(
    factory: sessionmaker[Session], listener: Listener | Callable[[Changes], None]
) -> None:
    listeners = factory.kw.get("info", {}).get(LISTENERS, [])
    if listener in listeners:
        listeners.remove(listener)


def note(
    session: Session,
    workspace_id: uuid.UUID,
    profile_ids: Iterable[uuid.UUID | None],
    topics: Collection[str],
    *,
    events: Iterable[tuple[uuid.UUID | None, uuid.UUID]] | None = None,
    born: Iterable[uuid.UUID] = (),
    marks: Mapping[uuid.UUID, int | None] | None = None,
) -> None:
    """Note that these people changed in ``topics``; ``events`` (person, event id) when
    the change is exactly these new events of theirs, ``born`` the people among them
    the transaction made, whose noted events are all they have, and ``marks`` what the
    writer read of those events (``Changes.marks``)."""
    listeners: list[Any] = session.info.get(LISTENERS) or []
    if not listeners:
        return
    ids = {p for p in profile_ids if p is not None}
    if not ids:
        return
    # Kept per transaction: what a rolled-back one noted is never heard.
    root = session.get_transaction() or session.begin()  # a note may come first
    held = session.info.get(KEY)
    if held is None or held[0] is not root:
        pending: dict[uuid.UUID, Changes] = {}
        session.info[KEY] = (root, pending)
        after_commit(session, lambda: _deliver(pending, listeners))
    else:
        pending = held[1]
    bucket = pending.setdefault(workspace_id, Changes(workspace_id))
    bucket.profiles.update(ids)
    bucket.topics.update(topics)
    if events is None:
        bucket.whole.update(ids)
        return
    described: set[uuid.UUID] = set()
    for profile_id, event_id in events:
        if profile_id is not None:
            bucket.events.setdefault(profile_id, set()).add(event_id)
            described.add(profile_id)
    bucket.whole.update(ids - described)
    bucket.born.update(p for p in born if p in described)
    if marks:
        bucket.marks.update((e, mark) for e, mark in marks.items() if mark is not None)


def _record(session: Session) -> None:
    held = session.info.get(KEY)
    if held is None or held[0] is not session.get_transaction() or not held[1]:
        return
    for listener in session.info.get(LISTENERS) or []:
        record = getattr(listener, "record", None)
        if record is not None:
            for changes in held[1].values():
                record(session, changes)


def _deliver(pending: dict[uuid.UUID, Changes], listeners: list[Any]) -> None:
    for changes in pending.values():
        for listener in listeners:
            heard = listener.committed if isinstance(listener, Listener) else listener
            if heard is None:
                continue
            try:
                heard(changes)
            except Exception:
                log.exception("a listener of changes failed")
