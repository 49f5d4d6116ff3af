"""Faults on the running stack: kill -9 / restart / pause a process, the fault plug-in's hooks (through
the faults file), and the delivery metrics summed over every process incarnation."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from prometheus_client.parser import text_string_to_metric_families

from zhongshi.launcher import Stack
from zhongshi.plugins.faults import EXIT_CODE

T = TypeVar("T")
READY_TIMEOUT_S = 300  # a shared 2-core machine can be slow to start a service
COUNTED = {
    "zhongshi_duplicate_events_total": "redelivered",
    "zhongshi_dead_letters_total": "dead_lettered",
    "zhongshi_handler_retries_total": "retries",
    "zhongshi_consumer_rebalances_total": "rebalances",
    "zhongshi_outbox_replays_total": "outbox_replays",
}


@dataclass(frozen=True)
class Sample:
    name: str
    labels: tuple[tuple[str, str], ...]
    value: float


class Tally:
    """The delivery counters of every process that ever ran, each incarnation's last scrape kept (a killed
    process takes its counters with it, so processes are scraped just before they are killed)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self._last: dict[int, list[Sample]] = {}
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=2)  # one client: a new one per scrape costs ~20 ms of CPU

    def scrape(self, name: str) -> None:
        process = self.stack.processes.get(name)
        if process is None or process.poll() is not None:
            return
        try:
            text = self._http.get(self.stack.url(name) + "/metrics").text
        except httpx.HTTPError:
            return
        samples = [Sample(s.name, tuple(sorted(s.labels.items())), float(s.value))
                   for family in text_string_to_metric_families(text) for s in family.samples
                   if s.name in COUNTED]
        with self._lock:
            self._last[process.pid] = samples

    def close(self) -> None:
        self._http.close()

    def scrape_all(self, skip: frozenset[str] = frozenset()) -> None:
        for name in list(self.stack.processes):
            if name not in skip:
                self.scrape(name)

    def totals(self) -> dict[str, float]:
        found = dict.fromkeys(COUNTED.values(), 0.0)
        with self._lock:
            for samples in self._last.values():
                for s in samples:
                    found[COUNTED[s.name]] += s.value
        return found

    def of(self, name: str, metric: str) -> float:
        """``metric`` summed over its series in the running process ``name``, scraped now."""
        self.scrape(name)
        pid = self.stack.pid(name)
        with self._lock:
            return sum(s.value for s in self._last.get(pid, []) if s.name == metric)

    def by_label(self, metric: str, label: str) -> dict[str, float]:
        found: dict[str, float] = {}
        with self._lock:
            for samples in self._last.values():
                for s in samples:
                    if s.name == metric:
                        key = dict(s.labels).get(label, "")
                        found[key] = found.get(key, 0.0) + s.value
        return found


class Chaos:
    """Process faults and hooks on one stack; a watcher scrapes metrics and restarts injected crashes.

    Processes are started from one long-lived thread: a child gets SIGTERM when the *thread* that spawned it
    ends (PR_SET_PDEATHSIG), and faults fire from short-lived ones."""

    def __init__(self, stack: Stack, faults_file: Path) -> None:
        self.stack, self.faults_file = stack, faults_file
        self.tally = Tally(stack)
        self.paused: set[str] = set()
        self.crashes: list[str] = []
        self.log: list[str] = []
        self._hooks: dict[str, Any] = {}
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="chaos-watcher", daemon=True)
        self._lock = threading.RLock()
        self._spawner = ThreadPoolExecutor(1, thread_name_prefix="chaos-spawner")

    def spawn(self, start: Callable[[], T]) -> T:
        """Run ``start`` (anything that starts a process) on the spawner thread."""
        return self._spawner.submit(start).result()

    def start(self) -> None:
        self.set_hooks({})
        self._watcher.start()

    def stop(self) -> None:
        self._stop.set()
        if self._watcher.is_alive():
            self._watcher.join(10)

    def close(self) -> None:
        """After the stack stopped: the spawner thread may end now."""
        self._spawner.shutdown()
        self.tally.close()

    def note(self, text: str) -> None:
        self.log.append(f"{time.strftime('%H:%M:%S')} {text}")

    # ---- the runtime's hooks ----
    def set_hooks(self, hooks: dict[str, Any]) -> None:
        with self._lock:
            self._hooks = hooks
            tmp = self.faults_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(hooks))
            os.replace(tmp, self.faults_file)  # services never read half a file

    @contextmanager
    def hooks(self, **hooks: Any) -> Iterator[None]:
        self.set_hooks(hooks)
        try:
            yield
        finally:
            self.set_hooks({})

    # ---- processes ----
    def kill(self, name: str) -> None:
        """SIGKILL, right after a last scrape of its counters."""
        with self._lock:
            self.tally.scrape(name)
            self.stack.kill_service(name)
            self.note(f"kill -9 {name}")

    def restart(self, name: str, *, wait: bool = True) -> None:
        """Start it again and wait until it is ready, or (``wait=False``) let it get ready in its own time."""
        with self._lock:
            self.spawn(lambda: self.stack.restart_service(name, timeout=None))
        if not wait:
            self.note(f"restarting {name}")
            return
        self.stack.wait_ready((name,), READY_TIMEOUT_S)
        self.note(f"restarted {name}")

    def add_replicas(self, *names: str) -> list[str]:
        """A second process of each service, started together; their keys once all are ready."""
        with self._lock:
            keys = [self.spawn(lambda n=n: self.stack.add_replica(n, timeout=None)) for n in names]  # type: ignore[misc]
        self.stack.wait_ready(tuple(keys), READY_TIMEOUT_S)
        self.note(f"started {', '.join(keys)}")
        return keys

    def pause(self, name: str) -> None:
        with self._lock:
            self.tally.scrape(name)
            self.paused.add(name)
            os.kill(self.stack.pid(name), signal.SIGSTOP)
            self.note(f"SIGSTOP {name}")

    def resume(self, name: str) -> None:
        with self._lock:
            os.kill(self.stack.pid(name), signal.SIGCONT)
            self.paused.discard(name)
            self.note(f"SIGCONT {name}")

    def restart_broker(self) -> None:
        with self._lock:
            self.spawn(self.stack.restart_broker)
            self.note("broker killed and started empty: every record and committed offset is gone")

    def restart_databases(self, down: float) -> None:
        self.stack.kill_databases()
        self.note("kill -9 the databases")
        time.sleep(down)
        self.spawn(self.stack.start_databases)
        self.note("databases restarted")

    def _watch(self) -> None:
        while not self._stop.wait(1.0):
            with self._lock:
                for name, process in list(self.stack.processes.items()):
                    if process.poll() == EXIT_CODE:
                        self._restart_crashed(name)
                self.tally.scrape_all(skip=frozenset(self.paused))

    def _restart_crashed(self, name: str) -> None:
        """An injected crash: take the hook off for that service (so it crashes once), then restart it."""
        self.crashes.append(name)
        self.note(f"{name} crashed after a commit, before its ack (injected)")
        exits = {k: v for k, v in self._hooks.get("exit_after_commits", {}).items() if k != name.split("-")[0]}
        self.set_hooks({**self._hooks, "exit_after_commits": exits})
        self.restart(name, wait=False)
