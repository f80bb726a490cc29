"""Chat across two API workers through Redis pub/sub: two servers (each its own process
state: broker, hub, sockets) on one database. The visitor's socket is on the first, the
agent works on the second: the agent's typing and reply reach the visitor, and the
visitor's typing and message reach the agent's live console stream."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import select

from accord.app import create_app
from accord.config import Settings
from accord.govern.access.models import User
from tests.helpers import PASSWORD, Committed, add_user, csrf_from, live_server

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        if os.environ.get("ACCORD_TEST_REDIS", "").lower() == "required":
            pytest.fail("Redis is required (ACCORD_TEST_REDIS=required) at 127.0.0.1:6379")
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    return REDIS_URL


@pytest.fixture
def two_workers(chat_db: Committed, redis_url: str, tmp_path: Any) -> Iterator[tuple[str, str]]:
    def settings() -> Settings:
        return Settings(
            data_dir=tmp_path / "data",
            database_url=chat_db.url,
            secret_key="fanout-" + "s" * 40,
            redis_url=redis_url,
            resolve_worker=False,
            resolve_inline=True,
            outbox_worker=False,
            imap_poll_seconds=0,
        )

    with live_server(create_app(settings())) as one, live_server(create_app(settings())) as two:
        yield one, two


def receive(ws: Any, kind: str, timeout: float = 10.0) -> dict[str, Any]:
    while True:
        item = json.loads(ws.recv(timeout=timeout))
        if item["type"] == kind:
            return dict(item)


def test_chat_crosses_workers_through_redis(
    chat_db: Committed, two_workers: tuple[str, str]
) -> None:
    from websockets.sync.client import connect

    one, two = two_workers
    site = chat_db.workspace(f"Fanout {uuid.uuid4().hex[:6]}")
    email = f"agent-{uuid.uuid4().hex[:6]}@shop.example.com"
    with chat_db.factory() as session:
        add_user(session, site, email, role="agent")
        agent_id = str(session.scalars(select(User.id).where(User.email == email)).one())
        session.commit()

    hello = httpx.post(
        f"{one}/v1/chat/session", json={"writeKey": site.write_key, "anonymousId": "anon-x"}
    ).json()
    url = (
        one.replace("http", "ws")
        + f"/v1/chat/ws?key={site.write_key}&visitor={hello['visitor_id']}&token={hello['token']}"
    )
    agent = httpx.Client(base_url=two, timeout=10)
    login = agent.get("/login")
    r = agent.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf_from(login.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    csrf = csrf_from(agent.get("/inbox").text)

    # The agent's live stream on worker two.
    events: list[dict[str, Any]] = []
    listening = threading.Event()

    def listen() -> None:
        with agent.stream("GET", "/inbox/events", timeout=30) as stream:
            for line in stream.iter_lines():
                listening.set()
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                    if any(e.get("what") == "message" for e in events):
                        return

    with connect(url) as ws:
        assert receive(ws, "hello")["visitor_id"] == hello["visitor_id"]
        ws.send(json.dumps({"type": "message", "body": "Hello from worker one", "client_id": "1"}))
        receive(ws, "message")
        thread = threading.Thread(target=listen, daemon=True)
        thread.start()
        assert listening.wait(10)
        conversations = httpx.get(
            f"{two}/api/v1/conversations",
            headers={"Authorization": f"Bearer {site.api_token}"},
            params={"view": "all"},
        ).json()["data"]
        [conversation] = conversations
        conversation_id = conversation["id"]
        number = conversation["number"]

        # Visitor typing on worker one reaches the console on worker two.
        ws.send(json.dumps({"type": "typing", "on": True}))
        # The agent, on worker two, types and answers.
        r = agent.post(f"/inbox/{number}/typing", data={"on": "1"}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 204
        assert receive(ws, "typing")["by"] == "agent"
        r = httpx.post(
            f"{two}/api/v1/conversations/{conversation_id}/replies",
            headers={"Authorization": f"Bearer {site.api_token}"},
            json={"body": "Hello from worker two", "agent_id": agent_id},
        )
        assert r.status_code == 201, r.text
        reply = receive(ws, "message")["message"]
        assert reply["body"] == "Hello from worker two"
        assert reply["direction"] == "out"
        # A second visitor message, heard by the console stream on worker two.
        ws.send(json.dumps({"type": "message", "body": "Thanks!", "client_id": "2"}))
        receive(ws, "ack")
        thread.join(15)
    kinds = {(e.get("type"), e.get("what"), e.get("by")) for e in events}
    assert ("chat", "typing", "visitor") in kinds
    assert ("conversation", "message", None) in kinds
    agent.close()


def _refused_soon(call: Callable[[], httpx.Response], what: str) -> None:
    """``call`` is refused (401) well inside the 10 s a remembered key lives: the worker
    heard of the revocation."""
    deadline = time.monotonic() + 3
    while call().status_code == 200:
        assert time.monotonic() < deadline, f"the second worker still accepts the revoked {what}"
        time.sleep(0.05)
    r = call()
    assert r.status_code == 401
    assert r.json()["code"] == "unauthorized"


def _new_key(chat_db: Committed, base: str, kind: str) -> tuple[dict[str, str], str, str]:
    """A new workspace's admin headers, and a key of ``kind`` made there: its secret, id."""
    ws = chat_db.workspace(f"Keys {uuid.uuid4().hex[:6]}")
    admin = {"Authorization": f"Bearer {ws.api_token}"}
    r = httpx.post(f"{base}/api/v1/keys", headers=admin, json={"kind": kind, "name": "made"})
    assert r.status_code == 201, r.text
    return admin, r.json()["secret"], r.json()["id"]


def test_a_revoked_write_key_stops_on_every_worker_at_once(
    chat_db: Committed, two_workers: tuple[str, str]
) -> None:
    """Workers remember a write key for a few seconds; revoking it on one worker tells
    the others through Redis, so none of them keeps accepting it until that expires."""
    one, two = two_workers
    auth, key, key_id = _new_key(chat_db, one, "write")
    event = {"writeKey": key, "anonymousId": "a-1", "event": "Viewed"}
    assert httpx.post(f"{two}/v1/track", json=event).status_code == 200  # now remembered
    assert httpx.delete(f"{one}/api/v1/keys/{key_id}", headers=auth).status_code == 204
    _refused_soon(lambda: httpx.post(f"{two}/v1/track", json=event), "write key")


def test_a_revoked_api_token_stops_on_every_worker_at_once(
    chat_db: Committed, two_workers: tuple[str, str]
) -> None:
    """API tokens are remembered the same way: a token revoked on one worker is refused
    by the other at once, not when its few seconds are over."""
    one, two = two_workers
    admin, token, key_id = _new_key(chat_db, one, "token")
    temp = {"Authorization": f"Bearer {token}"}
    for _ in range(2):  # the second is answered from what the worker remembers
        r = httpx.get(f"{two}/api/v1/workspace", headers=temp)
        assert r.status_code == 200, r.text
    assert httpx.delete(f"{one}/api/v1/keys/{key_id}", headers=admin).status_code == 204
    _refused_soon(lambda: httpx.get(f"{two}/api/v1/workspace", headers=temp), "token")
    # The workspace's other tokens still work (read again from the database).
    assert httpx.get(f"{two}/api/v1/workspace", headers=admin).status_code == 200
