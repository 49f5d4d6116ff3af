"""`make bench`: figures a reviewer can rerun. Prints a table and writes bench/results.json.

Measured today (issue #2): stack cold start and RSS, submit→screened latency at a steady 20/s, and
sustained submit→screened throughput. The framework-free baseline and the other figures of the
benchmark issue come with it.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from zhongshi_contracts.credit_code import make_credit_code
from zhongshi_runtime.auth import Role
from zhongshi_runtime.clock import shanghai_date, utc_now

from zhongshi.demo import dossier
from zhongshi.demo_data import APPLICANTS
from zhongshi.launcher import Stack, StackConfig

RESULTS = Path(__file__).with_name("results.json")


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Bench:
    def __init__(self, stack: Stack, http: httpx.AsyncClient) -> None:
        self.stack, self.http = stack, http
        self.province = {"Authorization": f"Bearer {stack.token(Role.PROVINCE_OFFICIAL, '42')}"}
        self.counter = 0

    async def open_round(self, round_id: str) -> None:
        today = shanghai_date(utc_now())
        body = {"id": round_id, "title": "基准测试", "opens_on": "2020-01-01", "closes_on": "2099-12-31",
                "rule_set_version": "hubei-2025-v1"}
        (await self.http.post("/api/v1/rounds", json=body, headers=self.province)).raise_for_status()
        self.today = today

    async def submit(self, round_id: str) -> str:
        self.counter += 1
        i = self.counter % len(APPLICANTS)
        d = dossier(i, APPLICANTS[i], self.today)
        d["applicant"]["credit_code"] = code = make_credit_code(f"91{d['applicant']['region_code']}B{self.counter:08d}")
        me = {"Authorization": f"Bearer {self.stack.token(Role.APPLICANT, code)}"}
        r = await self.http.post("/api/v1/applications", json={"round_id": round_id, "dossier": d}, headers=me)
        app_id = r.json()["id"]
        (await self.http.post(f"/api/v1/applications/{app_id}/submit", headers=me)).raise_for_status()
        return str(app_id)

    async def wait_all_screened(self, ids: list[str], within_s: float = 300) -> list[dict[str, Any]]:
        deadline = time.monotonic() + within_s
        pending, done = set(ids), {}
        while pending and time.monotonic() < deadline:
            for app_id in list(pending):
                app = (await self.http.get(f"/api/v1/applications/{app_id}", headers=self.province)).json()
                if app["status"] != "submitted":
                    done[app_id] = app
                    pending.discard(app_id)
            await asyncio.sleep(0.2)
        if pending:
            raise RuntimeError(f"{len(pending)} applications not screened within {within_s}s")
        return [done[i] for i in ids]


def screening_latencies(apps: list[dict[str, Any]]) -> list[float]:
    """Seconds from the submit transaction to the screening verdict, from the timeline's own times."""
    out = []
    for app in apps:
        at = {t["event_type"]: datetime.fromisoformat(t["at"]) for t in app["timeline"]}
        out.append((at["pilot.application.screened"] - at["pilot.application.submitted"]).total_seconds())
    return out


async def measure(stack: Stack) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stack.url("intake"), timeout=60) as http:
        bench = Bench(stack, http)
        await bench.open_round("R-bench")
        # steady 20/s for 10 s
        ids, start = [], time.monotonic()
        for n in range(200):
            await asyncio.sleep(max(0.0, start + n / 20 - time.monotonic()))
            ids.append(await bench.submit("R-bench"))
        steady = screening_latencies(await bench.wait_all_screened(ids))
        # sustained: 400 submissions from 8 concurrent clients, until the last is screened
        began = time.monotonic()
        queue = list(range(400))

        async def client() -> list[str]:
            mine = []
            while queue:
                queue.pop()
                mine.append(await bench.submit("R-bench"))
            return mine

        burst = [i for ids_ in await asyncio.gather(*(client() for _ in range(8))) for i in ids_]
        await bench.wait_all_screened(burst)
        wall = time.monotonic() - began
    return {
        "steady_20_per_s": {"n": len(steady), "p50_ms": 1000 * statistics.median(steady),
                            "p99_ms": 1000 * percentile(steady, 0.99), "max_ms": 1000 * max(steady)},
        "sustained": {"n": len(burst), "wall_s": wall, "applications_per_s": len(burst) / wall},
    }


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(StackConfig.isolated(Path(tmp), log_level="WARNING"))
        try:
            cold = stack.start()
            pids = [p.pid for p in (*stack.processes.values(), stack.broker, stack.database) if p]
            idle_rss = rss_mb(pids)
            figures = asyncio.run(measure(stack))
            figures["cold_start_s"] = cold
            figures["rss_mb"] = {"idle": idle_rss, "after_load": rss_mb(pids)}
        finally:
            stack.stop()
    RESULTS.write_text(json.dumps(figures, indent=2))
    s, b = figures["steady_20_per_s"], figures["sustained"]
    print(f"{'figure':<44}{'value':>12}")
    print(f"{'P5 cold start to all healthy (s)':<44}{figures['cold_start_s']:>12.1f}")
    rss = figures["rss_mb"]
    print(f"{'P5 total RSS idle / after load (MB)':<44}{rss['idle']:>6.0f} / {rss['after_load']:.0f}")
    print(f"{'submit→screened p50 at 20/s (ms)':<44}{s['p50_ms']:>12.1f}")
    print(f"{'submit→screened p99 at 20/s (ms)':<44}{s['p99_ms']:>12.1f}")
    print(f"{'sustained submit→screened (applications/s)':<44}{b['applications_per_s']:>12.1f}")
    print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
