"""The resolver worker: a thread that resolves pending events soon after they are
accepted. Under ``accord serve`` it runs in a process of its own (``resolve/process.py``),
looking for new events every ``ACCORD_RESOLVE_POLL_SECONDS``; elsewhere it is a thread in
the API process, woken at once by the ingest endpoint and every half second in case
another process accepted them. Several share the work safely: each workspace's resolution
is serialized by a database lock."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from accord.kit.db import transaction
from accord.kit.threads import PeriodicWorker
from accord.resolve import service

log = logging.getLogger("accord.resolve.worker")


# Events per committed batch. On SQLite, batches stay small so the one write lock is
# released often for ingest; PostgreSQL accepts beside a running batch, and a larger one
# spreads each batch's fixed cost (lock, look-ups, one write per table) over more events.
BATCH = {"sqlite": 100, "postgresql": 2000}


def drain(
    factory: sessionmaker[Session],
    *,
    batch: int | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Resolve everything pending now, one committed batch at a time, until nothing is
    left or ``stop`` is set (checked between batches); returns the count."""
    if batch is None:
        bind = factory.kw.get("bind")
        batch = BATCH.get(bind.dialect.name if bind is not None else "", 100)
    total = 0
    while True:
        with factory() as session:
            workspaces = service.pending_workspaces(session)
        if not workspaces:
            return total
        progressed = 0
        for workspace_id in workspaces:
            if stop is not None and stop.is_set():
                return total + progressed
            with transaction(factory) as session:
                progressed += service.resolve_pending(session, workspace_id, limit=batch)
        total += progressed
        if progressed == 0:
            return total


class ResolverWorker(PeriodicWorker):
    name = "resolver"

    def __init__(self, factory: sessionmaker[Session], *, interval: float = 0.5) -> None:
        super().__init__(interval=interval)
        self.factory = factory

    def step(self) -> None:
        drain(self.factory, stop=self.stopping)
