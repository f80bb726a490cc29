"""Customer analytics benchmark: the full recompute of a large shop's scores (RFM,
lifetime value, churn risk, personas), end to end as the job runs it, with its stages and
peak memory; then p50/p99 of the dashboards that read the scores, over HTTP from a
server of its own.

The shop (``analytics_seed``): every person a customer, orders drawn from a
buy-till-you-die process over two years with their events, a few cancelled or refunded,
a few customers with conversations. The recompute runs in this process as the job
consumer runs it (``tasks.recompute``, the garbage collector tuned as in the worker), its
stages timed from the progress it reports; the process's peak resident memory is its
high-water mark (reset before), and the private memory of the PostgreSQL processes
serving this database is sampled beside it."""

from __future__ import annotations

import gc
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from accord.analyze.scoring import service, tasks
from accord.analyze.scoring.models import CustomerScore
from accord.bench.analytics_dashboards import Timed, dashboards
from accord.bench.analytics_draw import DROP_A, DROP_B, RATE_SHAPE
from accord.bench.analytics_seed import SEEDED_TABLES, Seeded, Seeder
from accord.bench.common import percentile, postgres_pids, vacuum_analyze
from accord.bench.privacy import checkpoint
from accord.collect.models import Event
from accord.govern.workspaces import service as workspaces
from accord.govern.workspaces.models import Workspace
from accord.jobs import scoring_inputs
from accord.kit import migrate
from accord.kit.db import transaction
from accord.kit.runtime import tune_gc
from accord.profile.models import Order, Profile

Progress = Callable[[int], None]
Stage = Callable[[str, float], None]

NAME = "bench-analytics"
RECOMPUTE_SECONDS = 180.0
MEMORY_MB = 4096.0
DASHBOARD_P99_MS = 300.0


# --- memory --------------------------------------------------------------------------------


