"""The resolver worker: a thread that resolves pending events soon after they are
accepted. Under ``accord serve`` it runs in a process of its own (``resolve/process.py``),
looking for new events every ``ACCORD_RESOLVE_POLL_SECONDS``; elsewhere it is a thread in
the API process, woken at once by the ingest endpoint and every half second in case
another process accepted them. Several share the work safely: each workspace's resolution
is serialized by a database lock.

Accepting comes first: during a burst the worker rests between batches (``Pacing``), so
the events of a burst are made durable at full speed and resolution catches up after.

One bad event never stops resolution: a batch that fails on its data is resolved again
one event at a time, each in a transaction of its own, and an event that fails alone is
marked ``failed`` with the error (``resolve/failures.py``). A lost connection is no
event's fault: nothing is marked, the other workspaces are still resolved, and the error
is raised at the end so the worker tries again after its back-off."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from accord.collect.repository import EventRepository
from accord.kit.db import transaction
from accord.kit.ids import id_at
from accord.kit.threads import PeriodicWorker
from accord.resolve import failures, service
from accord.resolve.floors import Floors

log = logging.getLogger("accord.resolve.worker")


# Events per committed batch. On SQLite, batches stay small so the one write lock is
# released often for ingest; PostgreSQL accepts beside a running batch, and a larger one
# spreads each batch's fixed cost (lock, look-ups, one write per table) over more events.
BATCH = {"sqlite": 100, "postgresql": 2000}

# Failures of the connection or the server rather than of the events (the database went
# away, a lock wait timed out, the pool is exhausted): nothing is marked failed for them.
CONNECTION_ERRORS = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)


@dataclass(frozen=True)
class Pacing:
    """When the resolver rests. After a full batch (a backlog is waiting), it counts the
    events accepted in the last ``window`` seconds, across workspaces; above
    ``yield_above`` a second a burst is under way, and it rests up to ``rest`` times as
    long as the batch took (at most ``max_rest`` seconds) before the next, looking again
    every ``look`` seconds and going back to work as soon as arrivals fall below the
    threshold. Resolving costs more than accepting, so during a burst it would slow
    accepting down without keeping up; resting, it still resolves a fifth of the time or
    more. A small batch (normal load) never rests, so events still reach profiles at
    once. Nor does it rest once its batches of a workspace have all been full for
    ``behind`` seconds: a burst that lasts is a steady load, and resolution must keep up
    with it rather than wait for it to end."""

    yield_above: int
    rest: float = 4.0
    max_rest: float = 5.0
    look: float = 0.25
    # A fifth of a second: the count reads the newest ``yield_above * window`` entries of
    # the primary key, so a whole second read 5,000 at every look.
    window: float = 0.2
    behind: float = 5.0

    def bursting(self, factory: sessionmaker[Session]) -> bool:
        """Whether events are being accepted faster than ``yield_above`` a second."""
        if self.yield_above <= 0:
            return False
        threshold = int(self.yield_above * self.window)
        with factory() as session:
            arrived = EventRepository.from_session(session).made_since(
                id_at(time.time() - self.window), cap=threshold + 1
            )
        return arrived > threshold

    def rest_after(
        self,
        factory: sessionmaker[Session],
        took: float,
        stop: threading.Event,
        behind_for: float = 0.0,
    ) -> float:
        """Rest after a full batch that took ``took`` seconds, while a burst lasts and
        ``stop`` is not set, unless full batches have followed one another for
        ``behind_for`` seconds, ``behind`` or more; returns the seconds rested."""
        if behind_for >= self.behind:
            return 0.0
        budget = min(took * self.rest, self.max_rest)
        rested = 0.0
        while rested < budget and not stop.is_set() and self.bursting(factory):
            pause = min(self.look, budget - rested)
            stop.wait(pause)
            rested += pause
        return rested


def resolve_workspace(
    factory: sessionmaker[Session],
    workspace_id: uuid.UUID,
    *,
    limit: int = 500,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Resolve one workspace's pending events, a committed batch of ``limit`` at a time,
    until none is left (an import's, a demo's); ``on_batch`` hears each batch's size.
    Returns how many were resolved."""
    total = 0
    while True:
        with transaction(factory) as session:
            done = service.resolve_pending(session, workspace_id, limit=limit)
        if not done:
            return total
        total += done
        if on_batch is not None:
            on_batch(done)


