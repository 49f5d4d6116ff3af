"""The embedded database's retryable-write records: pruned from the oldest end, and kept exactly as SecantusDB's
own registry keeps them while no session and number is reused for a different write (the one difference,
documented on `RetryableRecordsInOrder`)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from secantus import cli, server, transactions

from zhongshi import database_server
from zhongshi.database_server import RetryableRecordsInOrder

CAP = 5  # the stock cap is 10,000; a small one lets a short sequence reach it
LIFETIME_S = 30.0

# A step: seconds that pass, then a write on one of a few sessions, retried or not.
steps = st.lists(st.tuples(st.sampled_from([0.0, 1.0, 7.0, 31.0]), st.integers(0, 2), st.booleans()), max_size=40)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def write(registry: transactions.TransactionRegistry, session: int, number: int) -> Any:
    """A retryable write as the server runs it: the stored reply of a retry, or None after recording a new one."""
    lsid = b"session-%d" % session
    if (stored := registry.retryable_reply(lsid, number, b"insert")) is not None:
        return stored
    registry.record_retryable(lsid, number, b"insert", {"ok": 1.0, "n": number})
    return None


@given(steps)
def test_the_ordered_registry_keeps_and_answers_exactly_what_the_stock_one_does(
        sequence: list[tuple[float, int, bool]]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(transactions, "_RETRYABLE_RECORD_MAX", CAP)
        patch.setattr(transactions, "_RETRYABLE_RECORD_LIFETIME_SECONDS", LIFETIME_S)
        clock = Clock()
        stock = transactions.TransactionRegistry(time_func=clock)
        ordered = RetryableRecordsInOrder(time_func=clock)
        numbers = [0, 0, 0]
        for elapsed, session, retry in sequence:
            clock.now += elapsed
            numbers[session] += 0 if retry and numbers[session] else 1
            assert write(ordered, session, numbers[session]) == write(stock, session, numbers[session])
            assert list(ordered._retryable) == sorted(stock._retryable, key=lambda key: stock._retryable[key][1])


def test_a_retry_gets_the_first_reply_until_the_record_expires() -> None:
    clock = Clock()
    registry = RetryableRecordsInOrder(time_func=clock)
    assert write(registry, 1, 1) is None
    clock.now += transactions._RETRYABLE_RECORD_LIFETIME_SECONDS - 1
    assert write(registry, 1, 1) == {"ok": 1.0, "n": 1}
    clock.now += 2
    assert write(registry, 1, 1) is None  # expired: the retry runs again, as on mongod


def test_the_entry_point_builds_its_server_with_the_ordered_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "TransactionRegistry", server.TransactionRegistry)  # both restored afterwards
    monkeypatch.setattr(cli, "SecantusDBServer", cli.SecantusDBServer)
    monkeypatch.setattr(cli, "main", lambda: 0)
    assert database_server.main() == 0
    assert server.TransactionRegistry is RetryableRecordsInOrder  # what SecantusDBServer.__init__ builds
    assert cli.SecantusDBServer.keywords == {"transaction_lifetime_seconds": database_server.TRANSACTION_LIFETIME_S}
