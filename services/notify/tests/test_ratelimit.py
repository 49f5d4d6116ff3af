"""Per-channel send quotas, shared by every replica: the schedule's bookings, and dispatchers pacing a channel's
sends by them while the outbox holds the rest."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from zhongshi_notify.deliveries import InMemoryDeliveryStore
from zhongshi_notify.planning import EPOCH, Channel, Delivery, SendResult, Status, Subscription
from zhongshi_notify.ratelimit import RateLimit, SendSchedule, SharedPace, book
from zhongshi_runtime.store import MemoryStore, MongoStore, Store

from .samples import NOW, Clock
from .test_dispatcher import OK, delivery, dispatcher

yield_once = asyncio.sleep  # the real one: the tests replace the dispatcher's


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def test_a_schedule_grants_a_burst_then_the_rate() -> None:
    times, next_at = book(RateLimit(per_s=4, burst=2), None, NOW, 4, until=at(60))
    assert times == [at(0), at(0), at(0.25), at(0.5)] and next_at == at(1)


def test_a_schedule_books_nothing_past_its_horizon() -> None:
    times, next_at = book(RateLimit(per_s=4, burst=2), at(10), NOW, 5, until=at(10))
    assert times == [at(9.75), at(10)] and next_at == at(10.5)  # one ahead of the schedule (the burst), then paced
    assert book(RateLimit(per_s=4), at(100), NOW, 5, until=at(10)) == ([], at(100))


def test_a_schedule_that_fell_behind_grants_the_burst_again() -> None:
    times, _ = book(RateLimit(per_s=4, burst=3), at(-60), NOW, 4, until=at(60))
    assert times == [at(0), at(0), at(0), at(0.25)]


def test_a_rate_limit_needs_a_rate() -> None:
    with pytest.raises(ValueError, match="positive rate"):
        RateLimit(per_s=0)


@pytest.fixture(params=["memory", pytest.param("mongo", marks=pytest.mark.integration)])
def schedules(request: pytest.FixtureRequest) -> Store[SendSchedule]:
    if request.param == "memory":
        return MemoryStore()
    return MongoStore(request.getfixturevalue("mongo_db"), "send_schedules", SendSchedule)


async def test_replicas_booking_at_once_never_share_a_time(schedules: Store[SendSchedule]) -> None:
    """Three replicas (one store, three paces) book at the same moment; each write is on the version it read."""
    limits = {"email": RateLimit(per_s=10, burst=2)}
    booked = await asyncio.gather(*(SharedPace(schedules, limits).book("email", 4, NOW, at(60)) for _ in range(3)))
    times = sorted(t for one in booked for t in one)
    assert [len(one) for one in booked] == [4, 4, 4]
    assert times == [at(0), *(at(n / 10) for n in range(11))]  # the burst of two, then one every 0.1 s
    assert (await schedules.get("email")) == SendSchedule(next_at=at(1.2), version=3)


class Ticking(Clock):
    """The service's clock, moved only by the dispatcher's waits: a wait ends at the time it was asked to end
    (waits that overlap end at the latest of them)."""

    async def sleep(self, seconds: float) -> None:
        until = self.now + timedelta(seconds=seconds)
        await yield_once(0)
        self.now = max(self.now, until)


class Timed:
    """A sender recording when, in seconds on the ticking clock, it sent each delivery."""

    def __init__(self, clock: Ticking) -> None:
        self.clock, self.at = clock, []  # type: ignore[var-annotated]

    async def send(self, delivery: Delivery, subscription: Subscription | None) -> SendResult:
        self.at.append((self.clock() - NOW).total_seconds())
        return OK


def paced(store: InMemoryDeliveryStore, clock: Ticking, sender: Timed, schedules: Store[SendSchedule],
          limit: RateLimit, **kw: Any) -> Any:
    return dispatcher(store, {Channel.EMAIL: sender}, clock, pace=SharedPace(schedules, {"email": limit}),
                      pause=clock.sleep, **kw)


async def drain_all(count: int, *dispatchers: Any) -> None:
    """Drain until ``count`` sends started, as the service's periodic drains do, then wait for them."""
    started = 0
    while started < count:
        for d in dispatchers:
            started += await d.drain(Channel.EMAIL)
        await yield_once(0)  # the finished sends leave the in-flight set
    for d in dispatchers:
        await d.settle()


def assert_paced(sent: list[float], per_s: float, burst: int) -> None:
    for i, second in enumerate(sorted(sent)):  # the (i+1)-th send waits for its time
        assert second >= (i + 1 - burst) / per_s - 1e-9, (i, second)


async def test_the_dispatcher_sends_no_faster_than_the_channel_allows() -> None:
    clock, store, schedules = Ticking(), InMemoryDeliveryStore(), MemoryStore[SendSchedule]()
    await store.add([delivery(n) for n in range(17)] + [delivery(n, Channel.WEBHOOK) for n in range(3)])
    email, claims = Timed(clock), []
    claim = store.claim

    async def counted(*args: Any) -> list[Delivery]:
        claims.append(args[-1])
        return await claim(*args)

    store.claim = counted  # type: ignore[method-assign,assignment]
    await drain_all(17, paced(store, clock, email, schedules, RateLimit(5, burst=5)))
    assert all(x.status is Status.SENT for x in await store.deliveries(Channel.EMAIL))
    assert_paced(email.at, 5, 5)
    assert clock.now == at((17 - 5) / 5)  # and no longer than that
    assert claims[0] == 10  # the first claim takes what may be in flight (the batch), not the 5 sends booked at once


async def test_two_replicas_together_send_no_faster_than_the_channel_allows() -> None:
    clock, store, schedules = Ticking(), InMemoryDeliveryStore(), MemoryStore[SendSchedule]()
    await store.add([delivery(n) for n in range(17)])
    first, second = Timed(clock), Timed(clock)
    replicas = [paced(store, clock, sender, schedules, RateLimit(5, burst=5), batch=10, owner=name)
                for sender, name in ((first, "replica-1"), (second, "replica-2"))]
    await drain_all(17, *replicas)
    assert first.at and second.at and len(first.at) + len(second.at) == 17
    assert_paced(first.at + second.at, 5, 5)  # one quota for both, not one each
    assert clock.now == at((17 - 5) / 5)


async def test_no_more_are_claimed_than_can_be_sent_within_half_a_lease() -> None:
    clock, store = Ticking(), InMemoryDeliveryStore()
    await store.add([delivery(n) for n in range(30)])
    d = paced(store, clock, Timed(clock), MemoryStore(), RateLimit(0.5), lease_s=8, batch=50)
    assert await d.drain(Channel.EMAIL) == 2  # 0.5/s for 4 s
    await d.cancel()


async def test_what_the_schedule_has_no_time_for_is_given_back_unsent() -> None:
    """Other replicas booked the channel past half a lease: the claimed deliveries are due again at once, their
    attempt uncounted, leased by nobody."""
    clock, store, schedules = Ticking(), InMemoryDeliveryStore(), MemoryStore[SendSchedule]()
    await store.add([delivery(n) for n in range(3)])
    await SharedPace(schedules, {"email": RateLimit(5)}).book("email", 100, NOW, at(60))  # 19 s ahead
    sender = Timed(clock)
    d = paced(store, clock, sender, schedules, RateLimit(5), lease_s=8)
    assert await d.drain(Channel.EMAIL) == 0
    assert sender.at == []
    assert {(x.status, x.attempts, x.next_attempt_at, x.lease_until, x.lease_owner)
            for x in await store.deliveries(Channel.EMAIL)} == {(Status.PENDING, 0, NOW, EPOCH, "")}
