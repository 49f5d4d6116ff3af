"""The embedded database: SecantusDB's own daemon (`secantusd-py`), with two changes to its transaction registry.

- **Abandoned transactions are reaped sooner.** A process killed inside a transaction leaves it open, and until
  the server reaps it every write to a document it touched gets `WriteConflict`: the consumer retrying one such
  event holds its partition that long. mongod and SecantusDB reap a transaction idle for 60 s (mongod's
  `transactionLifetimeLimitSeconds`); the daemon has no flag for it, so this entry point builds its server with
  10 s. Production sets the same on MongoDB (docs/operations.md). Only idle time counts: a transaction still
  issuing statements is never reaped.
- **Retryable-write records are pruned from the oldest end** (`RetryableRecordsInOrder`).
"""

from __future__ import annotations

import functools
import sys
from collections import OrderedDict
from typing import Any

from secantus import cli, server, transactions
from secantus.server import SecantusDBServer

TRANSACTION_LIFETIME_S = 10.0


class RetryableRecordsInOrder(transactions.TransactionRegistry):  # type: ignore[misc]  # SecantusDB is untyped
    """SecantusDB's transaction registry, keeping its retryable-write records in the order they were stored.

    A driver retries a write (an insert, update, delete or find-and-modify outside a transaction) with the same
    session and transaction number, and the server answers a retry with the reply it recorded the first time.
    The stock registry prunes those records on every retryable write by scanning all of them, and once it holds
    its cap of 10,000 it sorts them all by age: about 5 ms of the server's one core per write. Records are stored
    as time passes, so the oldest is always first: pruning here drops from that end what is past its lifetime or
    over the cap, and stops at the first record it keeps. What is kept, and for how long, is unchanged, with one
    exception: a session and number reused for a different write keep their first place, so a record behind them
    may outlive its 30 minutes until they expire (kept longer, never dropped early).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._retryable: OrderedDict[tuple[bytes, int], tuple[dict[str, Any], float, bytes]] = OrderedDict()

    def _prune_retryable_locked(self) -> None:
        records = self._retryable
        cutoff = self._time() - transactions._RETRYABLE_RECORD_LIFETIME_SECONDS
        while records:
            _reply, stored_at, _identity = next(iter(records.values()))
            if stored_at >= cutoff and len(records) <= transactions._RETRYABLE_RECORD_MAX:
                return
            records.popitem(last=False)


def main() -> int:
    """`secantusd-py` with its flags, the transaction lifetime above and the ordered retryable-write records."""
    server.TransactionRegistry = RetryableRecordsInOrder
    cli.SecantusDBServer = functools.partial(SecantusDBServer, transaction_lifetime_seconds=TRANSACTION_LIFETIME_S)
    return int(cli.main())


if __name__ == "__main__":
    sys.exit(main())
