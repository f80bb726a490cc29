"""A workspace's mailbox: the support address customers write to (and replies come
from), other addresses that deliver to it, the outbound SMTP relay and an optional IMAP
account to poll. Stored in ``workspace.settings["email"]``; the relay and IMAP passwords
are encrypted with a key derived from the server's secret key, never stored in clear."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from accord.govern.workspaces.models import Workspace
from accord.kit.errors import conflict
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


def _addresses(raw: Any) -> set[str]:
    """The addresses a stored mailbox document receives mail for, lower-cased."""
    if not isinstance(raw, dict) or not raw.get("address"):
        return set()
    return {str(a).lower() for a in [raw["address"], *(raw.get("inbound_addresses") or [])]}


def _mentioning(session: Session, domain: str) -> list[Workspace]:
    """Workspaces whose settings mention ``domain``: a cheap filter in the database,
    so routing one message does not read (or decrypt) every workspace's mailbox."""
    if not domain.isascii():  # stored JSON may escape it: read them all
        return list(session.scalars(select(Workspace)))
    pattern = "%@" + domain.replace("\\", "").replace("%", "").replace("_", "\\_") + "%"
    stmt = select(Workspace).where(cast(Workspace.settings, String).ilike(pattern, escape="\\"))
    return list(session.scalars(stmt))


def _base(recipient: str) -> str:
    local, _, domain = recipient.strip().lower().partition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def workspace_for(session: Session, recipients: list[str]) -> Workspace | None:
    """The workspace whose mailbox receives one of ``recipients`` (an address belongs to
    one workspace at most: :func:`save` refuses a second claim)."""
    for recipient in recipients:
        base = _base(recipient)
        domain = base.rpartition("@")[2]
        if not domain:
            continue
        for workspace in _mentioning(session, domain):
            if base in _addresses((workspace.settings or {}).get("email")):
                return workspace
    return None


def save(
    session: Session, workspace: Workspace, raw: dict[str, Any], secret_key: str
) -> dict[str, Any]:
    """Store a workspace's mailbox settings (passwords encrypted). An address another
    workspace receives mail for is refused: mail for it would otherwise be routed to
    whichever workspace came first."""
    settings = dict(workspace.settings or {})
    previous = dict(settings.get("email") or {})
    raw = {**raw, "address": str(raw["address"]).strip().lower()}
    if "inbound_addresses" in raw:
        given = raw["inbound_addresses"]
        raw["inbound_addresses"] = sorted({str(a).strip().lower() for a in given})
    elif previous.get("inbound_addresses"):
        raw["inbound_addresses"] = previous["inbound_addresses"]
    for address in sorted(_addresses(raw)):
        for other in _mentioning(session, address.rpartition("@")[2]):
            theirs = _addresses((other.settings or {}).get("email"))
            if other.id != workspace.id and address in theirs:
                field = "address" if address == raw["address"] else "inbound_addresses"
                raise conflict(
                    f"{address} already receives mail for another workspace",
                    field=field,
                    code="address_taken",
                )
    stored = stored_form(raw, secret_key, previous)
    settings["email"] = stored
    workspace.settings = settings
    return stored


def workspace_ids_with_imap(session: Session, secret_key: str) -> list[uuid.UUID]:
    """Workspaces with an IMAP account to poll; only settings that mention one are read."""
    mentioning = cast(Workspace.settings, String).like('%"imap"%')
    return [
        w.id
        for w in session.scalars(select(Workspace).where(mentioning))
        if (box := of(w, secret_key)) is not None and box.imap is not None
    ]
