"""Waiting for a condition with a deadline: the one way the launcher, the demo and the tests synchronise with
servers and consumers (never a fixed sleep)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol, TypeVar

T = TypeVar("T")


class Process(Protocol):
    """What a wait needs of a process it watches: whether, and how, it exited."""

    returncode: int | None

    def poll(self) -> int | None: ...


def wait_until(check: Callable[[], T | None], what: str, timeout: float, process: Process | None = None,
               log: Path | None = None, interval: float = 0.05) -> T:
    """Poll ``check`` until it returns something truthy and return that; fail with the log's tail when
    ``process`` exits first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{tail(log)}")
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:.0f} s (last: {result!r})\n{tail(log)}")
        time.sleep(interval)


async def eventually(check: Callable[[], Awaitable[T | None]], what: str = "condition", timeout: float = 30,  # noqa: ASYNC109
                     interval: float = 0.05) -> T:
    """Await ``check`` until it returns something truthy and return that; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:.0f} s (last: {result!r})")
        await asyncio.sleep(interval)


def tail(log: Path | None, lines: int = 30) -> str:
    """The last ``lines`` of a log file, for a failure message."""
    if log is None or not log.exists():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
