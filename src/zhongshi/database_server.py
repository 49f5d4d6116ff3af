"""The embedded database: SecantusDB's own daemon (`secantusd-py`), reaping abandoned transactions sooner.

A process killed inside a transaction leaves it open, and until the server reaps it every write to a document
it touched gets `WriteConflict`: the consumer retrying one such event holds its partition that long. mongod
and SecantusDB reap a transaction idle for 60 s (mongod's `transactionLifetimeLimitSeconds`); the daemon has
no flag for it, so this entry point builds its server with 10 s. Production sets the same on MongoDB
(docs/operations.md). Only idle time counts: a transaction still issuing statements is never reaped.
"""

from __future__ import annotations

import functools
import sys

from secantus import cli
from secantus.server import SecantusDBServer

TRANSACTION_LIFETIME_S = 10.0


def main() -> int:
    """`secantusd-py` with its flags, and the transaction lifetime above."""
    cli.SecantusDBServer = functools.partial(SecantusDBServer, transaction_lifetime_seconds=TRANSACTION_LIFETIME_S)
    return int(cli.main())


if __name__ == "__main__":
    sys.exit(main())
