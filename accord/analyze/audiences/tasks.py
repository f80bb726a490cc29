"""Audience jobs, run by the job engine (registered by name in ``accord/jobs.py``):
dispatch a workspace's segment changes to its destinations (after every commit that
changed memberships, and every minute in case one was missed), deliver one delivery (a
signed POST outside any transaction, then its log; a failure is tried again later with
back-off, as a job scheduled at that time), send the overdue ones again, and prune the
old log."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from accord.analyze.audiences import service, webhooks
from accord.analyze.audiences.repository import DestinationRepository
from accord.kit.db import read_only, transaction
from accord.kit.jobs import Jobs
from accord.kit.time import utcnow

log = logging.getLogger(__name__)


def dispatch(
    factory: sessionmaker[Session], workspace_id: uuid.UUID, *, sender: service.Sender
) -> int:
    with transaction(factory) as session:
        return service.dispatch(session, workspace_id, sender)


def deliver(
    factory: sessionmaker[Session],
    delivery_id: uuid.UUID,
    *,
    secret_key: str,
    sender: service.Sender,
    now: datetime | None = None,
) -> webhooks.Outcome | None:
    """One attempt of a delivery, if it is due; a failure schedules the next one."""
    with transaction(factory) as session:
        attempt = service.claim(session, delivery_id, secret_key, now or utcnow())
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
        again = service.record(session, delivery_id, outcome, now or utcnow())
    if again is not None and sender.deliver is not None:
        sender.deliver(delivery_id, again)
    return outcome


def sweep(factory: sessionmaker[Session], *, sender: service.Sender) -> None:
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
        overdue = service.due(session)
    if sender.deliver is not None:
        for delivery_id in overdue:
            sender.deliver(delivery_id, None)


def prune(factory: sessionmaker[Session]) -> int:
    with transaction(factory) as session:
        return service.prune(session)


def sender(jobs: Jobs | None) -> service.Sender:
    """The jobs of a deployment as audiences enqueue them (nothing without a job engine)."""
    if jobs is None:
        return service.Sender()
    return service.Sender(
        dispatch=lambda workspace_id: jobs.enqueue("audiences.dispatch", workspace_id),
        deliver=lambda delivery_id, at: jobs.enqueue("audiences.deliver", delivery_id, at=at),
    )
