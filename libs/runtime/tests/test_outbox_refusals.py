"""A record the broker refuses for good (too large) is set aside with the reason, and the records written after
it are published: one such record must not stop a service's events for good. On the real embedded broker."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka import KafkaBroker
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.outbox import OutboxRelay

from zhongshi.launcher import Stack
from zhongshi.polling import eventually

pytestmark = pytest.mark.integration

TOO_LARGE = "x" * 1_200_000  # over the producer's max_request_size (1 MiB), as an event with a runaway field


@pytest.fixture
async def topic(infrastructure: Stack) -> str:
    name = f"test.outbox.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=infrastructure.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, 1)])
    finally:
        await admin.close()
    return name


@pytest.fixture
async def broker(infrastructure: Stack) -> AsyncIterator[KafkaBroker]:
    broker = KafkaBroker(infrastructure.bootstrap)
    await broker.start()
    yield broker
    await broker.stop()


def record(seq: int, topic: str, value: str) -> dict[str, Any]:
    return {"_id": f"e{seq}", "seq": seq, "topic": topic, "key": "A1", "headers": {}, "value": value,
            "published_at": None}


async def values_on(bootstrap: str, topic: str, expected: int) -> list[str]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=20)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.seek_to_beginning(TopicPartition(topic, 0))
        values: list[str] = []

        async def all_read() -> bool:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                values.extend(r.value.decode() for r in records)
            return len(values) >= expected

        await eventually(all_read, f"{expected} records on {topic}")
        return values
    finally:
        await consumer.stop()


async def test_a_record_refused_for_good_is_set_aside_and_the_later_ones_are_published(
        mongo_db: Any, infrastructure: Stack, topic: str, broker: KafkaBroker) -> None:
    await mongo_db.outbox.insert_many([record(1, topic, "first"), record(2, topic, TOO_LARGE),
                                       record(3, topic, "third")])
    metrics = RuntimeMetrics("probe")
    relay = OutboxRelay(mongo_db, broker, metrics=metrics, retention=timedelta(days=1), idle_poll_s=0.05,
                        logger=logging.getLogger("test"))
    await relay.start()
    try:
        async def refusal_counted() -> bool:
            return metrics.registry.get_sample_value("zhongshi_outbox_refused", {"service": "probe"}) == 1
        await eventually(refusal_counted, "the refused record counted")
    finally:
        await relay.stop()
    assert await values_on(infrastructure.bootstrap, topic, 2) == ["first", "third"]
    refused = await mongo_db.outbox.find_one({"_id": "e2"})
    assert refused["published_at"] is None and "MessageSizeTooLargeError" in refused["refused"]["reason"]
    assert await mongo_db.outbox.count_documents({"published_at": None}) == 1  # kept for the operator
    assert await relay.publish_pending() == 0  # and not tried again
    assert metrics.registry.get_sample_value("zhongshi_outbox_pending", {"service": "probe"}) == 0
