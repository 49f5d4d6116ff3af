"""The soak: applicants create, upload to and submit applications at a steady rate for a long while, all five
services running, and each process's memory (PSS, `pss_kb`) is sampled throughout. A service whose memory keeps
growing under a steady load leaks: the figure is the five services' growth from the end of a warm-up to the
end, with the broker's and the databases' reported apart (the embedded broker keeps every record in memory,
so its growth is expected and says nothing about ours)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from bench.pipeline import Applicants, unscreened, wait_screened
from zhongshi.launcher import Stack

SERVICES = ("intake", "screening", "review", "registry", "notify")


def pss_kb(pid: int) -> int:
    """The memory ``pid`` accounts for: its proportional set size, each page it shares with others (the imported
    code the stack's Python children share from the fork server) counted once over all of them. RSS would
    count a shared page in full in every process that maps it."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def processes(stack: Stack) -> dict[str, int]:
    """The processes whose memory the soak follows: the five services, the broker and the databases."""
    found = {name: stack.processes[name].pid for name in SERVICES if name in stack.processes}
    if stack.broker is not None:
        found["broker"] = stack.broker.pid
    found |= {f"database ({name})": process.pid for name, process in stack.databases.items()}
    return found


def reading(pids: dict[str, int]) -> dict[str, float]:
    """Each process's PSS now, in MB."""
    return {name: round(pss_kb(pid) / 1024, 1) for name, pid in pids.items()}


def growth(samples: list[dict[str, Any]], warm_up_s: float) -> dict[str, Any]:
    """Per process and for the five services together: PSS (MB) at the end of the warm-up and at the end, and the
    growth between them in percent."""
    after = [s for s in samples if s["t"] >= warm_up_s] or samples
    first, last = after[0]["pss_mb"], samples[-1]["pss_mb"]

    def change(before: float, now: float) -> dict[str, float]:
        return {"start_mb": round(before, 1), "end_mb": round(now, 1),
                "growth_pct": round(100 * (now - before) / before, 1) if before else 0.0}

    services = [n for n in SERVICES if n in first and n in last]
    return {"five_services": change(sum(first[n] for n in services), sum(last[n] for n in services)),
            "each": {name: change(first[name], last[name]) for name in first if name in last}}


async def run(stack: Stack, round_id: str, minutes: float, rate: float = 5, every_s: float = 10,
              warm_up_s: float = 120, now: Callable[[], float] = time.monotonic) -> dict[str, Any]:
    """Start one application (draft, materials, submit) every 1/``rate`` s for ``minutes``; sample PSS every
    ``every_s``. Returns the growth, the samples, and whether every application was screened at the end."""
    pids, samples, failures = processes(stack), list[dict[str, Any]](), list[str]()
    limit = asyncio.Semaphore(64)  # applicants at once; beyond that the stack is saturated (counted, not queued)
    async with httpx.AsyncClient(base_url=stack.url("intake"), timeout=60) as http:
        applicants = Applicants(stack, http)
        await applicants.open_round(round_id)

        async def apply() -> None:
            async with limit:
                try:
                    await applicants.submit(await applicants.draft(round_id))
                except httpx.HTTPError as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")

        began, started, skipped, tasks = now(), 0, 0, set[asyncio.Task[None]]()
        next_sample = began
        while (elapsed := now() - began) < 60 * minutes:
            if now() >= next_sample:
                samples.append({"t": round(elapsed, 1), "pss_mb": reading(pids)})
                next_sample += every_s
            while started + skipped < elapsed * rate:
                if limit.locked():  # the stack is not keeping up: do not queue work it will never catch up on
                    skipped += 1
                    continue
                task = asyncio.create_task(apply())
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                started += 1
            await asyncio.sleep(min(1 / rate, max(0.0, next_sample - now())))
        await asyncio.gather(*tasks)
        stopped = now()
        mongo: AsyncMongoClient[Any] = AsyncMongoClient(stack.database_uri("intake"))
        try:
            backlog = await unscreened(mongo, round_id)
        finally:
            await mongo.close()
        try:  # a stack that did not keep up drains its queue now: how long that takes is the figure, not a failure
            await wait_screened(stack, round_id, within_s=900)
            drained: float | None = round(now() - stopped, 1)
        except TimeoutError:
            drained = None
        samples.append({"t": round(now() - began, 1), "pss_mb": reading(pids)})
    warm_up_s = min(warm_up_s, samples[-1]["t"] / 4)  # a short (smoke) soak warms up for a quarter of it
    return {"minutes": minutes, "rate_per_s": rate, "applications": started, "failed": len(failures),
            "not_started_stack_saturated": skipped, "achieved_per_s": round(started / (60 * minutes), 2),
            "failures": failures[:5], "warm_up_s": warm_up_s, "not_screened_when_load_stopped": backlog,
            "drained_after_s": drained,
            **growth(samples, warm_up_s), "samples": samples}
