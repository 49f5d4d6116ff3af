"""P3: the registry's public reads (`GET /api/v1/public/platforms` with filters, and one entry) against a bare
FastAPI endpoint doing the same queries on the same database (`bench.bare_registry`).

Load generator: wrk (Debian's `wrk` 4.1, C, one thread), in its own process, so it is not the bottleneck. Two
runs per endpoint: the most it serves (16 connections, no pause), and its latency at ~200 requests/s (20
connections each pausing 98 ms between requests; wrk 4 has no fixed-rate mode, so the achieved rate is
reported too). The requests rotate over filters (city, county, cluster, status) and over every entry."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from pymongo import MongoClient

from zhongshi import embedded
from zhongshi.launcher import Stack
from zhongshi.polling import wait_until

DONE = """
done = function(summary, latency, requests)
  io.write(string.format('{"requests": %d, "seconds": %f, "errors": %d, "p50_ms": %f, "p99_ms": %f}\\n',
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status
      + summary.errors.timeout, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def script(paths: list[str], pause_ms: int) -> str:
    listed = ",".join(json.dumps(p) for p in paths)
    return (f"local paths = {{{listed}}}\nlocal i = 0\n"
            "request = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n"
            + (f"delay = function() return {pause_ms} end\n" if pause_ms else "") + DONE)


def wrk(base: str, paths: list[str], seconds: float, connections: int, pause_ms: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script(paths, pause_ms))
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", f.name, base],
                         capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    Path(f.name).unlink()
    figures: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    figures["requests_per_s"] = round(figures["requests"] / figures["seconds"], 1)
    return figures


def load(base: str, paths: list[str], seconds: float) -> dict[str, Any]:
    wrk(base, paths, 1, 4, 0)  # warm up
    return {"max": wrk(base, paths, seconds, 16, 0), "at_200": wrk(base, paths, seconds, 20, 98)}


def requests(mongodb_uri: str) -> tuple[list[str], list[str]]:
    """The list's filtered queries and the entries' paths, from what the registry holds."""
    client: MongoClient[Any] = MongoClient(mongodb_uri)
    try:
        entries = list(client.zhongshi_registry.entries.find({}, {"city_code": 1, "region_code": 1, "clusters": 1}))
    finally:
        client.close()
    if not entries:
        raise RuntimeError("the registry holds no entries to read")
    rng = random.Random(8)  # noqa: S311 - a spread of queries
    sample = rng.sample(entries, min(50, len(entries)))
    lists = [q for e in sample for q in (f"?city={e['city_code']}", f"?county={e['region_code']}",
                                         f"?cluster={e['clusters'][0]}" if e["clusters"] else "?status=accredited",
                                         "?status=cultivation&limit=50")]
    return lists, [str(e["_id"]) for e in entries]


def measure(stack: Stack, seconds: float) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise RuntimeError("P3 needs wrk: apt-get install wrk")
    lists, ids = requests(stack.database_uri("registry"))
    port = embedded.free_port()
    bare = embedded.spawn([sys.executable, "-m", "bench.bare_registry", str(port), stack.database_uri("registry")],
                          stack.var / "logs" / "bare-registry.log")
    try:
        wait_until(lambda: embedded.port_open("127.0.0.1", port), "bare registry", 30, bare)
        ours, theirs = stack.url("registry"), f"http://127.0.0.1:{port}"
        path, bare_path = "/api/v1/public/platforms", "/platforms"
        return {"entries": len(ids), "load_generator": "wrk 4.1 (1 thread)",
                "list": load(ours, [path + q for q in lists], seconds),
                "bare_list": load(theirs, [bare_path + q for q in lists], seconds),
                "detail": load(ours, [f"{path}/{i}" for i in ids], seconds),
                "bare_detail": load(theirs, [f"{bare_path}/{i}" for i in ids], seconds)}
    finally:
        embedded.stop(bare)
