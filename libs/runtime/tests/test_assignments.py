"""The consumer's assignment listener counts rebalances and hands each non-empty assignment to the plug-ins."""

from __future__ import annotations

from typing import Any

from aiokafka import TopicPartition
from zhongshi_runtime.messaging import Assignments
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.plugins import Plugin, Plugins

PARTITIONS = {TopicPartition("pilot.application.submitted", 0), TopicPartition("pilot.application.submitted", 1)}


class Recorder(Plugin):
    def __init__(self) -> None:
        self.seen: list[set[Any]] = []

    async def partitions_assigned(self, consumer: Any, assigned: set[Any]) -> None:
        self.seen.append(assigned)


async def test_rebalances_are_counted_and_assignments_handed_to_the_plugins() -> None:
    metrics, recorder = RuntimeMetrics("probe"), Recorder()
    assignments = Assignments(metrics, Plugins([recorder]))
    await assignments.on_partitions_assigned(PARTITIONS)
    await assignments.on_partitions_assigned(set())  # nothing assigned: nothing to hand over
    assert recorder.seen == [PARTITIONS]
    assert metrics.registry.get_sample_value("zhongshi_consumer_rebalances_total", {"service": "probe"}) == 2


async def test_without_plugins_an_assignment_is_only_counted() -> None:
    metrics = RuntimeMetrics("probe")
    await Assignments(metrics).on_partitions_assigned(PARTITIONS)
    assert metrics.registry.get_sample_value("zhongshi_consumer_rebalances_total", {"service": "probe"}) == 1
