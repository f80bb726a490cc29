"""Inbox benchmark: p50/p99 of the agent's inbox view and of the conversation page, as
the console serves them (signed in, HTML), with a large inbox seeded straight into the
database."""

from __future__ import annotations

import random
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, text
from sqlalchemy.orm import Session, sessionmaker

from accord.bench.common import percentile, server, tree_rss_mb
from accord.govern.access import service as access
from accord.govern.access.principal import Principal
from accord.govern.workspaces import service as workspaces
from accord.inbox.models import Conversation, Message, Team, TeamMember
from accord.kit.db import transaction
from accord.kit.ids import new_id

CHUNK = 5000
PASSWORD = "bench-inbox-password"  # noqa: S105 (a throwaway bench account)
CHANNELS = ("email", "web", "phone", "chat", "social")
STATUSES = ("open", "open", "pending", "resolved", "resolved", "snoozed")


@dataclass
class InboxResult:
    backend: str
    conversations: int
    messages: int
    seed_seconds: float
    inbox_p50: float
    inbox_p99: float
    page_p50: float
    page_p99: float
    counts_p50: float
    counts_p99: float
    samples: int
    server_rss_mb: float
    by_view: dict[str, tuple[float, float]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        views = [
            f"  {path:<44} p50 {p50:.1f} ms, p99 {p99:.1f} ms"
            for path, (p50, p99) in self.by_view.items()
        ]
        return [
            f"backend            {self.backend}",
            f"loaded             {self.conversations:,} conversations, {self.messages:,} messages "
            f"(seeded in {self.seed_seconds:.0f} s)",
            f"inbox view         p50 {self.inbox_p50:.1f} ms, p99 {self.inbox_p99:.1f} ms "
            f"({self.samples} requests, views and filters in turn)",
            f"conversation page  p50 {self.page_p50:.1f} ms, p99 {self.page_p99:.1f} ms "
            f"({self.samples} requests)",
            f"view tab counts    p50 {self.counts_p50:.1f} ms, p99 {self.counts_p99:.1f} ms "
            "(fetched after the list)",
            f"server memory      {self.server_rss_mb:,.0f} MB",
            "inbox view by view and filter:",
            *views,
        ]


def seed(
    factory: sessionmaker[Session],
    workspace_id: uuid.UUID,
    agents: list[uuid.UUID],
    team_id: uuid.UUID,
    conversations: int,
    messages: int,
    progress: Any = None,
) -> None:
    rng = random.Random(11)
    now = datetime.now(UTC)
    per = max(messages // max(conversations, 1), 1)
    done = 0
    while done < conversations:
        n = min(CHUNK, conversations - done)
        conv_rows: list[dict[str, Any]] = []
        msg_rows: list[dict[str, Any]] = []
        for k in range(done, done + n):
            cid = new_id()
            start = now - timedelta(minutes=rng.randint(10, 60 * 24 * 90))
            channel = rng.choice(CHANNELS)
            status = rng.choice(STATUSES)
            last = start + timedelta(minutes=per * 7)
            conv_rows.append(
                {
                    "id": cid,
                    "workspace_id": workspace_id,
                    "number": k + 1,
                    "profile_id": None,
                    "subject": f"Question {k} about order {1000 + k}",
                    "status": status,
                    "priority": rng.choice(("low", "normal", "normal", "high")),
                    "tags": [],
                    "assignee_id": rng.choice([*agents, None]),
                    "team_id": team_id,
                    "channel": channel,
                    "last_channel": channel,
                    "contact_name": f"Customer {k}",
                    "preview": "Thanks, that solved it.",
                    "message_count": per,
                    "last_message_at": last,
                    "waiting_since": last if status == "open" else None,
                    "first_response_at": start + timedelta(minutes=7),
                    "resolved_at": last if status == "resolved" else None,
                    "snoozed_until": now + timedelta(hours=4) if status == "snoozed" else None,
                    "sla_policy_id": None,
                    "first_response_due_at": start + timedelta(hours=4),
                    "next_response_due_at": last + timedelta(hours=8) if status == "open" else None,
                    "resolution_due_at": start + timedelta(days=2),
                    "reopen_count": 0,
                    "csat_score": None,
                    "csat_comment": None,
                    "csat_at": None,
                    "created_at": start,
                    "updated_at": last,
                }
            )
            for j in range(per):
                inbound = j % 2 == 0
                msg_rows.append(
                    {
                        "id": new_id(),
                        "workspace_id": workspace_id,
                        "conversation_id": cid,
                        "direction": "in" if inbound else "out",
                        "channel": channel,
                        "author_id": None if inbound else agents[j % len(agents)],
                        "author_name": f"Customer {k}" if inbound else "Agent",
                        "address": f"customer{k}@bench.example",
                        "subject": None,
                        "body": "Hello, I have a question about my order. " * 3,
                        "body_html": None,
                        "quoted": None,
                        "external_id": None,
                        "in_reply_to": None,
                        "delivery": None if inbound else "sent",
                        "delivery_error": None,
                        "event_id": None,
                        "meta": {},
                        "created_at": start + timedelta(minutes=7 * j),
                    }
                )
        with transaction(factory) as session:
            session.execute(insert(Conversation), conv_rows)
            for i in range(0, len(msg_rows), CHUNK):
                session.execute(insert(Message), msg_rows[i : i + CHUNK])
        done += n
        if progress:
            progress(n)


def _sign_in(client: httpx.Client, url: str, email: str) -> None:
    page = client.get(f"{url}/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    r = client.post(
        f"{url}/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def run(
    factory: sessionmaker[Session],
    database_url: str,
    data_dir: Path,
    *,
    conversations: int,
    messages: int,
    samples: int,
    progress: Any = None,
) -> InboxResult:
    suffix = uuid.uuid4().hex[:6]
    with transaction(factory) as session:
        provisioned = workspaces.create_workspace(session, f"bench-inbox-{suffix}")
        workspace_id = provisioned.workspace.id
        actor = Principal.cli(workspace_id)
        agents = []
        for i in range(4):
            membership, _ = access.add_member(
                session,
                workspace_id=workspace_id,
                email=f"agent{i}-{suffix}@bench.example",
                role="admin" if i == 0 else "agent",
                name=f"Agent {i}",
                password=PASSWORD,
                actor=actor,
            )
            agents.append(membership.user_id)
        team = Team(workspace_id=workspace_id, name="Support", routing="round_robin")
        session.add(team)
        session.flush()
        for user_id in agents:
            session.add(TeamMember(workspace_id=workspace_id, team_id=team.id, user_id=user_id))
        team_id = team.id
    t0 = time.perf_counter()
    seed(factory, workspace_id, agents, team_id, conversations, messages, progress)
    # What autovacuum would do on a live database after a bulk load: fresh statistics.
    with factory() as session, session.connection() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    seeded = time.perf_counter() - t0
    rng = random.Random(5)
    views = [
        "/inbox?view=mine&status=open",
        "/inbox?view=all&status=open",
        "/inbox?view=unassigned&status=open",
        "/inbox?view=team&status=active",
        "/inbox?view=all&status=open&channel=email",
        "/inbox?view=all&status=active&sla=breached",
        "/inbox?view=all&status=resolved",
    ]
    inbox_ms: list[float] = []
    per_view: dict[str, list[float]] = {path: [] for path in views}
    page_ms: list[float] = []
    counts_ms: list[float] = []
    with server(database_url, data_dir, 1) as (url, pid):
        client = httpx.Client(timeout=60)
        _sign_in(client, url, f"agent0-{suffix}@bench.example")
        for path in views:  # warm caches and connections
            client.get(f"{url}{path}")
        for i in range(samples):
            t = time.perf_counter()
            r = client.get(f"{url}{views[i % len(views)]}")
            inbox_ms.append((time.perf_counter() - t) * 1000)
            per_view[views[i % len(views)]].append(inbox_ms[-1])
            assert r.status_code == 200, r.text[:500]
            t = time.perf_counter()
            r = client.get(f"{url}/inbox/counts")
            counts_ms.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text[:500]
            number = rng.randint(1, conversations)
            t = time.perf_counter()
            r = client.get(f"{url}/inbox/{number}")
            page_ms.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text[:500]
        rss = tree_rss_mb(pid)
        client.close()
    per = max(messages // max(conversations, 1), 1)
    return InboxResult(
        backend=database_url.split(":", 1)[0].split("+")[0],
        conversations=conversations,
        messages=per * conversations,
        seed_seconds=seeded,
        inbox_p50=percentile(inbox_ms, 50),
        inbox_p99=percentile(inbox_ms, 99),
        page_p50=percentile(page_ms, 50),
        page_p99=percentile(page_ms, 99),
        counts_p50=percentile(counts_ms, 50),
        counts_p99=percentile(counts_ms, 99),
        samples=samples,
        server_rss_mb=rss,
        by_view={
            path: (percentile(ms, 50), percentile(ms, 99)) for path, ms in per_view.items() if ms
        },
    )
