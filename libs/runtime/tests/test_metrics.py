"""The delivery metrics every service exports: failure series exist before any failure, deliveries are timed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import ClassVar

from faststream.kafka import TestKafkaBroker
from prometheus_client import generate_latest
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import ApplicationWithdrawn
from zhongshi_runtime.metrics import DEAD_LETTER_KINDS
from zhongshi_runtime.settings import ServiceSettings
from zhongshi_runtime.testing import HandlerHarness, envelope

TOPIC = ApplicationWithdrawn.topic.name


class ProbeSettings(ServiceSettings):
    service_name: ClassVar[str] = "probe"


def withdrawn() -> ApplicationWithdrawn:
    return ApplicationWithdrawn(application_id="A1", round_id="R1", revision=1, withdrawn_at=datetime.now(UTC),
                                reason="—", applicant_credit_code="91420100MA4K000000", region_code="420102",
                                city_code="420100")


def harness() -> HandlerHarness:
    h = HandlerHarness(ProbeSettings(handler_retry_backoff_s=0))

    @h.consumers.on(ApplicationWithdrawn)
    async def handle(event: ApplicationWithdrawn, meta: CloudEvent) -> None:
        return None

    return h


def sample(h: HandlerHarness, name: str, **labels: str) -> float | None:
    return h.metrics.registry.get_sample_value(name, {"service": "probe", "topic": TOPIC, **labels})


def test_dead_letter_and_retry_series_are_exported_at_zero_before_any_failure() -> None:
    h = harness()
    h.ready()
    for kind in DEAD_LETTER_KINDS:
        assert sample(h, "zhongshi_dead_letters_total", kind=kind) == 0
    assert sample(h, "zhongshi_handler_retries_total") == 0
    assert sample(h, "zhongshi_duplicate_events_total") == 0
    assert h.metrics.registry.get_sample_value("zhongshi_outbox_replays_total", {"service": "probe"}) == 0
    assert b"zhongshi_event_delivery_seconds_count" in generate_latest(h.metrics.registry)


async def test_faststreams_consumer_series_are_exported_at_zero_and_are_the_ones_it_counts_in() -> None:
    h = harness()
    received = {"app_name": "probe", "broker": "kafka", "handler": TOPIC}
    processed = "faststream_received_processed_messages_duration_seconds_count"
    async with TestKafkaBroker(h.ready()) as broker:
        assert h.metrics.registry.get_sample_value(processed, received) == 0  # before the first message
        assert h.metrics.registry.get_sample_value("faststream_received_processed_messages_total",
                                                   {**received, "status": "acked"}) == 0
        await broker.publish(**envelope(withdrawn()))
    assert h.metrics.registry.get_sample_value(processed, received) == 1  # the same series, not a new one


async def test_a_handled_event_is_timed_from_its_cloudevents_time() -> None:
    h = harness()
    message = envelope(withdrawn())
    message["headers"]["ce_time"] = (datetime.now(UTC) - timedelta(seconds=42)).isoformat()
    async with TestKafkaBroker(h.ready()) as broker:
        await broker.publish(**message)
    assert sample(h, "zhongshi_event_delivery_seconds_count") == 1
    assert sample(h, "zhongshi_event_delivery_seconds_bucket", le="30.0") == 0
    assert sample(h, "zhongshi_event_delivery_seconds_bucket", le="60.0") == 1
