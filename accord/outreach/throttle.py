"""Throttling: at most so many messages a second through one transport of a workspace,
shared by the threads of a process that send through it (with several sender
processes, each keeps to the rate)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable


class Throttle:
    """At most ``rate`` messages a second through one transport, shared by the threads
    of this process that send through it."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self.clock()
            start = max(now, self._next)
            self._next = start + 1.0 / self.rate
        if start > now:
            time.sleep(start - now)


_THROTTLES: dict[tuple[uuid.UUID, str], Throttle] = {}
_THROTTLES_LOCK = threading.Lock()


def throttle_of(workspace_id: uuid.UUID, channel: str, rate: float) -> Throttle:
    with _THROTTLES_LOCK:
        found = _THROTTLES.get((workspace_id, channel))
        if found is None or found.rate != rate:
            found = _THROTTLES[(workspace_id, channel)] = Throttle(rate)
        return found
