"""A token bucket per channel: the SMTP relay and the SMS gateway have quotas, and a burst of notices after a
round's publicity closes must queue in the outbox instead of being refused (or blacklisted) by them."""

from __future__ import annotations

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

    def take(self) -> bool:
        """Take a permit if there is one now."""
        self._refill()
        if self.tokens < 1 - 1e-9:  # a refill to 1 may come out as 0.999…
            return False
        self.tokens -= 1
        return True

    def wait_s(self) -> float:
        """Seconds until the next permit."""
        self._refill()
        return max(0.0, (1 - self.tokens) / self.per_s)
