"""Write keys at the edge: reading one from a request, authenticating it (remembered for a
few seconds per process, forgotten at once when a key is revoked: ``keycache``) and the
CORS headers of the public endpoints that take one (tracking, live chat, web forms)."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.requests import HTTPConnection

from accord.govern.access import service as access
from accord.govern.access.keycache import KeyCache
from accord.govern.workspaces.models import Workspace
from accord.kit.db import transaction
from accord.kit.errors import unauthorized

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Content-Encoding",
    "Access-Control-Max-Age": "86400",
}


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
    cache: KeyCache[Sender] = request.app.state.write_key_cache
    return cache.get(write_key)


def authenticate_sender(request: HTTPConnection, write_key: str) -> Sender:
    """The write key's workspace, remembered for a few seconds per process."""
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
    request.app.state.write_key_cache.put(write_key, sender)
    return sender


def sender_cache() -> KeyCache[Sender]:
    return KeyCache(lambda sender: sender.workspace_id)
