"""Acquisition jobs, run by the job engine (registered by name in ``accord/jobs.py``):
the touches of the people resolution changed, following it (``touches.follow``), at
once after each change and every minute in case a job was lost."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session, sessionmaker

from accord.analyze.acquisition import touches
from accord.analyze.acquisition.repository import TouchRepository
from accord.kit.db import transaction


def follow(factory: sessionmaker[Session], workspace_id: uuid.UUID) -> None:
    """Advance the changes waiting for the workspace, a transaction per batch of them,
    until none is left (jobs queued meanwhile then find nothing and end at once)."""
    while True:
        with transaction(factory) as session:
            taken = touches.follow(session, workspace_id)
        if taken < touches.BACKLOG_ROWS:
            return


def follow_all(factory: sessionmaker[Session]) -> None:
    """Every minute: workspaces with changes waiting (a job that was lost or failed)."""
    with factory() as session:
        workspaces = TouchRepository.from_session(session).waiting_workspaces()
    for workspace_id in workspaces:
        follow(factory, workspace_id)
