"""Receiving email: an SMTP listener (``accord smtp``, aiosmtpd) that accepts mail for
any workspace's support addresses, and an IMAP poller for mailboxes hosted elsewhere.
Both hand the raw message to ``channels.email.receive_email`` in one transaction; a
message is acknowledged (250, or flagged seen in IMAP) only once it is stored."""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy.orm import Session, sessionmaker

from accord.channels import mailbox
from accord.channels.email import Reported, receive_email
from accord.govern.workspaces.models import Workspace
from accord.inbox.context import InboxContext
from accord.kit.db import transaction

log = logging.getLogger(__name__)
MAX_MESSAGE = 30 * 1024 * 1024


class InboundHandler:
    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        secret_key: str,
        base_url: str,
        data_dir: Path,
        publish: Callable[[uuid.UUID, dict[str, Any]], None] | None = None,
        kick_outbox: Callable[[], None] | None = None,
        reported: Reported | None = None,
    ) -> None:
        self.reported = reported
        self.factory = factory
        self.secret_key = secret_key
        self.base_url = base_url
        self.data_dir = data_dir
        self.publish = publish
        self.kick_outbox = kick_outbox

    def _workspace_id(self, recipients: list[str]) -> uuid.UUID | None:
        with transaction(self.factory) as session:
            workspace = mailbox.workspace_for(session, recipients)
            return workspace.id if workspace else None

    async def handle_RCPT(
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        found = await asyncio.to_thread(self._workspace_id, [address])
        if found is None:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            raw = str(raw).encode()
        try:
            await asyncio.to_thread(self.store, raw, [str(r) for r in envelope.rcpt_tos])
        except Exception:
            log.exception("inbound email could not be stored")
            return "451 4.3.0 Could not store the message; try again later"
        return "250 2.0.0 Message accepted"

    def store(self, raw: bytes, recipients: list[str]) -> bool:
        with transaction(self.factory) as session:
            workspace = mailbox.workspace_for(session, recipients)
            if workspace is None:
                return False
            ctx = self.context(session, workspace)
            receive_email(session, ctx, raw, self.data_dir, self.reported)
        return True

    def context(self, session: Session, workspace: Workspace) -> InboxContext:
        return InboxContext.load(
            session,
            workspace.id,
            secret_key=self.secret_key,
            base_url=self.base_url,
            publish=self.publish,
            kick_outbox=self.kick_outbox,
        )


def smtp_controller(handler: InboundHandler, host: str, port: int) -> Controller:
    return Controller(
        handler, hostname=host, port=port, data_size_limit=MAX_MESSAGE, decode_data=False
    )


def poll_imap(handler: InboundHandler, workspace_id: uuid.UUID) -> int:
    """Fetch unseen messages of one workspace's IMAP mailbox; each is flagged seen only
    after it is stored. Returns how many were stored."""
    with transaction(handler.factory) as session:
        workspace = session.get(Workspace, workspace_id)
        box = mailbox.of(workspace, handler.secret_key) if workspace else None
    if box is None or box.imap is None:
        return 0
    server = box.imap
    client: imaplib.IMAP4 = (
        imaplib.IMAP4_SSL(server.host, server.port)
        if server.security == "tls"
        else imaplib.IMAP4(server.host, server.port)
    )
    stored = 0
    try:
        if server.security == "starttls":
            client.starttls()
        client.login(server.username or "", server.password or "")
        client.select(box.imap_folder)
        _, data = client.uid("search", "UNSEEN")
        for uid in (data[0] or b"").split():
            _, parts = client.uid("fetch", uid.decode(), "(BODY.PEEK[])")
            raw = next((p[1] for p in parts if isinstance(p, tuple)), None)
            if not isinstance(raw, bytes):
                continue
            handler.store(raw, [box.address])
            client.uid("store", uid.decode(), "+FLAGS", "(\\Seen)")
            stored += 1
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            client.logout()
    return stored
