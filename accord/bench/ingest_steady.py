"""Steady-load ingest: events sent at a fixed rate for a fixed time through ``/v1/batch``,
as a busy site sends them, and whether resolution onto profiles keeps up: the events/s
resolved while the load lasts, how long after its acknowledgement an event shows on its
person (freshness), and how far behind resolution is when the load stops (lag)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, sessionmaker

from accord.analyze.acquisition.models import TouchBacklog
from accord.bench.common import CpuMeter, PeakMemory, core_speed, percentile, server
from accord.bench.ingest import Connections, messages, wait_resolved
from accord.collect.models import Event
from accord.govern.workspaces import service as workspaces
from accord.kit.db import transaction
from accord.kit.dialect import each_of

PROBE_EVERY_S = 0.25  # one probe event (a new person's identify) per quarter second


@dataclass
class SteadyResult:
    backend: str
    rate: float
    seconds: float
    concurrency: int
    batch_size: int
    sent: int
    send_seconds: float
    p50_ms: float
    p99_ms: float
    resolved_during: int
    backlog_at_end: int
    lag_s: float
    touches_waiting: int
    touches_lag_s: float
    fresh_p50_ms: float
    fresh_p99_ms: float
    probes: int
    slowest: list[tuple[float, float]]
    server_rss_mb: float
    cpu_us: dict[str, float]
    roles_us: dict[str, float]
    # ``core_speed`` before the load and once it has all been resolved and followed.
    speed_s: tuple[float, float] = (0.0, 0.0)

    def lines(self) -> list[str]:
        return [
            f"backend            {self.backend}",
            f"steady load        {self.rate:,.0f} events/s asked for {self.seconds:.0f} s, "
            f"batches of {self.batch_size}, {self.concurrency} concurrent clients",
            f"accepted           {self.sent / self.send_seconds:,.0f} events/s "
            f"({self.sent:,} events in {self.send_seconds:.1f} s)",
            f"request latency    p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms",
            f"resolved           {self.resolved_during / self.send_seconds:,.0f} events/s "
            "onto profiles while the load lasted",
            f"freshness          p50 {self.fresh_p50_ms:,.0f} ms, p99 {self.fresh_p99_ms:,.0f} ms "
            f"from an event's 200 to its profile ({self.probes} probe events in the stream)",
            "slowest probes     "
            + ", ".join(f"{ms:,.0f} ms sent at {at:.1f} s" for ms, at in self.slowest),
            f"lag at the end     {self.lag_s:.1f} s to resolve the {self.backlog_at_end:,} "
            "events still pending when the load stopped",
            f"touches followed   {self.touches_waiting:,} resolved batches waiting for their "
            f"acquisition touches when the load stopped, all advanced {self.touches_lag_s:.1f} s "
            "after",
            f"server memory      {self.server_rss_mb:,.0f} MB peak (all workers and the resolver)",
            f"cpu per event      server {self.cpu_us.get('server', 0):.0f} us, "
            f"PostgreSQL {self.cpu_us.get('postgres', 0):.0f} us, "
            f"this client {self.cpu_us.get('client', 0):.0f} us",
            f"server's share     API {self.roles_us.get('api', 0):.0f} us, "
            f"resolver {self.roles_us.get('resolver', 0):.0f} us, "
            f"jobs (the touches) {self.roles_us.get('jobs', 0):.0f} us per event",
            f"machine speed      ten million additions in Python took {self.speed_s[0]:.2f} s "
            f"before the load, {self.speed_s[1]:.2f} s after (compare runs at like speeds)",
        ]


class Probes:
    """Probe events sent within the stream, and when each was resolved: a thread looks
    up the oldest ``WATCHED`` unresolved ones by message id every 20 ms. Events are
    resolved in the order of their ids, made as they are accepted, so a probe is never
    resolved before the ones sent seconds earlier; a look at every waiting probe (240
    while resolution trails a minute behind) was work for the machine under
    measurement, 50 times a second."""

    WATCHED = 16

    def __init__(self, factory: sessionmaker[Session], workspace_id: uuid.UUID) -> None:
        self.factory = factory
        self.workspace_id = workspace_id
        self.acked: dict[str, float] = {}
        self.fresh_ms: list[float] = []
        self.sent_at: list[float] = []  # when each of ``fresh_ms`` was acknowledged
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> Probes:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wait(timeout=120)
        self._stop.set()
        self._thread.join(timeout=10)

    def sent(self, message_id: str) -> None:
        with self._lock:
            self.acked[message_id] = time.perf_counter()

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self.acked:
                    return
            time.sleep(0.05)

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            with self._lock:
                waiting = list(islice(self.acked, self.WATCHED))  # the oldest sent
            if not waiting:
                continue
            with self.factory() as session:
                # Each probe through the unique index, however many wait (``IN`` with
                # many values let a table never analyzed be read through, every 20 ms,
                # on the machine under measurement).
                done = session.scalars(
                    each_of(
                        session,
                        Event.message_id,
                        waiting,
                        lambda one: select(Event.message_id).where(
                            Event.workspace_id == self.workspace_id,
                            one,
                            Event.status == "resolved",
                        ),
                    )
                ).all()
            now = time.perf_counter()
            with self._lock:
                for message_id in done:
                    acked = self.acked.pop(message_id, None)
                    if acked is not None:
                        self.fresh_ms.append((now - acked) * 1000)
                        self.sent_at.append(acked)

    def slowest(self, start: float, n: int = 5) -> list[tuple[float, float]]:
        """The ``n`` slowest probes: how long each took (ms) and when it was sent (seconds
        into the load), slowest first."""
        timed = sorted(zip(self.fresh_ms, self.sent_at, strict=True), reverse=True)[:n]
        return [(ms, at - start) for ms, at in timed]


def _count(factory: sessionmaker[Session], *where: ColumnElement[bool]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).where(*where)) or 0)


def _touches_waiting(factory: sessionmaker[Session], workspace_id: uuid.UUID) -> int:
    return _count(factory, TouchBacklog.workspace_id == workspace_id)


def _pending(factory: sessionmaker[Session], workspace_id: uuid.UUID) -> int:
    return _count(factory, Event.workspace_id == workspace_id, Event.status == "pending")


def run(
    factory: sessionmaker[Session],
    database_url: str,
    data_dir: Path,
    *,
    rate: float,
    seconds: float,
    concurrency: int,
    batch_size: int,
    workers: int,
    progress: Any = None,
) -> SteadyResult:
    with transaction(factory) as session:
        provisioned = workspaces.create_workspace(session, f"bench-steady-{uuid.uuid4().hex[:6]}")
    workspace_id = provisioned.workspace.id
    total = int(rate * seconds)
    msgs = messages(total)
    run_id = uuid.uuid4().hex[:8]
    interval = batch_size / rate
    probe_every = max(1, round(PROBE_EVERY_S / interval))
    bodies: list[tuple[bytes, int, str | None]] = []
    for k, i in enumerate(range(0, total, batch_size)):
        batch = msgs[i : i + batch_size]
        probe = None
        if k % probe_every == 0:
            probe = f"probe-{run_id}-{k}"
            batch = [
                *batch[:-1],
                {
                    "type": "identify",
                    "messageId": probe,
                    "userId": f"probe-{run_id}-{k}",
                    "traits": {"email": f"probe{k}-{run_id}@bench.example"},
                },
            ]
        bodies.append((json.dumps({"batch": batch}).encode(), len(batch), probe))
    latencies: list[float] = []
    lock = threading.Lock()
    speed_before = core_speed()
    with server(database_url, data_dir, workers) as (url, pid):
        connections = Connections(url, provisioned.write_key)
        with Probes(factory, workspace_id) as probes:

            def send(body: bytes, count: int, probe: str | None) -> None:
                elapsed = connections.send_batch(body)
                if probe:
                    probes.sent(probe)
                with lock:
                    latencies.append(elapsed)
                if progress:
                    progress(count)

            meter = CpuMeter(pid)
            with PeakMemory(pid) as memory:
                meter.start()
                start = time.perf_counter()
                futures: list[Future[None]] = []
                with ThreadPoolExecutor(max_workers=concurrency) as pool:
                    for k, (body, count, probe) in enumerate(bodies):
                        due = start + k * interval
                        wait = due - time.perf_counter()
                        if wait > 0:
                            time.sleep(wait)
                        futures.append(pool.submit(send, body, count, probe))
                    for future in futures:
                        future.result()
                # The load lasts its batches' intervals: the last one's included.
                time.sleep(max(0.0, start + len(bodies) * interval - time.perf_counter()))
                ended = time.perf_counter()
                backlog = _pending(factory, workspace_id)
                touches_waiting = _touches_waiting(factory, workspace_id)
                wait_resolved(factory, workspace_id)
                caught_up = time.perf_counter()
                # The touches follow resolution in jobs: the CPU counts them too.
                deadline = time.monotonic() + 300
                while _touches_waiting(factory, workspace_id) and time.monotonic() < deadline:
                    time.sleep(0.05)
                touches_followed = time.perf_counter()
                meter.stop()
                speed_after = core_speed()
        connections.close()
        peak = memory.peak
    sent = sum(count for _, count, _ in bodies)
    return SteadyResult(
        backend=database_url.split(":", 1)[0].split("+")[0],
        rate=rate,
        seconds=seconds,
        concurrency=concurrency,
        batch_size=batch_size,
        sent=sent,
        send_seconds=ended - start,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        resolved_during=sent - backlog,
        backlog_at_end=backlog,
        lag_s=caught_up - ended,
        touches_waiting=touches_waiting,
        touches_lag_s=touches_followed - ended,
        fresh_p50_ms=percentile(probes.fresh_ms, 50),
        fresh_p99_ms=percentile(probes.fresh_ms, 99),
        probes=len(probes.fresh_ms),
        slowest=probes.slowest(start),
        server_rss_mb=peak,
        cpu_us={k: v / max(sent, 1) * 1e6 for k, v in meter.used.items()},
        roles_us={k: v / max(sent, 1) * 1e6 for k, v in meter.roles.items()},
        speed_s=(speed_before, speed_after),
    )
