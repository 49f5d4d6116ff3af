"""The fault suite's hooks (`tests/faults/`), a plug-in the suite installs with ``ZHONGSHI_FAULTS_FILE``
naming a small JSON file that every service re-reads whenever it changes::

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

from zhongshi_runtime.plugins import Plugin
from zhongshi_runtime.settings import ServiceSettings

EXIT_CODE = 86  # how the suite tells an injected crash from a real one


def install(settings: ServiceSettings) -> Faults:
    """The plug-in's factory (``zhongshi.plugins.faults:install``); refused in production."""
    if settings.environment == "production":
        raise ValueError("the fault-injection plug-in is for tests and is refused in production")
    return Faults(settings.service_name, os.environ.get("ZHONGSHI_FAULTS_FILE", ""))


class Faults(Plugin):
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
        """Between a consumed event's commit and its acknowledgement: exit like a crash when told to."""
        limit = self._current().get("exit_after_commits", {}).get(self.service)
        if limit is None:
            return
        self._commits += 1
        if self._commits >= int(limit):
            os._exit(EXIT_CODE)

    async def before_commit(self) -> None:
        """Inside every transaction, just before it commits: hold a share of them open."""
        slow = self._current().get("slow_writes")
        if slow and self._random.random() < float(slow["fraction"]):
            await asyncio.sleep(float(slow["seconds"]))  # the injected slowness itself, not a synchronisation

    def before_handle(self, subject: str) -> None:
        """Before a handler runs: fail on every event about a poisoned subject."""
        if subject in self._current().get("raise_for_subjects", ()):
            raise RuntimeError(f"injected fault: events about {subject} always fail")
