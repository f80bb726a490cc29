"""Live listening: the sources that stream (Bluesky in Jetstream mode, a Mastodon source
with ``stream`` on) keep a connection open in an API process, so a post is heard within
seconds rather than at the next scheduled fetch.

One process holds a source at a time, by a lease on its row (``streamed_by``,
``stream_lease_until``) taken with a conditional update and renewed while it streams;
the scheduled fetch leaves a leased source alone, and another process takes it over once
the lease runs out (a process that died). A source's stream first catches up from the
saved cursor with ordinary fetches, then streams; each batch is stored like a fetched
one, with its cursor, only if the cursor did not move meanwhile. A dropped connection
catches up and streams again; an error is recorded on the source (back-off, or failing)
and the stream is given up until the source is fixed."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from accord.kit.db import transaction
from accord.kit.threads import PeriodicWorker
from accord.kit.time import utcnow
from accord.social import connections
from accord.social.models import SocialSource
from accord.social.repository import SourceRepository
from accord.social.service import hear, open_pending
from accord.social.sources.base import Batch, SourceError
from accord.social.tasks import Listening, fetch, listening_terms

LEASE = timedelta(seconds=90)
CATCH_UP = 20  # fetches at most before streaming (a long backlog is the fetch job's)
OPEN_NOW = 25  # conversations a streamed batch opens at once (the sweep's job the rest)


def streams(source: SocialSource) -> bool:
    """Whether the source is one that streams."""
    options = source.options or {}
    if source.kind == "bluesky":
        return options.get("mode") == "jetstream"
    if source.kind == "mastodon":
        return bool(options.get("stream"))
    return False


class Streams(PeriodicWorker):
    """Every ``interval`` seconds: takes (or renews) the lease of each source that streams
    and no live process holds, and keeps a thread streaming each source it holds."""

    name = "social-streams"

    def __init__(
        self, factory: sessionmaker[Session], listening: Listening, interval: float = 30.0
    ) -> None:
        super().__init__(interval=interval, run_at_start=True)
        self.factory = factory
        self.listening = listening
        self.me = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:120]
        self.threads: dict[uuid.UUID, threading.Thread] = {}

    def step(self) -> None:
        now = utcnow()
        with transaction(self.factory) as session:
            repo = SourceRepository.from_session(session)
            candidates = [
                s.id for s in repo.streaming(list(self.listening.connectors)) if streams(s)
            ]
        for source_id in candidates:
            alive = self.threads.get(source_id)
            if alive is not None and alive.is_alive():
                self._lease(source_id, now)
                continue
            if self._lease(source_id, now):
                thread = threading.Thread(
                    target=self._stream,
                    args=(source_id,),
                    name=f"accord-stream-{source_id}",
                    daemon=True,
                )
                self.threads[source_id] = thread
                thread.start()

    def stop(self, timeout: float = 30) -> bool:
        stopped = super().stop(timeout)
        for thread in list(self.threads.values()):
            thread.join(timeout=5)
        with transaction(self.factory) as session:
            SourceRepository.from_session(session).release_streams(self.me)
        return stopped

    def _lease(self, source_id: uuid.UUID, now: datetime) -> bool:
        with transaction(self.factory) as session:
            return SourceRepository.from_session(session).lease(source_id, self.me, now, LEASE)

    def _stream(self, source_id: uuid.UUID) -> None:
        """Catch up, then stream, until this worker stops, the lease is lost, or the
        source fails."""
        stopping = self.stopping.is_set
        while not stopping():
            for _ in range(CATCH_UP):
                if fetch(self.factory, source_id, listening=self.listening) is None:
                    break
                if not self._more(source_id):
                    break
            with transaction(self.factory) as session:
                source = session.get(SocialSource, source_id)
                if source is None or not source.enabled or source.status == "failing":
                    return
                if source.streamed_by != self.me or not streams(source):
                    return
                connector = self.listening.connectors.get(source.kind)
                config = connections.config_of(source, self.listening.secret_key)
                cursor = dict(source.cursor or {})
                workspace_id = source.workspace_id
                terms = listening_terms(session, workspace_id)
            streamer = getattr(connector, "stream", None)
            if streamer is None:
                return
            try:
                for batch in streamer(config, cursor, terms, stopping):
                    stored = self._store(source_id, workspace_id, cursor, batch)
                    if stored is None:
                        break  # another fetch moved the position: catch up again
                    cursor = stored
            except SourceError as exc:
                with transaction(self.factory) as session:
                    source = SourceRepository.from_session(session).lock(source_id)
                    if source is not None:
                        connections.failed(source, exc, utcnow())
                self.log.warning("social stream of %s: %s", source_id, exc.message)
                return
            # The connection dropped (or the worker stops): catch up, then stream again.
            self.stopping.wait(2.0)

    def _more(self, source_id: uuid.UUID) -> bool:
        with transaction(self.factory) as session:
            source = session.get(SocialSource, source_id)
            return bool(
                source is not None and source.next_fetch_at and source.next_fetch_at <= utcnow()
            )

    def _store(
        self, source_id: uuid.UUID, workspace_id: uuid.UUID, cursor: dict[str, Any], batch: Batch
    ) -> dict[str, Any] | None:
        """Store a streamed batch and its cursor; None when the position moved."""
        with transaction(self.factory) as session:
            source = SourceRepository.from_session(session).lock(source_id)
            if source is None or dict(source.cursor or {}) != cursor:
                return None
            at = utcnow()
            outcome = hear(
                session,
                self.listening.context(session, workspace_id),
                batch.posts,
                source=source,
                now=at,
            )
            ctx = self.listening.context(session, workspace_id)
            open_pending(session, ctx, OPEN_NOW)
            connections.fetched(source, batch.cursor, False, at)
            source.stream_lease_until = at + LEASE
        for hook in self.listening.after:
            hook(workspace_id, outcome)
        return dict(batch.cursor)
