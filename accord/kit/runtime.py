"""Tuning of a long-running process (an API worker, the resolver): done at its start-up,
never at import."""

from __future__ import annotations

import gc


def tune_gc(threshold: int) -> None:
    """Run Python's cycle collector less often. By default it walks the young objects
    every 700 net allocations of containers; a tracking request or a resolver batch holds
    thousands of them (parsed messages, rows, mapped objects) for milliseconds, so each
    walk visits them all and promotes them, which brings walks of the whole heap sooner.
    Measured, that was 15-20% of the CPU of accepting and of resolving. What the process
    made at start-up is frozen (never walked again) and the young generation's threshold
    raised to ``threshold``; reference cycles are still reclaimed, less often. 0 leaves
    the collector as Python sets it."""
    if threshold <= 0:
        return
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(threshold, middle, old)
