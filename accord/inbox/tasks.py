"""Background inbox work in each API process: snoozed conversations wake up when their
time comes (and consoles hear of it)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from accord.inbox import service
from accord.inbox.context import InboxContext
from accord.kit.db import transaction
from accord.kit.threads import PeriodicWorker


class InboxWorker(PeriodicWorker):
    """Every ``interval`` seconds, wakes the snoozed conversations whose time has come."""

    name = "inbox"

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        secret_key: str,
        base_url: str,
        publish: Callable[[uuid.UUID, dict[str, Any]], None],
        interval: float = 30.0,
    ) -> None:
        super().__init__(interval=interval)
        self.factory = factory
        self.secret_key = secret_key
        self.base_url = base_url
        self.publish = publish

    def step(self) -> None:
        self.run_once()

    def run_once(self) -> int:
        """Wake what is due now; returns how many conversations woke."""
        with transaction(self.factory) as session:
            contexts: dict[uuid.UUID, InboxContext] = {}

            def ctx_for(workspace_id: uuid.UUID) -> InboxContext:
                if workspace_id not in contexts:
                    contexts[workspace_id] = InboxContext.load(
                        session,
                        workspace_id,
                        secret_key=self.secret_key,
                        base_url=self.base_url,
                        publish=self.publish,
                    )
                return contexts[workspace_id]

            return service.wake_snoozed(session, ctx_for)