def _status_kb(pid: int | str, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Watch:
    """Memory during the recompute: this process's peak resident set (its high-water
    mark, reset before where Linux allows, and sampled besides), and the private memory
    (``RssAnon``: hash tables, sorts; not the shared buffers) of the PostgreSQL processes
    serving ``database`` and of their parallel workers, sampled a few times a second."""

    def __init__(self, database: str | None, interval: float = 0.25) -> None:
        self.database = database
        self.interval = interval
        self.peak_mb = 0.0
        self.before_mb = _status_kb("self", "VmRSS") / 1024
        self.postgres_mb: float | None = None
        self.reset = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-memory", daemon=True)

    def _postgres_kb(self) -> int | None:
        if not self.database:
            return None
        ours: set[int] = set()
        workers: dict[int, int] = {}
        for pid in postgres_pids():
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if f" {self.database} " in title:
                ours.add(pid)
            elif found := re.search(r"parallel worker for PID (\d+)", title):
                workers[pid] = int(found.group(1))
        ours |= {pid for pid, leader in workers.items() if leader in ours}
        if not ours:
            return None
        return sum(_status_kb(pid, "RssAnon") for pid in ours)

    def _run(self) -> None:
        while True:
            self.peak_mb = max(self.peak_mb, _status_kb("self", "VmRSS") / 1024)
            kb = self._postgres_kb()
            if kb is not None:
                self.postgres_mb = max(self.postgres_mb or 0.0, kb / 1024)
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> Watch:
        try:
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM
            self.reset = True
        except OSError:
            self.reset = False
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if self.reset:
            self.peak_mb = max(self.peak_mb, _status_kb("self", "VmHWM") / 1024)


# --- results -------------------------------------------------------------------------------


@dataclass
class Recompute:
    seconds: float
    status: str
    error: str | None
    people: int
    customers: int
    stages: list[tuple[str, float]]  # (stage, seconds)
    first_rows: float | None  # seconds from the start of reading to the first rows
    replaced: int  # scores of an earlier run the recompute replaced
    metrics: dict[str, Any]
    peak_mb: float
    before_mb: float
    postgres_mb: float | None
    hwm: bool


@dataclass
class AnalyticsResult:
    backend: str
    database: str
    workspace: str
    seeded: Seeded | None
    sizes: tuple[int, int, int]  # customers, orders, events in the workspace
    analyze: str
    recompute: Recompute
    after: str = ""  # what was done to the scores' table before the dashboards
    dashboards: list[Timed] = field(default_factory=list)
    server_mb: float = 0.0
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)
    gc_threshold: int = 0

    def lines(self) -> list[str]:
        customers, orders, events = self.sizes
        out = [
            f"backend            {self.backend}",
            f"machine            {os.cpu_count()} cores; 1-minute load average "
            f"{self.load[0]:.1f} before the recompute, {self.load[1]:.1f} after it, "
            f"{self.load[2]:.1f} after the dashboards; {self.database}",
        ]
        s = self.seeded
        if s is None:
            out.append(
                f"data set           {customers:,} customers, {orders:,} orders, {events:,} events "
                f"(reused: workspace {self.workspace}, loaded by an earlier run with --reuse)"
            )
        else:
            phases = ", ".join(f"{name} {sec:.0f} s" for name, sec in s.phases.items())
            out += [
                f"data set           {customers:,} customers, {orders:,} orders, {events:,} events "
                f"(seeded in {s.seconds:.0f} s: {phases})",
                f"                   {s.indexes}",
                f"                   buy till you die: purchase rates gamma({RATE_SHAPE:g}, "
                f"scale {s.rate_scale:.3f}) a day, dropout beta({DROP_A:g}, {DROP_B:g}) after "
                f"each repeat purchase; {s.one_time:,} customers with one order, at most "
                f"{s.most_orders:,}; orders from {s.first_order_at:%Y-%m-%d} to "
                f"{s.last_order_at:%Y-%m-%d %H:%M}",
                f"                   {s.cancelled:,} orders cancelled, {s.refunded:,} refunded "
                f"in full, {s.partly:,} in part; {s.served:,} customers wrote in: "
                f"{s.conversations:,} conversations, {s.messages:,} messages, "
                f"{s.low_csat:,} rated 1 or 2",
            ]
        out.append(f"analyze            {self.analyze}")
        out += self._recompute_lines()
        if self.after:
            out.append(f"analyze            {self.after}")
        out += [d.line() for d in self.dashboards]
        if self.dashboards:
            out.append(f"server memory      {self.server_mb:,.0f} MB (after the dashboards)")
        out += self._verdicts()
        return out

    def _recompute_lines(self) -> list[str]:
        r = self.recompute
        replaced = (
            f"replacing {r.replaced:,} scores of an earlier run"
            if r.replaced
            else "into an empty scores table"
        )
        gc_note = (
            f"garbage collector tuned as in the job worker (threshold {self.gc_threshold:,})"
            if self.gc_threshold > 0
            else "garbage collector as Python sets it"
        )
        if r.status != "done":
            out = [
                f"recompute          FAILED after {r.seconds:.1f} s ({r.status}): {r.error}",
            ]
        else:
            out = [
                f"recompute          {r.seconds:.1f} s end to end (tasks.recompute in this "
                f"process, {gc_note}; {r.people:,} people scored, {r.customers:,} customers; "
                f"{replaced})"
            ]
        for name, sec in r.stages:
            extra = ""
            if name.startswith("Reading") and r.first_rows is not None:
                extra = f" (the feature query's first rows after {r.first_rows:.1f} s)"
            out.append(f"  stage {sec:8.1f} s  {name}{extra}")
        if self.backend != "postgresql":
            postgres = ""
        elif r.postgres_mb is None:
            postgres = "; PostgreSQL's memory not sampled (not on this machine)"
        else:
            postgres = (
                f"; PostgreSQL processes of this database {r.postgres_mb:,.0f} MB private at "
                "peak (sampled)"
            )
        how = "high-water mark" if r.hwm else "sampled"
        out.append(
            f"memory             peak {r.peak_mb:,.0f} MB resident in this process ({how}; "
            f"{r.before_mb:,.0f} MB before the recompute){postgres}"
        )
        out.append("quality            " + quality(r.metrics))
        return out

    def _verdicts(self) -> list[str]:
        r = self.recompute
        done = r.status == "done"
        figure = f"{r.seconds:.1f} s" + ("" if done else ", failed")
        out = [
            _verdict(
                f"full recompute < {RECOMPUTE_SECONDS:.0f} s",
                done and r.seconds < RECOMPUTE_SECONDS,
                figure,
            ),
            _verdict(
                f"memory < {MEMORY_MB / 1024:.0f} GB",
                done and r.peak_mb < MEMORY_MB,
                f"{r.peak_mb / 1024:.2f} GB peak in the process",
            ),
        ]
        timed = [d for d in self.dashboards if d.missing is None and d.ms]
        target = f"dashboard p99 < {DASHBOARD_P99_MS:.0f} ms"
        if not timed:
            out.append(_verdict(target, False, "not measured"))
        else:
            worst = max(timed, key=lambda d: percentile(d.ms, 99))
            p99 = percentile(worst.ms, 99)
            skipped = [d.path for d in self.dashboards if d.missing is not None]
            note = f"; not served: {', '.join(skipped)}" if skipped else ""
            out.append(
                _verdict(
                    target,
                    p99 < DASHBOARD_P99_MS,
                    f"worst GET {worst.path} {p99:.1f} ms of {len(timed)} timed{note}",
                )
            )
        return out


