"""In-memory fakes and helpers for fast unit and handler tests (never used in production code)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from faststream.kafka import KafkaBroker, KafkaMessage
from pymongo.asynchronous.database import AsyncDatabase
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import Event

from zhongshi_runtime.auth import Authenticator, ensure_dev_keys
from zhongshi_runtime.messaging import Consumers, create_broker, raw_body
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.outbox import Consumed, MongoUnitOfWork, Work
from zhongshi_runtime.preconditions import stale_write
from zhongshi_runtime.settings import ServiceSettings
from zhongshi_runtime.store import StaleWrite


class InMemoryUnitOfWork:
    """Runs work one unit at a time (as serializable transactions would), remembers consumed event ids and
    collects the outgoing events."""

    def __init__(self) -> None:
        self.consumed: set[str] = set()
        self.published: list[Event] = []
        self.duplicates = 0
        self._serial = asyncio.Lock()

    async def run(self, work: Work, *, consumed: Consumed | None = None) -> bool:
        if consumed and consumed.key in self.consumed:
            self.duplicates += 1
            return False
        async with self._serial:
            events = await work(None)
        if consumed:
            self.consumed.add(consumed.key)
        self.published.extend(events)
        return True


class HandlerHarness:
    """A service's consumers on a broker meant for FastStream's TestKafkaBroker, with its DLQs captured."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.metrics = RuntimeMetrics(settings.service_name)
        self.broker: KafkaBroker = create_broker(settings, self.metrics, logging.getLogger("test"))
        self.consumers = Consumers(self.broker, settings, self.metrics, logging.getLogger("test"))
        self.uow = InMemoryUnitOfWork()
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


class Gate:
    """Holds the first call that reaches `pause` (once armed) until released: a race, the same way every run."""

    def __init__(self) -> None:
        self.armed = False
        self.reached = asyncio.Event()
        self.released = asyncio.Event()

    async def pause(self) -> None:
        if self.armed:
            self.armed = False
            self.reached.set()
            await self.released.wait()


def mongo_unit_of_work(db: AsyncDatabase[Any], service: str = "test") -> MongoUnitOfWork:
    """The real unit of work on ``db``: transactions and outbox as in production, with no relay behind it."""
    return MongoUnitOfWork(db.client, db, source=f"/zhongshi/{service}", metrics=RuntimeMetrics(service),
                           on_commit=lambda: None)


def api_app(keys: Path, *routers: APIRouter) -> FastAPI:
    """A bare app over ``routers`` with the kit's token check and refusals, without broker or lifespan."""
    app = FastAPI()
    app.state.authenticator = Authenticator(issuer="zhongshi-dev", audience="zhongshi",
                                            jwks_file=str(ensure_dev_keys(keys)))
    app.add_exception_handler(StaleWrite, stale_write)
    for router in routers:
        app.include_router(router)
    return app
