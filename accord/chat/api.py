"""Live chat endpoints. Public ones, for the widget, take the write key and (after
``POST /v1/chat/session``) the visitor's token: the WebSocket ``/v1/chat/ws`` and the file
upload and download. ``/api/v1/chat/...`` (API tokens) lists visitors and manages
triggers and their reports."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, WebSocket
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocketDisconnect

from accord.chat import identity, rules, service, transcript, triggers, visible
from accord.chat import settings as chat_settings
from accord.chat.hub import Connection, Hub
from accord.chat.models import ChatVisitor
from accord.chat.schemas import SessionIn
from accord.chat.service import ChatContext
from accord.govern.access.writekeys import CORS_HEADERS, Sender, authenticate_sender
from accord.inbox import files as uploads
from accord.inbox.deps import inbox_context
from accord.inbox.intake import NewAttachment, attachment_path
from accord.kit.db import transaction
from accord.kit.errors import AccordError, invalid, not_found, unauthorized
from accord.kit.ratelimit import (
    CHAT_SESSIONS_PER_ADDRESS,
    CHAT_SESSIONS_PER_KEY,
    CHAT_UPLOADS_PER_ADDRESS,
    CHAT_UPLOADS_PER_VISITOR,
    client_address,
    limiter_of,
)
from accord.kit.time import utcnow

log = logging.getLogger(__name__)
router = APIRouter(tags=["chat"])
HEARTBEAT_WRITE = 30.0  # seconds between two heartbeat writes of one socket


def chat_context(conn: HTTPConnection, session: Session, workspace_id: uuid.UUID) -> ChatContext:
    settings = conn.app.state.settings
    inbox = inbox_context(conn, session, workspace_id)
    return ChatContext(
        inbox=inbox,
        data_dir=settings.ensure_data_dir(),
        max_upload_bytes=int(settings.chat_max_upload_mb * 1024 * 1024),
    )


def _write_key(conn: HTTPConnection, fields: dict[str, Any] | None = None) -> str:
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    for source in (fields or {}, conn.query_params):
        key = source.get("writeKey") or source.get("key")
        if isinstance(key, str) and key:
            return key
    raise unauthorized("Send the write key (writeKey) with the visitor's token")


def _country(conn: HTTPConnection) -> str | None:
    for header in ("cf-ipcountry", "x-country-code"):
        if conn.headers.get(header):
            return conn.headers[header][:2]
    language = conn.headers.get("accept-language", "").split(",")[0]
    parts = language.replace("_", "-").split("-")
    return parts[1][:2] if len(parts) > 1 and len(parts[1]) == 2 else None


async def _sender(conn: HTTPConnection, fields: dict[str, Any] | None = None) -> Sender:
    return await run_in_threadpool(authenticate_sender, conn, _write_key(conn, fields))


def _cors(response: Response) -> Response:
    response.headers.update(CORS_HEADERS)
    return response


def _hello(session: Session, ctx: ChatContext, visitor: ChatVisitor, token: str) -> dict[str, Any]:
    settings = chat_settings.read(ctx.inbox.workspace)
    return {
        "type": "hello",
        "visitor_id": str(visitor.id),
        "token": token,
        "settings": settings.model_dump(),
        "history": visible.history(session, visitor, token),
        "conversation": visible.conversation_state(session, visitor),
        # Only a visitor the site vouched for may have the chat emailed (chat.transcript).
        "verified": bool(identity.vouched(visitor)),
        "agents_available": triggers.agents_available(session, ctx.workspace_id),
        "timers": triggers.timers(session, ctx.workspace_id),
        "max_upload_mb": ctx.max_upload_bytes // (1024 * 1024),
        "file_types": sorted(uploads.ALLOWED_TYPES),
    }


@router.post(
    "/v1/chat/session",
    summary="Start or resume a widget's chat session (write key); returns the visitor token",
)
async def chat_session(request: Request) -> Response:
    try:
        return await _chat_session(request)
    except AccordError as error:  # a browser on another site must be able to read it
        error.headers = {**error.headers, **CORS_HEADERS}
        raise


async def _chat_session(request: Request) -> Response:
    limiter = limiter_of(request)
    limiter.check(CHAT_SESSIONS_PER_ADDRESS, client_address(request))
    try:
        fields = await request.json()
    except ValueError:
        fields = None
    fields = fields if isinstance(fields, dict) else {}
    sender = await _sender(request, fields)
    limiter.check(CHAT_SESSIONS_PER_KEY, str(sender.workspace_id))
    try:
        body = SessionIn.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise invalid(str(first["msg"]), field=".".join(str(p) for p in first["loc"])) from None

    def run() -> dict[str, Any]:
        with transaction(request.app.state.session_factory) as session:
            ctx = chat_context(request, session, sender.workspace_id)
            visitor = service.start(
                session,
                sender.workspace_id,
                ctx.inbox.secret_key,
                anonymous_id=body.anonymousId,
                visitor_id=body.visitorId,
                token=body.token,
                country=_country(request),
                user_agent=request.headers.get("user-agent"),
            )
            token = service.visitor_token(ctx.inbox.secret_key, visitor.id)
            return _hello(session, ctx, visitor, token)

    return _cors(JSONResponse(await run_in_threadpool(run)))


@router.post("/v1/chat/files", summary="The visitor sends a file into the chat (write key)")
async def chat_upload(request: Request) -> Response:
    try:
        return await _chat_upload(request)
    except AccordError as error:  # a browser on another site must be able to read it
        error.headers = {**error.headers, **CORS_HEADERS}
        raise


async def _chat_upload(request: Request) -> Response:
    limiter = limiter_of(request)
    limiter.check(CHAT_UPLOADS_PER_ADDRESS, client_address(request))
    limit = int(request.app.state.settings.chat_max_upload_mb * 1024 * 1024)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise AccordError(
            f"A file may be {limit // (1024 * 1024)} MB", "file_too_large", 413, "file"
        )
    form = await request.form(max_files=1, max_fields=10)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    sender = await _sender(request, fields)
    limiter.check(CHAT_UPLOADS_PER_VISITOR, f"{sender.workspace_id}:{fields.get('visitor', '')}")
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise invalid("Attach a file", field="file")
    data = await upload.read(limit + 1)
    attachment = NewAttachment(upload.filename or "file", upload.content_type or "", data)

    def run() -> dict[str, Any]:
        with transaction(request.app.state.session_factory) as session:
            ctx = chat_context(request, session, sender.workspace_id)
            visitor = service.authenticate(
                session,
                sender.workspace_id,
                fields.get("visitor"),
                fields.get("token"),
                ctx.inbox.secret_key,
            )
            message = service.send(
                session,
                ctx,
                visitor,
                fields.get("body", ""),
                client_id=fields.get("client_id") or None,
                files=[attachment],
            )
            return {"id": str(message.id), "conversation_id": str(message.conversation_id)}

    answer = await run_in_threadpool(run)
    return _cors(JSONResponse(answer, status_code=201))


@router.get("/v1/chat/files/{attachment_id}", summary="A chat file, for the visitor who may see it")
async def chat_file(
    request: Request,
    attachment_id: uuid.UUID,
    visitor: Annotated[str, Query(max_length=64)] = "",
    token: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    sender = await _sender(request)

    def run() -> tuple[str, str, str]:
        with transaction(request.app.state.session_factory) as session:
            secret = request.app.state.settings.resolved_secret_key
            who = service.authenticate(session, sender.workspace_id, visitor, token, secret)
            row = visible.file_for_visitor(session, who, attachment_id)
            return row.sha256, row.content_type, row.filename

    digest, content_type, filename = await run_in_threadpool(run)
    path = attachment_path(request.app.state.settings.ensure_data_dir(), digest)
    if not path.exists():
        raise not_found("File", field="attachment_id")
    return FileResponse(
        path,
        media_type=content_type,
        filename=filename,
        headers={"x-content-type-options": "nosniff", "content-security-policy": "sandbox"},
    )


# --- the WebSocket --------------------------------------------------------------------------


@dataclass
class Outcome:
    push: list[dict[str, Any]] = field(default_factory=list)
    join: uuid.UUID | None = None
    # The visitor's own message, shown on this socket at once (the live update that
    # carries it to the visitor's other tabs finds it already seen here).
    echo: dict[str, Any] | None = None


def _proactive(fired: list[triggers.Fired]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for f in fired:
        kind = f.action.get("kind")
        if kind == "message":
            out.append(
                {
                    "type": "proactive",
                    "trigger": str(f.trigger.id),
                    "message": {
                        "id": str(f.show.id),
                        "direction": "out",
                        "author": f.show.message.get("author"),
                        "body": f.show.message.get("body"),
                        "at": f.show.at.isoformat(),
                        "proactive": True,
                        "files": [],
                    },
                }
            )
        elif kind == "article":
            out.append(
                {
                    "type": "article",
                    "trigger": str(f.trigger.id),
                    "title": f.action.get("title"),
                    "url": f.action.get("url"),
                    "body": f.action.get("body"),
                }
            )
    return out


def act(
    ws: WebSocket, workspace_id: uuid.UUID, visitor_id: uuid.UUID, data: dict[str, Any]
) -> Outcome:
    """One widget message, in one transaction."""
    kind = data.get("type")
    out = Outcome()
    with transaction(ws.app.state.session_factory) as session:
        if kind == "ping":  # the heartbeat: one UPDATE, nothing read
            service.heartbeat(session, workspace_id, visitor_id, utcnow())
            return out
        visitor = service.present(session, workspace_id, visitor_id)
        ctx = chat_context(ws, session, workspace_id)
        now = utcnow()
        if kind == "page":
            # A page seen before the socket opened comes later with its time: recorded
            # in its place, but no trigger fires for a page the visitor has left.
            earlier = service.replayed_at(visitor, data.get("at"), now) if "at" in data else None
            if "at" in data and earlier is None:
                return out  # a late page without a usable time: nothing to place
            service.page_view(
                visitor,
                str(data.get("url") or ""),
                data.get("title") if isinstance(data.get("title"), str) else None,
                data.get("referrer") if isinstance(data.get("referrer"), str) else None,
                now=earlier or now,
            )
            if data.get("cart") is not None:
                service.set_cart(visitor, data["cart"], data.get("currency"))
            ctx.tell(session, {"what": "visitor", "visitor": str(visitor.id)})
            if earlier is None:
                fired = triggers.fire(session, ctx, visitor, rules.Event("page_view"))
                out.push = _proactive(fired)
                out.push.append({"type": "page_ack"})
        elif kind == "event":
            event = rules.Event(
                str(data.get("event") or ""),
                seconds=float(data.get("seconds") or 0),
                name=str(data.get("name") or "")[:120],
            )
            visitor.last_seen_at = now
            out.push = _proactive(triggers.fire(session, ctx, visitor, event))
            out.push.append({"type": "event_ack", "event": event.kind})
        elif kind == "cart":
            service.set_cart(visitor, data.get("value"), data.get("currency"))
            ctx.tell(session, {"what": "visitor", "visitor": str(visitor.id)})
        elif kind == "identify":
            verified = identity.identify(
                visitor,
                data.get("userId"),
                data.get("traits"),
                user_hash=data.get("userHash"),
                email_hash=data.get("emailHash"),
                secret=identity.secret_of(ctx.inbox.workspace, ctx.inbox.secret_key),
            )
            out.push.append({"type": "identified", "verified": verified})
        elif kind == "message":
            message = service.send(
                session,
                ctx,
                visitor,
                str(data.get("body") or ""),
                client_id=str(data["client_id"])[:80] if data.get("client_id") else None,
            )
            out.join = message.conversation_id
            out.push.append(
                {
                    "type": "ack",
                    "client_id": data.get("client_id"),
                    "id": str(message.id),
                    "conversation_id": str(message.conversation_id),
                }
            )
            if message.direction == "in" and message.channel == "chat":
                out.echo = visible.message_payload(message, [], visitor, "")
        elif kind == "read":
            service.read_by_visitor(session, ctx, visitor)
        elif kind == "offline":
            conversation = service.leave_message(
                session,
                ctx,
                visitor,
                name=str(data.get("name") or "") or None,
                email=str(data.get("email") or ""),
                body=str(data.get("message") or ""),
            )
            out.join = conversation.id
            out.push.append({"type": "offline_received"})
        elif kind == "transcript":
            transcript.send(session, ctx, visitor, str(data.get("email") or ""))
            out.push.append({"type": "transcript_sent"})
        elif kind == "csat":
            service.rate(session, ctx, visitor, data.get("score"), data.get("comment"))
            out.push.append({"type": "rated"})
        else:
            raise invalid(f"Unknown message type {kind!r}", field="type")
    return out


@router.websocket("/v1/chat/ws")
async def chat_socket(ws: WebSocket) -> None:
    """The widget's socket: ``?key=<write key>&visitor=<id>&token=<visitor token>``."""
    hub: Hub | None = getattr(ws.app.state, "chat_hub", None)
    try:
        sender = await _sender(ws)

        def check() -> tuple[ChatVisitor, dict[str, Any]]:
            with transaction(ws.app.state.session_factory) as session:
                ctx = chat_context(ws, session, sender.workspace_id)
                visitor = service.authenticate(
                    session,
                    sender.workspace_id,
                    ws.query_params.get("visitor"),
                    ws.query_params.get("token"),
                    ctx.inbox.secret_key,
                )
                visitor.last_seen_at = utcnow()
                token = service.visitor_token(ctx.inbox.secret_key, visitor.id)
                return visitor, _hello(session, ctx, visitor, token)

        visitor, hello = await run_in_threadpool(check)
    except AccordError:
        await ws.close(code=4401)
        return
    if hub is None:
        await ws.close(code=1013)
        return
    await ws.accept()
    conn = Connection(
        workspace_id=sender.workspace_id,
        visitor_id=visitor.id,
        token=hello["token"],
        conversation_id=visitor.conversation_id,
    )
    conn.seen.update(uuid.UUID(m["id"]) for m in hello["history"])
    hub.attach(conn)
    conn.push(hello)
    writer = asyncio.create_task(_write(ws, conn))
    broker = ws.app.state.broker
    last_touch = time.monotonic()
    try:
        while not conn.closed:
            try:
                data = await ws.receive_json()
            except (ValueError, KeyError):
                conn.push({"type": "error", "code": "invalid_json", "message": "Send JSON"})
                continue
            if not isinstance(data, dict):
                continue
            if data.get("type") == "ping":
                if time.monotonic() - last_touch < HEARTBEAT_WRITE:
                    continue
                last_touch = time.monotonic()
            if data.get("type") == "typing":
                broker.publish(
                    sender.workspace_id,
                    {
                        "type": "chat",
                        "what": "typing",
                        "by": "visitor",
                        "visitor": str(visitor.id),
                        "conversation": str(conn.conversation_id or ""),
                        "on": bool(data.get("on")),
                    },
                )
                continue
            try:
                outcome = await run_in_threadpool(act, ws, sender.workspace_id, visitor.id, data)
            except AccordError as error:
                conn.push(
                    {
                        "type": "error",
                        "ref": data.get("type"),
                        "code": error.code,
                        "field": error.field,
                        "message": error.message,
                    }
                )
                continue
            for payload in outcome.push:
                conn.push(payload)
            if outcome.echo is not None:
                hub.echo(conn, outcome.echo)
            if outcome.join is not None:
                # A new conversation is read whole; in the same one, a message that
                # came without its echo (a duplicate, an offline message) is read anew.
                hub.join(conn, outcome.join)
                if outcome.echo is None:
                    hub.deliver_soon(outcome.join)
    except WebSocketDisconnect:
        pass
    finally:
        hub.detach(conn)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer


async def _write(ws: WebSocket, conn: Connection) -> None:
    try:
        while True:
            payload = await conn.queue.get()
            if payload.get("type") == "close":
                await ws.close()
                return
            await ws.send_json(payload)
    except Exception:  # the socket went away; the reader notices and detaches
        conn.closed = True
