"""A workspace's mailbox: the support address customers write to (and replies come
from), other addresses that deliver to it, the outbound SMTP relay and an optional IMAP
account to poll. Stored in ``workspace.settings["email"]``; the relay and IMAP passwords
are encrypted with a key derived from the server's secret key, never stored in clear."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.govern.workspaces.models import Workspace
from accord.kit.security import decrypt, encrypt


@dataclass
class Server:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    security: str = "none"  # none | starttls | tls


@dataclass
class Mailbox:
    address: str
    name: str
    inbound: list[str] = field(default_factory=list)
    relay: Server | None = None
    imap: Server | None = None
    imap_folder: str = "INBOX"

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[-1]

    def receives(self, recipient: str) -> bool:
        local, _, domain = recipient.lower().partition("@")
        base = f"{local.split('+', 1)[0]}@{domain}"
        return base in {a.lower() for a in [self.address, *self.inbound]}


def _server(raw: Any, secret_key: str) -> Server | None:
    if not isinstance(raw, dict) or not raw.get("host"):
        return None
    return Server(
        host=str(raw["host"]),
        port=int(raw.get("port") or 25),
        username=raw.get("username") or None,
        password=decrypt(secret_key, raw.get("password_encrypted")),
        security=str(raw.get("security") or "none"),
    )


def of(workspace: Workspace, secret_key: str) -> Mailbox | None:
    raw = (workspace.settings or {}).get("email")
    if not isinstance(raw, dict) or not raw.get("address"):
        return None
    return Mailbox(
        address=str(raw["address"]).lower(),
        name=str(raw.get("name") or workspace.name),
        inbound=[str(a).lower() for a in raw.get("inbound_addresses") or []],
        relay=_server(raw.get("relay"), secret_key),
        imap=_server(raw.get("imap"), secret_key),
        imap_folder=str(raw.get("imap_folder") or "INBOX"),
    )


def stored_form(raw: dict[str, Any], secret_key: str, previous: dict[str, Any]) -> dict[str, Any]:
    """The settings document to store: passwords encrypted (an omitted password keeps
    the one stored before)."""
    out = {k: v for k, v in raw.items() if k not in ("relay", "imap")}
    for kind in ("relay", "imap"):
        server = raw.get(kind)
        if not isinstance(server, dict):
            continue
        stored = {k: v for k, v in server.items() if k != "password"}
        if server.get("password"):
            stored["password_encrypted"] = encrypt(secret_key, str(server["password"]))
        elif isinstance(previous.get(kind), dict) and previous[kind].get("password_encrypted"):
            stored["password_encrypted"] = previous[kind]["password_encrypted"]
        out[kind] = stored
    return out


def public_form(raw: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in raw.items() if k not in ("relay", "imap")}
    for kind in ("relay", "imap"):
        if isinstance(raw.get(kind), dict):
            server = {k: v for k, v in raw[kind].items() if k != "password_encrypted"}
            server["password_set"] = bool(raw[kind].get("password_encrypted"))
            out[kind] = server
    return out


def workspace_for(session: Session, recipients: list[str], secret_key: str) -> Workspace | None:
    """The workspace whose mailbox receives one of ``recipients``."""
    for workspace in session.scalars(select(Workspace)):
        box = of(workspace, secret_key)
        if box is not None and any(box.receives(r) for r in recipients):
            return workspace
    return None


def workspace_ids_with_imap(session: Session, secret_key: str) -> list[uuid.UUID]:
    return [
        w.id
        for w in session.scalars(select(Workspace))
        if (box := of(w, secret_key)) is not None and box.imap is not None
    ]
