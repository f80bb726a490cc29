"""The chat hub: this process's visitor WebSockets, indexed by visitor and conversation.
It listens to the live broker (every worker hears every update through Redis when
``ACCORD_REDIS_URL`` is set): a change to a conversation a socket here watches makes it
read the new chat messages from the database, the source of truth, and push each socket
the ones its visitor may see; typing, read receipts and status changes are pushed as
they come."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from accord.chat.models import ChatVisitor
from accord.chat.repository import ChatMessageRepository, VisitorRepository
from accord.chat.visible import message_payload
from accord.inbox.models import Attachment, Message
from accord.kit.db import transaction

log = logging.getLogger(__name__)
QUEUE_SIZE = 500


@dataclass(eq=False)
class Connection:
    """One open widget socket. Outgoing payloads go through ``queue`` to one writer."""

    workspace_id: uuid.UUID
    visitor_id: uuid.UUID
    token: str
    conversation_id: uuid.UUID | None = None
    since: datetime | None = None
    seen: set[uuid.UUID] = field(default_factory=set)
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    closed: bool = False

    def push(self, payload: dict[str, Any]) -> None:
        if self.closed:
            return
        try:
            self.queue.put_nowait(payload)
        except asyncio.QueueFull:  # a reader that stopped reading: drop it
            self.closed = True
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.put_nowait({"type": "close"})


@dataclass
class Loaded:
    messages: list[Message]
    files: dict[uuid.UUID, list[Attachment]]
    visitors: dict[uuid.UUID, ChatVisitor]


class Hub:
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        self.by_visitor: dict[uuid.UUID, set[Connection]] = {}
        self.by_conversation: dict[uuid.UUID, set[Connection]] = {}
        self._pending: dict[uuid.UUID, bool] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.on_deliver: Callable[[uuid.UUID, int], None] | None = None

    # --- sockets ------------------------------------------------------------------------

    def attach(self, conn: Connection) -> None:
        self.by_visitor.setdefault(conn.visitor_id, set()).add(conn)
        if conn.conversation_id is not None:
            self.by_conversation.setdefault(conn.conversation_id, set()).add(conn)

    def detach(self, conn: Connection) -> None:
        conn.closed = True
        self.by_visitor.get(conn.visitor_id, set()).discard(conn)
        if not self.by_visitor.get(conn.visitor_id):
            self.by_visitor.pop(conn.visitor_id, None)
        if conn.conversation_id is not None:
            watchers = self.by_conversation.get(conn.conversation_id, set())
            watchers.discard(conn)
            if not watchers:
                self.by_conversation.pop(conn.conversation_id, None)

    def join(self, conn: Connection, conversation_id: uuid.UUID) -> None:
        if conn.conversation_id == conversation_id:
            return
        if conn.conversation_id is not None:
            self.by_conversation.get(conn.conversation_id, set()).discard(conn)
        conn.conversation_id = conversation_id
        conn.since = None
        if not conn.closed:
            self.by_conversation.setdefault(conversation_id, set()).add(conn)
        self.deliver_soon(conversation_id)

    def connections(self) -> int:
        return sum(len(v) for v in self.by_visitor.values())

    # --- updates from the broker (on the event loop) -------------------------------------

    def on_update(self, workspace_id: uuid.UUID, payload: dict[str, Any]) -> None:
        kind = payload.get("type")
        if kind == "conversation":
            cid = _uuid(payload.get("id"))
            if cid is None or cid not in self.by_conversation:
                return
            message = payload.get("message")
            if isinstance(message, dict) and not message.get("files"):
                self._push_now(cid, message)
            elif payload.get("what") != "status":
                self.deliver_soon(cid)
            if payload.get("what") == "status":
                for conn in list(self.by_conversation.get(cid, ())):
                    conn.push({"type": "status", "status": payload.get("status")})
            return
        if kind != "chat":
            return
        what = payload.get("what")
        if what == "conversation":
            vid, cid = _uuid(payload.get("visitor")), _uuid(payload.get("id"))
            if vid is None or cid is None:
                return
            for conn in list(self.by_visitor.get(vid, ())):
                if conn.workspace_id == workspace_id:
                    self.join(conn, cid)
        elif what in ("typing", "read") and payload.get("by") == "agent":
            cid = _uuid(payload.get("conversation"))
            out = {k: v for k, v in payload.items() if k in ("by", "on", "name", "at")}
            for conn in list(self.by_conversation.get(cid, ())) if cid else []:
                conn.push({"type": what, **out})
        elif what == "proactive":
            vid = _uuid(payload.get("visitor"))
            for conn in list(self.by_visitor.get(vid, ())) if vid else []:
                conn.push(payload.get("payload") or {})

    def _push_now(self, conversation_id: uuid.UUID, message: dict[str, Any]) -> None:
        """A chat message that came with the update: pushed without reading the
        database (an agent's answer to every socket of the conversation; a visitor's own
        message to that visitor's other tabs)."""
        mid = _uuid(message.get("id"))
        if mid is None:
            return
        out = {k: v for k, v in message.items() if k not in ("visitor", "files")}
        out["files"] = []
        for conn in list(self.by_conversation.get(conversation_id, ())):
            if message.get("direction") != "out" and message.get("visitor") != str(conn.visitor_id):
                continue
            if self.echo(conn, out) and self.on_deliver is not None:
                self.on_deliver(conversation_id, 1)

    def echo(self, conn: Connection, message: dict[str, Any]) -> bool:
        """Push a chat message the socket has not shown yet (the visitor's own, on the
        socket it was written on, needs no live update and no read back); whether it
        was pushed."""
        mid = _uuid(message.get("id"))
        if mid is None or mid in conn.seen:
            return False
        conn.seen.add(mid)
        conn.push({"type": "message", "message": message})
        return True

    def deliver_soon(self, conversation_id: uuid.UUID) -> None:
        """Read and push new messages; several changes in a row cost one more read."""
        if conversation_id in self._pending:
            self._pending[conversation_id] = True
            return
        self._pending[conversation_id] = False
        task = asyncio.get_running_loop().create_task(self._deliver(conversation_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, conversation_id: uuid.UUID) -> None:
        try:
            while True:
                conns = [c for c in self.by_conversation.get(conversation_id, ()) if not c.closed]
                if conns:
                    loaded = await run_in_threadpool(self._load, conversation_id, conns)
                    sent = self._push(conns, loaded)
                    if self.on_deliver is not None and sent:
                        self.on_deliver(conversation_id, sent)
                if not self._pending.get(conversation_id):
                    break
                self._pending[conversation_id] = False
        except Exception:
            log.exception("chat delivery failed for conversation %s", conversation_id)
        finally:
            self._pending.pop(conversation_id, None)

    def _load(self, conversation_id: uuid.UUID, conns: list[Connection]) -> Loaded:
        with transaction(self.factory) as session:
            visitors: dict[uuid.UUID, ChatVisitor] = {}
            repo = VisitorRepository.from_session(session)
            for conn in conns:
                if conn.visitor_id not in visitors:
                    found = repo.get(conn.workspace_id, conn.visitor_id)
                    if found is not None:
                        visitors[found.id] = found
            starts = [v.conversation_since for v in visitors.values()]
            since = None if not starts or None in starts else min(s for s in starts if s)
            messages = ChatMessageRepository.from_session(session)
            rows = messages.visible(conversation_id, since)
            files: dict[uuid.UUID, list[Attachment]] = {}
            for a in messages.attachments([m.id for m in rows]):
                files.setdefault(a.message_id, []).append(a)
            return Loaded(rows, files, visitors)

    def _push(self, conns: list[Connection], loaded: Loaded) -> int:
        sent = 0
        for conn in conns:
            visitor = loaded.visitors.get(conn.visitor_id)
            if visitor is None or visitor.conversation_id != conn.conversation_id:
                continue
            me = str(visitor.id)
            for m in loaded.messages:
                shown_as = _uuid((m.meta or {}).get("show")) or m.id
                if shown_as in conn.seen:
                    continue
                if visitor.conversation_since and m.created_at < visitor.conversation_since:
                    continue
                if m.direction != "out" and (m.meta or {}).get("visitor") != me:
                    continue
                conn.seen.add(shown_as)
                conn.push(
                    {
                        "type": "message",
                        "message": message_payload(
                            m, loaded.files.get(m.id, []), visitor, conn.token
                        ),
                    }
                )
                sent += 1
        return sent

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for conns in list(self.by_visitor.values()):
            for conn in list(conns):
                conn.push({"type": "close"})


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
