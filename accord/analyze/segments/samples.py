"""The people a large workspace's size estimates are counted on, kept a while."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Samples:
    """The people a large workspace's estimates are counted on, with how many live people
    it has, kept ``ttl`` seconds per workspace: counting a million people and choosing
    the sample takes about a second, and the builder asks for an estimate at every
    change of a definition. Newcomers join the sample when it is chosen again."""

    ttl: float = 120.0
    clock: Callable[[], float] = time.monotonic
    held: dict[uuid.UUID, tuple[float, int, list[uuid.UUID]]] = field(default_factory=dict)

    def get(self, workspace_id: uuid.UUID) -> tuple[int, list[uuid.UUID]] | None:
        found = self.held.get(workspace_id)
        if found is None or self.clock() - found[0] > self.ttl:
            return None
        return found[1], found[2]

    def keep(self, workspace_id: uuid.UUID, total: int, people: list[uuid.UUID]) -> None:
        self.held[workspace_id] = (self.clock(), total, people)
