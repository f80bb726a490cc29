"""Where the resolver starts looking for a workspace's pending events.

A resolved event leaves a dead entry in the index of pending events (its update makes
a new row version, outside the index's condition), and entries stay until the table is
vacuumed: up to a fifth of a large table between two runs of autovacuum. Ids grow with
the time an event was accepted, so those entries lie before every pending one, and a
look from the start of a workspace's range steps over all of them, at every batch.

The resolver process therefore remembers, for each workspace it has resolved, a floor:
the id made ``MARGIN`` seconds before the oldest event its last batch read. Its looks
start there. What the floors could miss is looked for from the start, every
``FULL_EVERY`` seconds, and every ``IDLE_EVERY`` seconds while nothing is found above
the floors:

- events of a request whose transaction committed more than ``MARGIN`` seconds after
  their ids were made (or made on a machine whose clock is that far behind);
- failed events retried, and the first events of a workspace the process has not seen.

So under a steady load the looks step over ``MARGIN`` seconds of resolved events at
most; an event the floors miss waits ``IDLE_EVERY`` seconds at most while the resolver
has nothing else to do, ``FULL_EVERY`` seconds while it is busy.

Each pass looks above every floor, one probe a workspace, so a floor is forgotten once
its workspace has had no batch for ``FORGET_AFTER`` seconds: a resolver serving many
workspaces probes those active lately, and a quiet one is found again by a look from
the start."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from accord.kit.ids import id_at, time_of

MARGIN = 2.0  # seconds before the oldest event a batch read
FULL_EVERY = 10.0  # seconds between looks from the start, under load
IDLE_EVERY = 1.0  # the same while nothing is found above the floors
FORGET_AFTER = 60.0  # seconds without a batch before a workspace's floor is forgotten


@dataclass
class Floors:
    """Each workspace's floor (None: the next batch looks from the start), and when
    the resolver last looked for every workspace's pending events from the start."""

    clock: Callable[[], float] = time.monotonic
    margin: float = MARGIN
    full_every: float = FULL_EVERY
    idle_every: float = IDLE_EVERY
    forget_after: float = FORGET_AFTER
    of: dict[uuid.UUID, uuid.UUID | None] = field(default_factory=dict)
    full_at: float | None = None
    read_at: dict[uuid.UUID, float] = field(default_factory=dict)

    def full_due(self, idle: bool = False) -> bool:
        """Whether the next look must start from the start of every workspace;
        ``idle``: nothing was found above the floors."""
        if self.full_at is None or not self.known():
            return True
        since = self.clock() - self.full_at
        return since >= self.full_every or (idle and since >= self.idle_every)

    def looked_in_full(self, workspaces: list[uuid.UUID]) -> None:
        """A look from the start found these workspaces with pending events: their
        next batches read from the start too (finding what a floor missed), and the
        workspaces with none keep their floors, still valid."""
        self.full_at = self.clock()
        for workspace_id in workspaces:
            self.of[workspace_id] = None

    def after(self, workspace_id: uuid.UUID) -> uuid.UUID | None:
        return self.of.get(workspace_id)

    def read(self, workspace_id: uuid.UUID, oldest: uuid.UUID) -> None:
        """A batch read the workspace's pending events from ``oldest`` on."""
        floor = id_at(time_of(oldest) - self.margin)
        current = self.of.get(workspace_id)
        self.of[workspace_id] = floor if current is None else max(current, floor)
        self.read_at[workspace_id] = self.clock()

    def known(self) -> dict[uuid.UUID, uuid.UUID]:
        """The workspaces with a floor, and their floors (those without a batch for
        ``forget_after`` seconds forgotten)."""
        stale = self.clock() - self.forget_after
        for workspace_id in [w for w, at in self.read_at.items() if at < stale]:
            del self.read_at[workspace_id]
            self.of.pop(workspace_id, None)
        return {w: f for w, f in self.of.items() if f is not None}
