"""Live updates: a per-process broker that fans a workspace's updates out to its open
event streams (the console's server-sent events) and to listeners (the chat hub, which
delivers to visitors' WebSockets). Publishing is thread-safe (it is called from request
threads after commit); with ``ACCORD_REDIS_URL`` set, updates travel through Redis pub/sub
so every API worker's streams, sockets and listeners see them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

log = logging.getLogger(__name__)
CHANNEL_PREFIX = "accord:live:"
QUEUE_SIZE = 256


class Broker:
    def __init__(self, redis_url: str | None = None) -> None:
        self._subs: dict[uuid.UUID, set[asyncio.Queue[dict[str, Any]]]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._redis_url = redis_url
        self._redis: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._callbacks: list[Callable[[uuid.UUID, dict[str, Any]], None]] = []

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self._redis_url:
            try:
                import redis as redis_sync

                self._redis = redis_sync.Redis.from_url(self._redis_url)
                self._redis.ping()
                self._listener = asyncio.create_task(self._listen())
            except Exception as exc:
                log.warning("live updates stay in this process: Redis unavailable (%s)", exc)
                self._redis = None

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        if self._redis is not None:
            self._redis.close()

    async def _listen(self) -> None:
        import redis.asyncio as redis_async

        client = redis_async.Redis.from_url(self._redis_url or "")
        pubsub = client.pubsub()
        await pubsub.psubscribe(CHANNEL_PREFIX + "*")
        try:
            async for item in pubsub.listen():
                if item.get("type") != "pmessage":
                    continue
                channel = item["channel"].decode()
                workspace_id = uuid.UUID(channel[len(CHANNEL_PREFIX) :])
                self._fanout(workspace_id, json.loads(item["data"]))
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]  # typed from redis 8.2
            await client.aclose()

    def publish(self, workspace_id: uuid.UUID, payload: dict[str, Any]) -> None:
        """Send an update to every stream of the workspace (any thread)."""
        if self._redis is not None:
            try:
                self._redis.publish(CHANNEL_PREFIX + str(workspace_id), json.dumps(payload))
                return
            except Exception as exc:
                log.warning("Redis publish failed, delivering locally: %s", exc)
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(self._fanout, workspace_id, payload)

    @property
    def shared(self) -> bool:
        """True when updates travel through Redis (every worker sees every update)."""
        return self._redis is not None

    def add_listener(self, fn: Callable[[uuid.UUID, dict[str, Any]], None]) -> None:
        """Call ``fn(workspace_id, payload)`` on the event loop for every update of every
        workspace this process hears of."""
        self._callbacks.append(fn)

    def _fanout(self, workspace_id: uuid.UUID, payload: dict[str, Any]) -> None:
        with self._lock:
            queues = list(self._subs.get(workspace_id, ()))
        for queue in queues:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(payload)
        for fn in self._callbacks:
            try:
                fn(workspace_id, payload)
            except Exception:
                log.exception("live update listener failed")

    def open(self, workspace_id: uuid.UUID) -> asyncio.Queue[dict[str, Any]]:
        """Start receiving the workspace's updates now (before a stream sends its first
        byte, so nothing published after the client sees the stream open is missed)."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        with self._lock:
            self._subs.setdefault(workspace_id, set()).add(queue)
        return queue

    def close(self, workspace_id: uuid.UUID, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with self._lock:
            self._subs.get(workspace_id, set()).discard(queue)

    async def subscribe(self, workspace_id: uuid.UUID) -> AsyncIterator[dict[str, Any]]:
        queue = self.open(workspace_id)
        try:
            while True:
                yield await queue.get()
        finally:
            self.close(workspace_id, queue)

    def subscribers(self, workspace_id: uuid.UUID) -> int:
        with self._lock:
            return len(self._subs.get(workspace_id, ()))
