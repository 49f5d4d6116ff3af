"""A stand-in for kafka_exporter on the embedded stack, for tests: ``python lag_exporter.py BOOTSTRAP PORT``.

docker-compose.yml runs danielqsj/kafka-exporter, which cannot run here. This serves the series the dashboards
and alerts read from it, under its names and labels: ``kafka_consumergroup_lag`` and
``kafka_consumergroup_current_offset`` {consumergroup, topic, partition} and
``kafka_topic_partition_current_offset`` {topic, partition}. Tansu sometimes answers a wrong latest offset,
so the values are not to be trusted here, only the series; lag is never shown below zero.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import CollectorRegistry, Gauge, start_http_server
from zhongshi_contracts.topics import ALL_TOPICS

GROUP_PREFIX = "zhongshi-"


class LagMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        group = ["consumergroup", "topic", "partition"]
        self.lag = Gauge("kafka_consumergroup_lag", "Current approximate lag", group, registry=registry)
        self.committed = Gauge("kafka_consumergroup_current_offset", "Committed offset", group, registry=registry)
        self.end = Gauge("kafka_topic_partition_current_offset", "Latest offset", ["topic", "partition"],
                         registry=registry)


async def refresh(admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, metrics: LagMetrics) -> None:
    names = [name for t in ALL_TOPICS for name in (t.name, t.dlq)]
    partitions = [TopicPartition(n, p) for n in names for p in sorted(consumer.partitions_for_topic(n) or ())]
    ends = await consumer.end_offsets(partitions)
    for tp, end in ends.items():
        metrics.end.labels(tp.topic, str(tp.partition)).set(end)
    groups = [g for g, _ in await admin.list_consumer_groups() if g.startswith(GROUP_PREFIX)]
    for group in groups:
        # Tansu cannot answer "every partition of the group" (a null topic list): name them.
        committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
        for tp, meta in committed.items():
            if meta.offset >= 0:
                labels = (group, tp.topic, str(tp.partition))
                metrics.committed.labels(*labels).set(meta.offset)
                metrics.lag.labels(*labels).set(max(0, ends[tp] - meta.offset))


async def serve(bootstrap: str, port: int) -> None:
    registry = CollectorRegistry()
    metrics = LagMetrics(registry)
    start_http_server(port, addr="127.0.0.1", registry=registry)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        while True:
            await consumer.topics()  # refresh the partition metadata
            await refresh(admin, consumer, metrics)
            await asyncio.sleep(1)
    finally:
        await consumer.stop()
        await admin.close()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(sys.argv[1], int(sys.argv[2])))
