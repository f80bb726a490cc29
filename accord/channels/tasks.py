"""The channels' background loops in each API process: the outbox, which sends queued
email and text messages after the commit that queued them, and the IMAP poller, which
fetches the mail of mailboxes hosted elsewhere every ``ACCORD_IMAP_POLL_SECONDS``.
Sending and receiving themselves live in ``email.py``, ``sms_inbox.py`` and
``inbound.py``."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from accord.channels import mailbox
from accord.channels.email import BATCH, deliver_one, due
from accord.channels.inbound import InboundHandler, poll_imap
from accord.channels.sms_inbox import deliver_text
from accord.inbox.repository import MessageRepository
from accord.kit.db import transaction
from accord.kit.threads import PeriodicWorker
from accord.kit.time import utcnow

log = logging.getLogger(__name__)
# Sends one queued message: (factory, message id, secret key, publish, base URL) -> state.
Sender = Callable[
    [sessionmaker[Session], uuid.UUID, str, Callable[[uuid.UUID, dict[str, Any]], None], str],
    str,
]
# A send takes seconds (the relay's timeouts are shorter): a claim older than this was left
# by a process that died between taking a message and marking it.
STALE_CLAIM = timedelta(minutes=10)
# How far down the queue one pass looks past messages waiting for a retry.
MAX_PAGES = 20


class Outbox(PeriodicWorker):
    """Sends queued email and texts: woken (``kick()``) after each commit that queued one, every
    ``interval`` seconds for retries that came due (``deliver_one`` puts a failed message
    back in the queue with a growing delay, up to ``email.MAX_ATTEMPTS`` attempts), and
    once at start for what was queued while no process was sending."""

    name = "outbox"

    def __init__(
        self,
        factory: sessionmaker[Session],
        secret_key: str,
        publish: Callable[[uuid.UUID, dict[str, Any]], None],
        interval: float = 5.0,
        base_url: str = "http://127.0.0.1:8000",
        senders: Mapping[str, Sender] | None = None,
    ) -> None:
        super().__init__(interval=interval, run_at_start=True)
        self.factory = factory
        self.secret_key = secret_key
        self.publish = publish
        self.base_url = base_url
        # Email and texts are sent here; other channels by the sender the edge hands in
        # (social replies: accord.social.delivery).
        self.senders: dict[str, Sender] = {"email": deliver_one, "sms": deliver_text}
        self.senders.update(senders or {})

    def step(self) -> None:
        # A full batch means more may be waiting: go on until the queue is drained.
        while self.drain() == BATCH and not self.stopping.is_set():
            pass

    def drain(self) -> int:
        """Send one batch of the queued email that is due; returns how many were tried.
        Messages waiting for a retry are passed over (never in front of newer mail), and
        a claim older than any send can take is put back in the queue first."""
        with transaction(self.factory) as session:
            repo = MessageRepository.from_session(session)
            released = repo.release_stale_claims(utcnow() - STALE_CLAIM)
            if released:
                log.warning("outbox: %d email claimed by a sender that died queued again", released)
            ids: list[tuple[uuid.UUID, str]] = []
            after: uuid.UUID | None = None
            for _ in range(MAX_PAGES):
                page = repo.queued(BATCH, after=after)
                ids.extend((m.id, m.channel) for m in page if due(m))
                if len(ids) >= BATCH or len(page) < BATCH:
                    break
                after = page[-1].id
            ids = ids[:BATCH]
        for message_id, channel in ids:
            send = self.senders.get(channel)
            if send is None:
                log.warning("outbox: no sender for %s (message %s)", channel, message_id)
                continue
            send(self.factory, message_id, self.secret_key, self.publish, self.base_url)
        return len(ids)


class ImapPoller(PeriodicWorker):
    """Every ``interval`` seconds, fetches the unseen mail of each workspace that has an
    IMAP mailbox. One workspace's failure (a wrong password, a server down) is logged and
    does not hold up the others."""

    name = "imap"

    def __init__(self, handler: InboundHandler, interval: float = 60.0) -> None:
        super().__init__(interval=interval)
        self.handler = handler

    def step(self) -> None:
        with transaction(self.handler.factory) as session:
            ids = mailbox.workspace_ids_with_imap(session, self.handler.secret_key)
        for workspace_id in ids:
            if self.stopping.is_set():
                return
            try:
                poll_imap(self.handler, workspace_id)
            except Exception:
                self.log.exception("IMAP polling of workspace %s failed", workspace_id)
