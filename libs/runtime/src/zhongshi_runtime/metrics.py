"""Prometheus metrics shared by every service, each service with its own registry (no globals)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from faststream.prometheus.container import MetricsContainer
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEAD_LETTER_KINDS = ("invalid", "rejected", "failed")


@dataclass
class RuntimeMetrics:
    """Delivery-machinery metrics: outbox, duplicates, retries, dead letters."""

    service: str
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.dead_letters = Counter(
            "zhongshi_dead_letters_total", "Messages sent to a DLQ", ["service", "topic", "kind"], registry=r
        )
        self.retries = Counter(
            "zhongshi_handler_retries_total", "Handler attempts that failed and were retried",
            ["service", "topic"], registry=r,
        )
        self.duplicates = Counter(
            "zhongshi_duplicate_events_total", "Redelivered events absorbed by the idempotent consumer",
            ["service", "topic"], registry=r,
        )
        self.handled = Histogram(
            "zhongshi_handler_seconds", "Time to handle one event, including its transaction",
            ["service", "topic"], registry=r, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.delivery = Histogram(
            "zhongshi_event_delivery_seconds", "From an event's time (ce_time) to its handler's success here",
            ["service", "topic"], registry=r,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
        )
        self.rebalances = Counter(
            "zhongshi_consumer_rebalances_total", "Partition assignments received by this process's consumer "
            "(one per group rebalance it took part in)", ["service"], registry=r,
        )
        self.outbox_published = Counter(
            "zhongshi_outbox_published_total", "Events published by the outbox relay", ["service", "topic"],
            registry=r,
        )
        self.dlq_size = Gauge(
            "zhongshi_dlq_messages", "Messages dead-lettered or parked and not yet redriven (the DLQ's current size)",
            ["service", "topic", "status"], registry=r,
        )
        self.outbox_pending = Gauge(
            "zhongshi_outbox_pending", "Events written but not yet published", ["service"], registry=r
        )
        self.outbox_refused = Gauge(
            "zhongshi_outbox_refused", "Events the broker refused for good (too large), kept in the outbox "
            "unpublished for the operator", ["service"], registry=r
        )
        self.broker_reachable = Gauge(
            "zhongshi_broker_reachable", "1 when the last broker ping succeeded (readiness leaves the broker out)",
            ["service"], registry=r,
        )
        self.outbox_replays = Counter(
            "zhongshi_outbox_replays_total", "Times the outbox republished retained events to a new broker",
            ["service"], registry=r,
        )
        self.http_requests = Counter(
            "zhongshi_http_requests_total", "HTTP requests answered, by route template and status class (2xx…5xx)",
            ["service", "method", "route", "status"], registry=r,
        )
        self.http_seconds = Histogram(
            "zhongshi_http_request_seconds", "Time to answer one HTTP request", ["service", "method", "route"],
            registry=r, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.outbox_pending.labels(self.service).set(0)
        self.outbox_refused.labels(self.service).set(0)
        self.outbox_replays.labels(self.service)

    def consuming(self, topics: Iterable[str]) -> None:
        """Export every consumer series at zero from the start: a dashboard or alert on dead letters or
        retries sees a series before the first failure, not an empty result. FastStream's own (processing
        time, message size) too: a series born at the first message holds the whole first burst when that
        burst falls between two scrapes (a round's forwardings reach review within a second), and its rate
        shows nothing."""
        faststream = MetricsContainer(self.registry, custom_label_names=())  # the middleware's, by name
        for topic in topics:
            for series in (self.retries, self.duplicates, self.handled, self.delivery):
                series.labels(self.service, topic)
            for kind in DEAD_LETTER_KINDS:
                self.dead_letters.labels(self.service, topic, kind)
            received = {"app_name": self.service, "broker": "kafka", "handler": topic}
            for family in (faststream.received_messages_total, faststream.received_messages_size_bytes,
                           faststream.received_messages_in_process,
                           faststream.received_processed_messages_duration_seconds):
                family.labels(**received)
            faststream.received_processed_messages_total.labels(**received, status="acked")

    def serving(self, routes: Iterable[tuple[str, str]]) -> None:
        """Export each (method, route)'s server-error series at zero from the start, as `consuming` does."""
        for method, route in routes:
            self.http_requests.labels(self.service, method, route, "5xx")


def instrument(app: FastAPI, metrics: RuntimeMetrics) -> None:
    """Count and time every request ``app`` answers; call it once every route is added, so that each documented
    operation's server-error series is exported at zero from the start."""
    app.add_middleware(RequestMetrics, metrics=metrics)
    metrics.serving((method.upper(), path) for path, operations in app.openapi()["paths"].items()
                    for method in operations)


UNMATCHED = "unmatched"  # the route label of a request no route matched: one series, not one per stray path
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})  # any other method: "OTHER"


class RequestMetrics:
    """ASGI middleware counting and timing every HTTP request by its route template (``/applications/{id}``,
    never the concrete path) and a known method, so that no caller can make series without end. An exception
    that escapes the app counts as a 5xx."""

    def __init__(self, app: ASGIApp, metrics: RuntimeMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", UNMATCHED)
            m, service = self.metrics, self.metrics.service
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            m.http_requests.labels(service, method, template, f"{status // 100}xx").inc()
            m.http_seconds.labels(service, method, template).observe(time.perf_counter() - started)
