"""Concurrent consuming: a fetched batch is handled in lanes (one per key), each lane in order, at most
``consumer_concurrency`` at once; a lane that cannot be handled nacks the whole batch (nothing committed)."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any, NamedTuple

import anyio
import pytest
from faststream.exceptions import NackMessage
from hypothesis import given, settings
from hypothesis import strategies as st
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import ApplicationWithdrawn
from zhongshi_runtime.messaging import LOOK_MS, Consumers, create_broker
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.settings import ServiceSettings


class Record(NamedTuple):
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


class Batch:
    def __init__(self, records: list[Record]) -> None:
        self.raw_message, self.consumer = tuple(records), None


def consumers(concurrency: int) -> Consumers:
    settings = ServiceSettings(consumer_concurrency=concurrency, consumer_events_per_transaction=1)  # lanes alone
    metrics, logger = RuntimeMetrics("probe"), logging.getLogger("test")
    return Consumers(create_broker(settings, metrics, logger), settings, metrics, logger)


class Probe:
    """Stands in for `Consumers.dispatch`: records what it handled, in order, and how many ran at once."""

    def __init__(self, seed: int, fail_on: int | None = None) -> None:
        self.handled: list[Record] = []
        self.running = self.most = 0
        self.random, self.fail_on = random.Random(seed), fail_on

    async def __call__(self, msg: Any) -> None:
        record: Record = msg.raw_message
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            for _ in range(self.random.randint(0, 3)):  # interleave with the other lanes
                await asyncio.sleep(0)
            if record.offset == self.fail_on:
                raise RuntimeError("the DLQ is down")
            self.handled.append(record)
        finally:
            self.running -= 1


def batch_of(keys: list[int]) -> list[Record]:
    return [Record("pilot.t", k % 2, i, f"app-{k}".encode(), b"{}") for i, k in enumerate(keys)]


@settings(max_examples=50)
@given(keys=st.lists(st.integers(0, 6), min_size=1, max_size=40), concurrency=st.integers(2, 5), seed=st.integers())
async def test_each_key_is_handled_in_order_and_no_more_lanes_run_than_allowed(
        keys: list[int], concurrency: int, seed: int) -> None:
    subject, probe = consumers(concurrency), Probe(seed)
    subject.dispatch = probe  # type: ignore[method-assign]
    records = batch_of(keys)
    await subject.dispatch_batch(Batch(records))  # type: ignore[arg-type]
    assert sorted(probe.handled, key=lambda r: r.offset) == records  # every record, once
    for key in {r.key for r in records}:
        assert [r for r in probe.handled if r.key == key] == [r for r in records if r.key == key]
    assert probe.most <= concurrency


async def test_distinct_keys_are_handled_concurrently() -> None:
    subject, probe = consumers(4), Probe(seed=1)
    subject.dispatch = probe  # type: ignore[method-assign]
    await subject.dispatch_batch(Batch(batch_of([0, 1, 2, 3] * 5)))  # type: ignore[arg-type]
    assert probe.most > 1


async def test_a_lane_that_fails_nacks_the_batch_and_stops_that_lane_only() -> None:
    subject, probe = consumers(3), Probe(seed=2, fail_on=1)
    subject.dispatch = probe  # type: ignore[method-assign]
    records = batch_of([0, 1, 0, 1, 2])  # offset 1 is key 1's first record
    with pytest.raises(NackMessage):
        await subject.dispatch_batch(Batch(records))  # type: ignore[arg-type]
    assert {r.offset for r in probe.handled} == {0, 2, 4}  # key 1's later record waits for the redelivery


class Fetcher:
    """Stands in for aiokafka's consumer: hands out ``fetches`` one look at a time and keeps what each look asked."""

    def __init__(self, *fetches: dict[Any, list[Record]]) -> None:
        self.fetches, self.asked = list(fetches), list[tuple[int, int]]()

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[Any, list[Record]]:
        self.asked.append((timeout_ms, max_records))
        return self.fetches.pop(0)


async def test_a_look_that_finds_nothing_is_followed_by_the_next_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The subscriber waits in aiokafka's `getmany`, which returns as soon as records are fetched; FastStream's own
    look sleeps after finding nothing, when a record arriving would wait out the sleep (and a short look woke an
    idle service hundreds of times a second)."""
    subject = consumers(4)

    @subject.on(ApplicationWithdrawn)
    async def handle(event: ApplicationWithdrawn, meta: CloudEvent) -> None: ...

    subject.subscribe()
    subscribers: list[Any] = list(subject.broker.subscribers)  # FastStream types them without `get_msg`
    [subscriber] = subscribers

    async def slept(seconds: float) -> None:
        raise AssertionError(f"the subscriber slept {seconds} s after a look")

    monkeypatch.setattr(anyio, "sleep", slept)
    records = batch_of([0, 1, 0])
    fetcher = Fetcher({}, {("pilot.t", 0): records[::2], ("pilot.t", 1): records[1:2]})
    assert await subscriber.get_msg(fetcher) == ()
    assert sorted(await subscriber.get_msg(fetcher), key=lambda r: r.offset) == records
    assert fetcher.asked == [(LOOK_MS, subject.settings.consumer_batch)] * 2
