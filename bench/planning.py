"""Notify's planning, one event to a transaction against several (``NOTIFY_CONSUMER_EVENTS_PER_TRANSACTION``), in
the same run: the events notify consumed (P2's round when it ran) are read back from the broker and handed to
notify's own consumer, built as the service builds it, once per setting, each into a fresh database on notify's
database server. Figures: events planned a second, the database commands sent an event, and the CPU an event
took in this process (notify's code) and in the database server."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer
from pymongo import MongoClient, monitoring
from zhongshi_notify.app import create_app
from zhongshi_notify.settings import NotifySettings

from bench.profile import cpu_seconds

SETTINGS = {"alone": 1, "together": NotifySettings.model_fields["consumer_events_per_transaction"].default}


class Commands(monitoring.CommandListener):
    """Counts the commands every client of this process sends (a listener registered once, before the clients)."""

    count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        Commands.count += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


@dataclass(frozen=True)
class Fetched:
    """A fetched batch as `Consumers.dispatch_batch` reads it."""

    raw_message: tuple[Any, ...]
    consumer: Any = None


async def consumed(bootstrap: str, topics: list[str], limit: int) -> list[Any]:
    """Up to ``limit`` records of notify's topics, from the beginning, in the order they were written."""
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    found: list[Any] = []
    try:
        while len(found) < limit and (fetched := await consumer.getmany(timeout_ms=2000, max_records=2000)):
            found += [record for records in fetched.values() for record in records]
    finally:
        await consumer.stop()
    return sorted(found, key=lambda r: (r.timestamp, r.topic, r.partition, r.offset))[:limit]


async def plan(uri: str, database: str, records: list[Any], per_transaction: int, database_pid: int
               ) -> dict[str, float]:
    """Plan ``records`` with notify's consumer in ``database`` (fresh), in fetched batches of notify's size."""
    settings = development(mongodb_uri=uri, database=database, smtp_host="127.0.0.1", log_level="WARNING",
                           consumer_events_per_transaction=per_transaction)
    kit = create_app(settings).state.kit
    await kit.prepare()
    before = Usage.now(database_pid)
    batch = settings.consumer_batch
    for start in range(0, len(records), batch):
        await kit.consumers.dispatch_batch(Fetched(tuple(records[start:start + batch])))
    used = Usage.now(database_pid) - before
    await kit.mongo.close()
    n = len(records)
    return {"events": n, "seconds": round(used.wall, 1), "events_per_s": round(n / used.wall, 1),
            "commands_per_event": round(used.commands / n, 2),
            "notify_cpu_ms_per_event": round(used.cpu * 1000 / n, 2),
            "database_cpu_ms_per_event": round(used.database_cpu * 1000 / n, 2),
            "cpu_ms_per_event": round((used.cpu + used.database_cpu) * 1000 / n, 2)}


@dataclass(frozen=True)
class Usage:
    """Wall time, commands sent, this process's CPU and the database server's, so far."""

    wall: float
    commands: int
    cpu: float
    database_cpu: float

    @classmethod
    def now(cls, database_pid: int) -> Usage:
        return cls(time.monotonic(), Commands.count, time.process_time(), cpu_seconds(database_pid))

    def __sub__(self, other: Usage) -> Usage:
        return Usage(self.wall - other.wall, self.commands - other.commands, self.cpu - other.cpu,
                     self.database_cpu - other.database_cpu)


def development(**options: Any) -> NotifySettings:
    """Notify's settings as the embedded stack runs it (development: the local issuer and keys)."""
    return NotifySettings(environment="development", **options)


@contextlib.contextmanager
def scratch(uri: str) -> Iterator[str]:
    name = f"bench_planning_{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        client: MongoClient[Any] = MongoClient(uri)
        with client:
            client.drop_database(name)


async def measure(bootstrap: str, uri: str, database_pid: int, events: int) -> dict[str, Any]:
    monitoring.register(Commands())
    topics = create_app(development(log_level="WARNING")).state.kit.consumers.topics
    records = await consumed(bootstrap, topics, events)
    figures: dict[str, Any] = {"per_transaction": SETTINGS, "events": len(records)}
    if not records:
        return figures  # nothing consumed yet: run it after p1 or p2
    for name, per_transaction in SETTINGS.items():
        with scratch(uri) as database:
            figures[name] = await plan(uri, database, records, per_transaction, database_pid)
    return figures
