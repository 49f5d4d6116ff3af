"""The chain's HTTP API over in-memory fakes: the access table, quotas, double actions, priorities."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from prometheus_client import CollectorRegistry
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.recommendation import ApplicationForwarded
from zhongshi_runtime.auth import Role
from zhongshi_runtime.testing import InMemoryUnitOfWork, api_app, mint_test_token
from zhongshi_screening import chain_api
from zhongshi_screening.chain import RoundSettings, Stage
from zhongshi_screening.metrics import ChainMetrics
from zhongshi_screening.repository import InMemoryScreeningRepository
from zhongshi_screening.service import Deps

from .chain_fixtures import NOW, case_of


class World:
    """A round in Wuhan and 仙桃 with cases at every step, and a token for every kind of caller."""

    def __init__(self, keys: Path, http: httpx.AsyncClient, repo: InMemoryScreeningRepository,
                 uow: InMemoryUnitOfWork, codes: dict[str, str], metrics: ChainMetrics) -> None:
        self.keys, self.http, self.repo, self.uow, self.codes = keys, http, repo, uow, codes
        self.metrics = metrics

    def headers(self, who: str) -> dict[str, str]:
        if who == "anonymous":
            return {}
        role, scope = CALLERS[who]
        scope = self.codes.get(scope, scope)
        return {"Authorization": f"Bearer {mint_test_token(self.keys, role=role, organisation=scope)}"}

    async def call(self, who: str, method: str, path: str, headers: dict[str, str] | None = None,
                   **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, path, headers={**self.headers(who), **(headers or {})}, **kwargs)


CALLERS = {
    "applicant": (Role.APPLICANT, "own"), "other_applicant": (Role.APPLICANT, "other"),
    "county": (Role.COUNTY_OFFICIAL, "420111"), "other_county": (Role.COUNTY_OFFICIAL, "420115"),
    "city": (Role.CITY_OFFICIAL, "420100"), "other_city": (Role.CITY_OFFICIAL, "420200"),
    "unit": (Role.COUNTY_OFFICIAL, "429004"), "province": (Role.PROVINCE_OFFICIAL, "42"),
    "expert": (Role.EXPERT, "E1"), "operator": (Role.OPERATOR, "*"),
}


@pytest.fixture
async def world(tmp_path: Path, make_dossier: Callable[..., Dossier]) -> AsyncIterator[World]:
    repo, uow = InMemoryScreeningRepository(), InMemoryUnitOfWork()
    app = api_app(tmp_path, chain_api.router)
    metrics = ChainMetrics(CollectorRegistry())
    app.state.deps = Deps(repo, uow, lambda: NOW, metrics)
    wuhan = make_dossier()
    for app_id, stage, dossier in [
        ("county-case", Stage.COUNTY_REVIEW, wuhan), ("city-case", Stage.CITY_REVIEW, wuhan),
        ("city-case-2", Stage.CITY_REVIEW, wuhan),
        ("exception-case", Stage.EXCEPTION_REVIEW, make_dossier(platform={"site_area_m2": "10"})),
        ("unit-case", Stage.COUNTY_REVIEW, make_dossier(30)),
    ]:
        await repo.save_case(case_of(dossier, app_id, stage))
    await repo.save_settings(RoundSettings(round_id="R1", quotas={"420100": 1, "429004": 1}))
    codes = {"own": wuhan.applicant.credit_code, "other": make_dossier(1).applicant.credit_code}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        yield World(tmp_path, http, repo, uow, codes, metrics)


OPINION = {"json": {"opinion": "经审核，同意"}}
ACCESS = [
    # (what, method, path, body, who may do it → status; everyone else's expected status)
    ("recommend", "POST", "/api/v1/applications/county-case/recommend", OPINION,
     {"county": 200, "other_county": 404, "city": 403, "other_city": 404, "unit": 404, "province": 403}),
    ("forward", "POST", "/api/v1/applications/city-case/forward", OPINION,
     {"city": 200, "other_city": 404, "county": 403, "other_county": 404, "unit": 404, "province": 403}),
    ("return", "POST", "/api/v1/applications/county-case/return", OPINION,
     {"county": 200, "other_county": 404, "city": 403, "other_city": 404, "unit": 404, "province": 403}),
    ("city return", "POST", "/api/v1/applications/city-case/return", OPINION,
     {"city": 200, "county": 403, "other_city": 404, "other_county": 404, "unit": 404, "province": 403}),
    ("reject", "POST", "/api/v1/applications/city-case/reject", OPINION,
     {"city": 200, "county": 403, "other_city": 404, "other_county": 404, "unit": 404, "province": 403}),
    ("exception", "POST", "/api/v1/applications/exception-case/exception-decision",
     {"json": {"approved": True, "justification": "设备先进，同意例外"}},
     {"province": 200, "city": 403, "county": 403, "other_city": 403, "other_county": 403, "unit": 403}),
    ("unit recommends", "POST", "/api/v1/applications/unit-case/recommend", OPINION,
     {"unit": 200, "county": 404, "city": 404, "other_county": 404, "other_city": 404, "province": 403}),
    ("read case", "GET", "/api/v1/cases/county-case", {},
     {"applicant": 200, "other_applicant": 404, "county": 200, "other_county": 404, "city": 200,
      "other_city": 404, "unit": 404, "province": 200}),
    ("priorities", "PUT", "/api/v1/rounds/R1/priorities", {"json": {"application_ids": ["city-case-2", "city-case"]}},
     {"city": 200, "county": 403, "other_city": 404, "other_county": 404, "unit": 404, "province": 403}),
    ("settings", "PUT", "/api/v1/rounds/R1/settings", {"json": {"round_id": "R1", "quotas": {"420100": 3}}},
     {"province": 200, "city": 403, "county": 403, "other_city": 403, "other_county": 403, "unit": 403}),
    ("read settings", "GET", "/api/v1/rounds/R1/settings", {},
     {"province": 200, "city": 200, "county": 200, "other_city": 200, "other_county": 200, "unit": 200}),
    ("progress", "GET", "/api/v1/rounds/R1/progress", {},
     {"province": 200, "city": 200, "county": 200, "other_city": 200, "other_county": 200, "unit": 200}),
    ("county queue", "GET", "/api/v1/queues/county", {},
     {"province": 200, "city": 200, "county": 200, "other_city": 200, "other_county": 200, "unit": 200}),
]
NOBODY_ELSE = {"applicant": 403, "other_applicant": 403, "expert": 403, "operator": 403, "anonymous": 401}


@pytest.mark.parametrize(("what", "method", "path", "body", "allowed"), ACCESS, ids=[row[0] for row in ACCESS])
@pytest.mark.parametrize("who", [*CALLERS, "anonymous"])
async def test_the_access_table(
    world: World, what: str, method: str, path: str, body: dict[str, Any], allowed: dict[str, int], who: str
) -> None:
    expected = allowed.get(who, NOBODY_ELSE.get(who))
    response = await world.call(who, method, path, **body, headers={"X-Request-ID": f"req-{what}"})
    assert response.status_code == expected, response.text
    if expected != 200:
        assert world.uow.published == [] and world.uow.audit == []  # a refused call changes nothing
    elif method != "GET":  # a change is audited once, with the person who made it and their request
        [record] = world.uow.audit
        role, scope = CALLERS[who]
        assert (record.actor_subject, record.actor_role) == (f"{role}:{world.codes.get(scope, scope)}", role)
        assert record.request_id == f"req-{what}" and record.action
        assert record.reason == body["json"].get("opinion", body["json"].get("justification", ""))
    else:
        assert world.uow.audit == []


async def test_queues_show_only_what_is_in_scope(world: World) -> None:
    async def ids(who: str, level: str) -> list[str]:
        return [i["id"] for i in (await world.call(who, "GET", f"/api/v1/queues/{level}")).json()["items"]]

    assert await ids("county", "county") == ["county-case"]
    assert await ids("other_county", "county") == []
    assert await ids("city", "county") == ["county-case"]
    assert await ids("province", "county") == ["county-case", "unit-case"]
    assert await ids("city", "city") == ["city-case", "city-case-2"]
    assert await ids("province", "province") == ["exception-case"]
    assert await ids("city", "province") == ["exception-case"]
    item = (await world.call("county", "GET", "/api/v1/queues/county")).json()["items"][0]
    assert item["stage_label"] == "县级初审" and item["region_name"] == "洪山区" and len(item["clauses"]) == 9


async def test_forwarding_beyond_the_quota_is_a_409_saying_quota_and_use(world: World) -> None:
    assert (await world.call("city", "POST", "/api/v1/applications/city-case/forward", **OPINION)).status_code == 200
    refused = await world.call("city", "POST", "/api/v1/applications/city-case-2/forward", **OPINION)
    assert refused.status_code == 409 and refused.json()["detail"] == "武汉市本批次推荐指标为1个，已推荐1个，指标已用完"
    assert len(world.uow.published) == 1 and (await world.repo.case("city-case-2")).stage is Stage.CITY_REVIEW


async def test_forwarding_without_a_quota_is_refused(world: World) -> None:
    await world.repo.save_settings(RoundSettings(round_id="R1"))
    refused = await world.call("city", "POST", "/api/v1/applications/city-case/forward", **OPINION)
    assert refused.status_code == 409 and "尚未下达" in refused.json()["detail"]


async def test_a_double_action_is_a_409_and_no_second_event(world: World) -> None:
    path = "/api/v1/applications/county-case/recommend"
    assert (await world.call("county", "POST", path, **OPINION)).status_code == 200
    again = await world.call("county", "POST", path, **OPINION)
    assert again.status_code == 409 and "市州推荐" in again.json()["detail"]
    assert len(world.uow.published) == 1


async def test_acting_on_a_withdrawn_application_is_a_409(world: World) -> None:
    from zhongshi_screening import chain

    case = await world.repo.case("county-case")
    assert case is not None
    await world.repo.save_case(chain.withdrawn(case, 1, NOW))
    r = await world.call("county", "POST", "/api/v1/applications/county-case/recommend", **OPINION)
    assert r.status_code == 409 and "已撤回" in r.json()["detail"] and world.uow.published == []


async def test_an_opinion_is_required(world: World) -> None:
    r = await world.call("county", "POST", "/api/v1/applications/county-case/recommend", json={"opinion": ""})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "opinion"]


async def test_the_citys_order_travels_with_the_forwarded_application(world: World) -> None:
    await world.repo.save_settings(RoundSettings(round_id="R1", quotas={"420100": 5}))
    order: dict[str, Any] = {"json": {"application_ids": ["city-case-2", "city-case"]}}
    ranked = (await world.call("city", "PUT", "/api/v1/rounds/R1/priorities", **order)).json()
    assert [(c["id"], c["priority"]) for c in ranked] == [("city-case-2", 1), ("city-case", 2)]
    queue = (await world.call("city", "GET", "/api/v1/queues/city")).json()["items"]
    assert [c["id"] for c in queue] == ["city-case-2", "city-case"]
    await world.call("city", "POST", "/api/v1/applications/city-case/forward", **OPINION)
    [forwarded] = world.uow.published
    assert isinstance(forwarded, ApplicationForwarded) and forwarded.priority == 2


def forwarded_priorities(world: World) -> dict[str, int]:
    return {e.application_id: e.priority for e in world.uow.published if isinstance(e, ApplicationForwarded)}


async def forward(world: World, *application_ids: str) -> None:
    for application_id in application_ids:
        r = await world.call("city", "POST", f"/api/v1/applications/{application_id}/forward", **OPINION)
        assert r.status_code == 200, r.text


async def test_a_withdrawal_frees_its_quota_slot_but_not_its_priority(
        world: World, make_dossier: Callable[..., Dossier]) -> None:
    await world.repo.save_settings(RoundSettings(round_id="R1", quotas={"420100": 2}))
    await world.repo.save_case(case_of(make_dossier(), "city-case-3", Stage.CITY_REVIEW))
    await forward(world, "city-case", "city-case-2")  # unranked: each takes the next priority
    await world.repo.release_quota("R1", "420100")  # city-case withdrawn: its slot is free again
    await forward(world, "city-case-3")
    assert forwarded_priorities(world) == {"city-case": 1, "city-case-2": 2, "city-case-3": 3}


async def test_a_ranking_counts_on_after_the_forwarded_and_keeps_the_citys_other_ranks(
        world: World, make_dossier: Callable[..., Dossier]) -> None:
    await world.repo.save_settings(RoundSettings(round_id="R1", quotas={"420100": 5}))
    for application_id in ("city-case-3", "city-case-4", "city-case-5"):
        await world.repo.save_case(case_of(make_dossier(), application_id, Stage.CITY_REVIEW))
    await forward(world, "city-case")  # unranked: the first priority
    order: dict[str, Any] = {"json": {"application_ids": ["city-case-3", "city-case-2"]}}
    ranked = (await world.call("city", "PUT", "/api/v1/rounds/R1/priorities", **order)).json()
    assert [(c["id"], c["priority"]) for c in ranked] == [("city-case-3", 2), ("city-case-2", 3)]
    order = {"json": {"application_ids": ["city-case-4"]}}  # listed alone: first, the earlier ranks after it
    ranked = (await world.call("city", "PUT", "/api/v1/rounds/R1/priorities", **order)).json()
    assert [(c["id"], c["priority"]) for c in ranked] == [("city-case-4", 2)]
    queue = (await world.call("city", "GET", "/api/v1/queues/city")).json()["items"]
    assert [c["id"] for c in queue] == ["city-case-4", "city-case-3", "city-case-2", "city-case-5"]
    await forward(world, "city-case-5", "city-case-2", "city-case-3", "city-case-4")
    assert forwarded_priorities(world) == {"city-case": 1, "city-case-4": 2, "city-case-3": 3, "city-case-2": 4,
                                           "city-case-5": 5}  # unranked: after every priority given


async def test_the_unit_recommendation_emits_both_steps_and_uses_its_quota(world: World) -> None:
    r = await world.call("unit", "POST", "/api/v1/applications/unit-case/recommend", **OPINION)
    assert r.status_code == 200 and r.json()["stage"] == "expert_review"
    assert [e.topic.name for e in world.uow.published] == ["pilot.application.recommended",
                                                          "pilot.application.forwarded"]
    assert await world.repo.quota_used("R1") == {"429004": 1}


async def test_each_department_action_is_counted_once_at_its_level(world: World) -> None:
    for who, path, body in [
        ("county", "county-case/recommend", OPINION), ("city", "city-case/forward", OPINION),
        ("city", "city-case-2/reject", OPINION), ("county", "county-case/recommend", OPINION),  # refused: no count
        ("province", "exception-case/exception-decision", {"json": {"approved": False, "justification": "不符合"}}),
    ]:
        await world.call(who, "POST", f"/api/v1/applications/{path}", **cast(dict[str, Any], body))
    counted = {(s.labels["action"], s.labels["level"]): s.value for m in world.metrics.actions.collect()
               for s in m.samples if s.name.endswith("_total")}
    assert counted == {("recommend", "county"): 1, ("forward", "city"): 1, ("reject", "city"): 1,
                       ("refuse", "province"): 1}


async def test_progress_counts_by_stage_quota_and_overdue(world: World) -> None:
    from datetime import date

    await world.repo.save_settings(RoundSettings(round_id="R1", quotas={"420100": 4},
                                                 deadlines={Stage.CITY_REVIEW: date(2026, 11, 1)}))
    rows = (await world.call("province", "GET", "/api/v1/rounds/R1/progress")).json()
    wuhan = next(r for r in rows if r["city_code"] == "420100")
    assert len(rows) == 17 and wuhan["quota"] == 4 and wuhan["quota_used"] == 0
    assert wuhan["by_stage"]["city_review"] == 2 and wuhan["overdue"] == 2
    own = (await world.call("city", "GET", "/api/v1/rounds/R1/progress")).json()
    assert [r["city_code"] for r in own] == ["420100"]


async def test_settings_name_only_hubei_cities(world: World) -> None:
    r = await world.call("province", "PUT", "/api/v1/rounds/R1/settings",
                         json={"round_id": "R1", "quotas": {"110000": 3}})
    assert r.status_code == 422 and "110000" in r.text


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_settings_of_a_round_id_no_round_can_have_are_refused(world: World, method: str) -> None:
    """A round id with a control character would reach the announcing event's CloudEvents subject (a 500 there)."""
    r = await world.call("province", method, "/api/v1/rounds/R%C2%9401/settings",
                         json={"round_id": "R\u009401", "quotas": {"420100": 3}})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "round_id"]
    assert await world.repo.settings("R\u009401") is None


