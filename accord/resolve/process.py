"""The resolver in a process of its own: what ``accord serve`` runs beside its API workers
(started and watched by ``kit/process.py``; ``accord worker resolve`` runs it by itself).
Resolving costs more CPU an event than accepting, so on a busy machine it runs at a lower
CPU priority: a burst of events is accepted (and made durable) at full speed, and
resolution catches up with whatever CPU is left. In a process of its own it no longer
shares an API worker's interpreter lock with the requests."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from accord.resolve.worker import Pacing, ResolverWorker

log = logging.getLogger("accord.resolve.process")


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
