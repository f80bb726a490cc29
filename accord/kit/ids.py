"""Identifiers: time-ordered UUIDs (version 7 layout) keep B-tree inserts local."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last = 0
_RAND_BITS = 62


def _layout(millis: int, counter: int, rand: int) -> int:
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= (counter & 0xFFF) << 64
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & ((1 << _RAND_BITS) - 1)
    return value


_POOL = 8 * 512
_random = b""
_taken = _POOL


def new_id() -> uuid.UUID:
    """Time-ordered and, within one process, strictly increasing: rows inserted one
    after another sort in that order (events are resolved in the order they came). The
    random bits come from the system's generator, read 4 KB at a time (a read per id
    cost more than the rest of making it)."""
    global _last, _random, _taken
    millis = time.time_ns() // 1_000_000
    with _lock:
        if _taken >= _POOL:
            _random, _taken = os.urandom(_POOL), 0
        rand = int.from_bytes(_random[_taken : _taken + 8], "big")
        _taken += 8
        value = _layout(millis, rand >> 52, rand)
        if value <= _last:
            # Same millisecond: step the low bits; carry into the counter and time.
            value = _last + 1
            if (value >> 62) & 0b11 != 0b10:  # the random field overflowed: skip ahead
                value = _layout(_last >> 80, ((_last >> 64) & 0xFFF) + 1, 0)
        _last = value
    return uuid.UUID(int=value)


def _forget_random() -> None:
    """A forked child must not reuse the random bits its parent had read ahead."""
    global _random, _taken
    _random, _taken = b"", _POOL


os.register_at_fork(after_in_child=_forget_random)
