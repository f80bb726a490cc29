"""The tracking API, compatible with Segment's HTTP Tracking API: ``/v1/identify``,
``track``, ``page``, ``screen``, ``group``, ``alias`` and ``batch``. Authenticated by a
write key (HTTP Basic user name, a Bearer header or ``writeKey`` in the body); gzip
bodies; CORS for browsers. ``{"success": true}`` is sent only after the events are
committed; then each of ``app.state.accept_listeners`` is called (the resolver is woken
that way), and resolution onto profiles follows within moments."""

from __future__ import annotations

import gzip
import zlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from accord.collect import service
from accord.collect.messages import MAX_BATCH_BYTES, MAX_MESSAGE_BYTES
from accord.govern.access.writekeys import (
    CORS_HEADERS,
    Sender,
    authenticate_sender,
    body_write_key,
    header_write_key,
    remembered_sender,
)
from accord.kit import jsonio, textcheck
from accord.kit.db import transaction
from accord.kit.errors import AccordError, FieldError, unauthorized
from accord.kit.time import utcnow

router = APIRouter(prefix="/v1", tags=["tracking"])

# Decompressed bodies may not exceed the batch limit by more than JSON framing.
MAX_BODY = MAX_BATCH_BYTES + 16 * 1024


def _too_large(limit: int, what: str, field: str = "body") -> AccordError:
    return AccordError(
        f"The {what} is larger than {limit // 1024} KB",
        code=f"{what.split()[0]}_too_large",
        status=413,
        field=field,
    )


async def _read_json(request: Request, limit: int, what: str) -> tuple[Any, bool]:
    """The parsed body, and whether its strings must be walked: only when its raw bytes
    may hold a NUL character or a lone surrogate (``textcheck.suspicious``), or it nested
    too deep and was trimmed. Values nested deeper than ``textcheck.MAX_DEPTH`` become
    a marker that validation reports with the field, so the rest of a batch is kept."""
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit * 4:  # compressed or not, far beyond any legitimate body
            raise _too_large(limit, what)
    encoding = request.headers.get("content-encoding", "").lower()
    raw = bytes(body)
    if encoding == "gzip":
        try:
            decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
            raw = decompressor.decompress(raw, limit + 1)
            if len(raw) > limit or decompressor.unconsumed_tail:
                raise _too_large(limit, what)
        except (zlib.error, gzip.BadGzipFile, EOFError):
            raise AccordError(
                "The body is not valid gzip", code="invalid_gzip", status=400, field="body"
            ) from None
    elif encoding not in ("", "identity"):
        raise AccordError(
            f"Content-Encoding {encoding!r} is not supported; use gzip",
            code="unsupported_encoding",
            status=415,
            field="Content-Encoding",
        )
    if len(raw) > limit:
        raise _too_large(limit, what)
    raw = textcheck.shallow(raw)
    try:
        return jsonio.loads(raw), textcheck.suspicious(raw)
    except (ValueError, RecursionError):
        raise AccordError(
            "The request body is not valid JSON", code="invalid_json", status=400, field="body"
        ) from None


def _store(
    request: Request, sender: Sender, body: Any, kind: str, body_bytes: int, scan: bool
) -> service.Accepted:
    received_at = utcnow()
    ip = request.client.host if request.client else None
    with transaction(request.app.state.session_factory) as session:
        if kind == "batch":
            if not isinstance(body, dict) or not isinstance(body.get("batch"), list):
                raise AccordError(
                    "A batch body is an object with a `batch` array",
                    code="invalid_batch",
                    status=400,
                    field="batch",
                )
            if not body["batch"]:
                raise AccordError(
                    "The batch is empty: send at least one message",
                    code="empty_batch",
                    status=400,
                    field="batch",
                )
            defaults = {k: v for k, v in body.items() if k in ("context", "integrations", "sentAt")}
            return service.accept(
                session,
                workspace_id=sender.workspace_id,
                source=sender.source,
                region=sender.region,
                messages=body["batch"],
                received_at=received_at,
                defaults=defaults,
                ip=ip,
                small_body=body_bytes <= MAX_MESSAGE_BYTES,
                scan=scan,
            )
        return service.accept(
            session,
            workspace_id=sender.workspace_id,
            source=sender.source,
            region=sender.region,
            messages=[body],
            received_at=received_at,
            forced_type=kind,
            field_prefix="",
            ip=ip,
            small_body=body_bytes <= MAX_MESSAGE_BYTES,
            scan=scan,
        )


