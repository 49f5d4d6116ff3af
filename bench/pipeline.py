"""P1 on the stack: submit→screened latency at a steady 20/s, and sustained submit→screened throughput.

Sustained: the drafts are created first (not timed); then ``clients`` concurrent applicants submit them over
HTTP, and the clock stops when intake's database shows the last one screened (the bench counts the
applications still "submitted" there, one indexed count every 100 ms, instead of polling each application)."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

import httpx
from pymongo import AsyncMongoClient
from zhongshi_contracts.credit_code import make_credit_code
from zhongshi_runtime.auth import Role
from zhongshi_runtime.clock import shanghai_date, utc_now

from bench.report import percentile
from zhongshi.demo import dossier
from zhongshi.demo_data import APPLICANTS
from zhongshi.demo_materials import kinds_for, upload_parts
from zhongshi.launcher import Stack

SERIALS = itertools.count(1)  # one new applicant (credit code) per application, across rounds


def checked(r: httpx.Response) -> httpx.Response:
    """``r``, or an error naming what the service refused and why (its 4xx body names the field)."""
    if r.is_error:
        raise httpx.HTTPStatusError(f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:600]}",
                                    request=r.request, response=r)
    return r


class Applicants:
    """Creates drafts and submits them through intake's HTTP API, as applicants do."""

    def __init__(self, stack: Stack, http: httpx.AsyncClient, required: list[str] | None = None) -> None:
        """``required``: the material kinds the round requires (none for the bench's own rounds)."""
        self.stack, self.http, self.required = stack, http, required or []
        self.province = {"Authorization": f"Bearer {stack.token(Role.PROVINCE_OFFICIAL, '42')}"}
        self.today = shanghai_date(utc_now())
        self.tokens: dict[str, dict[str, str]] = {}

    async def open_round(self, round_id: str) -> None:
        body = {"id": round_id, "title": "基准测试", "opens_on": "2020-01-01", "closes_on": "2099-12-31",
                "rule_set_version": "hubei-2025-v1"}
        r = await self.http.post("/api/v1/rounds", json=body, headers=self.province)
        if r.status_code != 409:
            r.raise_for_status()

    async def draft(self, round_id: str) -> str:
        serial = next(SERIALS)
        i = serial % len(APPLICANTS)
        d = dossier(i, APPLICANTS[i], self.today)
        # rendered for the sample applicant, before its credit code is made unique: once per kind and applicant
        # (`sample_pdf` keeps them), so the bench spends its CPU on the system rather than on drawing PDFs
        uploads = [upload_parts(kind, d) for kind in kinds_for(d, self.required)]
        kind = d["applicant"]["credit_code"][:2]  # the registering department and kind match the legal person's
        code = make_credit_code(f"{kind}{d['applicant']['region_code']}B{serial:08d}")
        d["applicant"]["credit_code"] = code
        me = {"Authorization": f"Bearer {self.stack.token(Role.APPLICANT, code)}"}
        r = checked(await self.http.post("/api/v1/applications", json={"round_id": round_id, "dossier": d},
                                         headers=me))
        app_id = str(r.json()["id"])
        for parts in uploads:  # the round's required materials and the mechanism documents C9 rests on
            checked(await self.http.post(f"/api/v1/applications/{app_id}/materials", headers=me, **parts))
        self.tokens[app_id] = me
        return app_id

    async def submit(self, app_id: str) -> None:
        checked(await self.http.post(f"/api/v1/applications/{app_id}/submit", headers=self.tokens[app_id]))


async def unscreened(client: AsyncMongoClient[Any], round_id: str) -> int:
    """Applications of the round in intake's database still waiting for their screening verdict."""
    return await client.zhongshi_intake.applications.count_documents(
        {"round_id": round_id, "status": {"$in": ["draft", "submitted"]}})


async def none_unscreened(client: AsyncMongoClient[Any], round_id: str) -> bool:
    return not await unscreened(client, round_id)


async def probed(check: Callable[[], Awaitable[bool]], at_least_s: float = 0.5) -> bool:
    """``check``, then, unless it holds, a pause four times as long as it took: a count of a big round's
    applications takes the embedded database a third of a second, and the bench's own probes should not load
    the system it measures (at most a fifth of the time)."""
    began = time.monotonic()
    if await check():
        return True
    await asyncio.sleep(max(at_least_s, 4 * (time.monotonic() - began)))
    return False


