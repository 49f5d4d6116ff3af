"""The shape every service shares: `ServiceKit` wires broker, Mongo, outbox, consumers, auth and metrics,
and `ServiceKit.asgi` builds the FastAPI app with /health, /ready, /metrics (every request counted and timed)
and the AsyncAPI docs."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import HTMLResponse, JSONResponse
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI, get_asyncapi_html
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from zhongshi_contracts.events import Event
from zhongshi_contracts.projections import published_types

from zhongshi_runtime.asyncapi import finish
from zhongshi_runtime.audit import ensure_audit_indexes
from zhongshi_runtime.audit_api import audit_router
from zhongshi_runtime.dead_letters import DeadLetterLedger
from zhongshi_runtime.dlq_api import dlq_router
from zhongshi_runtime.errors import Refusal, document_kit_errors, refused, too_large, unreadable_body
from zhongshi_runtime.logs import configure_logging
from zhongshi_runtime.messaging import Consumers, create_broker
from zhongshi_runtime.metrics import RuntimeMetrics, instrument
from zhongshi_runtime.oidc import Authenticator
from zhongshi_runtime.outbox import MongoUnitOfWork, OutboxRelay, ensure_outbox_indexes
from zhongshi_runtime.plugins import Plugin, Plugins
from zhongshi_runtime.preconditions import stale_write
from zhongshi_runtime.retention import Retention, Rule
from zhongshi_runtime.settings import ServiceSettings
from zhongshi_runtime.store import StaleWrite
from zhongshi_runtime.turns import ensure_turns

StartupHook = Callable[[], Awaitable[None]]


class ServiceKit:
    """Everything a service needs at run time, built without I/O; `asgi()` connects it on start-up.

    ``plugins`` (default: those ``ZHONGSHI_PLUGINS`` names, none in production) hook into the broker, the
    consumer, the unit of work and the outbox relay: the embedded launcher's and the tests' live there."""

    def __init__(
        self, settings: ServiceSettings, *, title: str, description: str, produces: Sequence[type[Event]] = (),
        plugins: Plugin | None = None,
    ) -> None:
        name = settings.service_name
        self.settings, self.title, self.description = settings, title, description
        self.produces = tuple(produces)
        self.logger = configure_logging(name, settings.log_level)
        self.metrics = RuntimeMetrics(name)
        self.plugins = plugins or Plugins.from_settings(settings)
        self.broker = create_broker(settings, self.metrics, self.logger, self.plugins)
        self.mongo: AsyncMongoClient[Any] = AsyncMongoClient(
            settings.mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=10_000
        )
        self.db: AsyncDatabase[Any] = self.mongo[settings.database]
        self.relay = OutboxRelay(
            self.db, self.broker, metrics=self.metrics, retention=timedelta(hours=settings.outbox_retention_hours),
            logger=self.logger, plugins=self.plugins,
        )
        self.uow = MongoUnitOfWork(
            self.mongo, self.db, source=f"/zhongshi/{name}", metrics=self.metrics, on_outbox=self.relay.wake,
            plugins=self.plugins,
        )
        self.ledger = DeadLetterLedger(self.mongo, self.db, f"zhongshi-{name}")
        self.consumers = Consumers(self.broker, settings, self.metrics, self.logger, self.plugins, ledger=self.ledger)
        self.authenticator = Authenticator.from_settings(settings)
        self._startup: list[StartupHook] = [lambda: ensure_outbox_indexes(self.db), lambda: ensure_turns(self.db),
                                            lambda: ensure_audit_indexes(self.db), self.ledger.ensure_indexes]
        self.retention = Retention(self.db, self.logger)
        self.retention.keep(
            Rule("processed_events", "at", settings.processed_event_retention_days),
            Rule("dead_letters", "redriven_at", settings.dead_letter_retention_days, where={"status": "redriven"}),
        )
        self._periodic: list[tuple[float, StartupHook]] = [(settings.dlq_gauge_interval_s, self.measure_dlq),
                                                           (settings.retention_interval_s, self._purge)]
        self._tasks: list[asyncio.Task[None]] = []

    async def measure_dlq(self) -> None:
        """The DLQ's current size per topic: dead and parked messages not yet redriven."""
        sizes = await self.ledger.sizes()
        self.metrics.dlq_size.clear()  # a topic emptied by a redrive shows 0, not its last size
        for topic in self.consumers.topics:
            for status in ("dead", "parked"):
                self.metrics.dlq_size.labels(self.metrics.service, topic, status).set(sizes.get((topic, status), 0))

    async def _purge(self) -> None:
        await self.retention.purge()

    def on_startup(self, hook: StartupHook) -> None:
        """Run ``hook`` (index creation, seeding reference data) before consuming starts."""
        self._startup.append(hook)

    def every(self, seconds: float, job: StartupHook) -> None:
        """Run ``job`` every ``seconds`` while the service runs (gauges, timers); failures are logged."""
        self._periodic.append((seconds, job))

    async def _repeat(self, seconds: float, job: StartupHook) -> None:
        while True:
            try:
                await job()
            except Exception:
                self.logger.exception("periodic job %s failed", getattr(job, "__name__", job))
            await asyncio.sleep(seconds)

    def asyncapi(self) -> dict[str, Any]:
        """The AsyncAPI 3.0 document: what the service consumes and publishes, with payload and header schemas."""
        broker = KafkaBroker(self.settings.kafka_bootstrap_servers, description=self.description)
        published = published_types(self.produces)
        models = {m.wire_topic().name: m for m in (*published, *self.consumers.models)}
        for model in published:
            topic = model.wire_topic().name
            broker.publisher(topic, title=f"{self.settings.service_name}:publish:{topic}",
                             description=model.__doc__, schema=model, include_in_schema=True)
        for model in self.consumers.models:
            topic = model.wire_topic().name
            broker.subscriber(topic, group_id=self.consumers.group_id,
                              title=f"{self.settings.service_name}:consume:{topic}",
                              description=model.__doc__)(_documented(model))
        spec = AsyncAPI(broker, title=f"zhongshi {self.settings.service_name}", version="1.0.0",
                        description=self.description)
        return finish(spec.to_specification().to_jsonable(), models)

    async def prepare(self) -> None:
        """Run the start-up hooks (indexes, reference data): the first step of the lifespan, and all a tool that
        drives the service's parts without its broker needs (the bench)."""
        for hook in self._startup:
            await hook()

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        await self.prepare()
        await self.broker.start()
        await self.relay.start()
        # the broker's reachability, for BrokerUnreachable (readiness leaves the broker out)
        watched = [(15.0, self._watch_broker), *self._periodic]
        self._tasks = [asyncio.create_task(self._repeat(s, job)) for s, job in watched]
        self.logger.info("started on port %d", self.settings.port)
        try:
            yield
        finally:
            for task in self._tasks:
                task.cancel()
            await self.relay.stop()  # finish the batch in flight while the producer still runs
            await self.plugins.close()
            await self.broker.stop()
            await self.mongo.close()
            await self.authenticator.keys.aclose()
            self.logger.info("stopped")

    async def readiness(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(self.mongo.admin.command("ping"), 3)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["broker"] = "ok" if await self.broker_reachable() else "unreachable"
        return checks

    async def broker_reachable(self) -> bool:
        """Ping the broker and record the answer in ``zhongshi_broker_reachable`` (the BrokerUnreachable alert)."""
        reachable = await self.broker.ping(timeout=3)
        self.metrics.broker_reachable.labels(self.metrics.service).set(1 if reachable else 0)
        return reachable

    async def _watch_broker(self) -> None:
        await self.broker_reachable()

    def asgi(self, routers: Sequence[APIRouter]) -> FastAPI:
        """The service's FastAPI app: its routers plus the operational endpoints."""
        self.consumers.subscribe()
        app = FastAPI(title=self.title, description=self.description, version="1.0.0", lifespan=self.lifespan,
                      max_body_size=self.settings.http_max_body_bytes)
        app.state.authenticator = self.authenticator
        app.state.kit = self
        app.add_exception_handler(400, unreadable_body)
        app.add_exception_handler(413, too_large)
        app.add_exception_handler(StaleWrite, stale_write)
        app.add_exception_handler(Refusal, refused)
        for router in (*routers, audit_router(self.db, self.uow, self.settings.service_name),
                       dlq_router(self.ledger, self.uow, self.relay.wake)):
            app.include_router(router)
        generate = app.openapi
        app.openapi = lambda: app.openapi_schema or document_kit_errors(generate())  # type: ignore[method-assign]
        document = self.asyncapi()

        @app.get("/health", tags=["operations"], summary="Liveness")
        async def health() -> dict[str, str]:
            return {"status": "ok", "service": self.settings.service_name}

        # The broker is reported, not required: while Kafka is down the API keeps taking writes into the outbox,
        # which the relay publishes once it is back. Without the database nothing can be served.
        @app.get("/ready", tags=["operations"], summary="Readiness: database reachable (broker reported)",
                 responses={503: {"description": "The database is unreachable"}})
        async def ready() -> JSONResponse:
            checks = await self.readiness()
            healthy = checks["database"] == "ok"
            return JSONResponse({"ready": healthy, **checks}, status_code=200 if healthy else 503)

        @app.get("/metrics", tags=["operations"], include_in_schema=False)
        async def metrics() -> Response:
            return Response(generate_latest(self.metrics.registry), media_type=CONTENT_TYPE_LATEST)

        @app.get("/asyncapi", tags=["operations"], include_in_schema=False)
        async def asyncapi_html() -> HTMLResponse:
            page = get_asyncapi_html(_Rendered(document, self.title), try_it_out_path=None)  # type: ignore[arg-type]
            return HTMLResponse(page)

        @app.get("/asyncapi.json", tags=["operations"], summary="AsyncAPI 3.0 document")
        async def asyncapi_json() -> Any:
            return document

        instrument(app, self.metrics)
        return app


def _documented(model: type[Event]) -> Callable[..., Awaitable[None]]:
    """A stand-in handler whose signature carries ``model``, for the document only."""

    async def handler(event: model) -> None:  # type: ignore[valid-type]
        return None

    return handler


@dataclass(frozen=True)
class _Rendered:
    """Our finished AsyncAPI document in the shape FastStream's HTML page reads."""

    document: dict[str, Any]
    title: str

    def to_json(self) -> str:
        return json.dumps(self.document, ensure_ascii=False)
