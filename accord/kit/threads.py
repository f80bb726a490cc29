"""The one base of Accord's background loops: a thread that does one ``step()`` of work
now and then. It is woken at once by ``kick()`` (after a commit that left work for it) and
otherwise every ``interval`` seconds; it can also take a first step as soon as it starts.

A step that raises does not end the thread: the failure is logged and, after a back-off
(``backoff`` seconds, doubled with each failure in a row up to ``max_backoff``), the step
is tried again, since the work is still there to be done. A long step looks at
``stopping`` to end early; ``stop()`` wakes the thread and waits for it to end.

``prompt_switching`` is for a thread that serves sockets while another of its process
computes."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class PeriodicWorker:
    """Subclasses set ``name`` (thread and log name) and implement ``step()``."""

    name = "worker"

    def __init__(
        self,
        *,
        interval: float,
        backoff: float | None = None,
        max_backoff: float = 60.0,
        run_at_start: bool = False,
        name: str | None = None,
    ) -> None:
        self.interval = interval
        self.backoff = interval if backoff is None else backoff
        self.max_backoff = max(max_backoff, self.backoff)
        self.run_at_start = run_at_start
        if name is not None:
            self.name = name
        self.failures = 0  # steps failed in a row
        self.log = logging.getLogger(type(self).__module__)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> None:
        raise NotImplementedError

    @property
    def stopping(self) -> threading.Event:
        """Set once ``stop()`` is called: a long step checks it to end early."""
        return self._stop

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread (once: a running worker is left as it is)."""
        if self.running:
            return
        self._stop.clear()
        self.failures = 0
        self._thread = threading.Thread(target=self._run, name=f"accord-{self.name}", daemon=True)
        self._thread.start()

    def kick(self) -> None:
        """Take a step now (or, during a step, once it ends)."""
        self._wake.set()

    def stop(self, timeout: float = 30) -> bool:
        """Let the step under way end, then end the thread; returns whether it ended
        within ``timeout`` seconds."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout=timeout)
        if thread.is_alive():
            self.log.warning("%s did not stop within %s s", self.name, timeout)
            return False
        return True

    def backoff_after(self, failures: int) -> float:
        """Seconds to wait before trying again after ``failures`` failed steps in a row."""
        return min(self.backoff * 2.0 ** min(failures - 1, 32), self.max_backoff)

    def _run(self) -> None:
        due = self.run_at_start
        while not self._stop.is_set():
            if not due:
                self._wake.wait(self.interval)
            due = False
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.step()
            except Exception:  # keep the thread alive; the work stays to be done
                self.failures += 1
                wait = self.backoff_after(self.failures)
                self.log.exception(
                    "%s failed (%d in a row); trying again in %.2f s",
                    self.name,
                    self.failures,
                    wait,
                )
                self._stop.wait(wait)
                due = True
            else:
                self.failures = 0


_switching = threading.Lock()
_prompt_users = 0
_usual_interval = 0.0


@contextmanager
def prompt_switching(interval: float = 0.0005) -> Iterator[None]:
    """While inside, the interpreter hands itself from thread to thread every
    ``interval`` seconds instead of every 5 ms, for a thread that must answer its sockets
    promptly while another thread of the process computes (a campaign's sender serving
    its SMTP sessions while the next batch is decided). Process-wide: the first one in
    sets it, the last one out puts back what was there."""
    global _prompt_users, _usual_interval
    with _switching:
        if _prompt_users == 0:
            _usual_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(interval, _usual_interval))
        _prompt_users += 1
    try:
        yield
    finally:
        with _switching:
            _prompt_users -= 1
            if _prompt_users == 0:
                sys.setswitchinterval(_usual_interval)
