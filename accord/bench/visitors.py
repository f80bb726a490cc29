"""`accord bench visitors`: the resolver alone on a stream of visitors, each known by a
browser alone (one page view each), either all new (each event makes a person) or all
known (a first page view each was resolved before, untimed). What a new visitor costs
against a known one: the resolver's CPU and wall time, the database's CPU (a local
PostgreSQL's processes, read from /proc), the write-ahead log written (PostgreSQL), and
the costliest statements, each an event. The cycle collector is tuned as in the
resolver's process (``tune_gc``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from accord.bench.common import cpu_of, cpu_since, postgres_pids
from accord.bench.ingest import accept_all, drained_alone
from accord.govern.workspaces import service as workspaces
from accord.kit.db import transaction
from accord.resolve.worker import drain

KINDS = ("new", "known")


def page_views(n: int, run: str, tag: str) -> list[dict[str, Any]]:
    """One page view for each of ``n`` visitors, known by a browser alone."""
    return [
        {
            "type": "page",
            "name": "/p",
            "messageId": f"{tag}-{run}-{i}",
            "anonymousId": f"visitor-{run}-{i}",
            "properties": {"path": "/p"},
        }
        for i in range(n)
    ]


@dataclass
class VisitorsResult:
    backend: str
    kind: str
    events: int
    wall_us: float
    cpu_us: float
    db_us: float | None
    wal_bytes: float | None
    statements: list[tuple[str, float, int]] = field(default_factory=list)

    def lines(self) -> list[str]:
        db = f", {self.backend} {self.db_us:.1f} us" if self.db_us is not None else ""
        out = [
            f"backend            {self.backend}",
            f"events             {self.events:,} page views of {self.kind} visitors",
            f"resolver alone     {1e6 / max(self.wall_us, 1e-9):,.0f} events/s, "
            f"{self.wall_us:.1f} us an event",
            f"cpu per event      the resolver {self.cpu_us:.1f} us{db}",
        ]
        if self.wal_bytes is not None:
            out.append(f"wal per event      {self.wal_bytes:,.0f} bytes")
        out.extend(f"  {us:8.1f} us  {name} ({runs} runs)" for name, us, runs in self.statements)
        return out


def _wal_position(factory: sessionmaker[Session]) -> str:
    with factory() as session:
        return str(session.scalar(text("SELECT pg_current_wal_lsn()::text")))


def _wal_since(factory: sessionmaker[Session], start: str) -> float:
    with factory() as session:
        return float(
            session.scalar(
                text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), CAST(:start AS pg_lsn))"),
                {"start": start},
            )
            or 0
        )


def run(
    factory: sessionmaker[Session],
    database_url: str,
    data_dir: Path,
    *,
    events: int,
    kind: str,
    gc_threshold: int,
    progress: Any = None,
) -> VisitorsResult:
    with transaction(factory) as session:
        ws = workspaces.create_workspace(session, f"bench-visitors-{uuid.uuid4().hex[:6]}")
    workspace_id = ws.workspace.id
    run_id = uuid.uuid4().hex[:8]

    def accepted(_done: int, now: int) -> None:
        if progress:
            progress(now)

    if kind == "known":  # each visitor's first page view, resolved untimed
        accept_all(factory, workspace_id, page_views(events, run_id, "first"))
        drain(factory)
    # The same browsers as the first views (their ids depend on the run and the place).
    msgs = page_views(events, run_id, "timed")
    accept_all(factory, workspace_id, msgs, accepted)
    postgres = database_url.startswith("postgresql")
    db = cpu_of(postgres_pids()) if postgres else {}
    wal = _wal_position(factory) if postgres else None
    done, alone = drained_alone(factory, gc_threshold)
    db_used = cpu_since(db, cpu_of(postgres_pids())) if postgres else None
    wal_written = _wal_since(factory, wal) if wal is not None else None
    per = 1e6 / max(done, 1)
    return VisitorsResult(
        backend=database_url.split(":", 1)[0].split("+")[0],
        kind=kind,
        events=done,
        wall_us=1e6 / alone.per_s if done else 0.0,
        cpu_us=alone.cpu_us,
        db_us=db_used * per if db_used is not None else None,
        wal_bytes=wal_written / max(done, 1) if wal_written is not None else None,
        statements=alone.statements,
    )
