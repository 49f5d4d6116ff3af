"""The outbox relay on the real database: a broker replaced by an empty one under a running service (its
cluster id changes) gets every retained event again; the same broker gets nothing twice."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.outbox import OutboxRelay, ensure_outbox_indexes

from zhongshi.polling import eventually

pytestmark = pytest.mark.integration


class Broker:
    """Records what the relay publishes."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def publish(self, body: bytes, **_: Any) -> Awaitable[None]:
        self.sent.append(body.decode())
        return asyncio.sleep(0)


def record(n: int, published: bool) -> dict[str, Any]:
    return {"_id": f"e{n}", "seq": n, "topic": "pilot.application.submitted", "key": f"A{n}", "headers": {},
            "value": f"v{n}", "created_at": datetime.now(UTC), "published_at": datetime.now(UTC) if published else None}


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
    relay = OutboxRelay(mongo_db, broker, metrics=metrics, epoch="epoch-1",  # type: ignore[arg-type]
                        retention=timedelta(days=1), logger=logging.getLogger("test"), idle_poll_s=0.05,
                        identify=identify, epoch_check_s=0.1)
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


async def test_an_unreachable_broker_is_asked_again_and_replays_nothing_meanwhile(mongo_db: Any) -> None:
    await mongo_db.outbox.insert_many([record(1, True)])
    await mongo_db.meta.insert_one({"_id": "broker_epoch", "epoch": "epoch-1"})

    async def unreachable() -> str:
        raise ConnectionError("broker down")

    relay = OutboxRelay(mongo_db, Broker(), metrics=RuntimeMetrics("probe"), epoch="epoch-1",  # type: ignore[arg-type]
                        retention=timedelta(days=1), logger=logging.getLogger("test"), identify=unreachable)
    assert await relay.replay_if_new_broker() == 0
    assert (await mongo_db.outbox.find_one({"_id": "e1"}))["published_at"] is not None


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

    broker = Broker()
    relay = OutboxRelay(mongo_db, broker, metrics=RuntimeMetrics("probe"), epoch="epoch-1",  # type: ignore[arg-type]
                        retention=timedelta(days=1), logger=logging.getLogger("test"), idle_poll_s=0.05,
                        identify=identify, epoch_check_s=0.05, topics_ready=topics_ready)
    await relay.start()
    try:
        assert relay.held and broker.sent == []
        topics[0] = True  # the launcher created the topics

        async def everything_sent() -> bool:
            return sorted(broker.sent) == ["v1", "v2"]
        await eventually(everything_sent, "the retained and the pending record published to the new broker")
    finally:
        await relay.stop()
