"""Segments benchmark, on the privacy benchmark's data set (people with traits,
identifiers, skewed events over two years, orders, consent, conversations):

- the full build of 20 typical segments, one after another, each in its transaction;
- the builder's size estimate (count and a sample of ten) of each, p50/p99;
- real-time membership latency: ``accord serve`` (its resolver and job consumers) gets
  "Bench Ping" events for distinct people at a steady rate over HTTP; each person then
  enters a segment of pinged people. The latency of one event is the time from its
  acceptance (its ``received_at``) to its person's entry (the change's time), both read
  back from the database."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from accord.analyze.acquisition import touches
from accord.analyze.segments import queries, service
from accord.analyze.segments.models import SegmentChange
from accord.analyze.segments.repository import SegmentRepository
from accord.bench.common import percentile, server
from accord.bench.ingest import Connections
from accord.bench.privacy import analyze, checkpoint
from accord.bench.privacy_people import Progress, Seeded, user_id_of
from accord.bench.privacy_seed import Seeder
from accord.collect.models import Event
from accord.govern.access import service as access
from accord.govern.access.principal import Principal
from accord.govern.workspaces import service as workspaces
from accord.govern.workspaces.models import Workspace
from accord.jobs import segment_engine
from accord.kit.db import transaction
from accord.kit.time import utcnow
from accord.profile.models import Profile

NAME = "bench-segments"
BUILD_SECONDS = 60.0
LATENCY_P99_S = 1.0
ESTIMATE_P99_S = 1.0
PING = "Bench Ping"

EU = ["DE", "FR", "NL", "ES"]
TYPICAL: list[tuple[str, dict[str, Any]]] = [
    ("Pro plan", {"kind": "trait", "field": "plan", "op": "eq", "value": "pro"}),
    ("In the EU", {"kind": "location", "field": "country", "op": "in", "value": EU}),
    ("Lyon", {"kind": "location", "field": "city", "op": "eq", "value": "Lyon"}),
    ("Big spenders", {"kind": "value", "field": "revenue", "op": "gte", "value": 500}),
    ("Repeat buyers", {"kind": "value", "field": "order_count", "op": "gte", "value": 3}),
    (
        "Seen this month",
        {"kind": "value", "field": "last_seen_at", "op": "within_last", "value": 30},
    ),
    (
        "Browsing this week",
        {
            "kind": "event",
            "name": "Product Viewed",
            "count": {"op": "gte", "value": 3},
            "within": {"days": 7},
        },
    ),
    (
        "Lapsed buyers",
        {
            "kind": "all",
            "conditions": [
                {"kind": "value", "field": "order_count", "op": "gte", "value": 1},
                {
                    "kind": "event",
                    "name": "Order Completed",
                    "count": {"op": "eq", "value": 0},
                    "within": {"days": 90},
                },
            ],
        },
    ),
    (
        "Cart abandoners this week",
        {
            "kind": "sequence",
            "first": {"name": "Product Added"},
            "then": {"name": "Order Completed"},
            "within": {"hours": 1},
            "lookback": {"days": 7},
        },
    ),
    (
        "First-time buyers",
        {
            "kind": "all",
            "conditions": [
                {"kind": "value", "field": "order_count", "op": "eq", "value": 1},
                {"kind": "value", "field": "last_order_at", "op": "within_last", "value": 90},
            ],
        },
    ),
    (
        "Email marketing granted",
        {"kind": "consent", "channel": "email", "purpose": "marketing", "status": "granted"},
    ),
    (
        "Withdrew email marketing",
        {"kind": "consent", "channel": "email", "purpose": "marketing", "status": "withdrawn"},
    ),
    ("Has a phone", {"kind": "identifier", "type": "phone"}),
    (
        "Unhappy",
        {"kind": "service", "fact": "csat", "op": "lte", "value": 2, "within": {"days": 90}},
    ),
    ("Open conversation", {"kind": "service", "fact": "open_conversation"}),
    ("App users", {"kind": "value", "field": "preferred_channel", "op": "eq", "value": "app"}),
    ("High basket", {"kind": "value", "field": "average_order_value", "op": "gt", "value": 200}),
    (
        "Never ordered, browsing",
        {
            "kind": "all",
            "conditions": [
                {"kind": "value", "field": "order_count", "op": "eq", "value": 0},
                {"kind": "event", "name": "Product Viewed", "within": {"days": 30}},
            ],
        },
    ),
    (
        "EU big spenders, not pro",
        {
            "kind": "all",
            "conditions": [
                {"kind": "location", "field": "country", "op": "in", "value": EU},
                {"kind": "value", "field": "revenue", "op": "gte", "value": 300},
                {
                    "kind": "not",
                    "condition": {"kind": "trait", "field": "plan", "op": "eq", "value": "pro"},
                },
            ],
        },
    ),
    (
        "Checkout page this week",
        {
            "kind": "event",
            "name": "page",
            "where": [{"property": "path", "op": "eq", "value": "/cart"}],
            "within": {"days": 7},
        },
    ),
]


@dataclass
class Built:
    name: str
    seconds: float  # the first build: everyone enters, each entry recorded
    size: int
    again: float = 0.0  # the full rebuild of a built segment


@dataclass
class SegmentsResult:
    backend: str
    seeded: Seeded | None
    reused: bool
    analyze_seconds: float
    builds: list[Built]
    estimates: list[float]
    latencies: list[float] = field(default_factory=list)
    sent: int = 0
    missing: int = 0
    rate: float = 0.0
    seconds: float = 0.0
    achieved: float = 0.0
    rebuilt: bool = True  # False with --no-builds: no rebuild was timed
    touches_seconds: float | None = None  # the acquisition touches computed after loading
    slowest: dict[str, float] = field(default_factory=dict)  # each segment's slowest estimate

    def lines(self) -> list[str]:
        out = [f"backend            {self.backend}"]
        if self.seeded is not None:
            s = self.seeded
            out.append(
                f"data set           {s.profiles:,} profiles, {s.events:,} events"
                f" (loaded in {s.seconds:.0f} s)"
            )
        else:
            out.append("data set           reused from an earlier run (--reuse)")
        if self.touches_seconds is not None:
            out.append(f"touches            computed for everyone in {self.touches_seconds:.1f} s")
        out.append(f"analyze            {self.analyze_seconds:.1f} s")
        first = sum(b.seconds for b in self.builds)
        total = sum(b.again for b in self.builds)
        for b in self.builds:
            out.append(
                f"build {b.name:<28} first {b.seconds:6.2f} s, rebuild {b.again:6.2f} s"
                f"  {b.size:>9,} members"
            )
        if self.rebuilt:
            out.append(f"first build        {first:.1f} s for {len(self.builds)} segments")
            out.append(f"full rebuild       {total:.1f} s for {len(self.builds)} segments")
        else:
            out.append("full rebuild       not timed (--no-builds)")
        for name, took in sorted(self.slowest.items(), key=lambda x: -x[1])[:5]:
            out.append(f"slow estimate      {name:<28} {took * 1000:6.0f} ms at worst")
        est = [e * 1000 for e in self.estimates]
        out.append(
            f"size estimate      p50 {percentile(est, 50):.0f} ms,"
            f" p99 {percentile(est, 99):.0f} ms, max {max(est, default=0):.0f} ms"
            f" ({len(est)} estimates)"
        )
        lat = [x * 1000 for x in self.latencies]
        if self.sent:
            out.append(
                f"real time          {self.sent:,} events at {self.rate:,.0f}/s asked,"
                f" {self.achieved:,.0f}/s sent for {self.seconds:.0f} s;"
                f" {len(lat):,} memberships changed, {self.missing:,} not within 60 s"
            )
            out.append(
                f"latency            accepted -> membership changed:"
                f" p50 {percentile(lat, 50):.0f} ms, p99 {percentile(lat, 99):.0f} ms,"
                f" max {max(lat, default=0):.0f} ms"
            )
        if self.rebuilt:
            target = f"full rebuild of {len(self.builds)} segments < {BUILD_SECONDS:.0f} s"
            out.append(_verdict(target, total < BUILD_SECONDS, f"{total:.1f} s"))
        p99 = percentile(est, 99)
        target = f"size estimate p99 < {ESTIMATE_P99_S:.0f} s"
        out.append(_verdict(target, p99 < ESTIMATE_P99_S * 1000, f"{p99:.0f} ms"))
        if self.sent:
            lp99 = percentile(lat, 99) if lat else float("inf")
            ok = lp99 < LATENCY_P99_S * 1000 and self.missing == 0
            target = f"real-time latency p99 < {LATENCY_P99_S:.0f} s"
            out.append(_verdict(target, ok, f"{lp99:.0f} ms, {self.missing} missing"))
        return out


def _verdict(target: str, met: bool, figure: str) -> str:
    return f"target             {target}: {'met' if met else 'NOT MET'} ({figure})"


def _principal(workspace_id: uuid.UUID) -> Principal:
    return Principal.cli(workspace_id)


def _workspace(factory: sessionmaker[Session]) -> tuple[uuid.UUID, str, int] | None:
    """The data set an earlier run loaded (``--reuse``): its workspace, a new write key
    and how many people it has."""
    with transaction(factory) as session:
        row = session.scalars(select(Workspace).where(Workspace.name == NAME)).first()
        if row is None:
            return None
        _, write_key = access.create_key(
            session,
            workspace_id=row.id,
            kind="write",
            name=f"bench {uuid.uuid4().hex[:6]}",
            actor=Principal.cli(row.id),
        )
        people = session.scalar(
            select(func.count()).select_from(Profile).where(Profile.workspace_id == row.id)
        )
        return row.id, write_key, int(people or 0)


def run(
    factory: sessionmaker[Session],
    database_url: str,
    data_dir: Path,
    *,
    profiles: int,
    events: int,
    rate: int,
    seconds: int,
    rounds: int,
    reuse: bool,
    workers: int = 2,
    builds_too: bool = True,
    progress: Progress | None = None,
) -> SegmentsResult:
    found = _workspace(factory) if reuse else None
    seeded: Seeded | None = None
    if found is None:
        with transaction(factory) as session:
            provisioned = workspaces.create_workspace(
                session, NAME if reuse else f"{NAME}-{uuid.uuid4().hex[:6]}"
            )
            workspace_id, salt = provisioned.workspace.id, provisioned.workspace.privacy_salt
            write_key = provisioned.write_key
        seeder = Seeder(factory, workspace_id, salt, data_dir, progress)
        seeded = seeder.run(profiles, events, random.Random(7))
        # The loader writes rows straight into the tables; resolution would also have
        # kept each person's acquisition touches, which every later event then advances.
        started = time.perf_counter()
        touches.rebuild(factory, workspace_id)
        touches_seconds = time.perf_counter() - started
        known = seeded.profiles
    else:
        workspace_id, write_key, known = found
        touches_seconds = None
    analyze_seconds, _ = analyze(factory)
    checkpoint(factory)
    engine = segment_engine()
    builds: list[Built] = []
    saved: list[tuple[uuid.UUID, dict[str, Any]]] = []
    for name, definition in TYPICAL:
        with transaction(factory) as session:
            repo = SegmentRepository.from_session(session)
            row = repo.by_name(workspace_id, name)
            if row is None:
                row = service.save(
                    session,
                    workspace_id,
                    name=name,
                    definition=definition,
                    description=None,
                    actor=_principal(workspace_id),
                )
            if not builds_too:
                saved.append((row.id, definition))
                continue
            t = time.perf_counter()
            service.build(session, engine, row)
            session.flush()
        builds.append(Built(name, time.perf_counter() - t, row.size))
        saved.append((row.id, definition))
    # The full rebuild: every segment evaluated for everyone again, as a nightly batch
    # would (here nothing changed meanwhile, so it is the cost of evaluating alone).
    for built, (segment_id, _definition) in zip(builds, saved, strict=True) if builds_too else ():
        t = time.perf_counter()
        with transaction(factory) as session:
            row = SegmentRepository.from_session(session).get(workspace_id, segment_id)
            assert row is not None
            service.build(session, engine, row, cause="rebuild")
        built.again = time.perf_counter() - t
    estimates: list[float] = []
    slowest: dict[str, float] = {}
    for _ in range(rounds):
        for (name, _), (_sid, definition) in zip(TYPICAL, saved, strict=True):
            with factory() as session:
                got = queries.estimate(session, engine, workspace_id, definition, sample=10)
            estimates.append(got.millis / 1000)
            slowest[name] = max(slowest.get(name, 0.0), got.millis / 1000)
    result = SegmentsResult(
        backend=database_url.split(":", 1)[0].split("+")[0],
        seeded=seeded,
        reused=found is not None,
        analyze_seconds=analyze_seconds,
        touches_seconds=touches_seconds,
        builds=builds,
        estimates=estimates,
        rebuilt=builds_too,
        slowest=slowest,
    )
    if rate and seconds:
        realtime(
            factory,
            database_url,
            data_dir,
            workspace_id,
            write_key,
            known,
            rate,
            seconds,
            workers,
            result,
        )
    return result


def realtime(
    factory: sessionmaker[Session],
    database_url: str,
    data_dir: Path,
    workspace_id: uuid.UUID,
    write_key: str,
    people: int,
    rate: int,
    seconds: int,
    workers: int,
    result: SegmentsResult,
) -> None:
    run_id = uuid.uuid4().hex[:8]
    with transaction(factory) as session:
        pinged = service.save(
            session,
            workspace_id,
            name=f"Pinged {run_id}",
            definition={
                "kind": "event",
                "name": PING,
                "where": [{"property": "run", "op": "eq", "value": run_id}],
            },
            description=None,
            actor=_principal(workspace_id),
        )
        segment_id = pinged.id
    total = min(rate * seconds, people)
    chosen = random.Random(5).sample(range(people), total)
    tick = 0.1
    per_tick = max(1, round(rate * tick))
    batches = [chosen[i : i + per_tick] for i in range(0, total, per_tick)]
    started = utcnow()
    with server(database_url, data_dir, workers) as (url, _pid):
        conns = Connections(url, write_key)
        t0 = time.perf_counter()
        sent = 0

        def send(batch: list[int], n: int) -> None:
            now = utcnow().isoformat()
            body = json.dumps(
                {
                    "batch": [
                        {
                            "type": "track",
                            "userId": user_id_of(k),
                            "event": PING,
                            "messageId": f"ping-{run_id}-{k}",
                            "properties": {"run": run_id},
                            "timestamp": now,
                        }
                        for k in batch
                    ]
                }
            ).encode()
            status, _ = conns.post("/v1/batch", body)
            if status != 200:
                raise RuntimeError(f"the server answered {status}")

        threads: list[threading.Thread] = []
        for i, batch in enumerate(batches):
            due = t0 + i * tick
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            th = threading.Thread(target=send, args=(batch, i))
            th.start()
            threads.append(th)
            sent += len(batch)
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - t0
        # Wait for the last memberships (at most a minute).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with factory() as session:
                done = (
                    session.scalar(
                        select(func.count())
                        .select_from(SegmentChange)
                        .where(SegmentChange.segment_id == segment_id)
                    )
                    or 0
                )
            if done >= sent:
                break
            time.sleep(0.5)
    with factory() as session:
        entered = dict(
            session.execute(
                select(SegmentChange.profile_id, SegmentChange.at).where(
                    SegmentChange.segment_id == segment_id, SegmentChange.kind == "entered"
                )
            ).all()
        )
        accepted = session.execute(
            select(Event.profile_id, Event.received_at).where(
                Event.workspace_id == workspace_id,
                Event.name == PING,
                Event.received_at >= started - timedelta(seconds=1),
                Event.message_id.like(f"ping-{run_id}-%"),
            )
        ).all()
    lat = [(entered[p] - at).total_seconds() for p, at in accepted if p in entered]
    result.latencies = lat
    result.sent = sent
    result.missing = sent - len(lat)
    result.rate = rate
    result.seconds = elapsed
    result.achieved = sent / elapsed if elapsed else 0.0
