"""A delivery's batches, each claimed and decided by a thread of its own while the one
before goes out (``sending.run_job``): the relay's sessions are served while the database
reads the next batch's people, consent and rules. One batch waits at most; one that is
never sent (the job stopped) is put back in the queue, nothing of it handed over.

**A delivery's claims form a run.** Their ids share their first 64 bits (random, with
the version nibble 8 of a UUID laid out by its maker) and count up in their last 64, so
that recovering a delivery that died (``sending.recover``) can put its claims back in the
order they went out: the messages it may have handed over without their record are the
first ones, in that order, of the sends it left marked ``sending`` (a batch decided
ahead and never started comes after them all)."""

from __future__ import annotations

import itertools
import os
import queue
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Generic, Protocol, TypeVar

_VERSION = 0x8


class Batch(Protocol):
    @property
    def last(self) -> uuid.UUID: ...


B = TypeVar("B", bound=Batch)


def claim_ids() -> Iterator[uuid.UUID]:
    """The claim ids of one run: a random first half, then 1, 2, 3..."""
    high = int.from_bytes(os.urandom(8), "big")
    high = (high & ~(0xF << 12)) | (_VERSION << 12)
    for n in itertools.count(1):
        yield uuid.UUID(int=(high << 64) | (0b10 << 62) | n)


def runs(claims: Iterable[uuid.UUID]) -> list[list[uuid.UUID]]:
    """Claims grouped by the run they belong to, each run in the order its claims were
    made; a claim made otherwise (an id of another layout) is a run of its own."""
    by_run: dict[object, list[uuid.UUID]] = {}
    for claim in claims:
        key: object = claim.int >> 64 if claim.version == _VERSION else claim
        by_run.setdefault(key, []).append(claim)
    return [sorted(group, key=lambda c: c.int) for group in by_run.values()]


class Ahead(Generic[B]):
    """Iterates over the batches ``decide(claim_id, after)`` makes (None: nothing more is
    due), deciding each while the one before is handed over; raises what deciding
    raised; ``close`` stops it and hands a batch never sent to ``put_back``."""

    def __init__(
        self,
        decide: Callable[[datetime, uuid.UUID, uuid.UUID | None], B | None],
        put_back: Callable[[B], None],
        clock: Callable[[], datetime],
    ) -> None:
        self.decide = decide
        self.put_back = put_back
        self.clock = clock
        self.ready: queue.Queue[B | BaseException | None] = queue.Queue(maxsize=1)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="outreach-ahead", daemon=True)
        self.thread.start()

    def __iter__(self) -> Iterator[B]:
        while (item := self.ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self.stopping.set()
        self.thread.join()
        while True:
            try:
                item = self.ready.get_nowait()
            except queue.Empty:
                return
            if item is not None and not isinstance(item, BaseException):
                self.put_back(item)

    def _run(self) -> None:
        after: uuid.UUID | None = None
        try:
            for claim_id in claim_ids():
                if self.stopping.is_set():
                    return
                batch = self.decide(self.clock(), claim_id, after)
                self._offer(batch)
                if batch is None:
                    return
                after = batch.last
        except BaseException as exc:  # raised again in the sending thread
            self._offer(exc)

    def _offer(self, item: B | BaseException | None) -> None:
        while not self.stopping.is_set():
            try:
                self.ready.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        if item is not None and not isinstance(item, BaseException):
            self.put_back(item)
