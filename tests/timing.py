"""Where `make test`'s minutes go, and whether they were spent working or waiting: for each suite, its wall time and
the core-seconds the whole machine was busy meanwhile (every process: the servers, Chromium, pytest), so a suite
that waits on timeouts, restarts and hops shows a low share of the machine and one bound by CPU a high one.
Printed at the end of a run in one process; under pytest-xdist each worker keeps its own and nothing is shown."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SHOWN = 8  # the longest suites; the rest are summed in one line
SPENT = pytest.StashKey[list["Spent"]]()


@dataclass(frozen=True)
class Spent:
    suite: str
    wall_s: float
    busy_core_s: float


def busy_core_seconds(stat: Path = Path("/proc/stat")) -> float | None:
    """CPU time the machine has spent on anything but idling and waiting for I/O since boot (Linux only)."""
    try:
        first = stat.read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in first[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def suite_of(nodeid: str) -> str:
    """`tests/<folder>`, `services/<name>` or `libs/<name>`; a test module directly under tests/ is `tests`."""
    parts = nodeid.split("::", 1)[0].split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else parts[0]


def table(spent: Iterable[Spent], cores: int) -> list[str]:
    """One line a suite, longest first: wall seconds, busy core-seconds and the share of the machine's cores."""
    totals: dict[str, tuple[float, float]] = {}
    for s in spent:
        wall, busy = totals.get(s.suite, (0.0, 0.0))
        totals[s.suite] = (wall + s.wall_s, busy + s.busy_core_s)
    rows = sorted(totals.items(), key=lambda item: -item[1][0])
    if len(rows) > SHOWN:
        rows = [*rows[:SHOWN], (f"{len(rows) - SHOWN} more", summed(rows[SHOWN:]))]
    return [f"{wall:7.1f} s  {busy:7.1f} core-s  {share(wall, busy, cores):>4}  {name}"
            for name, (wall, busy) in [*rows, ("all", summed(totals.items()))]]


def summed(rows: Iterable[tuple[str, tuple[float, float]]]) -> tuple[float, float]:
    """The wall and busy seconds of ``rows`` together."""
    listed = list(rows)
    return sum(wall for _, (wall, _) in listed), sum(busy for _, (_, busy) in listed)


def share(wall: float, busy: float, cores: int) -> str:
    return f"{busy / (wall * cores):.0%}" if wall > 0 else "-"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Setup, call and teardown of one test, with the machine's busy time meanwhile."""
    began, busy = time.monotonic(), busy_core_seconds()
    yield
    ended = busy_core_seconds()
    if busy is not None and ended is not None and not hasattr(item.config, "workerinput"):
        item.config.stash.setdefault(SPENT, []).append(
            Spent(suite_of(item.nodeid), time.monotonic() - began, ended - busy))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    spent = config.stash.get(SPENT, [])
    if spent:
        cores = os.cpu_count() or 1
        terminalreporter.section(f"time per suite: wall, the machine's busy core-seconds, share of its {cores} cores")
        for line in table(spent, cores):
            terminalreporter.write_line(line)
