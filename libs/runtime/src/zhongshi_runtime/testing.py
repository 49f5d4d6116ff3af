"""In-memory fakes and helpers for fast unit and handler tests (never used in production code)."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from faststream.kafka import KafkaBroker, KafkaMessage
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import Event

from zhongshi_runtime.audit import Audit, AuditRecord
from zhongshi_runtime.messaging import Consumers, create_broker, raw_body
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.outbox import Consumed, Work, audit_of
from zhongshi_runtime.settings import ServiceSettings


class InMemoryUnitOfWork:
    """Runs work one unit at a time (as serializable transactions would), remembers consumed event ids and
    collects the outgoing events and the audit records (none when the work raises, as a transaction would)."""

    def __init__(self, service: str = "test") -> None:
        self.service = service
        self.consumed: set[str] = set()
        self.published: list[Event] = []
        self.audit: list[AuditRecord] = []
        self.duplicates = 0
        self._serial = asyncio.Lock()

    async def run(self, work: Work, *, consumed: Consumed | None = None, audit: Audit | None = None) -> bool:
        trail = audit_of(self.service, consumed, audit)
        if consumed and consumed.key in self.consumed:
            self.duplicates += 1
            return False
        async with self._serial:
            events = await work(None)
        if consumed:
            self.consumed.add(consumed.key)
        self.published.extend(events)
        self.audit.append(trail.record(service=self.service, at=datetime.now(UTC), seq=time.time_ns()))
        return True


class HandlerHarness:
    """A service's consumers on a broker meant for FastStream's TestKafkaBroker, with its DLQs captured."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.metrics = RuntimeMetrics(settings.service_name)
        self.broker: KafkaBroker = create_broker(settings, self.metrics, logging.getLogger("test"))
        self.consumers = Consumers(self.broker, settings, self.metrics, logging.getLogger("test"))
        self.uow = InMemoryUnitOfWork(settings.service_name)
        self.dead_letters: list[tuple[str, dict[str, str], bytes]] = []

    def ready(self) -> KafkaBroker:
        """Subscribe the routed topics and their DLQ captors; return the broker to wrap in TestKafkaBroker."""
        self.consumers.subscribe()
        for topic in self.consumers.topics:
            self.broker.subscriber(topic + ".dlq", group_id="dlq-captor", decoder=raw_body)(self._capture)
        return self.broker

    async def _capture(self, msg: KafkaMessage) -> None:
        self.dead_letters.append((msg.raw_message.topic, dict(msg.headers), msg.body))  # type: ignore[union-attr]


def envelope(event: Event, **header_overrides: Any) -> dict[str, Any]:
    """Publish kwargs for ``event`` as its producer's outbox would send it."""
    headers = CloudEvent.new(event.topic, source="/test", subject=event.application_id).headers()
    return {"message": event.model_dump_json().encode(), "topic": event.topic.name,
            "key": event.application_id.encode(), "headers": {**headers, **header_overrides}}
