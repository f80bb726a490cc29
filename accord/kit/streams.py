"""Streamed responses that release what they hold when the client goes away.

Starlette iterates a plain generator in a worker thread and, when the client disconnects,
simply stops asking for the next chunk: the generator is left suspended, holding its
session and its transaction until it is garbage collected. ``closing_stream`` drives the
generator itself and closes it in every case (end, error, disconnect), so its ``with``
blocks run at once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

T = TypeVar("T")
_END = object()


def _next(gen: Iterator[T]) -> object:
    return next(gen, _END)


async def closing_stream(gen: Iterator[T]) -> AsyncIterator[T]:
    try:
        while True:
            chunk = await run_in_threadpool(_next, gen)
            if chunk is _END:
                return
            yield chunk  # type: ignore[misc]
    finally:
        close = getattr(gen, "close", None)
        if close is not None:
            await run_in_threadpool(close)
