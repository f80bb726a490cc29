"""Write keys at the edge: reading one from a request, authenticating it (remembered for a
few seconds per process, forgotten at once when a key is revoked) and the CORS headers of
the public endpoints that take one (tracking, live chat, web forms)."""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import HTTPConnection

from accord.govern.access import service as access
from accord.govern.workspaces.models import Workspace
from accord.kit.db import transaction
from accord.kit.errors import unauthorized

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Content-Encoding",
    "Access-Control-Max-Age": "86400",
}
WRITE_KEY_CACHE_SECONDS = 10.0


def header_write_key(request: HTTPConnection) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            user = base64.b64decode(value.strip(), validate=True).decode().split(":", 1)[0]
        except (binascii.Error, UnicodeDecodeError):
            raise unauthorized("The Authorization header is not valid HTTP Basic") from None
        return user or None
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def body_write_key(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("writeKey"), str) and body["writeKey"]:
        return str(body["writeKey"])
    raise unauthorized("Send the write key as the HTTP Basic user name (or writeKey in the body)")


@dataclass(frozen=True)
class Sender:
    workspace_id: uuid.UUID
    source: str
    region: str


def remembered_sender(request: HTTPConnection, write_key: str) -> Sender | None:
    """The write key's workspace if this process checked the key moments ago."""
    hit = request.app.state.write_key_cache.get(write_key)
    return hit[1] if hit is not None and hit[0] > time.monotonic() else None


def authenticate_sender(request: HTTPConnection, write_key: str) -> Sender:
    """The write key's workspace, remembered for a few seconds per process. A revoked
    write key stops at once on every worker that hears the live update (all of them with
    Redis), and within ``WRITE_KEY_CACHE_SECONDS`` on any that did not."""
    cache: dict[str, tuple[float, Sender]] = request.app.state.write_key_cache
    now = time.monotonic()
    remembered = remembered_sender(request, write_key)
    if remembered is not None:
        return remembered
    with transaction(request.app.state.session_factory) as session:
        principal = access.authenticate_write_key(session, write_key)
        workspace = session.get(Workspace, principal.workspace_id)
        sender = Sender(
            workspace_id=principal.workspace_id,
            source=principal.label,
            region=workspace.default_region if workspace else "US",
        )
    if len(cache) > 10_000:
        cache.clear()
    cache[write_key] = (now + WRITE_KEY_CACHE_SECONDS, sender)
    return sender


def forget_revoked(
    cache: dict[str, tuple[float, Sender]],
) -> Callable[[uuid.UUID, dict[str, Any]], None]:
    """A live-update listener: when a write key of a workspace is revoked, this worker
    forgets the workspace's remembered keys at once instead of when they expire."""

    def listener(workspace_id: uuid.UUID, payload: dict[str, Any]) -> None:
        if payload.get("type") != access.KEYS_REVOKED:
            return
        for key in [k for k, (_, s) in list(cache.items()) if s.workspace_id == workspace_id]:
            cache.pop(key, None)

    return listener
