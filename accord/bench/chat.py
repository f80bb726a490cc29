"""Chat benchmark: a server of its own (several workers, fanning out through Redis when
``ACCORD_REDIS_URL`` is set) holds N visitor WebSockets at once while agents answer. It
prints message delivery p50/p99 both ways (an agent's reply through the API to the
visitor's socket; a visitor's message to an agent's live console stream) and the server's
memory."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import resource
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from accord.bench.common import percentile, server, tree_rss_mb
from accord.govern.access import service as access
from accord.govern.access.principal import Principal
from accord.govern.workspaces import service as workspaces
from accord.kit.db import transaction

PASSWORD = "bench-chat-password"  # noqa: S105 (a throwaway bench account)
CONNECT_CONCURRENCY = 50
OPEN_CONCURRENCY = 6


@dataclass
class ChatResult:
    backend: str
    workers: int
    fanout: str
    clients: int
    connected: int
    connect_seconds: float
    replies: int
    reply_rate: float
    to_visitor: list[float] = field(default_factory=list)
    to_agent: list[float] = field(default_factory=list)
    fanout_ms: list[float] = field(default_factory=list)
    lost: int = 0
    server_rss_mb: float = 0.0
    # Why visitors that did not connect or open a conversation failed, by kind.
    failures: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        return [
            f"backend            {self.backend}, {self.workers} workers, fan-out {self.fanout}",
            f"connections        {self.connected:,} of {self.clients:,} visitors held open "
            f"(connected in {self.connect_seconds:.1f} s)",
            f"agent -> visitor   p50 {percentile(self.to_visitor, 50):.1f} ms, "
            f"p99 {percentile(self.to_visitor, 99):.1f} ms "
            f"({len(self.to_visitor):,} replies at {self.reply_rate:.0f}/s, {self.lost} lost)",
            f"  of which fan-out p50 {percentile(self.fanout_ms, 50):.1f} ms, "
            f"p99 {percentile(self.fanout_ms, 99):.1f} ms (from the reply's time of writing, "
            "through commit and Redis, to the visitor's socket)",
            f"visitor -> agent   p50 {percentile(self.to_agent, 50):.1f} ms, "
            f"p99 {percentile(self.to_agent, 99):.1f} ms "
            f"({len(self.to_agent):,} messages to the console's live stream)",
            f"server memory      {self.server_rss_mb:,.0f} MB (all workers)",
        ] + [
            f"failed             {count:,} x {why}"
            for why, count in sorted(self.failures.items(), key=lambda kv: -kv[1])
        ]


@dataclass
class Visitor:
    index: int
    ws: Any
    conversation_id: str | None = None
    waiting: dict[str, float] = field(default_factory=dict)  # reply body -> sent at
    reader: asyncio.Task[None] | None = None


def _raise_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def _sign_in(client: httpx.AsyncClient, email: str) -> None:
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    r = await client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


async def _drive(
    url: str,
    pid: int,
    *,
    write_key: str,
    api_token: str,
    agent_ids: list[str],
    agent_email: str,
    clients: int,
    rounds: int,
    rate: float,
    result: ChatResult,
    progress: Any,
) -> None:
    from websockets.asyncio.client import connect

    ws_base = url.replace("http", "ws", 1)
    http = httpx.AsyncClient(
        base_url=url, timeout=60, limits=httpx.Limits(max_connections=CONNECT_CONCURRENCY * 2)
    )
    visitors: list[Visitor] = []
    by_conversation: dict[str, Visitor] = {}
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    acks: dict[int, asyncio.Future[str]] = {}

    async def reader(v: Visitor) -> None:
        async for raw in v.ws:
            item = json.loads(raw)
            kind = item.get("type")
            if kind == "ack" and v.index in acks and not acks[v.index].done():
                acks[v.index].set_result(item["conversation_id"])
            elif kind == "message" and item["message"]["direction"] == "out":
                sent = v.waiting.pop(item["message"]["body"], None)
                if sent is not None:
                    result.to_visitor.append((time.perf_counter() - sent) * 1000)
                    stored = datetime.fromisoformat(item["message"]["at"]).timestamp()
                    result.fanout_ms.append((time.time() - stored) * 1000)

    async def open_visitor(i: int) -> None:
        async with gate:
            r = await http.post(
                "/v1/chat/session",
                json={"writeKey": write_key, "anonymousId": f"bench-{uuid.uuid4().hex}"},
            )
            hello = r.json()
            ws = await connect(
                f"{ws_base}/v1/chat/ws?key={write_key}&visitor={hello['visitor_id']}"
                f"&token={hello['token']}",
                max_queue=None,
                open_timeout=60,
            )
            first = json.loads(await ws.recv())
            assert first["type"] == "hello"
            await ws.send(
                json.dumps({"type": "page", "url": f"https://shop.example/p/{i}", "title": "P"})
            )
            v = Visitor(i, ws)
            v.reader = asyncio.create_task(reader(v))
            visitors.append(v)
            if progress:
                progress(1)

    def tally(outcomes: list[Any], stage: str) -> None:
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                why = f"{stage}: {type(outcome).__name__} {str(outcome)[:80]}".strip()
                result.failures[why] = result.failures.get(why, 0) + 1

    t0 = time.perf_counter()
    tally(
        await asyncio.gather(*(open_visitor(i) for i in range(clients)), return_exceptions=True),
        "connecting",
    )
    result.connect_seconds = time.perf_counter() - t0
    result.connected = len(visitors)

    # Every visitor writes in: one conversation each. New conversations of a workspace
    # are numbered one at a time (a workspace lock), so a few at once.
    opening = asyncio.Semaphore(OPEN_CONCURRENCY)

    async def first_message(v: Visitor) -> None:
        async with opening:
            acks[v.index] = asyncio.get_running_loop().create_future()
            await v.ws.send(
                json.dumps({"type": "message", "body": f"Question {v.index}", "client_id": "q0"})
            )
            v.conversation_id = await asyncio.wait_for(acks[v.index], 60)
            by_conversation[v.conversation_id] = v

    tally(
        await asyncio.gather(*(first_message(v) for v in visitors), return_exceptions=True),
        "first message",
    )

    # An agent's console stream hears visitors' messages.
    console = httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(60, read=None))
    await _sign_in(console, agent_email)
    visitor_sent: dict[str, float] = {}

    async def console_stream() -> None:
        async with console.stream("GET", "/inbox/events") as stream:
            async for line in stream.aiter_lines():
                if not line.startswith("data: "):
                    continue
                item = json.loads(line[6:])
                if item.get("type") == "conversation" and item.get("what") in (
                    "message",
                    "created",
                ):
                    sent = visitor_sent.pop(item.get("id", ""), None)
                    if sent is not None:
                        result.to_agent.append((time.perf_counter() - sent) * 1000)

    listener = asyncio.create_task(console_stream())
    await asyncio.sleep(0.5)

    # Agents answer at a steady rate; visitors write back now and then.
    rng = random.Random(7)
    answered = [v for v in visitors if v.conversation_id]
    jobs = [(v, k) for k in range(rounds) for v in answered]
    rng.shuffle(jobs)
    interval = 1.0 / rate if rate > 0 else 0.0
    api = httpx.AsyncClient(
        base_url=url,
        timeout=60,
        headers={"Authorization": f"Bearer {api_token}"},
        limits=httpx.Limits(max_connections=64),
    )
    pending: set[asyncio.Task[None]] = set()

    async def reply(v: Visitor, k: int) -> None:
        body = f"Answer {k} to visitor {v.index}"
        v.waiting[body] = time.perf_counter()
        r = await api.post(
            f"/api/v1/conversations/{v.conversation_id}/replies",
            json={"body": body, "agent_id": agent_ids[v.index % len(agent_ids)]},
        )
        if r.status_code != 201:
            v.waiting.pop(body, None)
            result.lost += 1
        if k % 2 == 0 and v.conversation_id not in visitor_sent:
            # After the reply has arrived, so the console event timed is the visitor's.
            for _ in range(200):
                if body not in v.waiting:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)
            visitor_sent[v.conversation_id or ""] = time.perf_counter()
            await v.ws.send(
                json.dumps({"type": "message", "body": f"Thanks {k}", "client_id": f"t{k}"})
            )

    start = time.perf_counter()
    peak = 0.0
    for n, (v, k) in enumerate(jobs):
        due = start + n * interval
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(reply(v, k))
        pending.add(task)
        task.add_done_callback(pending.discard)
        if n % 200 == 0:
            peak = max(peak, tree_rss_mb(pid))
    await asyncio.gather(*pending, return_exceptions=True)
    result.replies = len(jobs)
    result.reply_rate = len(jobs) / max(time.perf_counter() - start, 1e-9)
    deadline = time.perf_counter() + 10
    while any(v.waiting for v in visitors) and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    result.lost += sum(len(v.waiting) for v in visitors)
    result.server_rss_mb = max(peak, tree_rss_mb(pid))
    listener.cancel()
    for v in visitors:
        if v.reader is not None:
            v.reader.cancel()
        with contextlib.suppress(Exception):
            await v.ws.close()
    for c in (http, console, api):
        await c.aclose()


def run(
    factory: sessionmaker[Session],
    database_url: str,
    data_dir: Path,
    *,
    clients: int,
    rounds: int,
    workers: int,
    rate: float,
    redis_url: str | None,
    progress: Any = None,
) -> ChatResult:
    _raise_file_limit()
    suffix = uuid.uuid4().hex[:6]
    with transaction(factory) as session:
        provisioned = workspaces.create_workspace(session, f"bench-chat-{suffix}")
        workspace_id = provisioned.workspace.id
        agent_ids = []
        for i in range(4):
            membership, _ = access.add_member(
                session,
                workspace_id=workspace_id,
                email=f"chat-agent{i}-{suffix}@bench.example",
                role="admin" if i == 0 else "agent",
                name=f"Agent {i}",
                password=PASSWORD,
                actor=Principal.cli(workspace_id),
            )
            agent_ids.append(str(membership.user_id))
        write_key, api_token = provisioned.write_key, provisioned.api_token
    env = {"ACCORD_REDIS_URL": redis_url} if redis_url else {}
    result = ChatResult(
        backend=database_url.split(":", 1)[0].split("+")[0],
        workers=workers,
        fanout="Redis pub/sub" if redis_url else "in-process",
        clients=clients,
        connected=0,
        connect_seconds=0.0,
        replies=0,
        reply_rate=0.0,
    )
    # The client shares the machine with the server: on uvloop its own scheduling
    # delays (1,000 sockets on one loop) weigh less on the figures.
    loop_factory = None
    with contextlib.suppress(ImportError):
        import uvloop

        loop_factory = uvloop.new_event_loop
    with (
        server(database_url, data_dir, workers, env) as (url, pid),
        asyncio.Runner(loop_factory=loop_factory) as runner,
    ):
        runner.run(
            _drive(
                url,
                pid,
                write_key=write_key,
                api_token=api_token,
                agent_ids=agent_ids,
                agent_email=f"chat-agent0-{suffix}@bench.example",
                clients=clients,
                rounds=rounds,
                rate=rate,
                result=result,
                progress=progress,
            )
        )
    return result
