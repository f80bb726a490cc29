"""Running matching outside a request: a whole run (CLI, a queued API request, the
schedule) and the matching thread each API process runs (``ACCORD_MATCH_WORKER``): it
starts queued runs, runs each workspace every ``ACCORD_MATCH_INTERVAL_MINUTES`` and
matches new and changed people every ``ACCORD_MATCH_INCREMENTAL_SECONDS``."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from accord.config import Settings
from accord.govern.workspaces.models import Workspace
from accord.kit.db import transaction
from accord.kit.errors import AccordError
from accord.kit.threads import PeriodicWorker
from accord.kit.time import utcnow
from accord.match import applying, scored, service
from accord.match.incremental import match_new
from accord.match.models import MatchRun
from accord.match.repository import MatchRunRepository

CONNECTION_ERRORS = (OperationalError, InterfaceError, DisconnectionError)


def run_workspace(
    factory: sessionmaker[Session],
    workspace_id: uuid.UUID,
    settings: Settings,
    *,
    engine_name: scored.Engine = "duckdb",
    trigger: str = "cli",
    actor: str = "matcher",
    run_id: uuid.UUID | None = None,
    spark: Any = None,
    on_phase: Callable[[str], None] | None = None,
) -> MatchRun:
    """One full run: read, train and score without a transaction, apply in one."""
    with transaction(factory) as session:
        if run_id is None:
            run = service.start_run(session, workspace_id, engine_name=engine_name, trigger=trigger)
            run_id = run.id
        else:
            found = MatchRunRepository.from_session(session).get(workspace_id, run_id)
            if found is None:
                raise LookupError(f"no match run {run_id}")
            run = found
        run.status = "running"
        run.started_at = utcnow()
    try:
        if on_phase:
            on_phase("reading people")
        started = time.perf_counter()
        with factory() as session:
            snap = service.snapshot(session, workspace_id, settings)
        read = time.perf_counter() - started
        owned = None
        if engine_name == "spark" and spark is None:
            from accord.match.backends import spark_session

            owned = spark = spark_session(settings.spark_master)
        try:
            result = service.compute(snap, engine_name=engine_name, spark=spark, on_phase=on_phase)
        finally:
            if owned is not None:
                owned.stop()
        if on_phase:
            on_phase("applying decisions")
        started = time.perf_counter()
        with transaction(factory) as session:
            summary = applying.apply(
                session,
                workspace_id,
                result,
                snap.thresholds,
                snap.rows,
                run_id=run_id,
                actor=actor,
                on_step=on_phase,
            )
            result.phases = {"read": read, **result.phases}
            result.phases["apply"] = time.perf_counter() - started
            row = session.get(MatchRun, run_id)
            assert row is not None
            service.finish_run(row, result, summary)
            return row
    except Exception as exc:
        with transaction(factory) as session:
            row = session.get(MatchRun, run_id)
            if row is not None:
                service.finish_run(row, None, None, error=f"{type(exc).__name__}: {exc}")
        raise


def incremental_pass(
    factory: sessionmaker[Session], workspace_id: uuid.UUID, settings: Settings
) -> MatchRun | None:
    """Match the people changed since the last pass (or the last full run)."""
    with factory() as session:
        repo = MatchRunRepository.from_session(session)
        if repo.latest_model(workspace_id) is None:
            return None
        marks = [
            m
            for m in (
                repo.last_started(workspace_id, "incremental"),
                repo.last_started(workspace_id, "full"),
            )
            if m is not None
        ]
    since = max(marks) if marks else None
    started = utcnow()
    with transaction(factory) as session:
        summary = match_new(session, workspace_id, settings, since=since)
        if summary is None or summary.records == 0:
            return None
        run = service.start_run(
            session, workspace_id, engine_name="duckdb", trigger="new records", kind="incremental"
        )
        run.status = "done"
        # An incremental run's start is the watermark of the next pass.
        run.started_at = summary.until or started
        run.finished_at = utcnow()
        run.records = summary.records
        run.pairs = summary.pairs
        run.merged = summary.merged
        run.proposed = summary.proposed
        run.households = summary.households
        return run


def _workspaces(factory: sessionmaker[Session]) -> list[uuid.UUID]:
    with factory() as session:
        return list(session.scalars(select(Workspace.id).order_by(Workspace.id)))


class MatchWorker(PeriodicWorker):
    """The matching thread of an API process."""

    name = "matcher"

    def __init__(
        self, factory: sessionmaker[Session], settings: Settings, *, tick: float = 1.0
    ) -> None:
        super().__init__(interval=tick)
        self.factory = factory
        self.settings = settings
        self.started = utcnow()
        self._last_incremental = 0.0

    def _due(self, workspace_id: uuid.UUID, now: datetime) -> bool:
        minutes = self.settings.match_interval_minutes
        if minutes <= 0:
            return False
        with self.factory() as session:
            last = MatchRunRepository.from_session(session).last_started(workspace_id, "full")
        return (last or self.started) + timedelta(minutes=minutes) <= now

    def _guarded(self, workspace_id: uuid.UUID, run: Callable[[], object]) -> None:
        try:
            run()
        except AccordError as error:  # another run of the workspace is under way
            self.log.info("no run of workspace %s now: %s", workspace_id, error.message)
        except CONNECTION_ERRORS:
            raise  # the database is away: the worker backs off
        except Exception:
            self.log.exception("a matching run of workspace %s failed", workspace_id)

    def step(self) -> None:
        with self.factory() as session:
            queued = [
                (r.id, r.workspace_id, r.engine)
                for r in MatchRunRepository.from_session(session).queued()
            ]
        # A run that fails is marked failed and logged; the other workspaces still run.
        for run_id, workspace_id, engine_name in queued:
            self._guarded(
                workspace_id,
                partial(
                    run_workspace,
                    self.factory,
                    workspace_id,
                    self.settings,
                    engine_name="spark" if engine_name == "spark" else "duckdb",
                    run_id=run_id,
                ),
            )
        now = utcnow()
        for workspace_id in _workspaces(self.factory):
            if self._due(workspace_id, now):
                self._guarded(
                    workspace_id,
                    partial(
                        run_workspace, self.factory, workspace_id, self.settings, trigger="schedule"
                    ),
                )
        every = self.settings.match_incremental_seconds
        if every > 0 and time.monotonic() - self._last_incremental >= every:
            self._last_incremental = time.monotonic()
            for workspace_id in _workspaces(self.factory):
                incremental_pass(self.factory, workspace_id, self.settings)
