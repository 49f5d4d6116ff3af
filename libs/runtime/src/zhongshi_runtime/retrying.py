"""How a consumer retries a failing handler: transient errors for minutes, with backoff and jitter."""

from __future__ import annotations

import random
import time

from pymongo.errors import AutoReconnect, ConnectionFailure, ExecutionTimeout, PyMongoError, WTimeoutError

from zhongshi_runtime.settings import ServiceSettings


def transient(exc: BaseException) -> bool:
    """An error that waiting may cure: the database or the network unreachable or slow."""
    if isinstance(exc, PyMongoError) and exc.has_error_label("TransientTransactionError"):
        return True
    return isinstance(exc, (AutoReconnect, ConnectionFailure, ExecutionTimeout, WTimeoutError, TimeoutError,
                            ConnectionError))


class Backoff:
    """Delays between attempts: exponential with jitter, within a total budget for transient errors."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.base, self.cap = settings.handler_retry_backoff_s, settings.handler_transient_backoff_max_s
        self.deadline = time.monotonic() + settings.handler_transient_retry_s
        self._n = 0

    def next(self) -> float | None:
        """The next transient delay (half fixed, half random), or None once the budget is spent."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            return None
        step = min(self.cap, max(self.base, 0.05) * 2 ** self._n)
        self._n += 1
        return float(min(left, step / 2 + random.uniform(0, step / 2)))  # noqa: S311 - jitter, not a secret

    def plain(self, attempt: int, attempts: int) -> float | None:
        """The delay after a non-transient failure, or None after the last of ``attempts``."""
        return None if attempt >= attempts else self.base * 2 ** (attempt - 1)
