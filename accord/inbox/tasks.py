"""Background inbox work in each API process: snoozed conversations wake up when their
time comes (and consoles hear of it)."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from accord.inbox import service
from accord.inbox.context import InboxContext
from accord.kit.db import transaction

log = logging.getLogger(__name__)


class InboxWorker:
    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        secret_key: str,
        base_url: str,
        publish: Callable[[uuid.UUID, dict[str, Any]], None],
        interval: float = 30.0,
    ) -> None:
        self.factory = factory
        self.secret_key = secret_key
        self.base_url = base_url
        self.publish = publish
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="accord-inbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def run_once(self) -> int:
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

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except Exception:
                log.exception("inbox jobs failed; retrying")
