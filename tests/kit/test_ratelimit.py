"""Rate limits: fixed windows per key, in one process or shared through Redis."""

from __future__ import annotations

import os
import uuid

import pytest
import redis

from accord.kit.errors import AccordError
from accord.kit.ratelimit import Limit, RateLimiter

REDIS_URL = "redis://127.0.0.1:6379/0"


def _limiters() -> list[tuple[RateLimiter, RateLimiter]]:
    """Two limiters that must share counts: one process's twice, or two on Redis."""
    one = RateLimiter()
    pairs = [(one, one)]
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        if os.environ.get("ACCORD_TEST_REDIS", "").lower() == "required":
            pytest.fail("Redis is required (ACCORD_TEST_REDIS=required)")
        return pairs
    pairs.append((RateLimiter(REDIS_URL), RateLimiter(REDIS_URL)))
    return pairs


@pytest.mark.parametrize("kind", ["process", "redis"])
def test_a_key_is_refused_over_its_limit_until_the_window_ends(kind: str) -> None:
    pairs = _limiters()
    if kind == "redis" and len(pairs) < 2:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    a, b = pairs[0 if kind == "process" else 1]
    limit = Limit(f"test-{uuid.uuid4().hex}", count=3, seconds=60)
    now = 60 * 16_667 + 20.0  # 20 s into a window
    for limiter in (a, b, a):
        limiter.check(limit, "1.2.3.4", now=now)
    with pytest.raises(AccordError) as refused:
        b.check(limit, "1.2.3.4", now=now)
    assert refused.value.status == 429
    assert refused.value.code == "rate_limited"
    assert refused.value.headers["Retry-After"] == "40"
    a.check(limit, "5.6.7.8", now=now)  # another key has its own count
    a.check(limit, "1.2.3.4", now=now + 41)  # the next window starts afresh


def test_scale_multiplies_limits_and_zero_turns_them_off() -> None:
    limit = Limit(f"test-{uuid.uuid4().hex}", count=2, seconds=60)
    doubled = RateLimiter(scale=2)
    for _ in range(4):
        doubled.check(limit, "k", now=0)
    with pytest.raises(AccordError):
        doubled.check(limit, "k", now=0)
    off = RateLimiter(scale=0)
    for _ in range(100):
        off.check(limit, "k", now=0)


def test_an_unreachable_redis_falls_back_to_counting_here() -> None:
    limiter = RateLimiter("redis://127.0.0.1:1/0")
    limit = Limit(f"test-{uuid.uuid4().hex}", count=1, seconds=60)
    limiter.check(limit, "k", now=0)
    with pytest.raises(AccordError):
        limiter.check(limit, "k", now=0)
