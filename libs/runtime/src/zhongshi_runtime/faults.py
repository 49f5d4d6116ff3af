"""Test-only fault injection for the fault suite (`tests/faults/`): inert unless ZHONGSHI_FAULTS_FILE is set,
which the settings refuse outside development and test.

The suite writes a small JSON file that every service re-reads whenever it changes::

    {"exit_after_commits": {"screening": 5},      # exit like a crash right after the 5th consumed event's
                                                  # transaction commits, before its offset is committed
     "slow_writes": {"fraction": 0.01, "seconds": 2, "seed": 7},  # hold that share of transactions open
     "raise_for_subjects": ["POISON-1"]}          # handlers fail on every event about these subjects

Counting starts when a process first sees the entry; the suite removes an exit entry before it restarts
the process that took it.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from pathlib import Path
from typing import Any

EXIT_CODE = 86  # how the suite tells an injected crash from a real one


class Faults:
    """The fault hooks of one service process; every hook does nothing without a faults file."""

    def __init__(self, service: str, path: str = "") -> None:
        self.service, self.path = service, Path(path) if path else None
        self._stamp: float | None = None
        self._config: dict[str, Any] = {}
        self._commits = 0
        self._random = random.Random()  # noqa: S311 - picks which writes to slow down, nothing secret

    def _current(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        try:
            stamp = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return {}
        if stamp != self._stamp:
            self._stamp, self._config = stamp, json.loads(self.path.read_text() or "{}")
            self._random.seed(f"{self._config.get('slow_writes', {}).get('seed', 0)}/{self.service}/{os.getpid()}")
        return self._config

    def after_consumed_commit(self) -> None:
        """Called between a consumed event's commit and its acknowledgement."""
        limit = self._current().get("exit_after_commits", {}).get(self.service)
        if limit is None:
            return
        self._commits += 1
        if self._commits >= int(limit):
            os._exit(EXIT_CODE)

    async def before_commit(self) -> None:
        """Called inside every transaction, just before it commits."""
        slow = self._current().get("slow_writes")
        if slow and self._random.random() < float(slow["fraction"]):
            await asyncio.sleep(float(slow["seconds"]))

    def check_subject(self, subject: str) -> None:
        """Called before a handler runs: fail on every event about a poisoned subject."""
        if subject in self._current().get("raise_for_subjects", ()):
            raise RuntimeError(f"injected fault: events about {subject} always fail")
