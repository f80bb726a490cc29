"""Applying the retention policies outside a request: a whole pass over a workspace (the
CLI, the scheduled job), each batch in a transaction of its own, and the thread each API
process runs (``ACCORD_RETENTION_WORKER``): it looks every hour and gives each workspace
with policies a pass once a day."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accord.govern.access.principal import Principal
from accord.govern.workspaces.models import Workspace
from accord.kit.db import read_only, transaction
from accord.kit.signals import after_commit
from accord.kit.threads import PeriodicWorker
from accord.kit.time import utcnow
from accord.privacy import retention
from accord.privacy.erase import remove_files
from accord.privacy.schemas import RetentionReport

DAY = timedelta(days=1)


def job_actor(workspace_id: uuid.UUID) -> Principal:
    return Principal(workspace_id=workspace_id, kind="job", label="retention")


def run_workspace(
    factory: sessionmaker[Session],
    workspace_id: uuid.UUID,
    *,
    dry_run: bool,
    data_dir: Path | None,
    trigger: str,
    actor: Principal | None = None,
    stopping: threading.Event | None = None,
    on_batch: Callable[[str, int], None] | None = None,
) -> RetentionReport:
    """One pass of the workspace's policies (a dry run only counts), recorded as a run."""
    actor = actor or job_actor(workspace_id)
    now = utcnow()
    if dry_run:
        with read_only(factory) as session:
            result = retention.report(session, workspace_id, now)
        with transaction(factory) as session:
            retention.record_run(
                session, actor, trigger=trigger, dry_run=True, result=result, removed={}, files=0
            )
        return result
    with read_only(factory) as session:
        config = retention.config_of(session, workspace_id)
    kinds = []
    removed: dict[str, dict[str, int]] = {}
    files = 0
    for policy in retention.policies(config, now):
        count, cursor = 0, None
        sample: list[str] = []
        while policy.cutoff is not None and not (stopping and stopping.is_set()):
            with transaction(factory) as session:
                batch = retention.apply_batch(
                    session,
                    workspace_id,
                    policy,
                    cursor,
                    dry_run=False,
                    data_dir=data_dir,
                    keep_order_totals=config.keep_order_totals,
                )
                after_commit(session, remove_files(batch.files))
            count += batch.found
            files += len(batch.files)
            sample.extend(batch.sample[: retention.SAMPLE - len(sample)])
            tables = removed.setdefault(policy.kind, {})
            for table, n in batch.removed.items():
                tables[table] = tables.get(table, 0) + n
            if on_batch is not None:
                on_batch(policy.kind, batch.found)
            cursor = batch.cursor
            if batch.done:
                break
        kinds.append(retention.kind_report(policy, count, sample))
    result = RetentionReport(
        dry_run=False, as_of=now, keep_order_totals=config.keep_order_totals, kinds=kinds
    )
    with transaction(factory) as session:
        retention.record_run(
            session,
            actor,
            trigger=trigger,
            dry_run=False,
            result=result,
            removed=removed,
            files=files,
        )
    return result


class RetentionWorker(PeriodicWorker):
    """Every ``interval`` seconds, passes over each workspace with retention policies whose
    last pass is a day old (or that never had one)."""

    name = "retention"

    def __init__(
        self, factory: sessionmaker[Session], data_dir: Path, *, interval: float = 3600.0
    ) -> None:
        super().__init__(interval=interval, backoff=60.0, max_backoff=3600.0)
        self.factory = factory
        self.data_dir = data_dir

    def step(self) -> None:
        self.run_once()

    def due(self) -> list[uuid.UUID]:
        """The workspaces with policies whose last pass is a day old or more."""
        now = utcnow()
        out = []
        with read_only(self.factory) as session:
            for workspace_id in session.scalars(select(Workspace.id)):
                if not retention.has_policies(session, workspace_id):
                    continue
                last = retention.last_run(session, workspace_id)
                if last is None or now - last.created_at >= DAY:
                    out.append(workspace_id)
        return out

    def run_once(self) -> int:
        """Pass over the workspaces due; returns how many."""
        done = 0
        for workspace_id in self.due():
            if self.stopping.is_set():
                break
            run_workspace(
                self.factory,
                workspace_id,
                dry_run=False,
                data_dir=self.data_dir,
                trigger="schedule",
                stopping=self.stopping,
            )
            done += 1
        return done
