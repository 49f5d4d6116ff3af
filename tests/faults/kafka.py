"""Kafka-side faults: re-publish a share of the round's events, publish poison messages, read the DLQs."""

from __future__ import annotations

import asyncio
import json
import random
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from zhongshi_contracts.topics import ALL_TOPICS, DLQ_SUFFIX

from zhongshi.apps import development_app
from zhongshi.launcher import SERVICES

ASYNCAPI = Path(__file__).resolve().parents[2] / "docs" / "asyncapi"


def consumers_of() -> dict[str, list[str]]:
    """Which services consume each topic (their published AsyncAPI documents say)."""
    found: dict[str, list[str]] = {}
    for document in sorted(ASYNCAPI.glob("*.json")):
        spec = json.loads(document.read_text())
        for operation in spec["operations"].values():
            if operation["action"] == "receive":
                channel = spec["channels"][operation["channel"]["$ref"].rsplit("/", 1)[1]]
                found.setdefault(channel["address"], []).append(document.stem)
    return found


def recorders_of() -> dict[str, list[str]]:
    """Which services record each topic's events once (a transactional handler: its unit of work writes the
    processed-event record), so that a copy is absorbed and counted as a duplicate. A service may consume a topic
    without recording it: the registry reads its own entry events only to drop its read cache, and absorbs a copy
    of one without counting it."""
    found: dict[str, list[str]] = {}
    for service in SERVICES:
        for topic in development_app(service).state.kit.consumers.keys:
            found.setdefault(topic, []).append(service)
    return found


async def _read(bootstrap: str, topics: Collection[str], handle: Callable[[ConsumerRecord[bytes, bytes]], None],
                stop: threading.Event) -> None:
    """Every record of ``topics`` from the beginning, handed to ``handle``, until ``stop`` is set."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100)
    await consumer.start()
    try:
        await consumer.topics()  # fetches the metadata of every topic
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        while not stop.is_set():
            for records in (await consumer.getmany(timeout_ms=300, max_records=2000)).values():
                for record in records:
                    handle(record)
    finally:
        await consumer.stop()


class Republisher:
    """Re-publishes a seeded ``share`` of the round's events (same key, headers and value) while it runs."""

    def __init__(self, bootstrap: str, keys: Collection[str], share: float, seed: int) -> None:
        self.bootstrap, self.keys, self.share = bootstrap, keys, share
        self.rng = random.Random(seed)
        self.republished: Counter[str] = Counter()
        self.seen = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name="republisher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    async def _run(self) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await producer.start()
        picked: list[ConsumerRecord[bytes, bytes]] = []

        def pick(record: ConsumerRecord[bytes, bytes]) -> None:
            if record.key is None or record.key.decode() not in self.keys:
                return
            self.seen += 1
            if self.rng.random() < self.share:
                picked.append(record)

        reader = asyncio.create_task(_read(self.bootstrap, [t.name for t in ALL_TOPICS], pick, self._stop))
        try:
            while not self._stop.is_set() or picked:
                while picked:
                    record = picked.pop(0)
                    await producer.send_and_wait(record.topic, record.value, key=record.key,
                                                 headers=list(record.headers))
                    self.republished[record.topic] += 1
                await asyncio.sleep(0.2)
        finally:
            await reader
            await producer.stop()

    def expected_duplicates(self) -> int:
        """Each service that records the topic's events absorbs each copy once and counts it."""
        recorders = recorders_of()
        return sum(n * len(recorders.get(topic, [])) for topic, n in self.republished.items())


def _headers(topic: str, subject: str) -> list[tuple[str, bytes]]:
    ce_type = "cn.gov.hubei.pilot." + topic.removeprefix("pilot.") + ".v1"
    fields = {"ce_id": str(uuid.uuid4()), "ce_source": "/zhongshi/fault-suite", "ce_type": ce_type,
              "ce_specversion": "1.0", "ce_time": datetime.now(UTC).isoformat(), "ce_subject": subject,
              "content-type": "application/json"}
    return [(k, v.encode()) for k, v in fields.items()]


async def publish_poison(bootstrap: str, template: ConsumerRecord[bytes, bytes], always_fails: str) -> dict[str, str]:
    """Three malformed messages and one valid-looking event about ``always_fails`` (a subject the handlers are
    told to fail on); returns each poison subject → its topic."""
    sent = {
        "POISON-not-json": ("pilot.internal.application.submitted", b"{not json",  # where its consumers read
                            _headers("pilot.internal.application.submitted", "POISON-not-json")),
        "POISON-no-fields": ("pilot.application.screened", b'{"application_id": "POISON-no-fields"}',
                             _headers("pilot.application.screened", "POISON-no-fields")),
        "POISON-no-headers": ("pilot.internal.application.forwarded", b"{}", []),
    }
    value = json.loads(template.value)
    value["application_id"] = always_fails
    sent[always_fails] = (template.topic, json.dumps(value).encode(), _headers(template.topic, always_fails))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for subject, (topic, body, headers) in sent.items():
            await producer.send_and_wait(topic, body, key=subject.encode(), headers=headers)
    finally:
        await producer.stop()
    return {subject: topic for subject, (topic, _b, _h) in sent.items()}


async def first_record(bootstrap: str, topic: str, keys: Collection[str], timeout: float = 60) -> ConsumerRecord[
        bytes, bytes]:
    """The first record on ``topic`` keyed by one of ``keys``."""
    found: list[ConsumerRecord[bytes, bytes]] = []
    stop = threading.Event()

    def keep(record: ConsumerRecord[bytes, bytes]) -> None:
        if record.key and record.key.decode() in keys and not found:
            found.append(record)
            stop.set()

    await asyncio.wait_for(_read(bootstrap, [topic], keep, stop), timeout)
    return found[0]


async def dead_letters(bootstrap: str, keys: Collection[str], expected: int,
                       timeout: float = 60) -> list[dict[str, Any]]:
    """The DLQ records about ``keys`` (once ``expected`` are there, or after ``timeout``): which group
    dead-lettered what, of which kind, and why."""
    found: list[dict[str, Any]] = []
    stop = threading.Event()

    def keep(record: ConsumerRecord[bytes, bytes]) -> None:
        if record.key and record.key.decode() in keys:
            headers = {k: v.decode() for k, v in record.headers}
            found.append({"subject": record.key.decode(), "topic": record.topic.removesuffix(DLQ_SUFFIX),
                          "group": headers.get("dlq_consumer_group", ""), "kind": headers.get("dlq_kind", ""),
                          "reason": headers.get("dlq_reason", "")})
            if len(found) >= expected:
                stop.set()

    asyncio.get_running_loop().call_later(timeout, stop.set)
    await _read(bootstrap, [t.dlq for t in ALL_TOPICS], keep, stop)
    return found
