"""The dispatcher over the in-memory store with scripted senders: retries, giving up, leases, webhooks
disabled after a run of failures and enabled again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from zhongshi_notify.app import stopping_sends
from zhongshi_notify.channels import Sender
from zhongshi_notify.deliveries import InMemoryDeliveryStore
from zhongshi_notify.dispatcher import Dispatcher
from zhongshi_notify.metrics import NotifyMetrics
from zhongshi_notify.planning import Channel, Delivery, RetryPolicy, SendResult, Status, Subscription

from .samples import HANG_S, NOW, Clock

LOG = logging.getLogger("test.notify")
FAIL = SendResult(ok=False, retryable=True, status_code=503, error="HTTP 503")
OK = SendResult(ok=True, status_code=200)


class Scripted:
    """A sender answering from a script (then OK), recording what it was asked to send."""

    def __init__(self, *answers: SendResult) -> None:
        self.answers, self.sent = list(answers), []  # type: ignore[var-annotated]

    async def send(self, delivery: Delivery, subscription: Subscription | None) -> SendResult:
        self.sent.append(delivery.id)
        return self.answers.pop(0) if self.answers else OK


def delivery(n: int, channel: Channel = Channel.EMAIL, recipient: str = "c") -> Delivery:
    return Delivery(id=f"e{n}/{recipient}/{channel}", source_id=f"e{n}", kind="k", channel=channel,
                    recipient=recipient, address="pilot0@example.cn", title="t", body="b", application_id="A1",
                    created_at=NOW, next_attempt_at=NOW)


def dispatcher(store: InMemoryDeliveryStore, senders: Mapping[Channel, Sender], clock: Clock, **kw: Any) -> Dispatcher:
    options = {"policy": RetryPolicy(max_attempts=3, backoff_s=10, backoff_max_s=60), "lease_s": 30, "batch": 10,
               "failure_threshold": 3, "metrics": NotifyMetrics(CollectorRegistry()), "clock": clock, "logger": LOG}
    return Dispatcher(store, senders, **{**options, **kw})


def sample(d: Dispatcher, name: str, **labels: str) -> float | None:
    return d.metrics.registry.get_sample_value(name, labels)


@pytest.fixture
def store() -> InMemoryDeliveryStore:
    return InMemoryDeliveryStore()


async def test_a_due_delivery_is_sent_once_and_logged(
    store: InMemoryDeliveryStore, caplog: pytest.LogCaptureFixture
) -> None:
    await store.add([delivery(1), delivery(2)])
    sender, clock = Scripted(), Clock()
    d = dispatcher(store, {Channel.EMAIL: sender}, clock)
    with caplog.at_level(logging.INFO, "test.notify"):
        assert await d.run_once() == 2
    assert await d.run_once() == 0
    assert sender.sent == ["e1/c/email", "e2/c/email"]
    assert {x.status for x in await store.deliveries()} == {Status.SENT}
    assert [(a.attempt, a.outcome) for a in await store.attempts("c")] == [(1, "sent"), (1, "sent")]
    assert sample(d, "zhongshi_notify_deliveries_total", channel="email", outcome="sent") == 2
    assert "p***@example.cn" in caplog.text and "pilot0@" not in caplog.text


async def test_a_failure_is_retried_after_its_backoff_then_given_up(store: InMemoryDeliveryStore) -> None:
    await store.add([delivery(1)])
    sender, clock = Scripted(FAIL, FAIL, FAIL), Clock()
    d = dispatcher(store, {Channel.EMAIL: sender}, clock)
    await d.run_once()
    [after_one] = await store.deliveries()
    assert (after_one.status, after_one.attempts, after_one.next_attempt_at) == (
        Status.PENDING, 1, NOW + timedelta(seconds=10))
    assert await d.run_once() == 0  # not due yet
    clock.now += timedelta(seconds=10)
    await d.run_once()
    clock.now += timedelta(seconds=20)
    await d.run_once()
    [given_up] = await store.deliveries()
    assert (given_up.status, given_up.attempts, given_up.last_error) == (Status.FAILED, 3, "HTTP 503")
    assert [a.outcome for a in await store.attempts("c")] == ["failed", "retry", "retry"]
    assert sample(d, "zhongshi_notify_deliveries_total", channel="email", outcome="retry") == 2


async def test_a_permanent_refusal_is_not_retried(store: InMemoryDeliveryStore) -> None:
    await store.add([delivery(1)])
    d = dispatcher(store, {Channel.EMAIL: Scripted(SendResult(ok=False, status_code=550, error="550"))}, Clock())
    await d.run_once()
    assert [(x.status, x.attempts) for x in await store.deliveries()] == [(Status.FAILED, 1)]


async def test_a_sender_that_raises_costs_an_attempt_not_the_batch(store: InMemoryDeliveryStore) -> None:
    class Broken:
        async def send(self, delivery: Delivery, subscription: Subscription | None) -> SendResult:
            if delivery.id.startswith("e1"):
                raise RuntimeError("bug")
            return OK

    await store.add([delivery(1), delivery(2)])
    await dispatcher(store, {Channel.EMAIL: Broken()}, Clock()).run_once()
    assert [(x.id, x.status, x.last_error) for x in await store.deliveries()] == [
        ("e1/c/email", Status.PENDING, "RuntimeError: bug"), ("e2/c/email", Status.SENT, "")]


async def test_a_leased_delivery_is_left_alone_until_the_lease_expires(store: InMemoryDeliveryStore) -> None:
    await store.add([delivery(1)])
    clock = Clock()
    [claimed] = await store.claim(Channel.EMAIL, NOW, NOW + timedelta(seconds=30), "crashed-replica", 10)
    other = Scripted()
    d = dispatcher(store, {Channel.EMAIL: other}, clock)
    assert await d.run_once() == 0
    clock.now += timedelta(seconds=30)
    assert await d.run_once() == 1 and other.sent == ["e1/c/email"]
    assert not await store.finish(claimed.model_copy(update={"status": Status.SENT}), "crashed-replica")
    [done] = await store.deliveries()
    assert (done.status, done.attempts) == (Status.SENT, 2)  # the crashed claim counted as an attempt


class Hanging:
    """A sender whose sends never end (a receiver that accepted the connection and went quiet)."""

    async def send(self, delivery: Delivery, subscription: Subscription | None) -> SendResult:
        await asyncio.Event().wait()
        return OK


async def test_a_hanging_channel_does_not_hold_up_another(store: InMemoryDeliveryStore) -> None:
    await store.add([delivery(1), delivery(2, Channel.SMS)])
    sms = Scripted()
    d = dispatcher(store, {Channel.EMAIL: Hanging(), Channel.SMS: sms}, Clock())
    await asyncio.wait_for(d.drain(Channel.EMAIL), HANG_S)  # starts the hanging send and returns
    assert await asyncio.wait_for(d.drain(Channel.SMS), HANG_S) == 1
    await asyncio.wait_for(d.settle(Channel.SMS), HANG_S)
    assert sms.sent == ["e2/c/sms"] and d.in_flight(Channel.EMAIL) == 1
    await d.cancel()


async def test_stopping_lets_a_send_in_flight_be_recorded_and_claims_nothing_more(store: InMemoryDeliveryStore) -> None:
    class Slow(Scripted):
        async def send(self, delivery: Delivery, subscription: Subscription | None) -> SendResult:
            await asyncio.sleep(0.2)  # a receiver taking its time: still in flight when the shutdown begins
            return await super().send(delivery, subscription)

    await store.add([delivery(1)])
    sender = Slow()
    d = dispatcher(store, {Channel.EMAIL: sender}, Clock())
    await asyncio.wait_for(d.drain(Channel.EMAIL), HANG_S)
    await asyncio.wait_for(d.stop(grace_s=60), 30)
    await store.add([delivery(2)])
    assert await d.drain(Channel.EMAIL) == 0 and sender.sent == ["e1/c/email"]
    assert [(x.id, x.status) for x in await store.deliveries()] == [
        ("e1/c/email", Status.SENT), ("e2/c/email", Status.PENDING)]  # recorded: it is not sent a second time


async def test_stopping_cancels_a_send_outlasting_the_grace_and_its_lease_brings_it_back(
    store: InMemoryDeliveryStore
) -> None:
    await store.add([delivery(1)])
    clock = Clock()
    d = dispatcher(store, {Channel.EMAIL: Hanging()}, clock)
    await asyncio.wait_for(d.drain(Channel.EMAIL), HANG_S)
    await asyncio.wait_for(d.stop(grace_s=0), HANG_S)
    assert d.in_flight(Channel.EMAIL) == 0
    clock.now += timedelta(seconds=30)  # the lease
    again = Scripted()
    assert await dispatcher(store, {Channel.EMAIL: again}, clock).run_once() == 1 and again.sent == ["e1/c/email"]


async def test_a_webhook_run_of_failures_disables_it_holds_the_rest_and_enabling_releases_them(
    store: InMemoryDeliveryStore
) -> None:
    store.subs["wh"] = Subscription(id="wh", url="http://x", event_types=["t"], secret="s", created_at=NOW)
    await store.add([delivery(n, Channel.WEBHOOK, "wh") for n in (1, 2, 3, 4)])
    hooks, clock = Scripted(FAIL, FAIL, FAIL), Clock()
    d = dispatcher(store, {Channel.WEBHOOK: hooks}, clock, batch=3, policy=RetryPolicy(max_attempts=5, backoff_s=0))
    while await d.drain(Channel.WEBHOOK):  # the periodic drain: the later ones find the subscription disabled
        await d.settle()
    sub = store.subs["wh"]
    assert (sub.enabled, sub.consecutive_failures, sub.disabled_at) == (False, 3, NOW)
    statuses = {x.id: x.status for x in await store.deliveries()}
    assert set(statuses.values()) == {Status.HELD}  # the three that failed and the one never tried
    assert all(x.attempts == 1 for x in await store.deliveries() if x.id != "e4/wh/webhook")
    assert sample(d, "zhongshi_notify_webhook_failures_total") == 3
    enabled = await store.enable("wh", clock())
    assert enabled is not None and enabled.enabled and enabled.consecutive_failures == 0
    assert await d.run_once() == 3 and await d.run_once() == 1  # three in flight at most
    assert {x.status for x in await store.deliveries()} == {Status.SENT}
    assert len(await store.attempts("wh")) == 7  # three failures, four successes (held claims are not attempts)


async def test_the_service_stops_its_sends_before_the_kit_closes_the_database() -> None:
    order: list[str] = []

    @contextlib.asynccontextmanager
    async def kit(_: object) -> AsyncIterator[None]:
        yield
        order.append("kit closed the database")

    class Stoppable:
        async def stop(self, grace_s: float) -> None:
            order.append(f"sends stopped within {grace_s} s")

    async with stopping_sends(kit, Stoppable(), 7)(None):  # type: ignore[arg-type]
        assert order == []
    assert order == ["sends stopped within 7 s", "kit closed the database"]


class EnabledRightAfterReading(InMemoryDeliveryStore):
    """The operator enables the subscription just after a batch read it as disabled."""

    async def subscriptions(self, session: Any = None) -> list[Subscription]:
        read = await super().subscriptions(session)
        await self.enable("wh", NOW)  # nothing is held yet: this releases nothing
        return read


async def test_a_delivery_for_a_subscription_enabled_after_the_batch_read_it_is_not_held_for_good() -> None:
    store = EnabledRightAfterReading()
    store.subs["wh"] = Subscription(id="wh", url="http://x", event_types=["t"], secret="s", created_at=NOW,
                                    enabled=False)
    await store.add([delivery(1, Channel.WEBHOOK, "wh")])
    hooks = Scripted()
    d = dispatcher(store, {Channel.WEBHOOK: hooks}, Clock())
    await d.run_once()  # held as the batch read it, then released: the subscription is enabled now
    assert [x.status for x in await store.deliveries()] == [Status.PENDING]
    await d.run_once()
    assert [x.status for x in await store.deliveries()] == [Status.SENT] and hooks.sent == ["e1/wh/webhook"]
