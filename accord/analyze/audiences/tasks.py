"""Audience jobs, run by the job engine (registered by name in ``accord/jobs.py``):
dispatch a workspace's segment changes to its destinations (after every commit that
changed memberships, and every minute in case one was missed), deliver one delivery (a
signed POST outside any transaction, then its log; a failure is tried again later with
back-off, as a job scheduled at that time), send the overdue ones again, and prune the
old log."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from accord.analyze.audiences import delivery, webhooks
from accord.analyze.audiences.repository import DestinationRepository
from accord.kit.db import read_only, transaction
from accord.kit.jobs import Jobs
from accord.kit.time import utcnow

log = logging.getLogger(__name__)


def dispatch(
    factory: sessionmaker[Session], workspace_id: uuid.UUID, *, sender: delivery.Sender
) -> int:
    with transaction(factory) as session:
        return delivery.dispatch(session, workspace_id, sender)


def deliver(
    factory: sessionmaker[Session],
    delivery_id: uuid.UUID,
    *,
    secret_key: str,
    sender: delivery.Sender,
    now: datetime | None = None,
) -> webhooks.Outcome | None:
    """One attempt of a delivery, if it is due; a failure schedules the next one."""
    with transaction(factory) as session:
        attempt = delivery.claim(session, delivery_id, secret_key, now or utcnow())
    if attempt is None:
        return None
    outcome = webhooks.post(
        attempt.url,
        attempt.secret,
        attempt.body,
        delivery_id=str(attempt.delivery_id),
        event=attempt.event,
    )
    with transaction(factory) as session:
        again = delivery.record(session, delivery_id, outcome, now or utcnow())
    if again is not None and sender.deliver is not None:
        sender.deliver(delivery_id, again)
    return outcome


def sweep(
    factory: sessionmaker[Session], *, sender: delivery.Sender, now: datetime | None = None
) -> None:
    """Every minute: dispatch every workspace with an active destination (a change whose
    job was lost, an archived segment's exits), and send the overdue deliveries."""
    with read_only(factory) as session:
        workspaces = DestinationRepository.from_session(session).workspaces_with_active()
    for workspace_id in workspaces:
        try:
            dispatch(factory, workspace_id, sender=sender)
        except Exception:
            log.exception("dispatching the audiences of %s failed", workspace_id)
    with read_only(factory) as session:
        overdue = delivery.due(session, now)
    if sender.deliver is not None:
        for delivery_id in overdue:
            sender.deliver(delivery_id, None)


def prune(factory: sessionmaker[Session], now: datetime | None = None) -> int:
    with transaction(factory) as session:
        return delivery.prune(session, now)


def sender(jobs: Jobs | None) -> delivery.Sender:
    """The jobs of a deployment as audiences enqueue them (nothing without a job engine)."""
    if jobs is None:
        return delivery.Sender()
    return delivery.Sender(
        dispatch=lambda workspace_id: jobs.enqueue("audiences.dispatch", workspace_id),
        deliver=lambda delivery_id, at: jobs.enqueue("audiences.deliver", delivery_id, at=at),
    )


class DispatchSoon:
    """The segment engine's ``changed`` hook: a workspace's dispatch enqueued to run a
    moment later, so the commits of a burst are dispatched by one job (per process and
    workspace) rather than one job each; a commit after the job's time enqueues another."""

    def __init__(self, jobs: Jobs, delay: float = 1.0) -> None:
        self.jobs, self.delay = jobs, delay
        self._due: dict[uuid.UUID, float] = {}
        self._lock = threading.Lock()

    def __call__(self, workspace_id: uuid.UUID) -> None:
        now = time.time()
        with self._lock:
            if self._due.get(workspace_id, 0.0) > now:
                return
            if len(self._due) > 10_000:
                self._due = {k: v for k, v in self._due.items() if v > now}
            self._due[workspace_id] = now + self.delay
        at = datetime.fromtimestamp(now + self.delay, UTC)
        self.jobs.enqueue("audiences.dispatch", workspace_id, at=at)
