"""The customer analytics benchmark's dashboards: p50/p99 of the API's summary and
person's scores and of the console's customer analytics pages, over HTTP from a server
of its own."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from accord.analyze.scoring.models import CustomerScore
from accord.bench.common import percentile, server, tree_rss_mb
from accord.govern.access import service as access
from accord.govern.access.principal import Principal
from accord.kit.db import transaction

Stage = Callable[[str, float], None]

PASSWORD = "bench-analytics-password"  # noqa: S105 (a throwaway bench account)
API = ("/api/v1/scores/summary", "/api/v1/profiles/{id}/scores")
PAGES = (
    "/analytics/customers",
    "/analytics/customers/churn",
    "/analytics/customers/personas",
    "/analytics/customers/pareto",
    "/analytics/customers/cohorts",
)


@dataclass
class Timed:
    path: str
    ms: list[float] = field(default_factory=list)
    missing: str | None = None  # why it was not timed (the page is not served)

    def line(self) -> str:
        label = f"GET {self.path}"
        if self.missing is not None:
            return f"dashboard          {label:<40} not timed: {self.missing}"
        return (
            f"dashboard          {label:<40} p50 {percentile(self.ms, 50):.1f} ms, "
            f"p99 {percentile(self.ms, 99):.1f} ms, max {max(self.ms):.1f} ms "
            f"({len(self.ms):,} requests)"
        )


def _sign_in(client: httpx.Client, url: str, email: str) -> None:
    page = client.get(f"{url}/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if token is None:
        raise RuntimeError("the sign-in page has no form")
    r = client.post(
        f"{url}/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    if r.status_code != 303:
        raise RuntimeError(f"signing in answered {r.status_code}")


def dashboards(
    factory: sessionmaker[Session],
    database_url: str,
    data_dir: Path,
    workspace_id: uuid.UUID,
    samples: int,
    stage: Stage,
) -> tuple[list[Timed], float]:
    """``samples`` requests of each dashboard, in turn, from one client of a server of
    our own (one worker): the API with a token, the console's pages signed in as an
    admin. The person of each ``/profiles/{id}/scores`` is a random scored customer. A page
    the server does not have (404 on the first request) is left out and said so. Returns
    the timings and the server's resident memory at the end."""
    suffix = uuid.uuid4().hex[:6]
    email = f"analytics-{suffix}@bench.example"
    with transaction(factory) as session:
        actor = Principal.cli(workspace_id)
        _, token = access.create_key(
            session, workspace_id=workspace_id, kind="token", name=f"bench {suffix}", actor=actor
        )
        access.add_member(
            session,
            workspace_id=workspace_id,
            email=email,
            role="admin",
            name="Bench analyst",
            password=PASSWORD,
            actor=actor,
        )
    with factory() as session:
        people = [
            str(p)
            for p in session.scalars(
                select(CustomerScore.profile_id)
                .where(CustomerScore.workspace_id == workspace_id)
                .order_by(func.random())
                .limit(samples)
            )
        ]
    if not people:
        raise RuntimeError("no scores to read: the recompute wrote none")
    timed = [Timed(path) for path in (*API, *PAGES)]
    with (
        server(database_url, data_dir, 1) as (url, pid),
        httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=120) as api,
        httpx.Client(timeout=120) as console,
    ):
        _sign_in(console, url, email)

        def get(t: Timed, i: int) -> tuple[int, float]:
            client = api if t.path.startswith("/api/") else console
            path = t.path.replace("{id}", people[i % len(people)])
            start = time.perf_counter()
            r = client.get(f"{url}{path}", follow_redirects=False)
            return r.status_code, (time.perf_counter() - start) * 1000

        for t in timed:  # warm caches, plans and connections; find what is served
            for i in range(3):
                status, _ = get(t, i)
                if status == 404 and t.path in PAGES:
                    t.missing = "not served (404)"
                    break
                if status != 200:
                    raise RuntimeError(f"GET {t.path} answered {status}")
        for i in range(samples):
            for t in timed:
                if t.missing is None:
                    status, ms = get(t, i)
                    if status != 200:
                        raise RuntimeError(f"GET {t.path} answered {status}")
                    t.ms.append(ms)
            stage("Timing the dashboards", (i + 1) / samples)
        server_mb = tree_rss_mb(pid)
    return timed, server_mb
