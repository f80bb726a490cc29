"""A workspace's mailbox: the support address customers write to (and replies come
from), other addresses that deliver to it, the outbound SMTP relay and an optional IMAP
account to poll. Stored as the settings group ``email``, written only by :func:`save`;
the relay and IMAP passwords are encrypted with a key derived from the server's secret
key, never stored in clear, and kept in fields of their own that the audit log never
shows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from sqlalchemy.orm import Session

from accord.channels.repository import MailboxRepository
from accord.govern.access.principal import Principal
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.service import get_workspace
from accord.govern.workspaces.settings import SettingsGroup, invalid_settings
from accord.kit.errors import conflict
from accord.kit.security import decrypt, encrypt

SERVERS = ("relay", "imap")


class ServerSettings(BaseModel):
    """A stored SMTP relay or IMAP account; its password is kept apart, encrypted."""

    model_config = ConfigDict(extra="ignore")

    host: str
    port: int = 25
    username: str | None = None
    security: str = "none"  # none | starttls | tls


class EmailSettings(BaseModel):
    """``workspace.settings["email"]`` as stored."""

    model_config = ConfigDict(extra="ignore")

    address: str | None = None
    name: str | None = None
    inbound_addresses: list[str] = []
    relay: ServerSettings | None = None
    imap: ServerSettings | None = None
    imap_folder: str = "INBOX"
    relay_password_encrypted: str | None = None
    imap_password_encrypted: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _passwords_apart(cls, data: Any) -> Any:
        """Settings stored before the passwords had fields of their own kept each one in
        its server."""
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for kind in SERVERS:
            server = out.get(kind)
            if isinstance(server, dict) and "password_encrypted" in server:
                out[kind] = {k: v for k, v in server.items() if k != "password_encrypted"}
                out.setdefault(f"{kind}_password_encrypted", server["password_encrypted"])
        return out


EMAIL = SettingsGroup(
    "email",
    EmailSettings,
    secret_fields=frozenset({"relay_password_encrypted", "imap_password_encrypted"}),
)


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


def _server(server: ServerSettings | None, password: str | None, secret_key: str) -> Server | None:
    if server is None or not server.host:
        return None
    return Server(
        host=server.host,
        port=server.port or 25,
        username=server.username or None,
        password=decrypt(secret_key, password),
        security=server.security or "none",
    )


def of(workspace: Workspace, secret_key: str) -> Mailbox | None:
    box = EMAIL.read(workspace)
    if not box.address:
        return None
    return Mailbox(
        address=box.address.lower(),
        name=box.name or workspace.name,
        inbound=[a.lower() for a in box.inbound_addresses],
        relay=_server(box.relay, box.relay_password_encrypted, secret_key),
        imap=_server(box.imap, box.imap_password_encrypted, secret_key),
        imap_folder=box.imap_folder or "INBOX",
    )


def stored_form(raw: dict[str, Any], secret_key: str, previous: dict[str, Any]) -> dict[str, Any]:
    """The settings document to store from what an admin sent: passwords encrypted in
    fields of their own (a server sent without a password keeps the one stored before;
    a server left out is removed with its password)."""
    before = EmailSettings.model_validate(previous)
    out = {k: v for k, v in raw.items() if k not in SERVERS}
    for kind in SERVERS:
        server = raw.get(kind)
        if not isinstance(server, dict):
            continue
        out[kind] = {k: v for k, v in server.items() if k != "password"}
        if server.get("password"):
            out[f"{kind}_password_encrypted"] = encrypt(secret_key, str(server["password"]))
        elif getattr(before, kind) is not None:
            out[f"{kind}_password_encrypted"] = getattr(before, f"{kind}_password_encrypted")
    return out


def public_form(value: EmailSettings) -> dict[str, Any]:
    """What an admin sees: never a password, only whether one is set."""
    out = value.model_dump(
        mode="json",
        exclude_none=True,
        exclude={"relay_password_encrypted", "imap_password_encrypted"},
    )
    for kind in SERVERS:
        if kind in out:
            out[kind]["password_set"] = bool(getattr(value, f"{kind}_password_encrypted"))
    return out


def settings(session: Session, workspace_id: uuid.UUID) -> tuple[dict[str, Any], int]:
    """The mailbox as an admin sees it, and its version."""
    workspace = get_workspace(session, workspace_id)
    return public_form(EMAIL.read(workspace)), EMAIL.version(workspace)


def _addresses(raw: Any) -> set[str]:
    """The addresses a stored mailbox document receives mail for, lower-cased."""
    if not isinstance(raw, dict) or not raw.get("address"):
        return set()
    return {str(a).lower() for a in [raw["address"], *(raw.get("inbound_addresses") or [])]}


def _base(recipient: str) -> str:
    local, _, domain = recipient.strip().lower().partition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def workspace_for(session: Session, recipients: list[str]) -> Workspace | None:
    """The workspace whose mailbox receives one of ``recipients`` (an address belongs to
    one workspace at most: :func:`save` refuses a second claim)."""
    repo = MailboxRepository.from_session(session)
    for recipient in recipients:
        base = _base(recipient)
        domain = base.rpartition("@")[2]
        if not domain:
            continue
        for workspace in repo.mentioning(domain):
            if base in _addresses(EMAIL.raw(workspace)):
                return workspace
    return None


def save(
    session: Session,
    workspace_id: uuid.UUID,
    raw: dict[str, Any],
    secret_key: str,
    *,
    actor: Principal,
    expected_version: int | None = None,
) -> tuple[dict[str, Any], int]:
    """Set a workspace's mailbox (the API and the console both come here): passwords
    encrypted, at ``expected_version`` when given, audited without the passwords.
    Returns it as an admin sees it, with its new version. An address another workspace
    receives mail for is refused: mail for it would otherwise be routed to whichever
    workspace came first."""
    workspace = get_workspace(session, workspace_id)
    previous = EMAIL.read(workspace).model_dump()
    raw = {**raw, "address": str(raw["address"]).strip().lower()}
    if "inbound_addresses" in raw:
        given = raw["inbound_addresses"]
        raw["inbound_addresses"] = sorted({str(a).strip().lower() for a in given})
    elif previous.get("inbound_addresses"):
        raw["inbound_addresses"] = previous["inbound_addresses"]
    repo = MailboxRepository.from_session(session)
    for address in sorted(_addresses(raw)):
        for other in repo.mentioning(address.rpartition("@")[2]):
            if other.id != workspace.id and address in _addresses(EMAIL.raw(other)):
                field = "address" if address == raw["address"] else "inbound_addresses"
                raise conflict(
                    f"{address} already receives mail for another workspace",
                    field=field,
                    code="address_taken",
                )
    try:
        value = EmailSettings.model_validate(stored_form(raw, secret_key, previous))
    except ValidationError as exc:
        raise invalid_settings(exc) from None
    stored = EMAIL.write(session, workspace, value, actor=actor, expected_version=expected_version)
    return public_form(stored), EMAIL.version(workspace)


def workspace_ids_with_imap(session: Session, secret_key: str) -> list[uuid.UUID]:
    """Workspaces with an IMAP account to poll; only settings that mention one are read."""
    return [
        w.id
        for w in MailboxRepository.from_session(session).mentioning_imap()
        if (box := of(w, secret_key)) is not None and box.imap is not None
    ]
