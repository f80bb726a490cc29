"""Segment jobs, run by the job engine (registered by name in ``accord/jobs.py``), each
in one transaction: evaluate the people a change touched, build a segment, sweep due
timers (at their time, and every minute in case one was lost), and rebuild the
segments on the calendar every quarter hour."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from accord.analyze.segments import service
from accord.analyze.segments.repository import SegmentRepository
from accord.kit.db import transaction
from accord.kit.time import utcnow

log = logging.getLogger(__name__)


def drain(
    factory: sessionmaker[Session], workspace_id: uuid.UUID, *, engine: service.Engine
) -> None:
    """Evaluate the changes waiting for the workspace, a transaction per batch, until
    none is left (jobs queued meanwhile then find nothing and end at once)."""
    while True:
        with transaction(factory) as session:
            taken, _ = service.drain(session, engine, workspace_id)
        if taken < service.DRAIN_ROWS:
            return


def drain_all(factory: sessionmaker[Session], *, engine: service.Engine) -> None:
    """Every minute: workspaces with changes waiting (a job that was lost)."""
    with factory() as session:
        workspaces = SegmentRepository.from_session(session).dirty_workspaces()
    for workspace_id in workspaces:
        drain(factory, workspace_id, engine=engine)


def build(
    factory: sessionmaker[Session],
    workspace_id: uuid.UUID,
    segment_id: uuid.UUID,
    *,
    engine: service.Engine,
) -> None:
    with transaction(factory) as session:
        segment = SegmentRepository.from_session(session).get(workspace_id, segment_id)
        if segment is not None:
            service.build(session, engine, segment)


def sweep(
    factory: sessionmaker[Session],
    workspace_id: uuid.UUID,
    at: datetime | None = None,
    *,
    engine: service.Engine,
) -> None:
    with transaction(factory) as session:
        service.sweep(session, engine, workspace_id, utcnow())


def sweep_due(factory: sessionmaker[Session], *, engine: service.Engine) -> None:
    """Every minute: the workspaces with a timer due (a scheduled sweep that was lost)."""
    now = utcnow()
    with factory() as session:
        workspaces = SegmentRepository.from_session(session).workspaces_due(now)
    for workspace_id in workspaces:
        sweep(factory, workspace_id, engine=engine)


def calendar(factory: sessionmaker[Session], *, engine: service.Engine) -> None:
    with transaction(factory) as session:
        service.rebuild_calendar(session, engine)
