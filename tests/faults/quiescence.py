"""Whether the stack has settled: every consumer group has read every record of its topics (lag 0), every
service's outbox is published, and notify has no e-mail or message still waiting to go out. The suite judges a
round only then (or at its deadline): before, a missing step is only late."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from zhongshi_contracts.topics import ALL_TOPICS

from tests.faults.kafka import consumers_of
from zhongshi.launcher import SERVICES, service_databases

UNSENT = ["pending", "awaiting_contact"]  # notify's deliveries still to go out (held ones wait for an operator)


@dataclass
class State:
    """What is still in flight; ``settled`` when nothing is."""

    lag: dict[str, int] = field(default_factory=dict)  # consumer group → records not yet handled
    unpublished: dict[str, int] = field(default_factory=dict)  # service → outbox records not yet published
    unsent: int = 0
    error: str = ""

    @property
    def settled(self) -> bool:
        return not self.error and not any(self.lag.values()) and not any(self.unpublished.values()) and not self.unsent

    def __str__(self) -> str:
        if self.error:
            return f"cannot tell: {self.error}"
        busy = {**{f"lag {g}": n for g, n in self.lag.items() if n},
                **{f"outbox {s}": n for s, n in self.unpublished.items() if n}}
        return "settled" if self.settled else ", ".join(
            [f"{k} {v}" for k, v in busy.items()] + ([f"unsent {self.unsent}"] if self.unsent else []))


class Quiescence:
    """Reads the consumer groups' lag from the broker and the outboxes and deliveries from the databases."""

    def __init__(self, bootstrap: str, uris: Mapping[str, str], keys: Collection[str]) -> None:
        self.bootstrap, self.uris, self.keys = bootstrap, uris, keys
        self.groups = _groups()

    def state(self) -> State:
        state = State()
        try:
            state.lag = asyncio.run(asyncio.wait_for(self._lag(), 30))
            with service_databases(self.uris) as db:
                state.unpublished = {s: db[s].outbox.count_documents({"published_at": None}) for s in SERVICES}
                state.unsent = db["notify"].deliveries.count_documents(
                    {"application_id": {"$in": list(self.keys)}, "status": {"$in": UNSENT}})
        except Exception as exc:  # the broker or the database is restarting: not settled
            state.error = f"{type(exc).__name__}: {exc}"[:200]
        return state

    async def _lag(self) -> dict[str, int]:
        consumer: AIOKafkaConsumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=10_000)
        await consumer.start()
        await admin.start()
        try:
            await consumer.topics()
            lag: dict[str, int] = {}
            for group, topics in self.groups.items():
                partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
                ends = await consumer.end_offsets(partitions)
                committed: dict[Any, Any] = await admin.list_consumer_group_offsets(group, partitions=partitions)
                lag[group] = sum(max(0, ends[tp] - max(0, _offset(committed.get(tp)))) for tp in partitions)
            return lag
        finally:
            await admin.close()
            await consumer.stop()


def _offset(meta: Any) -> int:
    return -1 if meta is None else int(meta.offset)


def _groups() -> dict[str, list[str]]:
    """Each service's consumer group and the topics it reads (their AsyncAPI documents say)."""
    groups: dict[str, list[str]] = {}
    for topic, services in consumers_of().items():
        if topic in {t.name for t in ALL_TOPICS}:
            for service in services:
                groups.setdefault(f"zhongshi-{service}", []).append(topic)
    return groups
