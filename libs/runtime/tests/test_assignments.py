"""The consumer's assignment listener: rebalances are counted; after the embedded broker was replaced by an
empty one, the assigned partitions are read from the beginning (offsets from the old broker mean nothing)."""

from __future__ import annotations

import logging

from aiokafka import TopicPartition
from zhongshi_runtime.messaging import Assignments
from zhongshi_runtime.metrics import RuntimeMetrics

PARTITIONS = {TopicPartition("pilot.application.submitted", 0), TopicPartition("pilot.application.submitted", 1)}


class Consumer:
    def __init__(self) -> None:
        self.rewound: list[set[TopicPartition]] = []

    async def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        self.rewound.append(set(partitions))


def listener(identify: object = None) -> tuple[Assignments, Consumer, RuntimeMetrics]:
    metrics, consumer = RuntimeMetrics("probe"), Consumer()
    assignments = Assignments(metrics, logging.getLogger("test"), identify)  # type: ignore[arg-type]
    assignments.consumer = lambda: consumer
    return assignments, consumer, metrics


async def test_after_the_broker_was_replaced_the_assigned_partitions_are_read_from_the_beginning() -> None:
    cluster = ["epoch-1"]

    async def identify() -> str:
        return cluster[0]

    assignments, consumer, metrics = listener(identify)
    await assignments.on_partitions_assigned(PARTITIONS)  # the first assignment trusts the committed offsets
    await assignments.on_partitions_assigned(PARTITIONS)  # so does a rebalance on the same broker
    assert consumer.rewound == []
    cluster[0] = "epoch-2"
    await assignments.on_partitions_assigned(PARTITIONS)
    assert consumer.rewound == [PARTITIONS]
    assert metrics.registry.get_sample_value("zhongshi_consumer_rebalances_total", {"service": "probe"}) == 3


async def test_without_a_broker_epoch_nothing_is_rewound() -> None:
    assignments, consumer, metrics = listener()
    for _ in range(2):
        await assignments.on_partitions_assigned(PARTITIONS)
    assert consumer.rewound == []
    assert metrics.registry.get_sample_value("zhongshi_consumer_rebalances_total", {"service": "probe"}) == 2


async def test_when_the_broker_cannot_say_which_it_is_the_partitions_are_read_again() -> None:
    """Under load the cluster-id question can fail just as a new broker takes over: reading again is safe
    (idempotent consumers), trusting an offset of the old broker would skip records."""
    answers: list[str | Exception] = ["epoch-1", TimeoutError("no answer"), "epoch-1"]

    async def identify() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assignments, consumer, _ = listener(identify)
    await assignments.on_partitions_assigned(PARTITIONS)
    await assignments.on_partitions_assigned(PARTITIONS)
    assert consumer.rewound == [PARTITIONS]
    await assignments.on_partitions_assigned(PARTITIONS)  # the same broker after all: its offsets are trusted
    assert consumer.rewound == [PARTITIONS]
