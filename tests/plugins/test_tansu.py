"""The embedded broker's plug-in: a broker replaced by an empty one under a running service (its cluster id
changes) gets every retained event again, and the consumer reads its partitions from the beginning; the same
broker gets nothing twice and nothing is rewound; the producer is not idempotent against it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import TopicPartition
from zhongshi_runtime.kafka_client import KafkaClientSettings
from zhongshi_runtime.messaging import Assignments, create_broker
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.outbox import OutboxRelay, ensure_outbox_indexes
from zhongshi_runtime.settings import ServiceSettings

from zhongshi.plugins.tansu import Tansu
from zhongshi.polling import eventually

PARTITIONS = {TopicPartition("pilot.application.submitted", 0), TopicPartition("pilot.application.submitted", 1)}
LOG = logging.getLogger("test")


class Broker:
    """Records what the relay publishes."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def publish(self, body: bytes, **_: Any) -> Awaitable[None]:
        self.sent.append(body.decode())
        return asyncio.sleep(0)


class Consumer:
    def __init__(self) -> None:
        self.rewound: list[set[TopicPartition]] = []

    async def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        self.rewound.append(set(partitions))


def record(n: int, published: bool) -> dict[str, Any]:
    return {"_id": f"e{n}", "seq": n, "topic": "pilot.application.submitted", "key": f"A{n}", "headers": {},
            "value": f"v{n}", "created_at": datetime.now(UTC), "published_at": datetime.now(UTC) if published else None}


async def has_topics() -> bool:
    return True


def tansu(epoch: str, identify: Callable[[], Awaitable[str]], **options: Any) -> Tansu:
    options.setdefault("topics_ready", has_topics)
    return Tansu(KafkaClientSettings(), epoch, LOG, identify=identify, consumer_identify=identify, **options)


def test_the_producer_is_idempotent_except_against_the_embedded_broker() -> None:
    def idempotent(settings: ServiceSettings, plugin: Tansu | None) -> bool:
        broker = create_broker(settings, RuntimeMetrics("probe"), LOG, plugin)
        return bool(broker._connection_kwargs["enable_idempotence"])

    plain = ServiceSettings()
    assert idempotent(plain, None) is True
    assert idempotent(plain, Tansu(plain, "4f1c", LOG)) is False
    forced = ServiceSettings(KAFKA_ENABLE_IDEMPOTENCE="true")
    assert idempotent(forced, Tansu(forced, "4f1c", LOG)) is True


async def test_after_the_broker_was_replaced_the_assigned_partitions_are_read_from_the_beginning() -> None:
    cluster = ["epoch-1"]

    async def identify() -> str:
        return cluster[0]

    metrics, consumer = RuntimeMetrics("probe"), Consumer()
    assignments = Assignments(metrics, tansu("epoch-1", identify))
    assignments.consumer = lambda: consumer
    await assignments.on_partitions_assigned(PARTITIONS)  # the first assignment trusts the committed offsets
    await assignments.on_partitions_assigned(PARTITIONS)  # so does a rebalance on the same broker
    assert consumer.rewound == []
    cluster[0] = "epoch-2"
    await assignments.on_partitions_assigned(PARTITIONS)
    assert consumer.rewound == [PARTITIONS]
    assert metrics.registry.get_sample_value("zhongshi_consumer_rebalances_total", {"service": "probe"}) == 3


