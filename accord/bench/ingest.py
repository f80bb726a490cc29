"""Ingest benchmark: events/s and request latency through ``/v1/batch`` on a server of its
own, the raw insert rate of the same rows written straight into the database (the limit),
how fast and how far behind resolution onto profiles follows, and the resolver's own rate
and CPU per event with nothing else running."""

from __future__ import annotations

import base64
import http.client
import json
import os
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from accord.bench.common import CpuMeter, PeakMemory, engine_of, percentile, server
from accord.bench.statements import timed_statements
from accord.collect import service as collect
from accord.collect.messages import parse_message
from accord.collect.models import Event
from accord.collect.repository import EventRepository
from accord.collect.service import to_row
from accord.govern.workspaces import service as workspaces
from accord.kit.db import transaction
from accord.kit.runtime import tune_gc
from accord.resolve.worker import drain

# Events resolved alone (at most; fewer when the run sends fewer): enough for the tables
# to grow as a busy workspace's do, where a statement's cost may grow with them.
ALONE_EVENTS = 200_000


@dataclass
class IngestResult:
    backend: str
    events: int
    concurrency: int
    batch_size: int
    seconds: float
    accepted_per_s: float
    p50_ms: float
    p99_ms: float
    raw_insert_per_s: float
    server_rss_mb: float
    cpu_us: dict[str, float]
    # None when only accepting was measured (--accept-only).
    resolved_per_s: float | None = None
    resolve_lag_s: float | None = None
    resolver_alone_per_s: float | None = None
    resolver_cpu_us: float | None = None
    # The resolver alone's time in the database per event, by statement (the costliest).
    resolver_statements: list[tuple[str, float, int]] = field(default_factory=list)
    resolver_db_us: float | None = None
    fresh_p50_ms: float | None = None
    fresh_max_ms: float | None = None

    def lines(self) -> list[str]:
        share = 100 * self.accepted_per_s / self.raw_insert_per_s if self.raw_insert_per_s else 0
        out = [
            f"backend            {self.backend}",
            f"events             {self.events} in batches of {self.batch_size}, "
            f"{self.concurrency} concurrent clients",
            f"accepted           {self.accepted_per_s:,.0f} events/s "
            f"({self.seconds:.1f} s; {share:.0f}% of the raw insert limit)",
            f"request latency    p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms",
            f"raw insert limit   {self.raw_insert_per_s:,.0f} rows/s",
        ]
        if self.resolved_per_s is None:
            out.append("resolved           not measured (--accept-only: the resolver was off)")
        else:
            out += [
                f"resolved           {self.resolved_per_s:,.0f} events/s onto profiles",
                f"resolution lag     {self.resolve_lag_s or 0:.1f} s after the last accept",
                f"resolver alone     {self.resolver_alone_per_s or 0:,.0f} events/s, "
                f"{self.resolver_cpu_us or 0:.0f} us of CPU per event "
                "(one thread, nothing else running)",
                f"  in the database  {self.resolver_db_us or 0:.0f} us per event, of which:",
                *(
                    f"    {us:5.1f} us  {name} ({runs} runs)"
                    for name, us, runs in self.resolver_statements
                ),
                f"freshness          p50 {self.fresh_p50_ms or 0:.0f} ms, "
                f"max {self.fresh_max_ms or 0:.0f} ms "
                "from a single event's 200 to its profile (normal load)",
            ]
        what = "sending" if self.resolved_per_s is None else "sending and resolving"
        out += [
            f"server memory      {self.server_rss_mb:,.0f} MB peak (all workers)",
            f"cpu per event      server {self.cpu_us.get('server', 0):.0f} us, "
            f"PostgreSQL {self.cpu_us.get('postgres', 0):.0f} us, "
            f"this client {self.cpu_us.get('client', 0):.0f} us "
            f"({what}; the machine's cores at 100% give "
            f"{self.cores * 1e6 / max(sum(self.cpu_us.values()), 1):,.0f} events/s)",
        ]
        return out

    @property
    def cores(self) -> int:
        return os.cpu_count() or 1


