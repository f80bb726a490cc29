"""Keys checked moments ago, remembered per process for a few seconds: a request with a
write key or an API token then costs no look-up. A revoked key is forgotten at once on
every worker that hears the live update (all of them with Redis) and within the cache's
lifetime on any that did not."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from accord.govern.access import service as access

T = TypeVar("T")
KEY_CACHE_SECONDS = 10.0
MAX_KEYS = 10_000


class KeyCache(Generic[T]):
    """What a key stands for (its workspace's sender, a token's principal), by key."""

    def __init__(
        self, workspace_of: Callable[[T], uuid.UUID], seconds: float = KEY_CACHE_SECONDS
    ) -> None:
        self.workspace_of = workspace_of
        self.seconds = seconds
        self._held: dict[str, tuple[float, T]] = {}

    def get(self, key: str) -> T | None:
        hit = self._held.get(key)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def put(self, key: str, value: T) -> None:
        if len(self._held) >= MAX_KEYS:
            self._held.clear()
        self._held[key] = (time.monotonic() + self.seconds, value)

    def forget_workspace(self, workspace_id: uuid.UUID) -> None:
        for key, (_, value) in list(self._held.items()):
            if self.workspace_of(value) == workspace_id:
                self._held.pop(key, None)


def forget_revoked(*caches: KeyCache[Any]) -> Callable[[uuid.UUID, dict[str, Any]], None]:
    """A live-update listener: when a key of a workspace is revoked, this worker forgets
    the workspace's remembered keys at once instead of when they expire."""

    def listener(workspace_id: uuid.UUID, payload: dict[str, Any]) -> None:
        if payload.get("type") != access.KEYS_REVOKED:
            return
        for cache in caches:
            cache.forget_workspace(workspace_id)

    return listener
