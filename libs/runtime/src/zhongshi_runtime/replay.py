"""Reading the event log back (any service's state can be rebuilt by replaying the topics it
consumes): every retained record of some topics, from the beginning, without a consumer group."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import Event

from zhongshi_runtime.kafka_client import KafkaClientSettings
from zhongshi_runtime.upcasting import Upcasters, default_upcasters


@dataclass
class Log:
    """The events read, deduplicated on ``ce_id`` and in the order they happened (``ce_time``, then the
    order they were read in), and what was left out."""

    events: list[tuple[CloudEvent, Event]] = field(default_factory=list)
    records: int = 0
    duplicates: int = 0
    unreadable: list[str] = field(default_factory=list)


async def read_log(bootstrap: str | KafkaClientSettings, models: list[type[Event]], idle_ms: int = 500,
                   timeout_s: float = 120, progress: Callable[[int], None] | None = None,
                   upcasters: Upcasters | None = None) -> Log:
    """Read each model's topic from the beginning until caught up: past the end offsets reported at the start
    and then one poll of ``idle_ms`` with nothing new (Tansu under-reports end offsets).
    ``bootstrap``: an address, or the client settings of a secured cluster; ``progress`` gets the records read
    after each batch; ``upcasters`` bring a record of an older ``ce_type`` version to its model's."""
    upcasters = upcasters or default_upcasters()
    by_topic = {m.wire_topic().name: m for m in models}
    client = bootstrap if isinstance(bootstrap, KafkaClientSettings) else KafkaClientSettings().at(bootstrap)
    consumer = AIOKafkaConsumer(**client.aiokafka(), enable_auto_commit=False, group_id=None,
                                fetch_max_wait_ms=min(idle_ms, 100), max_partition_fetch_bytes=8 * 1024 * 1024)
    await consumer.start()
    log, seen = Log(), set[str]()
    read: list[tuple[int, CloudEvent, Event]] = []
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
            for tp, records in batches.items():
                for record in records:
                    log.records += 1
                    try:
                        headers = {k: v.decode() for k, v in record.headers}
                        envelope = CloudEvent.from_headers(headers)
                        event = upcasters.parse(by_topic[tp.topic], envelope.type, record.value or b"")
                    except (ValueError, UnicodeDecodeError) as exc:  # ValidationError, NoPath, bad JSON
                        log.unreadable.append(f"{tp.topic}[{tp.partition}]@{record.offset}: {exc}")
                        continue
                    if envelope.id in seen:
                        log.duplicates += 1
                        continue
                    seen.add(envelope.id)
                    read.append((len(read), envelope, event))
            if progress is not None and batches:
                progress(log.records)
    finally:
        await consumer.stop()
    read.sort(key=lambda r: (r[1].time, r[0]))
    log.events = [(envelope, event) for _, envelope, event in read]
    return log
