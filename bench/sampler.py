"""Time series for the charts, sampled once a second in a thread of its own while the bench runs: events
each service has handled and HTTP requests it has served (from its /metrics), and each consumer group's
lag (the broker's end offsets minus the group's committed offsets). Phases are marked as they begin."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
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
                 every_s: float = 2.0) -> None:
        """Every 2 s by default: rendering /metrics once a second took 7–16 % of each service's CPU during P1
        (py-spy), a load the bench itself would add to what it measures (Prometheus scrapes every 15 s).
        ``bootstrap`` and ``services`` (the running services' base URLs by name) are asked afresh at every
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

    def caught_up(self, group: str, within_s: float = 900) -> float | None:
        """Seconds from now until ``group`` has nothing left to commit in two samples running (the first of them);
        None when it does not catch up within ``within_s`` (or its lag cannot be read)."""
        began = time.monotonic()
        since = began - self.t0
        while time.monotonic() - began < within_s:
            recent = [x for x in list(self.samples) if x["t"] >= since]
            for first, second in itertools.pairwise(recent):
                if first["lag"].get(group) == 0 and second["lag"].get(group) == 0:
                    return round(max(0.0, float(first["t"]) - since), 1)
            time.sleep(self.every_s / 2)
        return None

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        return {"every_s": self.every_s, "marks": self.marks, "samples": self.samples}

    async def _run(self) -> None:
        groups: Groups | None = None
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
                    groups = groups or await Groups.connect(self.bootstrap(), list(services))
                    sample["lag"] = await groups.lags()
                except Exception:  # the broker restarting (P4): no lag this tick, connect afresh
                    if groups is not None:
                        await groups.close()
                    groups = None
                self.samples.append(sample)
                await asyncio.sleep(max(0.0, self.every_s - (time.monotonic() - began)))
        if groups is not None:
            await groups.close()


class Groups:
    """Each service's consumer group, read without joining it: its committed offsets against the end offsets.
    (Tansu answers the admin client's OffsetFetch in a form aiokafka cannot decode; a group member's can.)"""

    def __init__(self, consumers: dict[str, AIOKafkaConsumer], partitions: list[TopicPartition]) -> None:
        self.consumers, self.partitions = consumers, partitions

    @classmethod
    async def connect(cls, bootstrap: str, services: list[str]) -> Groups:
        consumers: dict[str, AIOKafkaConsumer] = {}
        try:
            for name in services:
                consumers[name] = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=f"zhongshi-{name}",
                                                   enable_auto_commit=False, request_timeout_ms=3000)
                await consumers[name].start()
            probe = next(iter(consumers.values()))
            topics = sorted(t for t in await probe.topics() if t.startswith("pilot.") and not t.endswith(".dlq"))
        except Exception:
            await cls(consumers, []).close()
            raise
        return cls(consumers, [TopicPartition(t, p) for t in topics
                               for p in sorted(probe.partitions_for_topic(t) or ())])

    async def lags(self) -> dict[str, int]:
        """Per group: records on the partitions it has committed on, not yet committed."""
        if not self.consumers:
            return {}
        ends = await next(iter(self.consumers.values())).end_offsets(self.partitions)
        found = {}
        for name, consumer in self.consumers.items():
            # what `committed()` does for one partition, for all of them in one request
            committed = await consumer._coordinator.fetch_committed_offsets(self.partitions)
            found[name] = sum(max(0, ends[tp] - meta.offset) for tp, meta in committed.items()
                              if meta is not None and meta.offset >= 0)
        return found

    async def close(self) -> None:
        for consumer in self.consumers.values():
            with contextlib.suppress(Exception):
                await consumer.stop()