class Connections:
    """The load generator's HTTP client: one keep-alive connection per sending thread,
    from the standard library. It shares the machine's cores with the server and the
    database, so it spends as little CPU per request as it can (a full-featured client
    costs several times more)."""

    def __init__(self, url: str, write_key: str) -> None:
        parsed = urlsplit(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        token = base64.b64encode(f"{write_key}:".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}
        self._local = threading.local()
        self._opened: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def _connection(self, fresh: bool = False) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        return conn

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """POST a body; a kept-alive connection the server closed meanwhile is opened
        again and the body sent once more (the server deduplicates by messageId)."""
        for attempt in range(2):
            conn = self._connection(fresh=attempt > 0)
            try:
                conn.request("POST", path, body=body, headers=self.headers)
                response = conn.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def send_batch(self, body: bytes) -> float:
        """POST a ``/v1/batch`` body; the milliseconds until its answer. A refusal
        stops the run."""
        t0 = time.perf_counter()
        status, answer = self.post("/v1/batch", body)
        elapsed = (time.perf_counter() - t0) * 1000
        if status != 200:
            raise RuntimeError(f"batch refused: {status} {answer[:200]!r}")
        return elapsed

    def close(self) -> None:
        with self._lock:
            for conn in self._opened:
                conn.close()
            self._opened.clear()


def messages(n: int, seed: int = 11) -> list[dict[str, Any]]:
    """A mix like a shop's: page views, tracks, identifies, over a pool of people."""
    rng = random.Random(seed)
    people = max(n // 20, 10)
    run = uuid.uuid4().hex[:8]
    out = []
    for i in range(n):
        person = rng.randrange(people)
        anon = f"bench-anon-{run}-{person}"
        r = rng.random()
        msg: dict[str, Any] = {"messageId": f"bench-{run}-{i}", "anonymousId": anon}
        if r < 0.6:
            msg.update(type="page", name="/products", properties={"path": "/products"})
        elif r < 0.9:
            msg.update(type="track", event="Product Viewed", properties={"sku": f"S{i % 97}"})
        else:
            msg.update(
                type="identify",
                userId=f"bench-user-{run}-{person}",
                traits={"email": f"p{person}-{run}@bench.example", "firstName": "Bench"},
            )
        out.append(msg)
    return out


def raw_insert_rate(
    factory: sessionmaker[Session], msgs: list[dict[str, Any]], concurrency: int, batch_size: int
) -> float:
    """Rows/s written straight into ``events`` with the same rows, batches and
    concurrency as the API run (no HTTP, no validation), then removed."""
    with transaction(factory) as session:
        ws = workspaces.create_workspace(session, f"bench-raw-{uuid.uuid4().hex[:6]}").workspace
        workspace_id = ws.id
    now = datetime.now(UTC)
    rows = [
        to_row(
            workspace_id,
            "bench",
            parse_message(m, field="", received_at=now, region="US", forced_type=None),
        )
        for m in msgs
    ]

    def insert(chunk: list[dict[str, Any]]) -> None:
        with transaction(factory) as session:
            EventRepository.from_session(session).insert_new(chunk)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(insert, [rows[i : i + batch_size] for i in range(0, len(rows), batch_size)]))
    elapsed = time.perf_counter() - start
    with transaction(factory) as session:
        session.execute(delete(Event).where(Event.workspace_id == workspace_id))
    return len(rows) / elapsed


@dataclass
class Alone:
    """Resolution by itself: events/s, CPU and database microseconds per event, and the
    costliest statements (label, microseconds per event, runs)."""

    per_s: float
    cpu_us: float
    db_us: float
    statements: list[tuple[str, float, int]]


def accept_all(
    factory: sessionmaker[Session],
    workspace_id: uuid.UUID,
    msgs: list[dict[str, Any]],
    each: Callable[[int, int], None] | None = None,
) -> None:
    """The messages accepted straight into the workspace (no HTTP), 100 a transaction;
    ``each(accepted so far, accepted now)`` after each transaction."""
    now = datetime.now(UTC)
    for i in range(0, len(msgs), 100):
        chunk = msgs[i : i + 100]
        with transaction(factory) as session:
            collect.accept(
                session,
                workspace_id=workspace_id,
                source="bench",
                region="US",
                messages=chunk,
                received_at=now,
            )
        if each is not None:
            each(i + len(chunk), len(chunk))


def resolver_alone(
    factory: sessionmaker[Session], msgs: list[dict[str, Any]], gc_threshold: int
) -> Alone:
    """Resolution by itself: the events are accepted straight into a workspace of their
    own (no HTTP), then resolved by one thread, as the resolver worker does, with no
    server running; each statement's time is noted. The cycle collector is tuned as in
    the resolver's process (``tune_gc``), which also sets aside what this process holds
    (the run's messages and bodies) from its walks."""
    with transaction(factory) as session:
        ws = workspaces.create_workspace(session, f"bench-resolve-{uuid.uuid4().hex[:6]}").workspace
        workspace_id = ws.id
    accept_all(factory, workspace_id, msgs)
    return drained_alone(factory, gc_threshold)[1]


def drained_alone(factory: sessionmaker[Session], gc_threshold: int) -> tuple[int, Alone]:
    """Everything pending resolved by this thread alone, as the resolver worker does, the
    cycle collector tuned as in its process (``tune_gc``) and each statement's time
    noted; returns how many events were resolved, and the figures."""
    tune_gc(gc_threshold)
    with timed_statements(engine_of(factory)) as times:
        start, cpu = time.perf_counter(), time.thread_time()
        done = drain(factory)
        elapsed, used = time.perf_counter() - start, time.thread_time() - cpu
    per = 1e6 / max(done, 1)
    return done, Alone(
        per_s=done / elapsed,
        cpu_us=used * per,
        db_us=times.seconds * per,
        statements=[(name, t.seconds * per, t.runs) for name, t in times.top(6)],
    )


def freshness(
    client: httpx.Client,
    url: str,
    factory: sessionmaker[Session],
    workspace_id: uuid.UUID,
    samples: int = 20,
) -> list[float]:
    """Milliseconds from a lone event's acknowledgement until its person reflects it."""
    out = []
    run = uuid.uuid4().hex[:8]
    for i in range(samples):
        message_id = f"fresh-{run}-{i}"
        client.post(
            f"{url}/v1/identify",
            json={
                "messageId": message_id,
                "userId": f"fresh-{run}-{i}",
                "traits": {"email": f"fresh{i}-{run}@bench.example"},
            },
        ).raise_for_status()
        acked = time.perf_counter()
        while True:
            with factory() as session:
                status = session.scalar(
                    select(Event.status).where(
                        Event.workspace_id == workspace_id, Event.message_id == message_id
                    )
                )
            if status == "resolved":
                break
            if time.perf_counter() - acked > 30:
                raise RuntimeError("an event was not resolved within 30 s")
            time.sleep(0.005)
        out.append((time.perf_counter() - acked) * 1000)
        time.sleep(0.1)
    return out


def oldest_pending(
    factory: sessionmaker[Session], workspace_id: uuid.UUID, floor: uuid.UUID | None = None
) -> uuid.UUID | None:
    """The workspace's oldest event left to resolve, from ``floor`` on (None: none left).

    One probe of the pending index, where counting every fifth of a second would take
    CPU from the resolver. Its entries for events resolved since the table was last
    vacuumed stay in the index until then, oldest first, and a probe from the start
    steps over them all; once the load has stopped no event older than one still
    pending can arrive, so a caller that waits passes the last one found as ``floor``."""
    with factory() as session:
        return EventRepository.from_session(session).oldest_pending(workspace_id, floor)


def wait_resolved(
    factory: sessionmaker[Session], workspace_id: uuid.UUID, every: float = 0.05
) -> None:
    """Wait until every event of the workspace sent so far is resolved, looking every
    ``every`` seconds."""
    floor = oldest_pending(factory, workspace_id)
    while floor is not None:
        time.sleep(every)
        floor = oldest_pending(factory, workspace_id, floor)


def run(
    factory: sessionmaker[Session],
    database_url: str,
    data_dir: Path,
    *,
    events: int,
    concurrency: int,
    batch_size: int,
    workers: int,
    accept_only: bool = False,
    gc_threshold: int = 0,
    progress: Any = None,
) -> IngestResult:
    with transaction(factory) as session:
        provisioned = workspaces.create_workspace(session, f"bench-{uuid.uuid4().hex[:6]}")
    workspace_id = provisioned.workspace.id
    msgs = messages(events)
    # Bodies are encoded before the clock starts, as a load generator does: the client
    # shares the machine's cores with the server and the database.
    bodies = [
        (json.dumps({"batch": msgs[i : i + batch_size]}).encode(), len(msgs[i : i + batch_size]))
        for i in range(0, len(msgs), batch_size)
    ]
    latencies: list[float] = []
    lock = threading.Lock()
    # Accept only: the server's resolver is off, so what is measured is accepting alone.
    extra_env = {"ACCORD_RESOLVE_WORKER": "false"} if accept_only else None
    with server(database_url, data_dir, workers, extra_env) as (url, pid):
        connections = Connections(url, provisioned.write_key)

        def send(body: bytes, count: int) -> None:
            elapsed = connections.send_batch(body)
            with lock:
                latencies.append(elapsed)
            if progress:
                progress(count)

        meter = CpuMeter(pid)
        with PeakMemory(pid) as memory:
            meter.start()
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                for future in [pool.submit(send, b, n) for b, n in bodies]:
                    future.result()
            accepted_at = time.perf_counter()
            seconds = accepted_at - start
            if not accept_only:
                wait_resolved(factory, workspace_id, every=0.2)
            resolved_at = time.perf_counter()
            meter.stop()
        connections.close()
        peak = memory.peak
        client = httpx.Client(auth=(provisioned.write_key, ""), timeout=60)
        fresh = [] if accept_only else freshness(client, url, factory, workspace_id)
        client.close()
    if accept_only:  # nothing left pending for a later run's resolver to pick up
        with transaction(factory) as session:
            session.execute(delete(Event).where(Event.workspace_id == workspace_id))
    # The limit over as many rows as the run sent (up to 100,000): a short measurement
    # varies with what the database happens to be doing (a checkpoint, say).
    raw = raw_insert_rate(factory, messages(min(events, 100_000), seed=12), concurrency, batch_size)
    accepted = IngestResult(
        backend=database_url.split(":", 1)[0].split("+")[0],
        events=events,
        concurrency=concurrency,
        batch_size=batch_size,
        seconds=seconds,
        accepted_per_s=events / seconds,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        raw_insert_per_s=raw,
        server_rss_mb=peak,
        cpu_us={k: v / events * 1e6 for k, v in meter.used.items()},
    )
    if accept_only:
        return accepted
    alone = resolver_alone(factory, messages(min(events, ALONE_EVENTS), seed=13), gc_threshold)
    return replace(
        accepted,
        resolved_per_s=events / (resolved_at - start),
        resolve_lag_s=resolved_at - accepted_at,
        resolver_alone_per_s=alone.per_s,
        resolver_cpu_us=alone.cpu_us,
        resolver_db_us=alone.db_us,
        resolver_statements=alone.statements,
        fresh_p50_ms=percentile(fresh, 50),
        fresh_max_ms=max(fresh),
    )
