"""The resolver in a process of its own: what ``accord serve`` runs beside its API workers
(and ``accord worker resolve`` runs by itself). Resolving costs more CPU an event than
accepting, so on a busy machine it runs at a lower CPU priority: a burst of events is
accepted (and made durable) at full speed, and resolution catches up with whatever CPU is
left. In a process of its own it no longer shares an API worker's interpreter lock with
the requests."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from types import FrameType

from sqlalchemy.orm import Session, sessionmaker

from accord.resolve.worker import Pacing, ResolverWorker

log = logging.getLogger("accord.resolve.process")


def lower_priority(nice: int) -> None:
    """Make this process yield the CPU to others (0 leaves it as it is)."""
    if nice > 0 and hasattr(os, "nice"):
        os.nice(nice)


def run(
    factory: sessionmaker[Session],
    stop: threading.Event,
    *,
    poll: float,
    yield_above: int = 0,
    alive: Callable[[], bool] = lambda: True,
) -> None:
    """Run the resolver worker (every ``poll`` seconds when idle, resting during bursts
    above ``yield_above`` events a second; a failed pass is logged and retried) until
    ``stop`` is set or ``alive()`` turns false, then end it after the batch under way."""
    worker = ResolverWorker(factory, interval=poll, pacing=Pacing(yield_above))
    worker.start()
    try:
        while alive() and not stop.wait(0.2):
            pass
    finally:
        worker.stop()


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT finish the batch under way and end the loop."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


class Supervisor:
    """Runs ``accord worker resolve`` as a child of ``accord serve`` and starts it again
    if it dies. The child ends by itself when its parent is gone."""

    def __init__(self, restart_after: float = 1.0) -> None:
        self.restart_after = restart_after
        self._env = dict(os.environ)
        self._proc: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _spawn(self) -> subprocess.Popen[bytes]:
        cmd = [sys.executable, "-m", "accord.cli.main", "worker", "resolve"]
        # A session of its own: a Ctrl-C at the terminal reaches the server, which stops
        # this process in its turn, rather than both at once.
        return subprocess.Popen(  # noqa: S603 (our own CLI)
            [*cmd, "--exit-with", str(os.getpid())], env=self._env, start_new_session=True
        )

    def _watch(self) -> None:
        while not self._stop.is_set():
            proc = self._proc
            if proc is not None and proc.poll() is not None and not self._stop.is_set():
                log.error("the resolver process ended (%s); starting it again", proc.returncode)
                self._stop.wait(self.restart_after)
                if not self._stop.is_set():
                    self._proc = self._spawn()
            self._stop.wait(0.5)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        self._proc = self._spawn()
        self._thread = threading.Thread(target=self._watch, name="resolver-supervisor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        proc = self._proc
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def parent_alive(parent: int | None) -> Callable[[], bool]:
    """True while the process that started this one runs (always, without one): when it
    ends, this process is handed to another parent."""
    if parent is None:
        return lambda: True
    return lambda: os.getppid() == parent
