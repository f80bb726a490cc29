"""Resolution beside an import: while ``accord import`` accepts a file's rows, a process
of its own resolves what has been accepted onto profiles, as the server's resolver does
beside its API workers. The two use both cores; once the import has accepted its last
row, the process resolves what is left and ends. Whatever it leaves (it failed, say) the
import resolves itself afterwards, so nothing accepted stays pending."""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from accord.config import Settings
from accord.resolve.worker import resolve_workspace

IDLE_WAIT = 0.05  # seconds between looks while the import has nothing new accepted
# Rows from which a file is resolved beside its import. Starting the process costs about
# a second and a half (its imports, its engine), which a file of fewer rows would wait
# for at its end: those are resolved after their import, in the command's own process.
BESIDE_FROM = 10_000


def _resolver(url: str, s: Settings, workspace_id: uuid.UUID, accepted: Any, resolved: Any) -> None:
    """The child: resolve batches as they are accepted until the import says it accepted
    its last row and none is left."""
    from accord.cli.context import heard_factory
    from accord.kit.runtime import tune_gc

    def count(done: int) -> None:
        with resolved.get_lock():
            resolved.value += done

    tune_gc(s.gc_threshold)
    with heard_factory(s, url) as factory:
        while True:
            last_look = accepted.is_set()  # read before looking: a later batch is seen
            resolve_workspace(factory, workspace_id, on_batch=count)
            if last_look:
                return
            accepted.wait(IDLE_WAIT)


@dataclass
class Alongside:
    """The resolver beside an import: ``finish`` once the import accepted its last row.
    Without a process (a small file), nothing is resolved beside it."""

    _accepted: Any = None
    _resolved: Any = None
    _process: Any = None

    @property
    def resolved(self) -> int:
        return int(self._resolved.value) if self._resolved is not None else 0

    def finish(self, on_progress: Callable[[int], None] | None = None) -> None:
        """Let the child resolve what is left and end (``on_progress`` hears how many it
        resolved in all, as it goes); the caller resolves anything it left."""
        if self._process is None:
            return
        self._accepted.set()
        while self._process.is_alive():
            self._process.join(0.1)
            if on_progress:
                on_progress(self.resolved)


@contextmanager
def alongside(url: str, s: Settings, workspace_id: uuid.UUID, rows: int) -> Iterator[Alongside]:
    """A resolver process for ``workspace_id`` while the block accepts ``rows`` rows (none
    below ``BESIDE_FROM``); the block calls ``finish`` when done (leaving early, by an
    error, stops the process)."""
    if rows < BESIDE_FROM:
        yield Alongside()
        return
    spawn = multiprocessing.get_context("spawn")
    accepted = spawn.Event()
    resolved = spawn.Value("q", 0)
    process = spawn.Process(
        target=_resolver, args=(url, s, workspace_id, accepted, resolved), daemon=True
    )
    process.start()
    try:
        yield Alongside(accepted, resolved, process)
    finally:
        if process.is_alive():
            process.terminate()
        process.join()
