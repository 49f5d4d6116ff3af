"""The embedded broker's workarounds, a plug-in the launcher installs for its Tansu broker: Tansu refuses
InitProducerId (so the producer is not idempotent), and a restarted Tansu is empty. The launcher gives every
broker start a new epoch, which is also the broker's cluster id (``ZHONGSHI_BROKER_EPOCH``):

- the outbox relay publishes every retained event again when the broker's cluster id is not the one its last
  publication went to (checked at start and every ``epoch_check_s``), and publishes nothing to a new broker
  until it lists every contract topic: Tansu accepts a record for a topic it does not have yet, and loses it
  when the launcher creates the topic;
- the consumer reads its assigned partitions from the beginning when the broker was replaced since the
  previous assignment: an offset from the old broker means nothing in the new log (and one committed while
  the consumer re-joined lands there), while Tansu answers a fetch beyond the end of a partition with
  nothing instead of OffsetOutOfRange, so the consumer would skip whatever is written up to that offset; when
  the broker cannot say which it is, the consumer reads from the beginning too (idempotent consumers make
  reading again safe; skipping is not).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from zhongshi_contracts.topics import ALL_TOPICS
from zhongshi_runtime.kafka_client import KafkaClientSettings
from zhongshi_runtime.outbox import OutboxRelay
from zhongshi_runtime.plugins import Plugin, Rewindable
from zhongshi_runtime.settings import ServiceSettings

MARKER = "broker_epoch"  # the `meta` document naming the broker the outbox was last published to


def install(settings: ServiceSettings) -> Tansu:
    """The plug-in's factory (``zhongshi.plugins.tansu:install``): the epoch the launcher set."""
    return Tansu(settings, os.environ.get("ZHONGSHI_BROKER_EPOCH", ""),
                 logging.getLogger(f"zhongshi.{settings.service_name}"))


class ClusterId:
    """Asks the broker for its cluster id (the embedded launcher makes it the broker start's epoch)."""

    def __init__(self, client: KafkaClientSettings, timeout_s: float = 5) -> None:
        self.client, self.timeout_ms = client, int(timeout_s * 1000)
        self._admin: AIOKafkaAdminClient | None = None

    async def __call__(self) -> str:
        if self._admin is None:
            admin = AIOKafkaAdminClient(**self.client.aiokafka(), request_timeout_ms=self.timeout_ms)
            await admin.start()
            self._admin = admin
        try:
            return str((await self._admin.describe_cluster())["cluster_id"] or "")
        except Exception:
            await self.close()  # connect afresh next time
            raise

    async def holds_topics(self) -> bool:
        """Whether the broker lists every contract topic."""
        await self()  # connects when needed
        assert self._admin is not None
        listed = set(await self._admin.list_topics())
        return all(topic.name in listed for topic in ALL_TOPICS)

    async def close(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            await admin.close()


class Tansu(Plugin):
    """The embedded broker's workarounds; without an epoch only the producer's idempotence is turned off."""

    def __init__(self, settings: KafkaClientSettings, epoch: str, logger: logging.Logger, *,
                 identify: Callable[[], Any] | None = None, consumer_identify: Callable[[], Any] | None = None,
                 topics_ready: Callable[[], Awaitable[bool]] | None = None, epoch_check_s: float = 2.0) -> None:
        self.settings, self.epoch, self.logger, self.epoch_check_s = settings, epoch, logger, epoch_check_s
        # one admin client per task that asks (the relay's loop and the consumer's listener)
        self.identify = identify or ClusterId(settings)
        self.consumer_identify = consumer_identify or ClusterId(settings)
        self.topics_ready = topics_ready or self._holds_topics
        self.held = False  # a new broker without its topics yet: the relay publishes nothing
        self._checked: float | None = None
        self._cluster: str | None = None

    def broker_options(self) -> dict[str, Any]:
        # Tansu refuses InitProducerId: every send would fail (unless KAFKA_ENABLE_IDEMPOTENCE says otherwise)
        return {} if self.settings.kafka_enable_idempotence is not None else {"enable_idempotence": False}

    async def current_epoch(self) -> str:
        """The broker's cluster id when it can be asked, else the configured epoch ("" while unreachable)."""
        try:
            return str(await self.identify() or self.epoch)
        except Exception as exc:
            self.logger.warning("cannot ask the broker for its cluster id: %r", exc)
            return ""

    async def _holds_topics(self) -> bool:
        identify = self.identify
        return isinstance(identify, ClusterId) and await identify.holds_topics()

    async def relay_tick(self, relay: OutboxRelay) -> bool:
        if self.epoch and (self._checked is None or time.monotonic() - self._checked >= self.epoch_check_s):
            await self.replay_if_new_broker(relay)
        return not self.held

    async def replay_if_new_broker(self, relay: OutboxRelay) -> int:
        """When the broker is a new (empty) one, mark the retained events for publishing again."""
        self._checked = time.monotonic()
        epoch = await self.current_epoch()
        marker = await relay.db.meta.find_one({"_id": MARKER})
        if not epoch or (marker and marker.get("epoch") == epoch):
            self.held = False
            return 0
        self.held = not await self._topics_ready()
        if self.held:
            self.logger.info("new broker epoch: waiting for the broker's topics before publishing")
            return 0
        count = await relay.republish_retained()
        await relay.db.meta.update_one({"_id": MARKER}, {"$set": {"epoch": epoch}}, upsert=True)
        if count:
            self.logger.info("new broker epoch: republishing %d retained events", count)
        return count

    async def _topics_ready(self) -> bool:
        try:
            return await self.topics_ready()
        except Exception as exc:
            self.logger.warning("cannot list the broker's topics: %r", exc)
            return False

    async def partitions_assigned(self, consumer: Callable[[], Rewindable], assigned: set[Any]) -> None:
        if not self.epoch:
            return
        try:
            cluster: str | None = str(await self.consumer_identify())
        except Exception as exc:  # cannot tell which broker: read again rather than trust an old offset
            self.logger.warning("cannot ask the broker for its cluster id: %r", exc)
            cluster = None
        if self._cluster is not None and cluster != self._cluster:
            self.logger.warning("the broker was replaced by an empty one: reading %d partitions from the start",
                                len(assigned))
            await consumer().seek_to_beginning(*assigned)
        self._cluster = cluster or self._cluster

    async def close(self) -> None:
        for identify in (self.identify, self.consumer_identify):
            if isinstance(identify, ClusterId):
                await identify.close()
