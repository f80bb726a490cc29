"""Listening jobs, run by the job engine (registered by name in ``accord/jobs.py``):
every minute the sweep starts a fetch of each source whose time has come (and the
opening of conversations a lost job left); after a fetch, ``social.open`` opens the
inbox conversations of the mentions to respond to. A fetch asks
the connector for what was posted after the source's saved position, outside any
transaction, then stores the mentions and the new position together, only if nobody
moved the position meanwhile (two workers never store one batch twice)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from accord.govern.workspaces.models import Workspace
from accord.inbox.context import InboxContext
from accord.kit.db import transaction
from accord.kit.time import utcnow
from accord.social import alerts, connections
from accord.social.models import SocialSource
from accord.social.repository import AlertRepository, MentionRepository, SourceRepository
from accord.social.schemas import URL_FIELDS
from accord.social.service import Outcome, SocialContext, hear, open_pending
from accord.social.settings import LISTENING
from accord.social.sources.base import Connector, SourceError

log = logging.getLogger(__name__)
Enqueue = Callable[..., Any]
BATCH = 200  # posts asked of a connector per fetch


@dataclass
class Listening:
    """What the listening jobs need of the deployment."""

    connectors: Mapping[str, Connector]
    secret_key: str
    base_url: str = "http://127.0.0.1:8000"
    publish: Callable[[uuid.UUID, dict[str, Any]], None] | None = None
    kick_outbox: Callable[[], None] | None = None
    limit: int = BATCH
    private_hosts: bool = False  # sources may be on internal addresses (a setting)
    after: list[Callable[[uuid.UUID, Outcome], None]] = field(default_factory=list)

    def context(self, session: Session, workspace_id: uuid.UUID) -> SocialContext:
        inbox = InboxContext.load(
            session,
            workspace_id,
            secret_key=self.secret_key,
            base_url=self.base_url,
            publish=self.publish,
            kick_outbox=self.kick_outbox,
        )
        return SocialContext.of(inbox)


def listening_terms(session: Session, workspace_id: uuid.UUID) -> list[str]:
    """What the workspace listens for, as a connector is given it."""
    workspace = session.get(Workspace, workspace_id)
    return LISTENING.read(workspace).terms() if workspace is not None else []


def sweep(
    factory: sessionmaker[Session],
    *,
    listening: Listening,
    enqueue: Enqueue,
    now: datetime | None = None,
) -> list[uuid.UUID]:
    """Every minute: a fetch job for each source that is due; returns them."""
    now = now or utcnow()
    with transaction(factory) as session:
        due = SourceRepository.from_session(session).due(now, list(listening.connectors))
        waiting = MentionRepository.from_session(session).workspaces_to_open()
    for _, source_id in due:
        enqueue("social.fetch", source_id)
    for workspace_id in waiting:  # conversations a lost job did not open
        enqueue("social.open", workspace_id)
    return [s for _, s in due]


def fetch(
    factory: sessionmaker[Session],
    source_id: uuid.UUID,
    *,
    listening: Listening,
    enqueue: Enqueue | None = None,
    now: datetime | None = None,
) -> Outcome | None:
    """Fetch one source once (see the module's docstring). Returns what was stored, or
    None when the source is gone, off, not due, or its fetch failed (recorded on it)."""
    with transaction(factory) as session:
        source = session.get(SocialSource, source_id)
        if source is None or not source.enabled or source.status == "failing":
            return None
        connector = listening.connectors.get(source.kind)
        if connector is None:
            return None
        config = connections.config_of(source, listening.secret_key)
        cursor = dict(source.cursor or {})
        workspace_id = source.workspace_id
        terms = listening_terms(session, workspace_id)
    try:
        if not listening.private_hosts:
            for name in sorted(URL_FIELDS & set(config.settings)):
                problem = connections.internal(str(config.settings[name]))
                if problem:  # the name resolves elsewhere now than when it was saved
                    raise SourceError(problem, permanent=True)
        batch = connector.fetch(config, cursor, terms, listening.limit)
    except SourceError as exc:
        with transaction(factory) as session:
            source = SourceRepository.from_session(session).lock(source_id)
            if source is not None:
                connections.failed(source, exc, now or utcnow())
        log.warning("social source %s: %s", source_id, exc.message)
        return None
    with transaction(factory) as session:
        source = SourceRepository.from_session(session).lock(source_id)
        if source is None or dict(source.cursor or {}) != cursor:
            return None  # removed, or another worker stored this position's batch
        at = now or utcnow()
        outcome = hear(
            session, listening.context(session, workspace_id), batch.posts, source=source, now=at
        )
        connections.fetched(source, batch.cursor, batch.more, at)
    for hook in listening.after:
        hook(workspace_id, outcome)
    if enqueue is not None:
        if outcome.to_open:
            enqueue("social.open", workspace_id)
        if batch.more:
            enqueue("social.fetch", source_id)
    return outcome


def open_conversations(
    factory: sessionmaker[Session],
    workspace_id: uuid.UUID,
    *,
    listening: Listening,
    batch: int = 25,
) -> int:
    """The inbox conversations of the workspace's mentions to respond to that have none
    yet, the most pressing first, ``batch`` per transaction; returns how many."""
    opened = 0
    while True:
        with transaction(factory) as session:
            done = open_pending(session, listening.context(session, workspace_id), batch)
        opened += len(done)
        if len(done) < batch:
            return opened


def watch(
    factory: sessionmaker[Session], *, listening: Listening, now: datetime | None = None
) -> int:
    """Every minute: each listening workspace's alerts raised or ended
    (:mod:`accord.social.alerts`); returns how many were raised."""
    now = now or utcnow()
    with transaction(factory) as session:
        ids = AlertRepository.from_session(session).watched_workspaces(now - timedelta(days=1))
    raised = 0
    for workspace_id in ids:
        with transaction(factory) as session:
            inbox = listening.context(session, workspace_id).inbox
            raised += len(alerts.watch(session, inbox, now=now))
    return raised
