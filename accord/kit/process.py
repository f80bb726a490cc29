"""Background work in processes of their own: ``accord serve`` starts each (the resolver,
the job consumer) as a child, starts it again if it dies and ends it when the server
ends; a child also ends by itself when its parent is gone."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType

log = logging.getLogger("accord.kit.process")


def lower_priority(nice: int) -> None:
    """Make this process yield the CPU to others (0 leaves it as it is)."""
    if nice > 0 and hasattr(os, "nice"):
        os.nice(nice)


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT set ``stop``: the work under way finishes, then the loop ends."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def parent_alive(parent: int | None) -> Callable[[], bool]:
    """True while the process that started this one runs (always, without one): when it
    ends, this process is handed to another parent."""
    if parent is None:
        return lambda: True
    return lambda: os.getppid() == parent


class Supervisor:
    """Runs ``accord <command...> --exit-with <our pid>`` as a child and starts it again
    if it dies."""

    def __init__(self, command: Sequence[str], *, name: str, restart_after: float = 1.0) -> None:
        self.command = list(command)
        self.name = name
        self.restart_after = restart_after
        self._env = dict(os.environ)
        self._proc: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _spawn(self) -> subprocess.Popen[bytes]:
        cmd = [sys.executable, "-m", "accord.cli.main", *self.command]
        # A session of its own: a Ctrl-C at the terminal reaches the server, which stops
        # this process in its turn, rather than both at once.
        return subprocess.Popen(  # noqa: S603 (our own CLI)
            [*cmd, "--exit-with", str(os.getpid())], env=self._env, start_new_session=True
        )

    def _watch(self) -> None:
        while not self._stop.is_set():
            proc = self._proc
            if proc is not None and proc.poll() is not None and not self._stop.is_set():
                log.error(
                    "the %s process ended (%s); starting it again", self.name, proc.returncode
                )
                self._stop.wait(self.restart_after)
                if not self._stop.is_set():
                    self._proc = self._spawn()
            self._stop.wait(0.5)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        self._proc = self._spawn()
        self._thread = threading.Thread(
            target=self._watch, name=f"{self.name}-supervisor", daemon=True
        )
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