def _answer(request: Request, result: service.Accepted) -> Response:
    if result.errors:
        first: FieldError = result.errors[0]
        error = AccordError(
            f"{len(result.errors)} of {result.received} messages were rejected "
            f"({first.field}: {first.message}); the other {result.received - len(result.errors)}"
            " were accepted",
            code="invalid_messages" if result.received > 1 else first.code,
            status=400,
            field=first.field,
            errors=result.errors,
        )
        body = error.problem(instance=request.url.path)
        body["accepted"] = result.stored + result.duplicates
        return JSONResponse(
            body, status_code=400, media_type="application/problem+json", headers=CORS_HEADERS
        )
    return JSONResponse({"success": True}, headers=CORS_HEADERS)


async def _authenticate(request: Request, write_key: str) -> Sender:
    return await run_in_threadpool(authenticate_sender, request, write_key)


async def _handle(request: Request, kind: str) -> Response:
    limit = MAX_BATCH_BYTES if kind == "batch" else MAX_MESSAGE_BYTES
    what = "batch" if kind == "batch" else "message"
    try:
        key = header_write_key(request)
        sender = None
        if key:
            sender = remembered_sender(request, key) or await _authenticate(request, key)
        try:
            body, scan = await _read_json(request, limit, what)
        except AccordError:
            if sender is None:  # no key in a header, and no body to find one in
                raise unauthorized("Send the write key as the HTTP Basic user name") from None
            raise
        if sender is None:
            body_key = body_write_key(body)
            sender = remembered_sender(request, body_key) or await _authenticate(request, body_key)
        size = int(request.headers.get("content-length") or 0)
        if request.headers.get("content-encoding", "").lower() == "gzip" or not size:
            size = MAX_BATCH_BYTES  # unknown once inflated: measure each message
        result = await run_in_threadpool(_store, request, sender, body, kind, size, scan)
    except AccordError as error:
        error.headers = {**error.headers, **CORS_HEADERS}
        raise
    if result.stored or result.duplicates:
        for listener in request.app.state.accept_listeners:
            await run_in_threadpool(listener)
    return _answer(request, result)


@router.options("/{path:path}", include_in_schema=False)
async def preflight(path: str) -> Response:
    return Response(status_code=204, headers=CORS_HEADERS)


@router.post("/identify", summary="Identify: who the user is, and their traits")
async def identify(request: Request) -> Response:
    return await _handle(request, "identify")


@router.post("/track", summary="Track: something the user did")
async def track(request: Request) -> Response:
    return await _handle(request, "track")


@router.post("/page", summary="Page: a web page view")
async def page(request: Request) -> Response:
    return await _handle(request, "page")


@router.post("/screen", summary="Screen: an app screen view")
async def screen(request: Request) -> Response:
    return await _handle(request, "screen")


@router.post("/group", summary="Group: the user belongs to an account")
async def group(request: Request) -> Response:
    return await _handle(request, "group")


@router.post("/alias", summary="Alias: two ids are the same user")
async def alias(request: Request) -> Response:
    return await _handle(request, "alias")


@router.post("/batch", summary="Batch: up to 500 KB of messages of any type")
async def batch(request: Request) -> Response:
    return await _handle(request, "batch")


@router.post("/import", include_in_schema=False)
async def import_(request: Request) -> Response:
    """The path some libraries use for historical batches; same as /v1/batch."""
    return await _handle(request, "batch")
