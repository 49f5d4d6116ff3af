"""The sliding-window rate limiter: limits per key, answers how long to wait, keeps memory bounded."""

from __future__ import annotations

import pytest
from fastapi import HTTPException
from zhongshi_runtime.ratelimit import Limit, RateLimiter, enforce, too_many

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_gets_its_limit_per_window_then_waits_until_the_oldest_hit_leaves() -> None:
    clock = Clock()
    limiter = RateLimiter(Limit(3, 60), clock)
    assert [limiter.hit("a") for _ in range(3)] == [None, None, None]
    clock.now += 20
    assert limiter.hit("a") == pytest.approx(40)
    assert limiter.hit("b") is None  # another key is not affected
    clock.now += 40
    assert limiter.hit("a") is None


def test_refusals_are_429_with_retry_after_in_whole_seconds() -> None:
    limiter = RateLimiter(Limit(1, 10), Clock())
    enforce((limiter, "k"))
    with pytest.raises(HTTPException) as refused:
        enforce((limiter, "k"))
    assert refused.value.status_code == 429 and refused.value.headers == {"Retry-After": "10"}
    assert "秒后再试" in str(refused.value.detail)
    assert too_many(0.01).headers == {"Retry-After": "1"}


def test_memory_stays_bounded_under_a_flood_of_distinct_keys() -> None:
    clock = Clock()
    limiter = RateLimiter(Limit(1, 60), clock, max_keys=100)
    for n in range(1000):
        limiter.hit(f"client-{n}")
    assert len(limiter._hits) <= 100
