"""Concurrent consuming: a fetched batch is handled in lanes (one per key), each lane in order, at most
``consumer_concurrency`` at once; a lane that cannot be handled nacks the whole batch (nothing committed)."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any, NamedTuple

import pytest
from faststream.exceptions import NackMessage
from hypothesis import given, settings
from hypothesis import strategies as st
from zhongshi_runtime.messaging import Consumers, create_broker
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
