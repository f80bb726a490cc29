"""A background thread that does one step of work now and then: woken at once by
``kick()`` or every ``interval`` seconds, kept alive when a step fails (the work stays
to be done and the next step retries)."""

from __future__ import annotations

import logging
import threading
import time


class PeriodicWorker:
    name = "accord-worker"

    def __init__(self, *, interval: float) -> None:
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    @property
    def stopping(self) -> threading.Event:
        """Set once ``stop()`` is called: a long step checks it to end early."""
        return self._stop

    def kick(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def _run(self) -> None:
        log = logging.getLogger(f"accord.{self.name}")
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.step()
            except Exception:  # keep the thread alive; the next step retries
                log.exception("%s failed; retrying", self.name)
                time.sleep(self.interval)
