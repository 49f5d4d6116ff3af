"""The outbox relay on the real database: a broker replaced by an empty one under a running service (its
cluster id changes) gets every retained event again; the same broker gets nothing twice."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.outbox import OutboxRelay, ensure_outbox_indexes

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
    cluster = ["epoch-1"]

    async def identify() -> str:
        return cluster[0]

    broker, metrics = Broker(), RuntimeMetrics("probe")
    relay = OutboxRelay(mongo_db, broker, metrics=metrics, epoch="epoch-1",  # type: ignore[arg-type]
                        retention=timedelta(days=1), logger=logging.getLogger("test"), idle_poll_s=0.05,
                        identify=identify, epoch_check_s=0.1)
    await mongo_db.meta.insert_one({"_id": "broker_epoch", "epoch": "epoch-1"})
    await relay.start()
    try:
        await wait_for(lambda: broker.sent == ["v3"])
        cluster[0] = "epoch-2"  # the launcher killed the broker and started an empty one
        await wait_for(lambda: sorted(broker.sent) == ["v1", "v2", "v3", "v3"])
        await asyncio.sleep(0.5)  # checked again and again: the same broker gets nothing twice
        assert sorted(broker.sent) == ["v1", "v2", "v3", "v3"]
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


async def wait_for(condition: Any, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.02)
