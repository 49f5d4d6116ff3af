"""P2: one round of ``size`` applications through every stage — submit, screening, the county/city/province
chain, expert review and the decision, publicity and the registry — with the sample round's simulated
applicants, officials and experts (`zhongshi.demo*`: the same dossiers, opinions, expert pool, score sheets
and publicity), scaled up and acting concurrently (8 requests in flight), as a province's worth of people
would. The wall time runs from the first submission until intake shows every listing."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import uvloop
from pymongo import AsyncMongoClient
from zhongshi_contracts.reference import hubei_cities
from zhongshi_runtime.auth import Role
from zhongshi_runtime.clock import shanghai_date, utc_now

from bench.pipeline import Applicants, checked, in_parallel, probed, wait_screened
from zhongshi import demo_data as d
from zhongshi import demo_review
from zhongshi.demo import demo_round
from zhongshi.demo_registry import run_publicity
from zhongshi.launcher import Stack

CLIENTS = 8
DECIDED = ("proposed_accreditation", "proposed_cultivation", "review_declined")
IN_CHAIN = ("draft", "submitted", "eligible", "needs_exception", "city_review", "exception_review")


def _ok(response: httpx.Response) -> Any:
    return checked(response).json()


class Round:
    def __init__(self, stack: Stack, http: httpx.AsyncClient, round_id: str, size: int) -> None:
        self.stack, self.http, self.round_id, self.size = stack, http, round_id, size
        self.screening = stack.url("screening") + "/api/v1"
        self.review = stack.url("review") + "/api/v1"
        self.province = self.auth(Role.PROVINCE_OFFICIAL, "42")
        self.intake: AsyncMongoClient[Any] = AsyncMongoClient(stack.database_uri("intake"))
        self.registry: AsyncMongoClient[Any] = AsyncMongoClient(stack.database_uri("registry"))
        self.stages: dict[str, float] = {}

    def auth(self, role: Role, scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.stack.token(role, scope)}"}

    async def stage(self, name: str, work: Callable[[], Awaitable[None]]) -> None:
        began = time.monotonic()
        await work()
        self.stages[name] = round(time.monotonic() - began, 1)
        print(f"P2 {self.round_id}: {name} done in {self.stages[name]} s", flush=True)

    async def count(self, statuses: tuple[str, ...]) -> int:
        return await self.intake.zhongshi_intake.applications.count_documents(
            {"round_id": self.round_id, "status": {"$in": list(statuses)}})

    async def until(self, check: Callable[[], Awaitable[bool]], what: str, within_s: float = 900) -> None:
        deadline = time.monotonic() + within_s
        while not await probed(check):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.round_id}: {what} not within {within_s:.0f}s")

    # ---- applicants ----
    async def submit_all(self) -> None:
        intake = httpx.AsyncClient(base_url=self.stack.url("intake"), timeout=60)
        async with intake:
            round_ = {**demo_round(shanghai_date(utc_now())), "id": self.round_id}
            _ok(await intake.post("/api/v1/rounds", json=round_, headers=self.province))
            applicants = Applicants(self.stack, intake, round_["required_materials"])

            async def one(_: str) -> None:
                await applicants.submit(await applicants.draft(self.round_id))

            await in_parallel(CLIENTS, [str(i) for i in range(self.size)], one)
        await wait_screened(self.stack, self.round_id)

    # ---- the recommendation chain ----
    async def queue(self, level: str, role: Role, scope: str) -> list[dict[str, Any]]:
        page = _ok(await self.http.get(f"{self.screening}/queues/{level}", headers=self.auth(role, scope),
                                       params={"round_id": self.round_id, "limit": 200}))
        return list(page["items"])

    async def act(self, app_id: str, action: str, role: Role, scope: str, body: dict[str, Any]) -> None:
        r = await self.http.post(f"{self.screening}/applications/{app_id}/{action}", json=body,
                                 headers=self.auth(role, scope))
        if r.status_code != 409:
            _ok(r)

    async def drain(self, level: str, role: Role, scopes: list[str],
                    decide: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        """Every official of the level works through its queue (200 at a time); two officials at once."""
        async def official(scope: str) -> None:
            while items := await self.queue(level, role, scope):
                await in_parallel(CLIENTS // 2, [{**i, "scope": scope} for i in items], decide)
                if len(items) < 200:
                    return

        await in_parallel(2, scopes, official)

    async def county(self, item: dict[str, Any]) -> None:
        name, scope = item["applicant_name"], item["scope"]
        if name in d.COUNTY_RETURNS:
            await self.act(item["id"], "return", Role.COUNTY_OFFICIAL, scope, {"opinion": d.COUNTY_RETURNS[name]})
        elif name in d.COUNTY_REJECTS:
            await self.act(item["id"], "reject", Role.COUNTY_OFFICIAL, scope, {"opinion": d.COUNTY_REJECTS[name]})
        else:
            await self.act(item["id"], "recommend", Role.COUNTY_OFFICIAL, scope, {"opinion": d.RECOMMEND_OPINION})

    async def city(self, item: dict[str, Any]) -> None:
        await self.act(item["id"], "forward", Role.CITY_OFFICIAL, item["scope"], {"opinion": d.FORWARD_OPINION})

    async def province_decides(self, item: dict[str, Any]) -> None:
        refusal = d.EXCEPTION_REFUSALS.get(item["applicant_name"])
        await self.act(item["id"], "exception-decision", Role.PROVINCE_OFFICIAL, "42",
                       {"approved": refusal is None, "justification": refusal or d.EXCEPTION_APPROVAL})

    async def chain(self) -> None:
        today = shanghai_date(utc_now())
        settings = {"round_id": self.round_id, "quotas": dict.fromkeys(hubei_cities(), self.size),
                    "deadlines": {"county_review": str(today + timedelta(days=10)),
                                  "city_review": str(today + timedelta(days=20)),
                                  "exception_review": str(today + timedelta(days=30))}}
        _ok(await self.http.put(f"{self.screening}/rounds/{self.round_id}/settings", json=settings,
                                headers=self.province))
        counties = sorted({row[0] for row in d.APPLICANTS})
        await self.drain("county", Role.COUNTY_OFFICIAL, counties, self.county)
        await self.drain("city", Role.CITY_OFFICIAL, sorted(hubei_cities()), self.city)
        await self.drain("province", Role.PROVINCE_OFFICIAL, ["42"], self.province_decides)
        await self.until(lambda: self._none_in(IN_CHAIN), "intake showing the chain's results")

    async def _none_in(self, statuses: tuple[str, ...]) -> bool:
        return await self.count(statuses) == 0

    # ---- expert review ----
    async def expert_review(self) -> None:
        in_review = await self.count(("expert_review",))
        await self.until(lambda: self._review_knows(in_review), "review knowing every candidate")
        pool = demo_review.expert_pool()
        await in_parallel(CLIENTS, [e["id"] for e in pool], lambda i: self._put_expert(pool, i))
        settings = {"round_id": self.round_id, "quota": max(8, self.size // 5), "accreditation_line": "80",
                    "cultivation_line": "70", "aggregation": "trimmed_mean", "panel_size": 5,
                    "divergence_threshold": "18"}
        _ok(await self.http.put(f"{self.review}/rounds/{self.round_id}/review-settings", json=settings,
                                headers=self.province))
        _ok(await self.http.post(f"{self.review}/rounds/{self.round_id}/draw-commitment", headers=self.province))
        _ok(await self.http.post(f"{self.review}/rounds/{self.round_id}/panels", json={}, headers=self.province,
                                 timeout=900))
        await in_parallel(CLIENTS, [e["id"] for e in pool], self._expert_scores)
        proposal = _ok(await self.http.get(f"{self.review}/rounds/{self.round_id}/proposal", headers=self.province))
        diverging = [i["application_id"] for i in proposal["incomplete"] if "分歧" in i["missing"]]
        await in_parallel(CLIENTS, diverging, self._reconcile)
        proposal = _ok(await self.http.get(f"{self.review}/rounds/{self.round_id}/proposal", headers=self.province))
        await in_parallel(CLIENTS, proposal["items"], self._inspect)
        _ok(await self.http.post(f"{self.review}/rounds/{self.round_id}/confirm", headers=self.province,
                                 timeout=900))
        await self.until(lambda: self._none_in(("expert_review",)), "intake showing every decision")

    async def _review_knows(self, expected: int) -> bool:
        r = await self.http.get(f"{self.review}/rounds/{self.round_id}/proposal", headers=self.province)
        if r.status_code != 200:
            return False
        return len(r.json()["items"]) + len(r.json()["incomplete"]) >= expected

    async def _put_expert(self, pool: list[dict[str, Any]], expert_id: str) -> None:
        expert = next(e for e in pool if e["id"] == expert_id)
        _ok(await self.http.put(f"{self.review}/experts/{expert_id}", json=expert, headers=self.province))

    async def _expert_scores(self, expert_id: str) -> None:
        rng = random.Random(expert_id)  # noqa: S311 - a simulation
        me = self.auth(Role.EXPERT, expert_id)
        for task in _ok(await self.http.get(f"{self.review}/assignments", headers=me)):
            if task["scored"]:
                continue
            view = _ok(await self.http.get(f"{self.review}/assignments/{task['application_id']}", headers=me))
            sheet = demo_review.sheet(view["rubric"], demo_review.quality(view), rng)
            _ok(await self.http.post(f"{self.review}/assignments/{task['application_id']}/score", json=sheet,
                                     headers=me))

    async def _reconcile(self, app_id: str) -> None:
        panel = _ok(await self.http.get(f"{self.review}/panels/{app_id}", headers=self.province))["panel"]
        note = "经评审组讨论，分歧主要在试验设施评价口径，组内意见已统一，维持各专家独立评分。"
        _ok(await self.http.post(f"{self.review}/assignments/{app_id}/reconcile", json={"note": note},
                                 headers=self.auth(Role.EXPERT, panel["experts"][0])))

    async def _inspect(self, item: dict[str, Any]) -> None:
        notes = demo_review.FAILED_INSPECTION.get(item["applicant_name"])
        _ok(await self.http.post(f"{self.review}/applications/{item['application_id']}/inspection",
                                 json={"passed": notes is None, "notes": notes or "现场核查情况与申报材料一致。"},
                                 headers=self.province))

    # ---- publicity and the registry ----
    async def publicity(self) -> None:
        decided = await self.count(DECIDED)
        await self.until(lambda: self._registry_holds(decided), "the registry holding every decision")
        outcome = await asyncio.to_thread(run_publicity, self.stack, self.round_id, timeout=1800,
                                          opens_on=shanghai_date(utc_now()))
        if outcome.get("note"):
            raise RuntimeError(f"publicity did not close: {outcome['note']}")
        await self.until(lambda: self._none_in(("proposed_accreditation", "proposed_cultivation")),
                         "intake showing every listing")

    async def _registry_holds(self, decided: int) -> bool:
        return await self.registry.zhongshi_registry.decisions.count_documents({"round_id": self.round_id}) >= decided

    async def run(self) -> dict[str, Any]:
        began = time.monotonic()
        try:
            await self.stage("submit_and_screening", self.submit_all)
            await self.stage("chain", self.chain)
            await self.stage("expert_review", self.expert_review)
            await self.stage("publicity_and_registry", self.publicity)
            wall = time.monotonic() - began
            entries = await self.registry.zhongshi_registry.entries.count_documents({"round_id": self.round_id})
            by_status = {s: await self.count((s,)) for s in ("accredited", "cultivation", "review_declined",
                                                              "returned", "rejected", "declined", "objection_upheld")}
        finally:
            await self.intake.close()
            await self.registry.close()
        return {"applications": self.size, "wall_s": round(wall, 1), "stages_s": self.stages,
                "registry_entries": entries, "final_statuses": by_status}


def run(stack: Stack, round_id: str, size: int) -> dict[str, Any]:
    """Drive one round of ``size`` applications through every stage; its wall time and stage times."""

    async def go() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=120) as http:
            return await Round(stack, http, round_id, size).run()

    return uvloop.run(go())
