"""The scoring deadline across services on the real stack: the round's review setting becomes `score_by` on
`pilot.review.panel-drawn` (review's outbox, Kafka), and notify tells each drawn expert the day to score by
and keeps the panel for its reminders."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from zhongshi_runtime.auth import Role
from zhongshi_runtime.clock import shanghai_date, utc_now

from tests.integration.helpers import Api, eventually
from tests.integration.test_chain import act, settings

pytestmark = pytest.mark.integration


Experts = tuple[str, str, dict[str, Any], str]  # round id, application id, dossier, the experts' tag


async def forwarded_to_review(
    api: Api, fresh_dossier: Callable[..., dict[str, Any]]
) -> tuple[str, str, dict[str, Any]]:
    round_id = await api.open_round()
    await settings(api, round_id, {"420100": 1})
    d = fresh_dossier()
    app = await api.submit(round_id, d)
    await api.screened(app["id"])
    for action, role, scope in [("recommend", Role.COUNTY_OFFICIAL, "420111"),
                                ("forward", Role.CITY_OFFICIAL, "420100")]:
        r = await act(api, app["id"], action, role, scope, opinion="同意推荐")
        assert r.status_code == 200, r.text
    return round_id, app["id"], d


@pytest.fixture
async def experts(api: Api, fresh_dossier: Callable[..., dict[str, Any]]) -> AsyncIterator[Experts]:
    """A round forwarded to review, and five experts for its clusters — retired afterwards, so that later
    draws on the session's stack never pick them."""
    round_id, app_id, d = await forwarded_to_review(api, fresh_dossier)
    tag = uuid.uuid4().hex[:6]
    pool = [{"id": f"X{tag}-{n}", "name": f"专家{n}", "organisation": f"某研究院{tag}{n}", "title": "研究员",
             "fields": d["platform"]["clusters"], "region_code": "420102"} for n in range(5)]

    async def put(expert: dict[str, Any]) -> None:
        r = await api.call("PUT", "review", f"/api/v1/experts/{expert['id']}", Role.PROVINCE_OFFICIAL, "42",
                           json=expert)
        assert r.status_code == 200, r.text

    for expert in pool:
        await put(expert)
    yield round_id, app_id, d, tag
    for expert in pool:
        await put({**expert, "active": False})


async def test_drawn_experts_are_told_the_rounds_scoring_deadline(api: Api, experts: Experts) -> None:
    round_id, app_id, d, _ = experts
    r = await api.call("PUT", "review", f"/api/v1/rounds/{round_id}/review-settings", Role.PROVINCE_OFFICIAL, "42",
                       json={"round_id": round_id, "scoring_days": 6})
    assert r.status_code == 200, r.text
    r = await api.call("POST", "review", f"/api/v1/rounds/{round_id}/draw-commitment", Role.PROVINCE_OFFICIAL, "42")
    assert r.status_code == 201, r.text

    async def drawn() -> dict[str, Any] | None:  # review has the candidate once it consumed `forwarded`
        r = await api.call("POST", "review", f"/api/v1/rounds/{round_id}/panels", Role.PROVINCE_OFFICIAL, "42",
                           json={"application_ids": [app_id]})
        assert r.status_code == 200, r.text
        return next(iter(r.json()), None)

    panel = await eventually(drawn, what="a panel drawn")
    score_by = shanghai_date(utc_now()) + timedelta(days=6)
    assert panel["score_by"] == score_by.isoformat()
    lead = panel["experts"][0]

    async def told() -> list[dict[str, Any]] | None:
        r = await api.call("GET", "notify", "/api/v1/inbox", Role.EXPERT, lead)
        return [m for m in r.json()["items"] if m["application_id"] == app_id] or None

    [message] = await eventually(told, what="the lead told of the assignment")
    assert message["title"] == f"评审任务：“{d['platform']['name']}”"
    assert f"于{score_by.year}年{score_by.month}月{score_by.day}日前完成评分" in message["body"]
    assert "（您为评审组组长）" in message["body"]
