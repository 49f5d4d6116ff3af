"""What the re-publishing scenario expects: a copy is counted as a duplicate by each service that records its
topic's events, not by every service that reads the topic."""

from __future__ import annotations

from zhongshi_contracts.registry import PlatformAccredited
from zhongshi_contracts.review import ReviewDecided

from tests.faults.kafka import Republisher, consumers_of, recorders_of


def test_every_recorder_reads_the_topic_and_the_registry_reads_its_entry_events_without_recording_them() -> None:
    readers, recorders = consumers_of(), recorders_of()
    assert all(set(services) <= set(readers.get(topic, [])) for topic, services in recorders.items())
    accredited = PlatformAccredited.wire_topic().name
    assert "registry" in readers[accredited]
    assert "registry" not in recorders[accredited]


def test_a_copy_is_expected_once_per_recorder() -> None:
    republisher = Republisher("unused:9092", keys=[], share=0.05, seed=1)
    accredited, decided = PlatformAccredited.wire_topic().name, ReviewDecided.wire_topic().name
    republisher.republished.update({accredited: 1, decided: 2})
    readers, recorders = consumers_of(), recorders_of()
    expected = len(recorders[accredited]) + 2 * len(recorders[decided])
    assert republisher.expected_duplicates() == expected
    assert expected < len(readers[accredited]) + 2 * len(readers[decided])
