"""A small in-process rate limiter: a sliding window per key, and the 429 with `Retry-After` it answers.

Limits are per process: with several replicas each counts its own share, so a route that must hold a
durable cap (objections per objector) also checks its store. Memory is bounded: keys whose window has
passed are dropped when the table grows."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request, status

MAX_KEYS = 100_000


@dataclass(frozen=True)
class Limit:
    """At most ``requests`` in any ``per_s`` seconds."""

    requests: int
    per_s: float


class RateLimiter:
    def __init__(self, limit: Limit, clock: Callable[[], float] = time.monotonic, max_keys: int = MAX_KEYS) -> None:
        self.limit, self.clock, self.max_keys = limit, clock, max_keys
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str) -> float | None:
        """Count one request for ``key``; None when allowed, else the seconds until one would be."""
        now = self.clock()
        window = self._hits.get(key)
        if window is None:
            if len(self._hits) >= self.max_keys:
                self._prune(now)
            window = self._hits[key] = deque()
        while window and window[0] <= now - self.limit.per_s:
            window.popleft()
        if len(window) >= self.limit.requests:
            return window[0] + self.limit.per_s - now
        window.append(now)
        return None

    def _prune(self, now: float) -> None:
        for key in [k for k, w in self._hits.items() if not w or w[-1] <= now - self.limit.per_s]:
            del self._hits[key]
        while len(self._hits) >= self.max_keys:  # all still active: forget the oldest keys, never grow unbounded
            del self._hits[next(iter(self._hits))]


def too_many(wait_s: float) -> HTTPException:
    """429 with Retry-After in whole seconds (at least 1)."""
    seconds = max(1, math.ceil(wait_s))
    return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, f"请求过于频繁，请{seconds}秒后再试",
                         headers={"Retry-After": str(seconds)})


def enforce(*checks: tuple[RateLimiter, str]) -> None:
    """Count the request against each (limiter, key); 429 for the longest wait if any refuses."""
    waits = [w for limiter, key in checks if (w := limiter.hit(key)) is not None]
    if waits:
        raise too_many(max(waits))


def client_key(request: Request, trust_forwarded_for: bool = False) -> str:
    """The calling client: its address, or the first X-Forwarded-For hop when a trusted proxy sets it."""
    if trust_forwarded_for:
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[0].strip()
        if forwarded:
            return forwarded[:64]
    return request.client.host if request.client else "unknown"
