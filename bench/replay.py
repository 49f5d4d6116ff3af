"""P4: the registry rebuilt from ``n`` events (`zhongshi_registry.replay.rebuild`: read, then parse and project in
memory while what changed is written in bulk) against a fair baseline measured in the same run: the raw consume
of the same records (aiokafka, no parsing) plus a raw bulk write of the same final documents the rebuild wrote
(copied, untimed, out of the rebuilt database and inserted again into an empty one, collection by collection).

The events are one application's worth per four: screened, forwarded, decided and listed (accredited or
cultivation), copied from the real ones of the round P2 ran, under new ids, on an empty broker, each on the topic
the registry reads it from (the full decision on its internal topic, the forwarding on the public one)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pymongo import AsyncMongoClient
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import ApplicationScreened, Event
from zhongshi_contracts.recommendation import ApplicationForwarded
from zhongshi_contracts.registry import PlatformAccredited, PlatformCultivationListed
from zhongshi_contracts.review import ReviewDecided
from zhongshi_registry.replay import Projector, rebuild
from zhongshi_registry.repository import RegistryRepository, ensure_indexes
from zhongshi_runtime.replay import read_log

MODELS: tuple[type[Event], ...] = (ApplicationScreened, ApplicationForwarded, ReviewDecided, PlatformAccredited,
                                   PlatformCultivationListed)
# each kind's topic (by its public name) → the topic the registry reads it from
READ_FROM = {m.topic.name: m.wire_topic().name for m in Projector(RegistryRepository.memory()).models}


async def templates(bootstrap: str) -> dict[type[Event], Event]:
    """One real event of each kind, from the topics."""
    log = await read_log(bootstrap, list(MODELS))
    found = {type(event): event for _, event in log.events}
    if not {ApplicationScreened, ApplicationForwarded, ReviewDecided} <= set(found) or not (
            set(found) & {PlatformAccredited, PlatformCultivationListed}):
        raise RuntimeError(f"P4 needs a listed round on the topics; found {sorted(m.__name__ for m in found)}")
    return found


def copies(t: dict[type[Event], Event], n: int) -> list[tuple[str, str, bytes, list[tuple[str, bytes]]]]:
    """``n`` records (topic, key, value, headers): four per application, in the order they happen."""
    listing = [m for m in (PlatformAccredited, PlatformCultivationListed) if m in t]
    began = datetime.now(UTC) - timedelta(days=1)
    out = []
    for k in range(n):
        app_id, step = f"BENCH-{k // 4:07d}", k % 4
        model = (ApplicationScreened, ApplicationForwarded, ReviewDecided)[step] if step < 3 else \
            listing[(k // 4) % len(listing)]
        update: dict[str, Any] = {"application_id": app_id}
        if step == 3:
            update |= {"platform_id": f"P-{app_id}", "previous_entry_id": None}
            if model is PlatformAccredited:
                update["certificate_no"] = f"鄂中试〔2026〕B{k // 4:07d}号"
        event = t[model].model_copy(update=update)
        meta = CloudEvent.new(model.topic, source="/zhongshi/bench", subject=app_id,
                              at=began + timedelta(milliseconds=k))
        headers = [(name, value.encode()) for name, value in meta.headers().items()]
        out.append((READ_FROM[model.topic.name], app_id, event.model_dump_json().encode(), headers))
    return out


async def publish(bootstrap: str, records: list[tuple[str, str, bytes, list[tuple[str, bytes]]]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False, linger_ms=5,
                                max_batch_size=1024 * 1024, max_request_size=8 * 1024 * 1024)
    await producer.start()
    try:
        for start in range(0, len(records), 5000):
            sent = [await producer.send(topic, value, key=key.encode(), headers=headers)
                    for topic, key, value, headers in records[start:start + 5000]]
            await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def raw_consume(bootstrap: str, expected: int) -> dict[str, Any]:
    """Read the records from the beginning as the rebuild does (`read_records`'s consumer settings), without parsing."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                fetch_max_wait_ms=100, max_partition_fetch_bytes=8 * 1024 * 1024)
    await consumer.start()
    try:
        began = time.monotonic()
        await consumer.topics()
        topics = {READ_FROM[m.topic.name] for m in MODELS}
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        count, size = 0, 0
        while count < expected:
            for records in (await consumer.getmany(timeout_ms=500, max_records=10_000)).values():
                count += len(records)
                size += sum(len(r.value or b"") for r in records)
            if time.monotonic() - began > 300:
                raise TimeoutError(f"read {count} of {expected} records in 300 s")
        seconds = time.monotonic() - began
    finally:
        await consumer.stop()
    return {"records": count, "seconds": round(seconds, 2), "records_per_s": round(count / seconds),
            "mb": round(size / 1e6, 1)}


async def raw_write(client: AsyncMongoClient[Any], source: str) -> dict[str, Any]:
    """The rebuilt documents (read first, untimed) inserted in bulk into an empty database, with the same
    indexes created first as the rebuild does: the write a rebuild cannot beat."""
    documents = {name: [d async for d in client[source][name].find()]
                 for name in await client[source].list_collection_names()}
    target = client[f"{source}_raw"]
    began = time.monotonic()
    await ensure_indexes(target)
    for name, docs in documents.items():
        if docs:
            await target[name].insert_many(docs, ordered=False)
    seconds = time.monotonic() - began
    return {"documents": sum(map(len, documents.values())), "seconds": round(seconds, 2)}


async def measure(bootstrap: str, mongodb_uri: str, t: dict[type[Event], Event], n: int) -> dict[str, Any]:
    records = copies(t, n)
    await publish(bootstrap, records)
    raw = await raw_consume(bootstrap, len(records))
    into = f"bench_replay_{uuid.uuid4().hex[:8]}"
    began = time.monotonic()
    report = await rebuild(bootstrap, mongodb_uri, into)
    seconds = time.monotonic() - began
    if report.records != len(records):  # each side must do the same work
        raise RuntimeError(f"the rebuild read {report.records} of the {len(records)} records published")
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_uri)
    try:  # left in place: dropping a large database takes SecantusDB minutes, and the stack's folder goes anyway
        entries = await client[into].entries.count_documents({})
        written = await raw_write(client, into)
    finally:
        await client.close()
    both_s = raw["seconds"] + written["seconds"]
    return {"events": len(records), "raw_consume": raw, "raw_write": written,
            "raw_consume_and_write": {"seconds": round(both_s, 2), "records_per_s": round(len(records) / both_s)},
            "rebuild": {"records": report.records, "seconds": round(seconds, 2),
                        "records_per_s": round(report.records / seconds),
                        "phases_s": {k: round(v, 2) for k, v in report.seconds.items()},
                        "entries": entries, "refused": len(report.refused), "unreadable": len(report.unreadable)}}