def _verdict(target: str, met: bool, figure: str) -> str:
    return f"target             {target}: {'met' if met else 'NOT MET'} ({figure})"


def quality(metrics: dict[str, Any]) -> str:
    """The run's own check of its models on data they did not see: the churn model's AUC
    beside recency alone, and the lifetime model's predicted repeat purchases over the
    holdout weeks beside the actual ones."""
    parts = []
    churn = metrics.get("churn")
    if isinstance(churn, dict) and churn.get("auc") is not None:
        base = churn.get("baseline_auc")
        rate = churn.get("churn_rate")
        parts.append(
            f"churn AUC {float(churn['auc']):.3f} on the later period (recency alone "
            + (f"{float(base):.3f}" if base is not None else "n/a")
            + ")"
            + (f", churn rate {float(rate):.1%}" if rate is not None else "")
        )
    elif isinstance(churn, dict):
        parts.append(f"churn not fitted ({churn.get('skipped', 'no figures')})")
    else:
        parts.append("churn: no figures")
    life = metrics.get("lifetime")
    if isinstance(life, dict) and life.get("error") is not None:
        predicted, actual = life.get("predicted") or [], life.get("actual") or []
        totals = (
            f"{float(predicted[-1]):,.0f} predicted, {float(actual[-1]):,.0f} actual, "
            if predicted and actual
            else ""
        )
        parts.append(
            f"lifetime value: holdout repeat purchases {totals}"
            f"error {float(life['error']):+.1%} ({life.get('customers', 0):,} customers)"
        )
    elif isinstance(life, dict):
        parts.append(f"lifetime value not checked ({life.get('skipped', 'no figures')})")
    else:
        parts.append("lifetime value: no figures")
    return "; ".join(parts)


# --- the data set --------------------------------------------------------------------------


def _sizes(factory: sessionmaker[Session], workspace_id: uuid.UUID) -> tuple[int, int, int]:
    with factory() as session:
        counts = [
            session.scalar(
                select(func.count()).select_from(model).where(model.workspace_id == workspace_id)
            )
            or 0
            for model in (Profile, Order, Event)
        ]
    return int(counts[0]), int(counts[1]), int(counts[2])


def _workspace(
    factory: sessionmaker[Session], name: str, customers: int, orders: int
) -> tuple[uuid.UUID, tuple[int, int, int]] | None:
    """The data set an earlier run kept (``--reuse``) when it holds the sizes asked for;
    one that does not (a load cut short) is renamed out of the way."""
    with factory() as session:
        row = session.scalars(select(Workspace).where(Workspace.name == name)).first()
        found = None if row is None else row.id
    if found is None:
        return None
    sizes = _sizes(factory, found)
    if sizes[:2] == (customers, orders):
        return found, sizes
    with transaction(factory) as session:
        stale = f"{name}-incomplete-{uuid.uuid4().hex[:6]}"
        session.execute(update(Workspace).where(Workspace.id == found).values(name=stale))
    return None


def vacuum(factory: sessionmaker[Session], tables: tuple[str, ...]) -> tuple[float, str]:
    """VACUUM (ANALYZE) of ``tables``, as autovacuum does after a bulk load."""
    return vacuum_analyze(factory, tables)


def _database(factory: sessionmaker[Session]) -> tuple[str, str | None]:
    """The server's version and settings that matter here, and the database's name (on
    PostgreSQL, to find its processes)."""
    with factory() as session:
        if session.get_bind().dialect.name != "postgresql":
            return "SQLite " + str(session.scalar(text("SELECT sqlite_version()"))), None
        row = session.execute(
            text(
                "SELECT split_part(current_setting('server_version'), ' ', 1), "
                "current_setting('shared_buffers'), "
                "current_setting('work_mem'), "
                "current_setting('max_parallel_workers_per_gather'), current_database()"
            )
        ).one()
    return (
        f"PostgreSQL {row[0]} (shared_buffers {row[1]}, work_mem {row[2]}, "
        f"max_parallel_workers_per_gather {row[3]})",
        str(row[4]),
    )


