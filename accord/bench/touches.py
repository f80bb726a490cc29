"""`accord bench touches`: the acquisition touches that follow resolution, alone.

A stream of events is accepted (batches of 100) and resolved (batches of 2,000) with
each batch's change kept in the backlog, as the resolver process keeps them; then the
job that follows them (``acquisition.follow``) runs once over the whole backlog, timed:
its CPU and, on a local PostgreSQL, the database's (its processes' CPU read from
/proc). Two mixes of events:

- ``site``: page views with the context a browser's tracking sends, most of them reached
  from another page of the site (6% from a search engine, 2% tagged with a campaign),
  tracks and identifies with the same context;
- ``bench``: the mix of `accord bench ingest` (``ingest.messages``), where every page
  view is direct, and so a touch."""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from accord.analyze.acquisition import tasks, touches
from accord.analyze.acquisition.models import TouchBacklog
from accord.bench.common import cpu_of, cpu_since, postgres_pids
from accord.bench.ingest import accept_all, messages
from accord.govern.workspaces import service as workspaces
from accord.kit import changes
from accord.kit.db import transaction
from accord.resolve.worker import drain

SHOP = "https://shop.example"
MIXES = ("site", "bench")


def site_messages(n: int, seed: int = 3) -> list[dict[str, Any]]:
    """A site's stream: 60% page views, 30% tracks, 10% identifies, over ``n // 20``
    visitors; of the pages, 92% reached from another page of the site."""
    rng = random.Random(seed)
    people = max(n // 20, 10)
    base = datetime(2026, 11, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        person = rng.randrange(people)
        r = rng.random()
        page: dict[str, Any] = {"path": "/p", "url": f"{SHOP}/p{i % 50}", "title": "P"}
        if r < 0.06:
            page["referrer"] = "https://www.google.com/"
        elif r < 0.08:
            page["url"] = f"{SHOP}/?utm_source=news&utm_medium=email"
        else:
            page["referrer"] = f"{SHOP}/p{(i + 1) % 50}"
        context = {
            "page": page,
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
            "library": {"name": "analytics.js", "version": "4.1.0"},
            "locale": "en-US",
        }
        msg: dict[str, Any] = {
            "messageId": f"site-{i}",
            "anonymousId": f"visitor-{person}",
            "timestamp": (base + timedelta(seconds=i)).isoformat(),
            "context": context,
        }
        if r < 0.6:
            msg.update(type="page", name="/p")
        elif r < 0.9:
            msg.update(type="track", event="Product Viewed", properties={"sku": f"S{i % 97}"})
        else:
            msg.update(
                type="identify",
                userId=f"customer-{person}",
                traits={"email": f"c{person}@shop.example"},
            )
        out.append(msg)
    return out


@dataclass
class TouchesResult:
    backend: str
    mix: str
    events: int
    backlog_rows: int
    read_back: int
    seconds: float
    job_us: float
    db_us: float | None

    def lines(self) -> list[str]:
        db = f", {self.backend} {self.db_us:.1f} us" if self.db_us is not None else ""
        return [
            f"backend            {self.backend}",
            f"events             {self.events:,} ({self.mix} mix), {self.backlog_rows} "
            "resolved batches waiting in the backlog",
            f"read back          {self.read_back:,} events named to read back "
            f"({100 * self.read_back / max(self.events, 1):.0f}%)",
            f"followed in        {self.seconds:.2f} s",
            f"cpu per event      the job {self.job_us:.1f} us{db}",
        ]


def run(
    factory: sessionmaker[Session],
    database_url: str,
    data_dir: Path,
    *,
    events: int,
    mix: str,
    progress: Any = None,
) -> TouchesResult:
    msgs = site_messages(events) if mix == "site" else messages(events)
    with transaction(factory) as session:
        ws = workspaces.create_workspace(session, f"bench-touches-{uuid.uuid4().hex[:6]}")
    workspace_id = ws.workspace.id
    listener = touches.listener(lambda _workspace_id: None)  # kept; followed below
    changes.listen(factory, listener)

    def accepted(done: int, now: int) -> None:
        if done % 2000 == 0:  # resolved in batches of 2,000, as they come
            drain(factory, batch=2000)
        if progress:
            progress(now)

    try:
        accept_all(factory, workspace_id, msgs, accepted)
        drain(factory, batch=2000)
    finally:
        changes.unlisten(factory, listener)
    with factory() as session:
        rows = session.scalars(
            select(TouchBacklog.events).where(TouchBacklog.workspace_id == workspace_id)
        ).all()
        backlog = int(
            session.scalar(select(func.count()).where(TouchBacklog.workspace_id == workspace_id))
            or 0
        )
    read_back = sum(len(ids) for row in rows for ids in row.values())
    postgres = database_url.startswith("postgresql")
    db = cpu_of(postgres_pids()) if postgres else {}
    cpu, start = time.process_time(), time.perf_counter()
    tasks.follow(factory, workspace_id)
    elapsed = time.perf_counter() - start
    job = time.process_time() - cpu
    db_used = cpu_since(db, cpu_of(postgres_pids())) if postgres else None
    return TouchesResult(
        backend=database_url.split(":", 1)[0].split("+")[0],
        mix=mix,
        events=len(msgs),
        backlog_rows=backlog,
        read_back=read_back,
        seconds=elapsed,
        job_us=job / len(msgs) * 1e6,
        db_us=db_used / len(msgs) * 1e6 if db_used is not None else None,
    )