async def test_part_of_the_settings_changes_alone(world: World) -> None:
    r = await world.call("province", "PATCH", "/api/v1/rounds/R1/settings",
                         json={"deadlines": {"city_review": "2026-12-20"}})
    assert r.status_code == 200, r.text
    assert r.json()["quotas"] == {"420100": 1, "429004": 1} and r.json()["deadlines"] == {"city_review": "2026-12-20"}
    refused = await world.call("province", "PATCH", "/api/v1/rounds/R1/settings", json={"quotas": {"110000": 3}})
    assert refused.status_code == 422 and "110000" in refused.text


async def test_the_overdue_and_stage_gauges_follow_the_deadlines(world: World) -> None:
    from datetime import date

    registry = CollectorRegistry()
    metrics = ChainMetrics(registry)
    await world.repo.save_settings(RoundSettings(round_id="R1", deadlines={Stage.CITY_REVIEW: date(2026, 11, 26),
                                                                           Stage.COUNTY_REVIEW: date(2026, 11, 27)}))
    await chain_api.refresh_gauges(world.repo, metrics, lambda: NOW)

    def gauge(name: str, stage: str, city: str) -> float | None:
        return registry.get_sample_value(name, {"stage": stage, "city": city})

    assert gauge("zhongshi_chain_overdue", "city_review", "420100") == 2  # the day after the deadline
    assert gauge("zhongshi_chain_overdue", "county_review", "420100") == 0  # the deadline day itself
    assert gauge("zhongshi_applications_by_stage", "county_review", "429004") == 1


