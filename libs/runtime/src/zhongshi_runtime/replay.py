"""Reading the event log back (any service's state can be rebuilt by replaying the topics it
consumes): every retained record of some topics, from the beginning, without a consumer group."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import Event

from zhongshi_runtime.kafka_client import KafkaClientSettings
from zhongshi_runtime.upcasting import Upcasters, default_upcasters


@dataclass(frozen=True)
class Record:
    """A record as read, its body not yet parsed."""

    envelope: CloudEvent
    model: type[Event]
    body: bytes
    where: str  # topic[partition]@offset, for a report


@dataclass
class Log:
    """The events read, deduplicated on ``ce_id`` and in the order they happened (``ce_time``, then the
    order they were read in), and what was left out."""

    events: list[tuple[CloudEvent, Event]] = field(default_factory=list)
    records: int = 0
    duplicates: int = 0
    unreadable: list[str] = field(default_factory=list)


@dataclass
class Records:
    """Every record read, bodies unparsed, in the order they happened (``ce_time``, then the order they were read
    in; duplicates still in), and those whose headers are no CloudEvent."""

    read: list[Record] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    def events(self, log: Log, upcasters: Upcasters | None = None) -> Iterator[tuple[CloudEvent, Event]]:
        """Parse the records one by one as they are iterated, skipping a ``ce_id`` already parsed (a duplicate) and
        a body that is no event (unreadable; a later copy of it may still be read): counted in ``log``."""
        upcasters = upcasters or default_upcasters()
        log.records, log.unreadable = len(self.read) + len(self.unreadable), list(self.unreadable)
        seen = set[str]()
        for record in self.read:
            if record.envelope.id in seen:
                log.duplicates += 1
                continue
            try:
                event = upcasters.parse(record.model, record.envelope.type, record.body)
            except ValueError as exc:  # ValidationError, NoPath, bad JSON
                log.unreadable.append(f"{record.where}: {exc}")
                continue
            seen.add(record.envelope.id)
            yield record.envelope, event


async def read_log(bootstrap: str | KafkaClientSettings, models: list[type[Event]], idle_ms: int = 500,
                   timeout_s: float = 120, progress: Callable[[int], None] | None = None,
                   upcasters: Upcasters | None = None) -> Log:
    """Every event of the models' topics from the beginning, parsed (`read_records`; ``upcasters`` bring a record
    of an older ``ce_type`` version to its model's)."""
    records = await read_records(bootstrap, models, idle_ms, timeout_s, progress)
    log = Log()
    log.events = list(records.events(log, upcasters))
    return log


async def read_records(bootstrap: str | KafkaClientSettings, models: list[type[Event]], idle_ms: int = 500,
                       timeout_s: float = 120, progress: Callable[[int], None] | None = None) -> Records:
    """Read each model's topic from the beginning until caught up: past the end offsets reported at the start
    and then one poll of ``idle_ms`` with nothing new (Tansu under-reports end offsets). Only the headers are
    parsed, to order the records; the bodies are left to the caller (`Records.events`).
    ``bootstrap``: an address, or the client settings of a secured cluster; ``progress`` gets the records read
    after each batch."""
    by_topic = {m.wire_topic().name: m for m in models}
    client = bootstrap if isinstance(bootstrap, KafkaClientSettings) else KafkaClientSettings().at(bootstrap)
    consumer = AIOKafkaConsumer(**client.aiokafka(), enable_auto_commit=False, group_id=None,
                                fetch_max_wait_ms=min(idle_ms, 100), max_partition_fetch_bytes=8 * 1024 * 1024)
    await consumer.start()
    found, count = Records(), 0
    try:
        await consumer.topics()  # fetches the metadata of every topic: partitions_for_topic reads the cache
        partitions = [TopicPartition(t, p) for t in by_topic for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            batches = await consumer.getmany(timeout_ms=idle_ms, max_records=10_000)
            if not batches:
                behind = [tp for tp in partitions if await consumer.position(tp) < ends[tp]]
                if not behind:
                    break
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"no records within {timeout_s} s; still behind: {sorted(map(str, behind))}")
            for tp, batch in batches.items():
                model = by_topic[tp.topic]
                for record in batch:
                    count += 1
                    _keep(found, model, record, f"{tp.topic}[{tp.partition}]@{record.offset}")
            if progress is not None and batches:
                progress(count)
    finally:
        await consumer.stop()
    found.read.sort(key=lambda r: r.envelope.time)  # stable: records of one time stay in the order read
    return found


def _keep(found: Records, model: type[Event], record: ConsumerRecord[Any, Any], where: str) -> None:
    try:
        envelope = CloudEvent.from_headers({k: v.decode() for k, v in record.headers})
    except (ValueError, UnicodeDecodeError) as exc:
        found.unreadable.append(f"{where}: {exc}")
        return
    found.read.append(Record(envelope, model, record.value or b"", where))
