"""Text no column can hold never reaches a handler: a NUL character or a lone surrogate
anywhere in an ``/api/`` request's JSON body or query string, or a body nested deeper than
``textcheck.MAX_DEPTH``, is refused with 422 naming the field, once for every endpoint; so
is a NUL in a console page's query string or submitted form (answered as the console's
error page). The tracking API (``/v1/``) validates its own messages, and static files and
the demo shop hold no such input: they pass through with one prefix test.

The body is read whole only when it is JSON (or untyped, which FastAPI reads as JSON), as
the endpoint would read it anyway, and handed on as it came; its strings are walked only
when its raw bytes could hold such text (``textcheck.suspicious``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from accord.kit import jsonio, textcheck
from accord.kit.errors import AccordError, FieldError
from accord.kit.textcheck import BadText, find_bad

PREFIX = "/api/"
PASS_THROUGH = ("/v1/", "/static/", "/demo")
PROBLEM_JSON = "application/problem+json"
Render = Callable[[Request, AccordError], Response]


def bad_query(raw: bytes) -> BadText | None:
    """The first query parameter (name or value) holding a NUL, read as Starlette reads
    the query string (percent-decoded as UTF-8, invalid bytes replaced: no surrogate
    survives that)."""
    if b"%00" not in raw and b"\x00" not in raw:
        return None
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        found = find_bad({name: value})
        if found is not None:
            return found
    return None


def bad_body(raw: bytes) -> BadText | None:
    """The first bad string, or value nested too deep, in a JSON body; None for a body
    that is not JSON (the endpoint answers that)."""
    raw = textcheck.shallow(raw)  # what is too deep becomes a marker the walk reports
    if not textcheck.suspicious(raw):
        return None
    try:
        return find_bad(jsonio.loads(raw))
    except (ValueError, RecursionError):
        return None


def _reads_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return b"json" in value.lower()
    return True  # no content type: FastAPI reads the body as JSON


def _form_encoded(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return bool(value.lower().startswith(b"application/x-www-form-urlencoded"))
    return False


async def _read(receive: Receive) -> tuple[list[Message], bytes]:
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return messages, b"".join(chunks)


class ApiTextGuard:
    """ASGI middleware: refuses requests carrying text no column can hold."""

    def __init__(self, app: ASGIApp, render: Render | None = None) -> None:
        self.app = app
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(PASS_THROUGH):
            await self.app(scope, receive, send)
            return
        if not scope["path"].startswith(PREFIX):
            await self._console(scope, receive, send)
            return
        found = bad_query(scope.get("query_string", b""))
        if found is None and "\x00" in scope["path"]:
            found = BadText("path", "invalid_text", "the path holds a NUL character")
        if found is not None:
            await _refuse(scope, receive, send, found)
            return
        if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE") or not _reads_json(scope):
            await self.app(scope, receive, send)
            return
        messages, body = await _read(receive)
        found = bad_body(body)
        if found is not None:
            await _refuse(scope, receive, send, found)
            return
        await self.app(scope, _replay(messages, receive), send)

    async def _console(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A console page: its query string, and a submitted (URL-encoded) form."""
        found = bad_query(scope.get("query_string", b""))
        messages: list[Message] = []
        if found is None and scope.get("method") == "POST" and _form_encoded(scope):
            messages, body = await _read(receive)
            found = bad_query(body)
        if found is None:
            await self.app(scope, _replay(messages, receive), send)
            return
        error = _error(found)
        if self.render is None:
            await _refuse(scope, receive, send, found)
            return
        response = self.render(Request(scope, receive), error)
        await response(scope, receive, send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def _error(found: BadText) -> AccordError:
    return AccordError(
        f"{found.field}: {found.message}",
        code="validation_error",
        status=422,
        field=found.field,
        errors=[FieldError(field=found.field, code=found.code, message=found.message)],
    )


async def _refuse(scope: Scope, receive: Receive, send: Send, found: BadText) -> None:
    error = _error(found)
    body: dict[str, Any] = error.problem(instance=scope["path"])
    response = JSONResponse(body, status_code=422, media_type=PROBLEM_JSON)
    await response(scope, receive, send)