def test_leaving_a_stage_observes_the_time_spent_in_it(make_dossier: Callable[..., Dossier]) -> None:
    from datetime import timedelta

    registry = CollectorRegistry()
    metrics = ChainMetrics(registry)
    before = case_of(make_dossier(), stage=Stage.COUNTY_REVIEW)
    later = before.stage_since + timedelta(hours=3)
    after = before.model_copy(update={"stage": Stage.CITY_REVIEW, "stage_since": later})
    metrics.left(before, after)
    metrics.left(after, after)  # an action that keeps the stage (none today) observes nothing

    def sample(name: str, stage: str) -> float | None:
        return registry.get_sample_value(name, {"stage": stage})

    assert sample("zhongshi_stage_seconds_count", "county_review") == 1
    assert sample("zhongshi_stage_seconds_sum", "county_review") == 3 * 3600
    assert sample("zhongshi_stage_seconds_count", "city_review") == 0  # exported at zero before anything leaves


async def test_chain_steps_are_audited_with_stage_round_and_opinion(world: World) -> None:
    await world.call("county", "POST", "/api/v1/applications/county-case/recommend", json={"opinion": "同意推荐"})
    await world.call("province", "POST", "/api/v1/applications/exception-case/exception-decision",
                     json={"approved": False, "justification": "场地不足"})
    recommend, exception = world.uow.audit
    assert (recommend.action, recommend.target_id, recommend.application_ids, recommend.round_id,
            recommend.outcome, recommend.reason) == (
        "chain.recommend", "county-case", ["county-case"], "R1", "city_review", "同意推荐")
    assert (exception.action, exception.actor_organisation, exception.reason) == (
        "chain.exception_refuse", "42", "场地不足")
async def test_the_applicant_sees_the_department_that_gave_an_opinion_not_the_official(world: World) -> None:
    token = mint_test_token(world.keys, role=Role.COUNTY_OFFICIAL, organisation="420111", subject="u-7f3a", name="王磊")
    r = await world.http.post("/api/v1/applications/county-case/recommend", json={"opinion": "同意推荐"},
                              headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["opinions"][-1]["actor"]["id"] == "u-7f3a"  # officials see who
    mine = (await world.call("applicant", "GET", "/api/v1/cases/county-case")).json()["opinions"][-1]["actor"]
    assert mine == {"id": "洪山区经济和信息化局", "role": "county_official", "region_code": "420111"}
    assert (await world.call("city", "GET", "/api/v1/cases/county-case")).json()["opinions"][-1]["actor"]["id"] == (
        "u-7f3a")
