"""Journeys benchmark (``accord bench journeys``): N people waiting in a journey whose
timers all end at the same moment, on the real job engine.

The people are seeded directly as entries already waiting at the journey's first wait
(the moment of entering is not what is measured), and the database is left as some time
after the load (vacuumed, analyzed, checkpointed: ``common.settle``). While they wait,
the CPU used by this process (with its job consumer running) and by the database is
measured over an idle stretch. When the wait ends, the job engine's scheduled
``journeys.advance`` takes each person's next steps: the email is queued on the send
queue (not sent: sending is ``accord bench send``) and the next wait begins. The latency
of a person's step is the time from the end of their wait until their step has
committed, read by watching how many are still due (every 50 ms, counted only as far as
the next mark needs): p50, p99 and the last, against the target (every step within
5 s)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from accord.bench.common import cpu_of, cpu_since, postgres_pids, settle
from accord.bench.send import _memory, seed
from accord.config import Settings
from accord.govern.access.principal import Principal
from accord.jobs import build
from accord.kit.db import transaction
from accord.kit.ids import new_id
from accord.kit.time import utcnow
from accord.outreach.journeys import service
from accord.outreach.journeys import tasks as journey_tasks
from accord.outreach.journeys.models import JourneyEntry
from accord.outreach.journeys.repository import JourneyRepository
from accord.outreach.models import Send
from accord.profile.models import Profile

TARGET_S = 5.0
DEFINITION = {
    "trigger": {"kind": "manual"},
    "steps": [
        {"id": "wait", "kind": "wait", "seconds": 3600},
        {
            "id": "reminder",
            "kind": "email",
            "subject": "{{ person.first_name }}, you left something behind",
            "text": "Your cart: https://shop.example/cart",
        },
        {"id": "later", "kind": "wait", "seconds": 86400},
        {"id": "second", "kind": "email", "subject": "Still?", "text": "https://shop.example"},
    ],
}


@dataclass
class JourneysResult:
    people: int
    idle_seconds: float = 0.0
    idle_cpu_process: float = 0.0
    idle_cpu_db: float = 0.0
    p50: float = 0.0
    p99: float = 0.0
    last: float = 0.0
    queued: int = 0
    cpu_process: float = 0.0
    cpu_db: float = 0.0
    rss_mb: float = 0.0

    def lines(self) -> list[str]:
        met = self.last < TARGET_S
        return [
            f"people waiting: {self.people:,}",
            f"while they wait ({self.idle_seconds:.0f} s): CPU {self.idle_cpu_process:.1%} of a "
            f"core for this process with its job consumer, {self.idle_cpu_db:.1%} for the database",
            f"their timers end together: steps taken p50 {self.p50:.2f} s, p99 {self.p99:.2f} s, "
            f"all {self.last:.2f} s after (target: all within {TARGET_S:.0f} s: "
            f"{'MET' if met else 'NOT MET'})",
            f"emails queued: {self.queued:,}; CPU meanwhile: this process "
            f"{self.cpu_process:.1f} s, the database {self.cpu_db:.1f} s",
            f"memory: {self.rss_mb:.0f} MB resident",
        ]


def run(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    people: int,
    idle: float,
    lead: float,
    progress: Callable[[int], None],
) -> JourneysResult:
    result = JourneysResult(people=people)
    workspace_id, _ = seed(factory, people, 9, settings.resolved_secret_key)
    actor = Principal.cli(workspace_id)
    with transaction(factory) as session:
        journey = service.create(session, actor, name="Cart (bench)", definition=DEFINITION)
        service.publish(session, actor, journey.id)
        journey_id = journey.id
        ids = list(session.scalars(select(Profile.id).where(Profile.workspace_id == workspace_id)))
    settle(factory)
    # Time to write and settle the entries before the idle stretch begins.
    setup = 10.0 + people / 10_000
    fire_at = utcnow() + timedelta(seconds=setup + idle + lead)
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {
            "id": new_id(),
            "workspace_id": workspace_id,
            "journey_id": journey_id,
            "version": 1,
            "profile_id": pid,
            "status": "waiting",
            "step": "reminder",
            "wake_at": fire_at,
            "waiting_for": None,
            "holdout": False,
            "entered_at": now,
            "finished_at": None,
            "reason": None,
            "context": {},
        }
        for pid in ids
    ]
    with transaction(factory) as session:
        repo = JourneyRepository.from_session(session)
        for i in range(0, len(rows), 10_000):
            repo.add_entries(rows[i : i + 10_000])
    del rows
    settle(factory, ("journey_entries",))
    jobs, _ = build(settings, factory)
    jobs.start()
    try:
        journey_tasks.wiring(jobs.enqueue).wake(workspace_id, fire_at)
        time.sleep(max(lead / 2, fire_at.timestamp() - time.time() - idle - lead / 2))
        db = postgres_pids()
        before_db, before = cpu_of(db), time.process_time()
        started = time.perf_counter()
        time.sleep(idle)
        result.idle_seconds = time.perf_counter() - started
        result.idle_cpu_process = (time.process_time() - before) / result.idle_seconds
        result.idle_cpu_db = cpu_since(before_db, cpu_of(postgres_pids())) / result.idle_seconds
        before_db, before = cpu_of(postgres_pids()), time.process_time()
        marks: dict[str, float] = {}
        shown = 0
        time.sleep(max(0.0, fire_at.timestamp() - time.time()))
        while (since := time.time() - fire_at.timestamp()) < 120:
            # Counted only as far as the next mark needs: counting every due person
            # would load the database being measured.
            cap = people // 2 + 1 if "p50" not in marks else people // 100 + 1
            due = _still_due(factory, journey_id, fire_at, cap if "p99" not in marks else 1)
            if due < cap:
                progress(people - due - shown)
                shown = people - due
            if due <= people // 2 and "p50" not in marks:
                marks["p50"] = since
            if due <= people // 100 and "p99" not in marks:
                marks["p99"] = since
            if due == 0:
                marks["last"] = since
                break
            time.sleep(0.05)
        result.p50 = marks.get("p50", float("inf"))
        result.p99 = marks.get("p99", float("inf"))
        result.last = marks.get("last", float("inf"))
        result.cpu_process = time.process_time() - before
        result.cpu_db = cpu_since(before_db, cpu_of(postgres_pids()))
        with transaction(factory) as session:
            result.queued = int(
                session.scalar(select(func.count()).where(Send.journey_id == journey_id)) or 0
            )
        result.rss_mb = _memory()[0]
    finally:
        jobs.close()
    return result


def _still_due(
    factory: sessionmaker[Session], journey_id: uuid.UUID, fire_at: datetime, cap: int
) -> int:
    """How many people's step is still to be taken, counted up to ``cap``."""
    with transaction(factory) as session:
        due = (
            select(JourneyEntry.id)
            .where(
                JourneyEntry.journey_id == journey_id,
                JourneyEntry.status == "waiting",
                JourneyEntry.wake_at <= fire_at,
            )
            .limit(cap)
            .subquery()
        )
        return int(session.scalar(select(func.count()).select_from(due)) or 0)
