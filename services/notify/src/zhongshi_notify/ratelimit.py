"""A token bucket per channel: the SMTP relay and the SMS gateway have quotas, and a burst of notices after a
round's publicity closes must queue in the outbox instead of being refused (or blacklisted) by them."""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class RateLimit:
    """At most ``per_s`` permits a second on average, and never more than ``burst`` at once."""

    def __init__(self, per_s: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        if per_s <= 0:
            raise ValueError("a rate limit needs a positive rate")
        self.per_s, self.burst, self.clock = per_s, max(1.0, burst if burst is not None else per_s), clock
        self.tokens, self._at = self.burst, clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self._at) * self.per_s)
        self._at = now

    def take(self, wanted: int) -> int:
        """Take up to ``wanted`` permits now; how many were taken (0 when the bucket is empty)."""
        self._refill()
        taken = min(wanted, math.floor(self.tokens + 1e-9))  # a refill to 1 may come out as 0.999…
        self.tokens -= taken
        return taken

    def give_back(self, unused: int) -> None:
        """Return permits taken for sends that did not happen (fewer deliveries were due)."""
        self.tokens = min(self.burst, self.tokens + unused)

    def wait_s(self, permits: int = 1) -> float:
        """Seconds until ``permits`` permits (at most the burst) are there."""
        self._refill()
        return max(0.0, (min(permits, self.burst) - self.tokens) / self.per_s)
