"""The dispatcher: sends due deliveries from the outbox, one channel independently of the others.

Each round claims due deliveries of one channel with a lease and starts each send as its own task (each
bounded by its sender's deadline), never waiting for a batch's slowest receiver; it logs every attempt and
records the outcome: sent, pending again with backoff, or failed for good. Webhook attempts also keep
their subscription's run of failures, which disables it at the threshold. A crash between a send and its
record leaves the lease to expire and the delivery is sent again: delivery to SMTP, the SMS gateway and
webhooks is at least once, with ids that let the receiver recognise a repeat (Message-ID, the gateway's
``id``, ``webhook-id``).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from zhongshi_runtime.clock import Clock

from zhongshi_notify.channels import Sender
from zhongshi_notify.deliveries import DeliveryStore
from zhongshi_notify.metrics import NotifyMetrics
from zhongshi_notify.planning import (
    EPOCH,
    Attempt,
    Channel,
    Delivery,
    RetryPolicy,
    SendResult,
    Status,
    Subscription,
    after_attempt,
    mask_address,
    outcome_of,
)
from zhongshi_notify.ratelimit import RateLimit, SharedPace


class Dispatcher:
    def __init__(
        self, store: DeliveryStore, senders: Mapping[Channel, Sender], *, policy: RetryPolicy, lease_s: float,
        batch: int, failure_threshold: int, metrics: NotifyMetrics, clock: Clock, logger: logging.Logger,
        owner: str | None = None, pace: SharedPace | None = None,
        pause: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store, self.senders, self.policy = store, dict(senders), policy
        self.lease, self.batch, self.failure_threshold = timedelta(seconds=lease_s), batch, failure_threshold
        self.metrics, self.clock, self.logger = metrics, clock, logger
        self.owner = owner or f"dispatcher-{uuid.uuid4().hex[:12]}"
        self.pace, self.pause = pace, pause  # pause: how a send waits for its booked time
        self._inflight: dict[Channel, set[asyncio.Task[None]]] = {}
        self._stopping = False

    @property
    def channels(self) -> list[Channel]:
        return list(self.senders)

    async def drain(self, channel: Channel) -> int:
        """Start every due delivery of ``channel``, as many as may be in flight; return how many were started.

        It does not wait for the sends it started: a slow receiver keeps its own slot until its deadline while
        the next drain claims and sends the others (the lease keeps two drains from sending one delivery). A
        rate-limited channel's sends wait for the times booked for them in the channel's schedule, which every
        replica shares (`SharedPace`), so a claim takes many at a time (each claim reads the channel's whole
        backlog of due deliveries on the embedded database), never more than can be sent within half a lease;
        those the schedule has no time for within it (other replicas booked it) are given back at once."""
        total, inflight = 0, self._inflight.setdefault(channel, set())
        while not self._stopping and (room := self._most_in_flight(channel) - len(inflight)) > 0:
            now = self.clock()
            claimed = await self.store.claim(channel, now, now + self.lease, self.owner, room)
            times = await self._book(channel, len(claimed), now)
            subscriptions = await self._subscriptions(claimed)
            for delivery, at in zip(claimed, times, strict=False):
                task = asyncio.create_task(self._recorded(delivery, subscriptions, at))
                inflight.add(task)
                task.add_done_callback(inflight.discard)
            for delivery in claimed[len(times):]:
                await self._give_back(delivery, now)
            total += len(times)
            if len(times) < room:
                return total
        return total

    def _limit(self, channel: Channel) -> RateLimit | None:
        return self.pace.limit(channel.value) if self.pace else None

    def _most_in_flight(self, channel: Channel) -> int:
        limit = self._limit(channel)
        if limit is None:
            return self.batch
        return max(1, min(self.batch, math.floor(limit.per_s * self.lease.total_seconds() / 2)))

    async def _book(self, channel: Channel, count: int, now: datetime) -> list[datetime | None]:
        """When each of ``count`` claimed sends may go: now on a channel without a quota; else the times booked
        in the channel's schedule within half a lease (fewer when it is full that far)."""
        if not count or self.pace is None or self._limit(channel) is None:
            return [None] * count
        return list(await self.pace.book(channel.value, count, now, now + self.lease / 2))

    async def _give_back(self, delivery: Delivery, now: datetime) -> None:
        """Release a claimed delivery unsent and due now, its attempt uncounted: no time was booked for it."""
        await self.store.finish(_unclaimed(delivery, next_attempt_at=now), self.owner)

    async def _wait_for(self, at: datetime | None) -> None:
        if at is not None and (wait := (at - self.clock()).total_seconds()) > 0:
            await self.pause(wait)

    def in_flight(self, channel: Channel) -> int:
        return len(self._inflight.get(channel, ()))

    async def settle(self, *channels: Channel) -> None:
        """Wait for every send in flight (on ``channels``, default all) to be recorded."""
        while tasks := [t for c, group in self._inflight.items() if not channels or c in channels for t in group]:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def cancel(self) -> None:
        """Stop the sends in flight (shutdown): their leases expire and they are sent again."""
        tasks = [t for group in self._inflight.values() for t in group]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def stop(self, grace_s: float) -> None:
        """Shutdown: claim nothing more, give the sends in flight ``grace_s`` to be recorded (a recorded send is
        not sent again), then cancel the rest, whose leases expire and which are sent again."""
        self._stopping = True
        tasks = [t for group in self._inflight.values() for t in group]
        if tasks:
            await asyncio.wait(tasks, timeout=grace_s)
        await self.cancel()

    async def run_once(self) -> int:
        """Drain every channel and wait for the sends (tests; the service runs one periodic drain per channel)."""
        started = sum(await asyncio.gather(*(self.drain(c) for c in self.channels)))
        await self.settle()
        return started

    async def _recorded(self, delivery: Delivery, subscriptions: Mapping[str, Subscription],
                        at: datetime | None) -> None:
        try:
            await self._deliver(delivery, subscriptions, at)
        except Exception as exc:  # its lease expires and it is tried again
            self.logger.error("recording delivery %s failed: %r", delivery.id, exc)

    async def _subscriptions(self, claimed: list[Delivery]) -> dict[str, Subscription]:
        """The webhook subscriptions, read once per batch (enabled flag and failure run as of now)."""
        if not any(d.channel is Channel.WEBHOOK for d in claimed):
            return {}
        return {s.id: s for s in await self.store.subscriptions()}

    async def _deliver(self, delivery: Delivery, subscriptions: Mapping[str, Subscription],
                       at: datetime | None) -> None:
        subscription = None
        if delivery.channel is Channel.WEBHOOK:
            subscription = subscriptions.get(delivery.recipient)
            if subscription is None or not subscription.enabled:
                await self._hold(delivery)
                return
        await self._wait_for(at)
        started = time.monotonic()
        result = await self._send(delivery, subscription)
        elapsed_ms = (time.monotonic() - started) * 1000
        now = self.clock()
        done = after_attempt(delivery, result, self.policy, now)
        await self.store.log_attempt(Attempt(
            delivery_id=delivery.id, source_id=delivery.source_id, channel=delivery.channel,
            recipient=delivery.recipient, kind=delivery.kind, attempt=delivery.attempts, at=now,
            outcome=outcome_of(done), status_code=result.status_code, error=result.error, duration_ms=elapsed_ms,
        ))
        if not await self.store.finish(done, self.owner):
            self.logger.warning("lease on delivery %s expired before its outcome was recorded", delivery.id)
        self._count(delivery, done)
        if subscription is not None:
            await self._track(subscription, result)

    async def _send(self, delivery: Delivery, subscription: Subscription | None) -> SendResult:
        try:
            return await self.senders[delivery.channel].send(delivery, subscription)
        except Exception as exc:  # a sender bug: counted as a retryable failed attempt, so it ends in `failed`
            self.logger.exception("sender for %s raised", delivery.channel)
            return SendResult(ok=False, retryable=True, error=f"{type(exc).__name__}: {exc}"[:500])

    async def _hold(self, delivery: Delivery) -> None:
        """Hold a delivery for a subscription the batch found disabled, and release it again if the subscription
        was enabled since the batch read it: enabling released what was held then, not this one. (An enable
        committing after this hold releases it itself, `service.enable`.)"""
        await self.store.finish(_unclaimed(delivery, status=Status.HELD), self.owner)
        self.metrics.deliveries.labels(delivery.channel.value, "held").inc()
        current = await self.store.subscription(delivery.recipient)
        if current is not None and current.enabled:
            await self.store.release_held(delivery.recipient, self.clock())

    def _count(self, before: Delivery, done: Delivery) -> None:
        outcome = outcome_of(done)
        self.metrics.deliveries.labels(done.channel.value, outcome).inc()
        if done.status is Status.SENT and done.sent_at is not None:
            self.metrics.latency.labels(done.channel.value).observe(
                max(0.0, (done.sent_at - done.created_at).total_seconds()))
        log = self.logger.info if done.status is Status.SENT else self.logger.warning
        log("%s %s to %s (attempt %d)%s", done.channel.value, outcome, mask_address(done.address), before.attempts,
            f": {mask_address(done.last_error)}" if done.last_error else "")

    async def _track(self, subscription: Subscription, result: SendResult) -> None:
        if result.ok:
            if subscription.consecutive_failures:  # as read before the send: saves a write per success
                await self.store.subscription_succeeded(subscription.id)
            return
        self.metrics.webhook_failures.inc()
        if await self.store.subscription_failed(subscription.id, self.failure_threshold, self.clock()):
            self.logger.warning("webhook subscription %s disabled after %d failures in a row", subscription.id,
                                self.failure_threshold)


def _unclaimed(delivery: Delivery, **changes: object) -> Delivery:
    """``delivery`` as before its claim (its attempt uncounted, leased by nobody), with ``changes``."""
    return delivery.model_copy(update={"attempts": delivery.attempts - 1, "lease_until": EPOCH, "lease_owner": "",
                                       **changes})