# --- the recompute -------------------------------------------------------------------------


def recompute(
    factory: sessionmaker[Session],
    workspace_id: uuid.UUID,
    database: str | None,
    stage: Stage,
    gc_threshold: int,
) -> Recompute:
    """A run requested (and committed) as the API does, then the job's work in this
    process, each stage timed from the progress the run reports."""
    with factory() as session:
        replaced = int(
            session.scalar(
                select(func.count())
                .select_from(CustomerScore)
                .where(CustomerScore.workspace_id == workspace_id)
            )
            or 0
        )
    with transaction(factory) as session:
        run, _ = service.request(session, workspace_id, "bench")
        run_id = run.id
    marks: list[tuple[str, float]] = []
    first_rows: list[float] = []

    def heard(said: str, share: float) -> None:
        now = time.perf_counter()
        name = said.split(":", 1)[0].strip()
        if not marks or marks[-1][0] != name:
            marks.append((name, now))
        if ":" in said and name.startswith("Reading") and not first_rows:
            first_rows.append(now - marks[-1][1])
        stage(said, share)

    gc.collect()
    tune_gc(gc_threshold)
    with Watch(database) as watch:
        t0 = time.perf_counter()
        tasks.recompute(factory, workspace_id, run_id, inputs=scoring_inputs(), progress=heard)
        t1 = time.perf_counter()
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    times = [("Starting", t0), *marks, ("", t1)]
    stages = [(name, end - start) for (name, start), (_, end) in pairwise(times)]
    with factory() as session:
        done = service.run_of(session, workspace_id, run_id)
        assert done is not None
        return Recompute(
            seconds=t1 - t0,
            status=done.status,
            error=done.error,
            people=done.people,
            customers=done.customers,
            stages=stages,
            first_rows=first_rows[0] if first_rows else None,
            replaced=replaced,
            metrics=dict(done.metrics or {}),
            peak_mb=watch.peak_mb,
            before_mb=watch.before_mb,
            postgres_mb=watch.postgres_mb,
            hwm=watch.reset,
        )


# --- the run -------------------------------------------------------------------------------


def run(
    factory: sessionmaker[Session],
    database_url: str,
    data_dir: Path,
    *,
    customers: int,
    orders: int,
    samples: int,
    reuse: bool,
    gc_threshold: int = 0,
    progress: Progress | None = None,
    stage: Stage | None = None,
) -> AnalyticsResult:
    if orders < customers:
        raise ValueError("every customer has an order: --orders must be at least --customers")
    tell = stage or (lambda said, share: None)
    migrate.upgrade(database_url)  # the indexes as the migrations define them
    name = f"{NAME}-{customers}-{orders}"
    found = _workspace(factory, name, customers, orders) if reuse else None
    seeded: Seeded | None = None
    if found is None:
        with transaction(factory) as session:
            provisioned = workspaces.create_workspace(
                session, name if reuse else f"{name}-{uuid.uuid4().hex[:6]}"
            )
            workspace_id, label = provisioned.workspace.id, provisioned.workspace.name
        seeded = Seeder(factory, workspace_id, progress).run(
            customers, orders, np.random.default_rng(7)
        )
        sizes = (customers, orders, seeded.events)
    else:
        workspace_id, sizes = found
        label = name
    tell("Vacuuming", 0.0)
    seconds, what = vacuum(factory, (*SEEDED_TABLES, "customer_scores"))
    flushed = checkpoint(factory)
    analyzed = f"{what} ({seconds:.0f} s)" + (
        f"; CHECKPOINT, so that the recompute finds the database at rest ({flushed:.0f} s)"
        if flushed is not None
        else ""
    )
    about, database = _database(factory)
    load_before = os.getloadavg()[0]
    done = recompute(factory, workspace_id, database, tell, gc_threshold)
    load_after = os.getloadavg()[0]
    result = AnalyticsResult(
        backend=database_url.split(":", 1)[0].split("+")[0],
        database=about,
        workspace=label,
        seeded=seeded,
        sizes=sizes,
        analyze=analyzed,
        recompute=done,
        gc_threshold=gc_threshold,
    )
    if done.status == "done":
        seconds, what = vacuum(factory, ("customer_scores",))
        result.after = (
            f"{what} after the recompute, as autovacuum would once the scores were "
            f"replaced ({seconds:.0f} s)"
        )
        result.dashboards, result.server_mb = dashboards(
            factory, database_url, data_dir, workspace_id, samples, tell
        )
    result.load = (load_before, load_after, os.getloadavg()[0])
    return result
