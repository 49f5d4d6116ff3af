"""Intake's HTTP API over in-memory fakes: validation, windows, transitions, idempotency, scope."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from zhongshi_contracts.events import ApplicationSubmitted
from zhongshi_intake import api
from zhongshi_intake.domain import Status, TimelineEntry
from zhongshi_intake.metrics import IntakeMetrics
from zhongshi_intake.repository import InMemoryIntakeRepository
from zhongshi_intake.service import Deps
from zhongshi_runtime.auth import Role
from zhongshi_runtime.testing import InMemoryUnitOfWork, api_app, mint_test_token

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
ROUND = {"id": "R2026-01", "title": "2026年度第一批", "opens_on": "2026-11-01", "closes_on": "2026-12-31",
         "rule_set_version": "hubei-2025-v1"}


class Client:
    app: FastAPI  # set by the fixture once the app is built
    repo: InMemoryIntakeRepository

    def __init__(self, keys: Path, http: httpx.AsyncClient, uow: InMemoryUnitOfWork) -> None:
        self.keys, self.http, self.uow = keys, http, uow

    def auth(self, role: Role, scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_test_token(self.keys, role=role, organisation=scope)}"}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    app = api_app(tmp_path, api.router)
    uow, repo = InMemoryUnitOfWork(), InMemoryIntakeRepository()
    await repo.learn_rule_set(ROUND["rule_set_version"])  # as screening announces it
    app.state.deps = Deps(repo, uow, lambda: app.state.now, IntakeMetrics(CollectorRegistry()))
    app.state.now = NOW
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        c = Client(tmp_path, http, uow)
        c.app, c.repo = app, repo
        assert (await http.post("/api/v1/rounds", json=ROUND,
                                headers=c.auth(Role.PROVINCE_OFFICIAL, "42"))).status_code == 201
        yield c


async def create(client: Client, dossier: dict, key: str | None = None) -> httpx.Response:  # type: ignore[type-arg]
    headers = client.auth(Role.APPLICANT, dossier["applicant"]["credit_code"])
    if key:
        headers["Idempotency-Key"] = key
    return await client.http.post("/api/v1/applications", json={"round_id": "R2026-01", "dossier": dossier},
                                  headers=headers)


async def test_draft_submit_then_read_with_timeline(
    client: Client, dossier_json: Callable[..., dict[str, Any]]
) -> None:
    d = dossier_json()
    app = (await create(client, d)).json()
    assert app["status"] == "draft" and app["city_code"] == "420100"
    me = client.auth(Role.APPLICANT, d["applicant"]["credit_code"])
    submitted = (await client.http.post(f"/api/v1/applications/{app['id']}/submit", headers=me)).json()
    assert submitted["status"] == "submitted" and submitted["revision"] == 1
    assert [t["event_type"] for t in submitted["timeline"]] == ["pilot.application.submitted"]
    [event] = client.uow.published
    assert isinstance(event, ApplicationSubmitted)
    assert event.revision == 1 and event.rule_set_version == "hubei-2025-v1" and event.dossier.platform.name


async def test_submitting_twice_is_a_409_and_emits_nothing_more(
    client: Client, dossier_json: Callable[..., dict[str, Any]]
) -> None:
    d = dossier_json()
    app = (await create(client, d)).json()
    me = client.auth(Role.APPLICANT, d["applicant"]["credit_code"])
    await client.http.post(f"/api/v1/applications/{app['id']}/submit", headers=me)
    again = await client.http.post(f"/api/v1/applications/{app['id']}/submit", headers=me)
    assert again.status_code == 409 and "不能提交" in again.json()["detail"]
    assert len(client.uow.published) == 1


async def test_submission_outside_the_window_is_a_409_naming_the_window(
    client: Client, dossier_json: Callable[..., dict[str, Any]]
) -> None:
    d = dossier_json()
    app = (await create(client, d)).json()
    client.app.state.now = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)  # 2027-01-01 00:00 in Shanghai
    r = await client.http.post(f"/api/v1/applications/{app['id']}/submit",
                               headers=client.auth(Role.APPLICANT, d["applicant"]["credit_code"]))
    assert r.status_code == 409 and "2026-11-01至2026-12-31" in r.json()["detail"]
    assert client.uow.published == []


async def test_the_last_day_of_the_window_in_shanghai_is_inside(
    client: Client, dossier_json: Callable[..., dict[str, Any]]
) -> None:
    d = dossier_json()
    app = (await create(client, d)).json()
    client.app.state.now = datetime(2026, 12, 31, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai
    r = await client.http.post(f"/api/v1/applications/{app['id']}/submit",
                               headers=client.auth(Role.APPLICANT, d["applicant"]["credit_code"]))
    assert r.status_code == 200


@pytest.mark.parametrize(("changes", "location"), [
    ({"applicant": {"credit_code": "91350100M000100Y44"}}, ["body", "dossier", "applicant", "credit_code"]),
    ({"applicant": {"region_code": "110101"}}, ["body", "dossier", "applicant", "region_code"]),
    ({"platform": {"clusters": ["steam"]}}, ["body", "dossier", "platform", "clusters", 0]),
    ({"platform": {"site_area_m2": "-5"}}, ["body", "dossier", "platform", "site_area_m2"]),
    ({"outcomes": {"technology_transfers": [{"date": "2027-01-01", "title": "x", "client": "y"}]}},
     ["body", "dossier", "outcomes", "technology_transfers", "0", "date"]),
])
async def test_bad_input_is_a_422_naming_the_field_and_stores_nothing(
    client: Client, dossier_json: Callable[..., dict[str, Any]], changes: dict[str, Any], location: list[str | int]
) -> None:
    d = dossier_json(**changes)
    headers = client.auth(Role.APPLICANT, dossier_json()["applicant"]["credit_code"])
    r = await client.http.post("/api/v1/applications", json={"round_id": "R2026-01", "dossier": d}, headers=headers)
    assert r.status_code == 422
    assert location in [e["loc"] for e in r.json()["detail"]]
    listing = await client.http.get("/api/v1/applications", headers=headers)
    assert listing.json()["total"] == 0


async def test_an_unknown_round_is_a_422_on_round_id(
    client: Client, dossier_json: Callable[..., dict[str, Any]]
) -> None:
    d = dossier_json()
    r = await client.http.post("/api/v1/applications", json={"round_id": "R9", "dossier": d},
                               headers=client.auth(Role.APPLICANT, d["applicant"]["credit_code"]))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "round_id"]


async def test_the_same_idempotency_key_returns_the_same_draft(
    client: Client, dossier_json: Callable[..., dict[str, Any]]
) -> None:
    d = dossier_json()
    first, second = await create(client, d, key="k1"), await create(client, d, key="k1")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]


async def test_patch_merges_into_a_draft_and_revalidates(
    client: Client, dossier_json: Callable[..., dict[str, Any]]
) -> None:
    d = dossier_json()
    app = (await create(client, d)).json()
    me = client.auth(Role.APPLICANT, d["applicant"]["credit_code"])
    ok = await client.http.patch(f"/api/v1/applications/{app['id']}", json={"platform": {"site_area_m2": "900"}},
                                 headers=me)
    assert ok.status_code == 200 and Decimal(ok.json()["dossier"]["platform"]["site_area_m2"]) == 900
    bad = await client.http.patch(f"/api/v1/applications/{app['id']}", json={"platform": {"site_area_m2": "x"}},
                                  headers=me)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "site_area_m2"


async def test_withdrawal_is_final(client: Client, dossier_json: Callable[..., dict[str, Any]]) -> None:
    d = dossier_json()
    app = (await create(client, d)).json()
    me = client.auth(Role.APPLICANT, d["applicant"]["credit_code"])
    draft = await client.http.post(f"/api/v1/applications/{app['id']}/withdraw", json={"reason": "x"}, headers=me)
    assert draft.status_code == 409 and "删除草稿" in draft.json()["detail"]  # never submitted: nothing announced
    await client.http.post(f"/api/v1/applications/{app['id']}/submit", headers=me)
    w = await client.http.post(f"/api/v1/applications/{app['id']}/withdraw", json={"reason": "调整方案"}, headers=me)
    assert w.json()["status"] == "withdrawn"
    again = await client.http.post(f"/api/v1/applications/{app['id']}/withdraw", headers=me)
    assert again.status_code == 409
    topics = [e.topic.name for e in client.uow.published]
    assert topics == ["pilot.application.submitted", "pilot.application.withdrawn"]


async def test_access_401_403_404(client: Client, dossier_json: Callable[..., dict[str, Any]]) -> None:
    d = dossier_json()
    app = (await create(client, d)).json()
    url = f"/api/v1/applications/{app['id']}"
    assert (await client.http.get(url)).status_code == 401
    assert (await client.http.get(url, headers={"Authorization": "Bearer junk"})).status_code == 401
    assert (await client.http.get(url, headers=client.auth(Role.EXPERT, "E1"))).status_code == 403
    other = dossier_json(1)["applicant"]["credit_code"]
    assert (await client.http.get(url, headers=client.auth(Role.APPLICANT, other))).status_code == 404
    assert (await client.http.get(url, headers=client.auth(Role.COUNTY_OFFICIAL, "420115"))).status_code == 404
    assert (await client.http.get(url, headers=client.auth(Role.CITY_OFFICIAL, "420500"))).status_code == 404
    for role, scope in [(Role.COUNTY_OFFICIAL, "420111"), (Role.CITY_OFFICIAL, "420100"),
                        (Role.PROVINCE_OFFICIAL, "42")]:
        assert (await client.http.get(url, headers=client.auth(role, scope))).status_code == 200
    # an applicant cannot apply in another's name, nor open rounds
    r = await client.http.post(
        "/api/v1/applications", json={"round_id": "R2026-01", "dossier": dossier_json(1)},
        headers=client.auth(Role.APPLICANT, d["applicant"]["credit_code"]))
    assert r.status_code == 403
    assert (await client.http.post("/api/v1/rounds", json={**ROUND, "id": "R2"},
                                   headers=client.auth(Role.APPLICANT, "x"))).status_code == 403


async def test_listings_are_narrowed_to_the_callers_scope(
    client: Client, dossier_json: Callable[..., dict[str, Any]]
) -> None:
    for i in (0, 1, 7):  # 洪山区 and 江夏区 in 武汉; 大冶 in 黄石
        await create(client, dossier_json(i))

    async def total(role: Role, scope: str, **params: str) -> int:
        r = await client.http.get("/api/v1/applications", params=params, headers=client.auth(role, scope))
        return int(r.json()["total"])

    assert await total(Role.PROVINCE_OFFICIAL, "42") == 3
    assert await total(Role.CITY_OFFICIAL, "420100") == 2
    assert await total(Role.CITY_OFFICIAL, "420100", city_code="420200") == 0
    assert await total(Role.COUNTY_OFFICIAL, "420111") == 1
    assert await total(Role.APPLICANT, dossier_json(7)["applicant"]["credit_code"]) == 1


# ---- audit: each state change leaves exactly one record naming the person; a refusal leaves none ----

async def test_opening_the_round_is_audited_with_the_official(client: Client) -> None:
    [record] = client.uow.audit
    assert (record.action, record.target_kind, record.target_id, record.round_id) == (
        "round.open", "round", "R2026-01", "R2026-01")
    assert (record.actor_subject, record.actor_role, record.actor_organisation) == (
        "province_official:42", "province_official", "42")


async def test_each_applicant_step_writes_one_record_and_a_refusal_none(
    client: Client, dossier_json: Callable[..., dict[str, Any]]
) -> None:
    d = dossier_json()
    code = d["applicant"]["credit_code"]
    me = client.auth(Role.APPLICANT, code)
    app = (await create(client, d)).json()
    await client.http.patch(f"/api/v1/applications/{app['id']}", json={"platform": {"name": "新名称中试平台"}},
                            headers=me)
    await client.http.post(f"/api/v1/applications/{app['id']}/submit", headers={**me, "X-Request-ID": "r-42"})
    refused = await client.http.post(f"/api/v1/applications/{app['id']}/submit", headers=me)
    assert refused.status_code == 409
    await client.http.post(f"/api/v1/applications/{app['id']}/withdraw", json={"reason": "资料需补充"}, headers=me)
    mine = client.uow.audit[1:]
    assert [(r.action, r.outcome) for r in mine] == [
        ("application.create", "draft"), ("application.edit", "draft"), ("application.submit", "submitted"),
        ("application.withdraw", "withdrawn")]
    assert {(r.actor_subject, r.actor_organisation, r.target_id) for r in mine} == {
        (f"applicant:{code}", code, app["id"])}
    assert all(r.application_ids == [app["id"]] and r.round_id == "R2026-01" for r in mine)
    assert mine[2].request_id == "r-42" and mine[3].reason == "资料需补充"


async def test_a_forbidden_or_invalid_request_writes_nothing(
    client: Client, dossier_json: Callable[..., dict[str, Any]]
) -> None:
    d = dossier_json()
    other = client.auth(Role.APPLICANT, "91420100MA4K000000")
    forbidden = await client.http.post("/api/v1/applications", json={"round_id": "R2026-01", "dossier": d},
                                       headers=other)
    again = await client.http.post("/api/v1/rounds", json={**ROUND, "title": "重复"},
                                   headers=client.auth(Role.PROVINCE_OFFICIAL, "42"))
    assert (forbidden.status_code, again.status_code) == (403, 409)
    assert [r.action for r in client.uow.audit] == ["round.open"]


async def test_the_applicant_reads_which_department_acted_not_which_official(
    client: Client, dossier_json: Callable[..., dict[str, Any]]
) -> None:
    d = dossier_json()
    app_id = (await create(client, d)).json()["id"]
    stored = await client.repo.get(app_id)
    step = TimelineEntry(at=NOW, event_type="pilot.application.recommended", event_id="e1", status=Status.CITY_REVIEW,
                         actor_role="county_official", summary="县级经信部门已推荐",
                         details={"actor": {"id": "u-7f3a", "role": "county_official", "region_code": "420111"}})
    await client.repo.save(stored.model_copy(update={"timeline": [*stored.timeline, step]}))
    mine = client.auth(Role.APPLICANT, d["applicant"]["credit_code"])
    seen = (await client.http.get(f"/api/v1/applications/{app_id}", headers=mine)).json()["timeline"][-1]
    assert seen["details"]["actor"] == {"id": "洪山区经济和信息化局", "role": "county_official",
                                        "region_code": "420111"}
    province = client.auth(Role.PROVINCE_OFFICIAL, "42")
    official = (await client.http.get(f"/api/v1/applications/{app_id}", headers=province)).json()["timeline"][-1]
    assert official["details"]["actor"]["id"] == "u-7f3a"


async def test_a_round_naming_a_rule_set_screening_never_published_is_refused(client: Client) -> None:
    province = client.auth(Role.PROVINCE_OFFICIAL, "42")
    r = await client.http.post("/api/v1/rounds", json={**ROUND, "id": "R-typo", "rule_set_version": "hubei-2O25-v1"},
                               headers=province)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "rule_set_version"] and "规则集" in r.json()["detail"][0]["msg"]
    assert (await client.http.get("/api/v1/rounds/R-typo", headers=province)).status_code == 404


def _applicant(
    dossier_json: Callable[..., dict[str, Any]], code17: str, region_code: str, kind: str = "enterprise"
) -> dict[str, Any]:
    from zhongshi_contracts.credit_code import make_credit_code

    return dossier_json(applicant={"credit_code": make_credit_code(code17), "region_code": region_code,
                                   "legal_person_kind": kind})


@pytest.mark.parametrize(("code17", "region_code", "kind", "field"), [
    ("91420111MA0000001", "420115", "enterprise", "region_code"),  # registered in 洪山区, declares 江夏区
    ("91420100MA0000002", "420202", "enterprise", "region_code"),  # registered in 武汉市, declares 黄石
    ("91110105MA0000003", "420111", "enterprise", "region_code"),  # registered in Beijing
    ("92420111MA0000004", "420111", "enterprise", "legal_person_kind"),  # 个体工商户 is no legal person
    ("12420111MA0000005", "420111", "enterprise", "legal_person_kind"),  # 事业单位 declared as an enterprise
])
async def test_a_dossier_whose_credit_code_contradicts_its_region_or_kind_is_refused(
        client: Client, dossier_json: Callable[..., dict[str, Any]], code17: str, region_code: str, kind: str,
        field: str) -> None:
    r = await create(client, _applicant(dossier_json, code17, region_code, kind))
    assert r.status_code == 422, r.text
    [problem] = r.json()["detail"]
    assert problem["loc"] == ["body", "dossier", "applicant", field] and "统一社会信用代码" in problem["msg"]


@pytest.mark.parametrize(("code17", "region_code", "kind"), [
    ("91420100MA0000006", "420111", "enterprise"),  # registered with the city: any of its counties
    ("91420000MA0000007", "420202", "enterprise"),  # registered with the province
    ("91100000MA0000008", "420111", "enterprise"),  # registered nationally
    ("91420111MA0000009", "420111", "unincorporated"),  # a branch of an enterprise
    ("12420111MA0000010", "420111", "public_institution"),
])
async def test_a_credit_code_agreeing_with_region_and_kind_is_accepted(
        client: Client, dossier_json: Callable[..., dict[str, Any]], code17: str, region_code: str,
        kind: str) -> None:
    r = await create(client, _applicant(dossier_json, code17, region_code, kind))
    assert r.status_code == 201, r.text


async def test_a_returned_application_cannot_move_to_another_county(
    client: Client, dossier_json: Callable[..., dict[str, Any]]
) -> None:
    from zhongshi_intake.domain import Status

    d = _applicant(dossier_json, "91420100MA0000011", "420111")  # the code allows any Wuhan county
    app = (await create(client, d)).json()
    me = client.auth(Role.APPLICANT, d["applicant"]["credit_code"])
    assert (await client.http.patch(f"/api/v1/applications/{app['id']}", json={"applicant": {"region_code": "420115"}},
                                    headers=me)).status_code == 200  # a draft may still correct its county
    assert (await client.http.post(f"/api/v1/applications/{app['id']}/submit", headers=me)).status_code == 200
    stored = await client.repo.get(app["id"])
    await client.repo.save(stored.model_copy(update={"status": Status.RETURNED}))
    moved = await client.http.patch(f"/api/v1/applications/{app['id']}", json={"applicant": {"region_code": "420111"}},
                                    headers=me)
    assert moved.status_code == 409 and "县市区" in moved.json()["detail"], moved.text
    assert (await client.repo.get(app["id"])).region_code == "420115"


@pytest.mark.parametrize("invisible", ["\u202e", "\u2066", "\u200b", "\u200d", "\ufeff", "\u00ad"])
async def test_a_name_with_a_bidi_or_format_character_is_refused_naming_the_field(
        client: Client, dossier_json: Callable[..., dict[str, Any]], invisible: str) -> None:
    d = dossier_json()
    d["applicant"]["name"] = "武汉光谷" + invisible + "光电子技术研究院有限公司"
    r = await create(client, d)
    assert r.status_code == 422, r.text
    [problem] = r.json()["detail"]
    assert problem["loc"] == ["body", "dossier", "applicant", "name"] and "格式控制字符" in problem["msg"]