async def wait_screened(stack: Stack, round_id: str, within_s: float = 600) -> None:
    """Until intake's database holds no application of the round still waiting for its verdict."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(stack.database_uri("intake"))
    try:
        deadline = time.monotonic() + within_s
        while not await probed(lambda: none_unscreened(client, round_id), at_least_s=0.1):
            if time.monotonic() > deadline:
                raise TimeoutError(f"round {round_id}: not all screened within {within_s}s")
    finally:
        await client.close()


async def database_operations(uris: Iterable[str]) -> Counter[str]:
    """The database servers' operation counters so far, added up (serverStatus: insert, query, update, delete,
    getmore, command), for the operations a phase cost per application."""
    total = Counter[str]()
    for uri in set(uris):
        client: AsyncMongoClient[Any] = AsyncMongoClient(uri)
        total.update((await client.admin.command("serverStatus"))["opcounters"])
        await client.close()
    return total


def per_application(before: dict[str, int], after: dict[str, int], n: int) -> dict[str, float]:
    """Operations the database served per application between two readings of its counters (every client's:
    the services', their pollers' and the bench's own few)."""
    counted = {k: (after[k] - before[k]) / n for k in before if k in after}
    return {k: round(v, 1) for k, v in {**counted, "total": sum(counted.values())}.items()}


async def in_parallel(clients: int, items: list[Any], act: Callable[[Any], Awaitable[None]]) -> None:
    """``act`` on every item from ``clients`` concurrent workers."""
    queue = list(reversed(items))

    async def worker() -> None:
        while queue:
            await act(queue.pop())

    await asyncio.gather(*(worker() for _ in range(clients)))


async def sustained(stack: Stack, round_id: str, n: int, clients: int = 8) -> dict[str, Any]:
    """Submit ``n`` drafts from ``clients`` concurrent applicants; applications/s until the last is screened."""
    async with httpx.AsyncClient(base_url=stack.url("intake"), timeout=60) as http:
        applicants = Applicants(stack, http)
        await applicants.open_round(round_id)
        ids: list[str] = []

        async def draft(_: str) -> None:
            ids.append(await applicants.draft(round_id))

        await in_parallel(clients, [str(i) for i in range(n)], draft)
        counted = await database_operations(stack.database_uris.values())
        began = time.monotonic()
        await in_parallel(clients, ids, applicants.submit)
        submitted = time.monotonic() - began
        await wait_screened(stack, round_id)
        wall = time.monotonic() - began
        ops = per_application(counted, await database_operations(stack.database_uris.values()), n)
    return {"n": n, "clients": clients, "wall_s": round(wall, 2), "submit_s": round(submitted, 2),
            "applications_per_s": round(n / wall, 2), "database_operations_per_application": ops}


def screening_latencies(apps: list[dict[str, Any]]) -> list[float]:
    """Seconds from the submit transaction to the screening verdict, from the timeline's own times."""
    out = []
    for app in apps:
        at = {t["event_type"]: datetime.fromisoformat(t["at"]) for t in app["timeline"]}
        out.append((at["pilot.application.screened"] - at["pilot.application.submitted"]).total_seconds())
    return out


async def steady(stack: Stack, round_id: str, n: int = 200, rate: float = 20) -> dict[str, Any]:
    """Submit ``n`` applications at ``rate`` per second (drafts created beforehand); latency percentiles."""
    async with httpx.AsyncClient(base_url=stack.url("intake"), timeout=60) as http:
        applicants = Applicants(stack, http)
        await applicants.open_round(round_id)
        ids = [await applicants.draft(round_id) for _ in range(n)]
        start = time.monotonic()
        pending = []
        for k, app_id in enumerate(ids):
            await asyncio.sleep(max(0.0, start + k / rate - time.monotonic()))
            pending.append(asyncio.create_task(applicants.submit(app_id)))
        await asyncio.gather(*pending)
        await wait_screened(stack, round_id)
        apps = [(await http.get(f"/api/v1/applications/{i}", headers=applicants.province)).json() for i in ids]
    seconds = screening_latencies(apps)
    return {"n": n, "rate_per_s": rate, "p50_ms": round(1000 * statistics.median(seconds), 1),
            "p99_ms": round(1000 * percentile(seconds, 0.99), 1), "max_ms": round(1000 * max(seconds), 1),
            "latencies_ms": [round(1000 * x, 1) for x in seconds]}  # for the histogram
