"""Lookup benchmark: p50/p99 of finding a person by email and of the full 360 view
(profile, timeline page, orders) over HTTP, with a large workspace seeded straight into
the database."""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from accord.bench.common import percentile, server, tree_rss_mb, vacuum_analyze
from accord.collect.models import Event
from accord.govern.workspaces import service as workspaces
from accord.kit.db import transaction
from accord.kit.ids import new_id
from accord.profile.models import Profile
from accord.resolve.models import Identifier

CHUNK = 5000


@dataclass
class Timings:
    """Look-ups and 360 views timed in one state of the tables' statistics."""

    lookup_p50: float
    lookup_p99: float
    view_p50: float
    view_p99: float

    def lines(self, state: str) -> list[str]:
        return [
            f"lookup by email    p50 {self.lookup_p50:.1f} ms, p99 {self.lookup_p99:.1f} ms "
            f"({state})",
            f"360 view           p50 {self.view_p50:.1f} ms, p99 {self.view_p99:.1f} ms "
            f"({state}; profile + timeline page + orders)",
        ]


@dataclass
class LookupResult:
    backend: str
    profiles: int
    events: int
    seed_seconds: float
    cold: Timings
    analyzed: Timings
    analyze: str
    analyze_seconds: float
    samples: int
    server_rss_mb: float

    def lines(self) -> list[str]:
        return [
            f"backend            {self.backend}",
            f"loaded             {self.profiles:,} profiles, {self.events:,} events "
            f"(seeded in {self.seed_seconds:.0f} s)",
            f"requests           {self.samples} of each, in each state",
            *self.cold.lines("cold: never analyzed"),
            f"statistics         {self.analyze} in {self.analyze_seconds:.1f} s, "
            "as autovacuum would leave them",
            *self.analyzed.lines("analyzed"),
            f"server memory      {self.server_rss_mb:,.0f} MB",
        ]


def seed(
    factory: sessionmaker[Session],
    workspace_id: uuid.UUID,
    profiles: int,
    events: int,
    progress: Any = None,
) -> None:
    rng = random.Random(3)
    now = datetime.now(UTC)
    per = max(events // max(profiles, 1), 1)
    done = 0
    while done < profiles:
        n = min(CHUNK, profiles - done)
        prof_rows, ident_rows, event_rows = [], [], []
        for k in range(done, done + n):
            pid, iid = new_id(), new_id()
            email = f"person{k}@bench.example"
            seen = now - timedelta(days=rng.randint(0, 700))
            prof_rows.append(
                {
                    "id": pid,
                    "workspace_id": workspace_id,
                    "created_at": seen,
                    "traits": {
                        "email": {
                            "value": email,
                            "source": "bench",
                            "at": seen.isoformat(),
                            "event": f"b{k}",
                        }
                    },
                    "stats": {"channels": {"web": per}, "event_count": per},
                    "contested": False,
                    "display_name": f"Person {k}",
                    "search_name": f"person {k}",
                    "email": email,
                    "first_seen_at": seen,
                    "last_seen_at": seen,
                    "order_count": 0,
                    "revenue": Decimal("0"),
                    "updated_at": now,
                    "merged_into_id": None,
                    "phone": None,
                }
            )
            ident_rows.append(
                {
                    "id": iid,
                    "workspace_id": workspace_id,
                    "type": "email",
                    "value": email,
                    "profile_id": pid,
                    "blocked": False,
                    "source": "bench",
                    "first_event_id": None,
                    "last_seen_at": seen,
                    "created_at": seen,
                }
            )
            for j in range(per):
                at = seen + timedelta(minutes=j)
                event_rows.append(
                    {
                        "id": new_id(),
                        "workspace_id": workspace_id,
                        "message_id": f"s{k}-{j}",
                        "type": "page",
                        "name": "/",
                        "user_id": None,
                        "anonymous_id": None,
                        "channel": "web",
                        "source": "bench",
                        "identifiers": [["email", email]],
                        "traits": None,
                        "properties": {"path": "/"},
                        "context": None,
                        "timestamp": at,
                        "sent_at": None,
                        "received_at": at,
                        "status": "resolved",
                        "profile_id": pid,
                        "primary_identifier_id": iid,
                    }
                )
        with transaction(factory) as session:
            session.execute(insert(Profile), prof_rows)
            session.execute(insert(Identifier), ident_rows)
            for i in range(0, len(event_rows), CHUNK):
                session.execute(insert(Event), event_rows[i : i + CHUNK])
        done += n
        if progress:
            progress(n)


def run(
    factory: sessionmaker[Session],
    database_url: str,
    data_dir: Path,
    *,
    profiles: int,
    events: int,
    samples: int,
    progress: Any = None,
) -> LookupResult:
    with transaction(factory) as session:
        provisioned = workspaces.create_workspace(session, f"bench-lookup-{uuid.uuid4().hex[:6]}")
    workspace_id = provisioned.workspace.id
    t0 = time.perf_counter()
    seed(factory, workspace_id, profiles, events, progress)
    seeded = time.perf_counter() - t0
    with factory() as session:
        ids: dict[str | None, uuid.UUID] = {
            email: pid
            for email, pid in session.execute(
                select(Profile.email, Profile.id)
                .where(Profile.workspace_id == workspace_id)
                .limit(samples * 4)
            )
        }
    rng = random.Random(5)
    sample = rng.sample(sorted(e for e in ids if e), min(samples, len(ids)))
    with server(database_url, data_dir, 1) as (url, pid):
        client = httpx.Client(
            headers={"Authorization": f"Bearer {provisioned.api_token}"}, timeout=30
        )
        # The same people in both states: first as the load left the tables (a fresh
        # or freshly imported workspace), then with statistics.
        cold = _time(client, url, sample, ids)
        analyze_seconds, analyze_what = vacuum_analyze(factory)
        analyzed = _time(client, url, sample, ids)
        rss = tree_rss_mb(pid)
        client.close()
    return LookupResult(
        backend=database_url.split(":", 1)[0].split("+")[0],
        profiles=profiles,
        events=max(events // max(profiles, 1), 1) * profiles,
        seed_seconds=seeded,
        cold=cold,
        analyzed=analyzed,
        analyze=analyze_what,
        analyze_seconds=analyze_seconds,
        samples=len(sample),
        server_rss_mb=rss,
    )


def _time(
    client: httpx.Client, url: str, sample: list[str], ids: dict[str | None, uuid.UUID]
) -> Timings:
    lookups: list[float] = []
    views: list[float] = []
    for warm in sample[:20]:  # warm caches and connections
        client.get(f"{url}/api/v1/profiles/lookup", params={"email": warm})
    for email in sample:
        t = time.perf_counter()
        r = client.get(f"{url}/api/v1/profiles/lookup", params={"email": email})
        lookups.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, r.text
        profile_id = ids[email]
        t = time.perf_counter()
        for path in ("", "/timeline", "/orders"):
            r = client.get(f"{url}/api/v1/profiles/{profile_id}{path}")
            assert r.status_code == 200, r.text
        views.append((time.perf_counter() - t) * 1000)
    return Timings(
        lookup_p50=percentile(lookups, 50),
        lookup_p99=percentile(lookups, 99),
        view_p50=percentile(views, 50),
        view_p99=percentile(views, 99),
    )