@pytest.mark.integration
async def test_a_broker_replaced_under_a_running_relay_gets_the_retained_outbox_again(mongo_db: Any) -> None:
    await ensure_outbox_indexes(mongo_db)
    await mongo_db.outbox.insert_many([record(1, True), record(2, True), record(3, False)])
    cluster, asked = ["epoch-1"], [0]

    async def identify() -> str:
        asked[0] += 1
        return cluster[0]

    def sent(expected: list[str]) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return sorted(broker.sent) == expected
        return check

    async def asked_again() -> bool:
        return asked[0] >= asked_before + 3

    broker, metrics = Broker(), RuntimeMetrics("probe")
    relay = OutboxRelay(mongo_db, broker, metrics=metrics, retention=timedelta(days=1),  # type: ignore[arg-type]
                        logger=LOG, idle_poll_s=0.05, plugins=tansu("epoch-1", identify, epoch_check_s=0.1))
    await mongo_db.meta.insert_one({"_id": "broker_epoch", "epoch": "epoch-1"})
    await relay.start()
    try:
        await eventually(sent(["v3"]), "v3 published")
        cluster[0] = "epoch-2"  # the launcher killed the broker and started an empty one
        await eventually(sent(["v1", "v2", "v3", "v3"]), "the retained outbox published again")
        asked_before = asked[0]
        await eventually(asked_again, "the broker asked for its cluster id three more times")
        assert sorted(broker.sent) == ["v1", "v2", "v3", "v3"]  # the same broker got nothing twice
    finally:
        await relay.stop()
    assert metrics.registry.get_sample_value("zhongshi_outbox_replays_total", {"service": "probe"}) == 1
    assert (await mongo_db.meta.find_one({"_id": "broker_epoch"}))["epoch"] == "epoch-2"


@pytest.mark.integration
async def test_an_unreachable_broker_is_asked_again_and_replays_nothing_meanwhile(mongo_db: Any) -> None:
    await mongo_db.outbox.insert_many([record(1, True)])
    await mongo_db.meta.insert_one({"_id": "broker_epoch", "epoch": "epoch-1"})

    async def unreachable() -> str:
        raise ConnectionError("broker down")

    relay = OutboxRelay(mongo_db, Broker(), metrics=RuntimeMetrics("probe"),  # type: ignore[arg-type]
                        retention=timedelta(days=1), logger=LOG)
    assert await tansu("epoch-1", unreachable).replay_if_new_broker(relay) == 0
    assert (await mongo_db.outbox.find_one({"_id": "e1"}))["published_at"] is not None


async def test_when_the_broker_cannot_say_which_it_is_the_partitions_are_read_again() -> None:
    """Under load the cluster-id question can fail just as a new broker takes over: reading again is safe
    (idempotent consumers), trusting an offset of the old broker would skip records."""
    answers: list[str | Exception] = ["epoch-1", TimeoutError("no answer"), "epoch-1"]

    async def identify() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    consumer = Consumer()
    assignments = Assignments(RuntimeMetrics("probe"), tansu("epoch-1", identify))
    assignments.consumer = lambda: consumer
    await assignments.on_partitions_assigned(PARTITIONS)
    await assignments.on_partitions_assigned(PARTITIONS)
    assert consumer.rewound == [PARTITIONS]
    await assignments.on_partitions_assigned(PARTITIONS)  # the same broker after all: its offsets are trusted
    assert consumer.rewound == [PARTITIONS]


@pytest.mark.integration
async def test_a_new_broker_gets_nothing_before_it_has_its_topics(mongo_db: Any) -> None:
    """Tansu accepts a record for a topic it does not have yet and loses it when the topic is created: a new
    broker is published to only once it lists the topics, and then gets the retained outbox and the pending."""
    await mongo_db.outbox.insert_many([record(1, True), record(2, False)])
    await mongo_db.meta.insert_one({"_id": "broker_epoch", "epoch": "epoch-1"})
    topics = [False]

    async def identify() -> str:
        return "epoch-2"

    async def topics_ready() -> bool:
        return topics[0]

    async def everything_sent() -> bool:
        return sorted(broker.sent) == ["v1", "v2"]

    broker, plugin = Broker(), tansu("epoch-1", identify, topics_ready=topics_ready, epoch_check_s=0.05)
    relay = OutboxRelay(mongo_db, broker, metrics=RuntimeMetrics("probe"), retention=timedelta(days=1),  # type: ignore[arg-type]
                        logger=LOG, idle_poll_s=0.05, plugins=plugin)
    await relay.start()
    try:
        assert plugin.held and broker.sent == []
        topics[0] = True  # the launcher created the topics
        await eventually(everything_sent, "the retained and the pending record published to the new broker")
    finally:
        await relay.stop()
