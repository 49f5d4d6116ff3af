"""Time series for the charts, sampled once a second in a thread of its own while the bench runs: events
each service has handled and HTTP requests it has served (from its /metrics), and each consumer group's
lag (the broker's end offsets minus the group's committed offsets). Phases are marked as they begin."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families

COUNTERS = {"zhongshi_handler_seconds": "handled", "zhongshi_http_requests": "http"}


def totals(text: str) -> dict[str, float]:
    """Events handled and HTTP requests served so far, from one /metrics page."""
    found = dict.fromkeys(COUNTERS.values(), 0.0)
    for family in text_string_to_metric_families(text):
        kind = COUNTERS.get(family.name)
        if kind is None:
            continue
        for sample in family.samples:
            if sample.name in (f"{family.name}_count", f"{family.name}_total"):
                found[kind] += sample.value
    return found


class Sampler:
    def __init__(self, bootstrap: Callable[[], str], services: Callable[[], dict[str, str]],
                 every_s: float = 1.0) -> None:
        """``bootstrap`` and ``services`` (the running services' base URLs by name) are asked afresh at every
        tick: the broker restarts in P4, services stop and start."""
        self.bootstrap, self.services, self.every_s = bootstrap, services, every_s
        self.t0 = time.monotonic()
        self.samples: list[dict[str, Any]] = []
        self.marks: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name="bench-sampler", daemon=True)

    def start(self) -> Sampler:
        self.t0 = time.monotonic()
        self._thread.start()
        return self

    def mark(self, phase: str) -> None:
        self.marks.append((round(time.monotonic() - self.t0, 2), phase))

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        return {"every_s": self.every_s, "marks": self.marks, "samples": self.samples}

    async def _run(self) -> None:
        admin: AIOKafkaAdminClient | None = None
        consumer: AIOKafkaConsumer | None = None
        async with httpx.AsyncClient(timeout=2) as http:
            while not self._stop.is_set():
                began = time.monotonic()
                services = self.services()
                sample: dict[str, Any] = {"t": round(began - self.t0, 2), "handled": {}, "http": {}, "lag": {}}
                for name, base in services.items():
                    with contextlib.suppress(httpx.HTTPError):
                        counted = totals((await http.get(base + "/metrics")).text)
                        sample["handled"][name], sample["http"][name] = counted["handled"], counted["http"]
                try:
                    if admin is None or consumer is None:
                        admin, consumer = await _clients(self.bootstrap())
                    sample["lag"] = await lags(admin, consumer, list(services))
                except Exception:  # the broker restarting (P4): no lag this tick
                    admin = consumer = None
                self.samples.append(sample)
                await asyncio.sleep(max(0.0, self.every_s - (time.monotonic() - began)))
        for client in (admin, consumer):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.close() if isinstance(client, AIOKafkaAdminClient) else await client.stop()


async def _clients(bootstrap: str) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    await admin.start()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    return admin, consumer


async def lags(admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, services: list[str]) -> dict[str, int]:
    """Each service's consumer group: records on its partitions not yet committed."""
    found = {}
    for name in services:
        committed = await admin.list_consumer_group_offsets(f"zhongshi-{name}")
        if not committed:
            continue
        ends = await consumer.end_offsets(list(committed))
        found[name] = sum(max(0, ends[tp] - max(0, meta.offset)) for tp, meta in committed.items())
    return found