def drain(
    factory: sessionmaker[Session],
    *,
    batch: int | None = None,
    stop: threading.Event | None = None,
    pacing: Pacing | None = None,
    floors: Floors | None = None,
) -> int:
    """Resolve everything pending now, one committed batch at a time, until nothing is
    left or ``stop`` is set (checked between batches); returns the count. With
    ``pacing``, rests between full batches while a burst is being accepted; with
    ``floors`` (kept by a resolver from one call to the next), looks for pending events
    from each workspace's floor (``resolve/floors.py``)."""
    if batch is None:
        bind = factory.kw.get("bind")
        batch = BATCH.get(bind.dialect.name if bind is not None else "", 100)
    if stop is None:
        stop = threading.Event()
    total = 0
    # Workspaces whose batch failed on the connection in this pass: left for the next.
    broken: dict[uuid.UUID, Exception] = {}
    # When each workspace's batches began to come full, one after another (behind).
    full_since: dict[uuid.UUID, float] = {}
    while True:
        with factory() as session:
            found = service.pending_workspaces(session, floors=floors)
        workspaces = [w for w in found if w not in broken]
        if not workspaces:
            break
        progressed = 0
        for workspace_id in workspaces:
            if stop.is_set():
                return total + progressed
            started = time.perf_counter()
            try:
                done = _resolve_batch(factory, workspace_id, batch, stop, floors)
            except CONNECTION_ERRORS as error:
                log.warning("resolving workspace %s failed: %s", workspace_id, error)
                broken[workspace_id] = error
                continue
            progressed += done
            if done < batch:
                full_since.pop(workspace_id, None)
            elif pacing is not None:
                since = full_since.setdefault(workspace_id, started)
                now = time.perf_counter()
                rested = pacing.rest_after(factory, now - started, stop, now - since)
                if rested:
                    log.debug("a burst is being accepted: rested %.2f s", rested)
        total += progressed
        if progressed == 0:
            break
    if broken:
        raise next(iter(broken.values()))
    return total


def _resolve_batch(
    factory: sessionmaker[Session],
    workspace_id: uuid.UUID,
    batch: int,
    stop: threading.Event,
    floors: Floors | None = None,
) -> int:
    """Resolve a batch of the workspace's pending events in one transaction; if it fails
    on its data, resolve them one at a time instead."""
    try:
        with transaction(factory) as session:
            return service.resolve_pending(session, workspace_id, limit=batch, floors=floors)
    except CONNECTION_ERRORS:
        raise
    except Exception as error:
        log.warning(
            "a batch of workspace %s failed (%s); resolving its events one at a time",
            workspace_id,
            failures.error_text(error),
        )
    return _one_at_a_time(factory, workspace_id, batch, stop)


def _one_at_a_time(
    factory: sessionmaker[Session], workspace_id: uuid.UUID, batch: int, stop: threading.Event
) -> int:
    """Resolve the workspace's oldest pending events each in a transaction of its own,
    in order; one that fails alone is marked failed with its error. Returns how many
    were settled either way."""
    with factory() as session:
        ids = failures.pending_ids(session, workspace_id, batch)
    done = 0
    for event_id in ids:
        if stop.is_set():
            break
        try:
            with transaction(factory) as session:
                service.resolve_pending(session, workspace_id, limit=1, ids=[event_id])
        except CONNECTION_ERRORS:
            raise
        except Exception as error:
            log.error(
                "event %s of workspace %s cannot be resolved; marked failed: %s",
                event_id,
                workspace_id,
                failures.error_text(error),
            )
            with transaction(factory) as session:
                failures.mark_failed(session, workspace_id, event_id, error)
        done += 1
    return done


class ResolverWorker(PeriodicWorker):
    name = "resolver"

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        interval: float = 0.5,
        pacing: Pacing | None = None,
    ) -> None:
        super().__init__(interval=interval)
        self.factory = factory
        self.pacing = pacing
        self.floors = Floors()

    def step(self) -> None:
        drain(self.factory, stop=self.stopping, pacing=self.pacing, floors=self.floors)
