"""Where each service spends its CPU: py-spy samples every service while a load runs, and each sample is put
down to the library it was in (the innermost frame of a known library, so time in ``ssl`` or ``socket`` under
PyMongo counts as PyMongo's). The shares go into results.json and a chart; the raw stacks are thrown away."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# (label, pattern on a frame's file) — the first that matches, from the innermost frame outwards
LIBRARIES: tuple[tuple[str, re.Pattern[str]], ...] = tuple((label, re.compile(pattern)) for label, pattern in (
    ("zhongshi", r"(^|/)zhongshi_\w+/"),
    ("PyMongo, BSON", r"(^|/)(pymongo|bson)/"),
    ("aiokafka", r"(^|/)(aiokafka|kafka)/"),
    ("FastStream", r"(^|/)faststream/"),
    ("pydantic", r"(^|/)pydantic(_core)?/"),
    ("HTTP (FastAPI, Starlette, uvicorn)", r"(^|/)(fastapi|starlette|uvicorn|httptools|h11|anyio)/"),
    ("JSON, logging", r"(^|/)(json|logging)/"),
    ("prometheus-client", r"(^|/)prometheus_client/"),
    ("event loop", r"(^|/)(asyncio|uvloop|selectors)/"),
    ("SecantusDB (the embedded database)", r"(^|/)secantus/"),
))
OTHER = "other"
FRAME = re.compile(r"\((?P<file>[^():]+):\d+\)$")


def library_of(stack: str) -> str:
    """The library a collapsed stack (``outer (file:line);...;inner (file:line)``) spent its sample in."""
    for frame in reversed(stack.split(";")):
        found = FRAME.search(frame)
        if found is None:
            continue
        for label, pattern in LIBRARIES:
            if pattern.search(found.group("file")):
                return label
    return OTHER


def shares(raw: str) -> dict[str, Any]:
    """From py-spy's raw (collapsed) output: samples per library, as shares of the service's samples, and the
    functions of our own code that were on top most often."""
    by_library, ours = Counter[str](), Counter[str]()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        by_library[library_of(stack)] += int(count)
        top = next((f for f in reversed(stack.split(";")) if "zhongshi_" in f), None)
        if top is not None:
            ours[top.split(" (")[0] + " (" + top.rsplit("/", 1)[-1]] += int(count)
    total = sum(by_library.values())
    return {"samples": total,
            "shares": {k: round(v / total, 3) for k, v in by_library.most_common()} if total else {},
            "our_hottest": [[name, round(n / total, 3)] for name, n in ours.most_common(5)] if total else []}


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def sampling(pids: dict[str, int], rate_hz: int = 50) -> Iterator[dict[str, Any]]:
    """py-spy on every process in ``pids`` while the block runs; afterwards the dict holds each one's shares.
    py-spy reads the processes without pausing them (``--nonblocking``) to disturb the load least. Each one's
    share of a core comes from the kernel's CPU time, not from the samples: py-spy cannot tell a thread waiting
    in a C call from one working, which counts every idle connection thread of the database as busy."""
    found: dict[str, Any] = {}
    began, used = time.monotonic(), {name: cpu_seconds(pid) for name, pid in pids.items()}
    if shutil.which("py-spy") is None:
        found["error"] = "py-spy is not installed (it is a dev dependency: make install)"
        yield found
        return
    with tempfile.TemporaryDirectory() as tmp:
        spies = {name: subprocess.Popen(["py-spy", "record", "--nonblocking", "--format", "raw", "--rate",
                                         str(rate_hz), "-o", f"{tmp}/{name}.txt", "-p", str(pid)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for name, pid in pids.items()}
        try:
            yield found
        finally:
            for spy in spies.values():
                spy.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
            elapsed = time.monotonic() - began
            for name, spy in spies.items():
                spy.wait(timeout=60)
                written = Path(f"{tmp}/{name}.txt")
                found[name] = shares(written.read_text()) if written.exists() else {"samples": 0, "shares": {}}
                found[name]["core_share"] = round((cpu_seconds(pids[name]) - used[name]) / elapsed, 3)
