"""What a transaction changed about people, told once it has committed: the owners of
writes note the people and the topics (``profile``, ``event:<name>``, ``identifiers``,
``consent``, ``service``, or ``*`` for everything); whoever listens (segments, through
the job engine) hears it after the commit, and nothing on a rollback.

Listeners are set on the session factory by the edge (``listen``), so the layers that
note changes never know who listens."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

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


Listener = Callable[[Changes], None]


def listen(factory: sessionmaker[Session], listener: Listener) -> None:
    """Have ``listener`` hear the changes of every transaction of ``factory``'s sessions."""
    info = factory.kw.setdefault("info", {})
    info.setdefault(LISTENERS, []).append(listener)


def unlisten(factory: sessionmaker[Session], listener: Listener) -> None:
    listeners = factory.kw.get("info", {}).get(LISTENERS, [])
    if listener in listeners:
        listeners.remove(listener)


def note(
    session: Session,
    workspace_id: uuid.UUID,
    profile_ids: Iterable[uuid.UUID | None],
    topics: Collection[str],
) -> None:
    listeners: list[Listener] = session.info.get(LISTENERS) or []
    if not listeners:
        return
    ids = {p for p in profile_ids if p is not None}
    if not ids:
        return
    # Kept per transaction: what a rolled-back one noted is never heard.
    root = session.get_transaction()
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


def _deliver(pending: dict[uuid.UUID, Changes], listeners: list[Listener]) -> None:
    for changes in pending.values():
        for listener in listeners:
            try:
                listener(changes)
            except Exception:
                log.exception("a listener of changes failed")
