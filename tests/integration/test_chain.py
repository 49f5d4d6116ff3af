"""The recommendation chain on the real stack: county → city → province, with the applicant's timeline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from zhongshi_runtime.auth import Role

from tests.integration.helpers import Api, eventually

pytestmark = pytest.mark.integration


async def settings(api: Api, round_id: str, quotas: dict[str, int]) -> None:
    r = await api.call("PUT", "screening", f"/api/v1/rounds/{round_id}/settings", Role.PROVINCE_OFFICIAL, "42",
                       json={"round_id": round_id, "quotas": quotas})
    assert r.status_code == 200, r.text


async def act(api: Api, app_id: str, action: str, role: Role, scope: str, **body: Any) -> httpx.Response:
    return await api.call("POST", "screening", f"/api/v1/applications/{app_id}/{action}", role, scope, json=body)


async def status_becomes(api: Api, app_id: str, status: str) -> dict:  # type: ignore[type-arg]
    async def reached() -> dict | None:  # type: ignore[type-arg]
        app = await api.application(app_id)
        return app if app["status"] == status else None

    return await eventually(reached, what=f"{app_id} {status}")


async def test_county_city_province_each_step_reaches_the_applicant_with_its_opinion(
    api: Api, fresh_dossier: Callable[..., dict[str, Any]]
) -> None:
    round_id = await api.open_round()
    await settings(api, round_id, {"420100": 2})
    app = await api.submit(round_id, fresh_dossier(platform={"equipment_original_value": "8000000"}))
    await api.screened(app["id"])
    queue = (await api.call("GET", "screening", "/api/v1/queues/county", Role.COUNTY_OFFICIAL, "420111",
                            params={"round_id": round_id})).json()
    assert [i["id"] for i in queue["items"]] == [app["id"]] and queue["items"][0]["flagged"] == ["C5"]
    r = await act(api, app["id"], "recommend", Role.COUNTY_OFFICIAL, "420111", opinion="材料齐全，同意推荐")
    assert r.status_code == 200, r.text
    await status_becomes(api, app["id"], "city_review")
    r = await act(api, app["id"], "forward", Role.CITY_OFFICIAL, "420100", opinion="同意推荐至省厅")
    assert r.json()["stage"] == "exception_review"
    await status_becomes(api, app["id"], "exception_review")
    r = await act(api, app["id"], "exception-decision", Role.PROVINCE_OFFICIAL, "42",
                  approved=True, justification="依托共享设备，能力满足要求")
    final = await status_becomes(api, app["id"], "expert_review")
    steps = [t["event_type"].rsplit(".", 1)[1] for t in final["timeline"]]
    assert steps == ["submitted", "screened", "recommended", "forwarded", "exception-decided"]
    assert "同意推荐至省厅" in final["timeline"][3]["summary"]


async def test_return_correct_resubmit_comes_back_to_the_county_queue(
    api: Api, fresh_dossier: Callable[..., dict[str, Any]]
) -> None:
    round_id = await api.open_round()
    d = fresh_dossier()
    code = d["applicant"]["credit_code"]
    app = await api.submit(round_id, d)
    await api.screened(app["id"])
    await act(api, app["id"], "return", Role.COUNTY_OFFICIAL, "420111", opinion="请补充安全评价报告")
    returned = await status_becomes(api, app["id"], "returned")
    assert "请补充安全评价报告" in returned["timeline"][-1]["summary"]
    patch = {"materials": [*d["materials"], {"name": "安全评价报告", "kind": "safety", "sha256": "a" * 64}]}
    assert (await api.call("PATCH", "intake", f"/api/v1/applications/{app['id']}", Role.APPLICANT, code,
                           json=patch)).status_code == 200
    await api.call("POST", "intake", f"/api/v1/applications/{app['id']}/submit", Role.APPLICANT, code)

    async def back_in_queue() -> bool:
        queue = (await api.call("GET", "screening", "/api/v1/queues/county", Role.COUNTY_OFFICIAL, "420111",
                                params={"round_id": round_id})).json()["items"]
        return any(i["id"] == app["id"] and i["revision"] == 2 for i in queue)

    await eventually(back_in_queue, what="the resubmission in the county queue")
    case = (await api.call("GET", "screening", f"/api/v1/cases/{app['id']}", Role.APPLICANT, code)).json()
    assert case["opinions"] == []  # a fresh revision; the earlier opinion stays in the timeline

    async def steps() -> list[str] | None:  # intake records the second verdict when it consumes it
        found = [t["event_type"].rsplit(".", 1)[1] for t in (await api.application(app["id"]))["timeline"]]
        return found if len(found) >= 5 else None

    assert await eventually(steps, what="the second verdict in the timeline") == [
        "submitted", "screened", "returned", "submitted", "screened"]


async def test_concurrent_forwards_never_exceed_the_quota(
    api: Api, fresh_dossier: Callable[..., dict[str, Any]]
) -> None:
    round_id = await api.open_round()
    await settings(api, round_id, {"420100": 1})
    ids = []
    for _ in range(3):
        app = await api.submit(round_id, fresh_dossier())
        await api.screened(app["id"])
        await act(api, app["id"], "recommend", Role.COUNTY_OFFICIAL, "420111", opinion="同意推荐")
        ids.append(app["id"])
    results = await asyncio.gather(*(act(api, i, "forward", Role.CITY_OFFICIAL, "420100", opinion="同意")
                                     for i in ids))
    assert sorted(r.status_code for r in results) == [200, 409, 409]
    refusal = next(r for r in results if r.status_code == 409).json()["detail"]
    assert refusal == "武汉市本批次推荐指标为1个，已推荐1个，指标已用完"
    progress = (await api.call("GET", "screening", f"/api/v1/rounds/{round_id}/progress", Role.CITY_OFFICIAL,
                               "420100")).json()
    assert progress[0]["quota_used"] == 1 and progress[0]["by_stage"]["expert_review"] == 1


async def test_withdrawal_frees_the_quota_and_leaves_every_queue(
    api: Api, fresh_dossier: Callable[..., dict[str, Any]]
) -> None:
    round_id = await api.open_round()
    await settings(api, round_id, {"420100": 1})
    d = fresh_dossier()
    app = await api.submit(round_id, d)
    await api.screened(app["id"])
    await act(api, app["id"], "recommend", Role.COUNTY_OFFICIAL, "420111", opinion="同意推荐")
    await act(api, app["id"], "forward", Role.CITY_OFFICIAL, "420100", opinion="同意")
    await api.call("POST", "intake", f"/api/v1/applications/{app['id']}/withdraw", Role.APPLICANT,
                   d["applicant"]["credit_code"], json={"reason": "主动撤回"})

    async def freed() -> bool:
        rows = (await api.call("GET", "screening", f"/api/v1/rounds/{round_id}/progress", Role.PROVINCE_OFFICIAL,
                               "42")).json()
        wuhan = next(r for r in rows if r["city_code"] == "420100")
        return bool(wuhan["quota_used"] == 0 and wuhan["by_stage"]["withdrawn"] == 1)

    await eventually(freed, what="the quota freed")
    late = await act(api, app["id"], "exception-decision", Role.PROVINCE_OFFICIAL, "42", approved=True,
                     justification="同意")
    assert late.status_code == 409
