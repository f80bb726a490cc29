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
    millis = time.time_ns() // 1_000_000
    with _lock:
        value = _next(millis)
    return uuid.UUID(int=value)


def new_ids(count: int) -> list[uuid.UUID]:
    """``count`` ids in increasing order for a batch of rows, made as RFC 9562's
    "monotonic random" method does: the first as ``new_id`` makes it, each next one a
    random step (1 to 65,536) above the one before. None for a count of 0 or less."""
    if count <= 0:
        return []
    return [uuid.UUID(int=value) for value in _next_values(count)]


def id_at(seconds: float) -> uuid.UUID:
    """The lowest id made at ``seconds`` (Unix time) or later: a lower bound for a range
    of rows by when they were made."""
    return uuid.UUID(int=_layout(int(seconds * 1000), 0, 0))


def time_of(value: uuid.UUID) -> float:
    """When an id was made (Unix time, to the millisecond): ``id_at``'s inverse."""
    return (value.int >> 80) / 1000


def _next(millis: int) -> int:
    """The next id's value; the caller holds the lock."""
    global _last, _random, _taken
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
    return value


def _next_values(count: int) -> list[int]:
    global _last
    millis = time.time_ns() // 1_000_000
    with _lock:
        value = _next(millis)
        out = [value]
        if count > 1:
            for step in memoryview(os.urandom(2 * (count - 1))).cast("H"):
                value += step + 1
                out.append(value)
            if (value >> 62) & 0b11 != 0b10:  # a step carried out of the random field
                out[1:] = [_next(millis) for _ in range(count - 1)]
            _last = out[-1]
    return out


def _forget_random() -> None:
    """A forked child must not reuse the random bits its parent had read ahead."""
    global _random, _taken
    _random, _taken = b"", _POOL


os.register_at_fork(after_in_child=_forget_random)
