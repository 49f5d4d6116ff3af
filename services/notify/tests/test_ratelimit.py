"""Per-channel send quotas: a token bucket, and the dispatcher pacing a channel's sends by it while the
outbox holds the rest."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from zhongshi_notify.deliveries import InMemoryDeliveryStore
from zhongshi_notify.planning import Channel, Delivery, SendResult, Subscription
from zhongshi_notify.ratelimit import RateLimit

from .samples import Clock
from .test_dispatcher import OK, delivery, dispatcher

yield_once = asyncio.sleep  # the real one: the test replaces the dispatcher's


class Monotonic:
    """A monotonic clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await yield_once(0)


def test_the_bucket_allows_a_burst_then_the_rate() -> None:
    mono = Monotonic()
    bucket = RateLimit(per_s=4, burst=2, clock=mono)
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    assert bucket.wait_s() == pytest.approx(0.25)
    mono.now += 1.0
    assert [bucket.take() for _ in range(3)] == [True, True, False]  # refilled at 4/s, but never above the burst


def test_a_rate_limit_needs_a_rate() -> None:
    with pytest.raises(ValueError, match="positive rate"):
        RateLimit(per_s=0)


class Timed:
    """A sender recording when (on the fake monotonic clock) it sent each delivery."""

    def __init__(self, mono: Monotonic) -> None:
        self.mono, self.at = mono, []  # type: ignore[var-annotated]

    async def send(self, delivery: Delivery, subscription: Subscription | None) -> SendResult:
        self.at.append(self.mono())
        return OK


async def test_the_dispatcher_sends_no_faster_than_the_channel_allows() -> None:
    mono, store = Monotonic(), InMemoryDeliveryStore()
    await store.add([delivery(n) for n in range(17)] + [delivery(n, Channel.WEBHOOK) for n in range(3)])
    email, claims = Timed(mono), []
    claim = store.claim

    async def counted(*args: Any) -> list[Delivery]:
        claims.append(args[-1])
        return await claim(*args)

    store.claim = counted  # type: ignore[method-assign,assignment]
    d = dispatcher(store, {Channel.EMAIL: email}, Clock(), limits={Channel.EMAIL: RateLimit(5, burst=5, clock=mono)},
                   pause=mono.sleep)  # the drain's own waits move the fake clock; nothing else in the process does
    started = 0
    while started < 17:  # a drain stops when as many as may be are in flight, as the service's periodic drains do
        started += await d.drain(Channel.EMAIL)
        await yield_once(0)  # the finished sends leave the in-flight set
    await d.settle()
    assert started == 17 and all(x.status.value == "sent" for x in await store.deliveries(Channel.EMAIL))
    for i, at in enumerate(sorted(email.at)):  # the (i+1)-th send waits for its permit
        assert at >= (i + 1 - 5) / 5 - 1e-9, (i, at)
    assert mono.now == pytest.approx((17 - 5) / 5, abs=0.25)  # and no longer than that
    assert claims[0] == 10  # the first claim takes what may be in flight (the batch), not the 5 permits there are


async def test_no_more_are_claimed_than_can_be_sent_within_half_a_lease() -> None:
    mono, store = Monotonic(), InMemoryDeliveryStore()
    await store.add([delivery(n) for n in range(30)])
    d = dispatcher(store, {Channel.EMAIL: Timed(mono)}, Clock(), lease_s=8, batch=50,
                   limits={Channel.EMAIL: RateLimit(0.5, clock=mono)}, pause=mono.sleep)
    assert await d.drain(Channel.EMAIL) == 2  # 0.5/s for 4 s
    await d.cancel()
