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
from collections.abc import Callable, Collection, Iterable
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
    """People of one workspace and what changed about them."""

    workspace_id: uuid.UUID
    profiles: set[uuid.UUID] = field(default_factory=set)
    topics: set[str] = field(default_factory=set)


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
) -> None:
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
