"""Rate limits for the public endpoints (chat sessions, chat uploads, web forms): how many
requests one client address, one visitor or one write key may make in a window. Over the
limit, a request is refused with 429 ``rate_limited`` and a ``Retry-After`` header.

Counts are fixed windows. With Redis (``ACCORD_REDIS_URL``) they are shared by every API
worker and host (an ``INCR`` and an ``EXPIRE`` a request); without it, each process
counts for itself (the embedded set-up is one process). If Redis stops answering, the
process falls back to its own counts rather than refusing or letting everything through.
``ACCORD_RATE_LIMIT_SCALE`` multiplies every limit (``0`` turns them off, e.g. for a load
test from one address)."""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from accord.kit.errors import AccordError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    """At most ``count`` requests in ``seconds`` for each key of ``name``."""

    name: str
    count: int
    seconds: int


class RateLimiter:
    def __init__(self, redis_url: str | None = None, scale: float = 1.0) -> None:
        self.scale = scale
        self.clock = time.time  # tests hold it still, so a window cannot end mid-test
        self._redis_url = redis_url
        self._redis: Any = None
        self._redis_failed_at = 0.0
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, int], int] = {}

    def _client(self) -> Any:
        if not self._redis_url or time.monotonic() - self._redis_failed_at < 30:
            return None
        if self._redis is None:
            import redis

            self._redis = redis.Redis.from_url(self._redis_url, socket_timeout=0.5)
        return self._redis

    def _count(self, limit: Limit, key: str, window: int) -> int:
        client = self._client()
        if client is not None:
            name = f"accord:ratelimit:{limit.name}:{key}:{window}"
            try:
                pipe = client.pipeline()
                pipe.incr(name)
                pipe.expire(name, limit.seconds * 2)
                return int(pipe.execute()[0])
            except Exception:  # Redis unreachable: count here for a while
                log.warning("rate limits: Redis did not answer; counting in this process")
                self._redis_failed_at = time.monotonic()
        with self._lock:
            if len(self._counts) > 50_000:
                self._counts = {k: v for k, v in self._counts.items() if k[2] >= window}
            slot = (limit.name, key, window)
            self._counts[slot] = self._counts.get(slot, 0) + 1
            return self._counts[slot]

    def check(self, limit: Limit, key: str, *, now: float | None = None) -> None:
        """Count one request of ``key`` against ``limit``; 429 when over it."""
        if self.scale <= 0:
            return
        allowed = math.ceil(limit.count * self.scale)
        now = self.clock() if now is None else now
        window = int(now // limit.seconds)
        if self._count(limit, key, window) <= allowed:
            return
        retry = max(1, math.ceil((window + 1) * limit.seconds - now))
        raise AccordError(
            f"Too many requests ({allowed} per {limit.seconds} s); try again in {retry} s",
            code="rate_limited",
            status=429,
            headers={"Retry-After": str(retry)},
        )

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()
            self._redis = None


def client_address(request: Any) -> str:
    """The address a request came from (behind a trusted proxy, uvicorn has already put
    the forwarded one here)."""
    client = getattr(request, "client", None)
    return client.host if client is not None else "unknown"


def limiter_of(request: Any) -> RateLimiter:
    """The app's limiter (``app.state.rate_limiter``), or one that limits nothing."""
    found = getattr(request.app.state, "rate_limiter", None)
    return found if isinstance(found, RateLimiter) else RateLimiter(scale=0)


# The public endpoints' limits (per minute), multiplied by ACCORD_RATE_LIMIT_SCALE.
CHAT_SESSIONS_PER_ADDRESS = Limit("chat-session-address", 30, 60)
CHAT_SESSIONS_PER_KEY = Limit("chat-session-key", 1000, 60)
CHAT_UPLOADS_PER_VISITOR = Limit("chat-upload-visitor", 10, 60)
CHAT_UPLOADS_PER_ADDRESS = Limit("chat-upload-address", 30, 60)
FORMS_PER_ADDRESS = Limit("form-address", 10, 60)
# The help center's votes and reading-time reports, per address.
HELP_FEEDBACK_PER_ADDRESS = Limit("help-feedback-address", 30, 60)
# Suggestions as a question is typed in the widget or the form (asked after a pause).
HELP_SUGGESTIONS_PER_ADDRESS = Limit("help-suggest-address", 120, 60)
FORMS_PER_KEY = Limit("form-key", 300, 60)
