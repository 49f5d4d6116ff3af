"""The city's round page against a stand-in screening: quota use, progress by county, and the priorities
saved in the order typed (bad or repeated ranks shown beside their row, nothing sent)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from zhongshi_console.app import create_app
from zhongshi_console.pages.city import ranked
from zhongshi_console.sessions import SessionStore
from zhongshi_console.settings import ConsoleSettings

from .test_pages import csrf_of, sign_in


def case(app_id: str, stage: str, region: tuple[str, str], overdue: bool = False,
         priority: int | None = None) -> dict[str, Any]:
    return {"id": app_id, "round_id": "R1", "stage": stage, "platform_name": f"{app_id}中试平台",
            "region_code": region[0], "region_name": region[1], "deadline": "2026-12-10", "overdue": overdue,
            "priority": priority}


JIANGAN, HONGSHAN = ("420102", "江岸区"), ("420111", "洪山区")
QUEUES = {"county": [case("A3", "county_review", JIANGAN, overdue=True)],
          "city": [case("A1", "city_review", HONGSHAN, priority=5), case("A2", "city_review", JIANGAN, priority=4)]}
PROGRESS = [{"city_code": "420100", "city_name": "武汉市", "quota": 5, "quota_used": 2, "overdue": 1,
             "by_stage": {"county_review": 1, "city_review": 2, "expert_review": 2}}]


class Screening:
    def __init__(self) -> None:
        self.put: list[Any] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.startswith("/api/v1/queues/"):
            assert request.url.params.get("round_id") in ("R1", None)
            items = QUEUES[path.rsplit("/", 1)[1]]
            return httpx.Response(200, json={"total": len(items), "offset": 0, "limit": 200, "items": items})
        if path == "/api/v1/rounds/R1/progress":
            return httpx.Response(200, json=PROGRESS)
        if path == "/api/v1/rounds/R1/priorities":
            self.put.append(json.loads(request.content))
            return httpx.Response(200, json=[])
        return httpx.Response(404, json={"detail": "不存在"})


@pytest.fixture
def screening() -> Screening:
    return Screening()


@pytest.fixture
def client(screening: Screening) -> Iterator[TestClient]:
    store = SessionStore(idle_s=3600, max_sessions=10)
    app = create_app(ConsoleSettings(), store=store, transport=httpx.MockTransport(screening))
    with TestClient(app, follow_redirects=False) as c:
        sign_in(c, store, "city_official", "420100")
        yield c


def test_the_city_sees_its_quota_and_each_countys_progress(client: TestClient) -> None:
    page = client.get("/official/rounds/R1")
    assert page.status_code == 200
    assert '<strong class="quota">5</strong>' in page.text and '<strong class="quota-used">2</strong>' in page.text
    assert "专家评审 2 件" in page.text
    rows = page.text.split('<table class="list counties">')[1].split("</table>")[0]
    assert "<td>江岸区</td><td>1</td><td>1</td>" in rows and "<td>洪山区</td><td>0</td><td>1</td>" in rows
    ranking = page.text.split('<table class="list ranking">')[1]
    assert ranking.index('data-application="A2"') < ranking.index('data-application="A1"')  # by priority
    # ranks count on after those already forwarded (three here): the form shows the places in this queue
    assert re.findall(r'name="rank\.(A\d)"[^>]*value="(\d+)"', ranking) == [("A2", "1"), ("A1", "2")]


def test_priorities_are_saved_in_the_order_typed(client: TestClient, screening: Screening) -> None:
    token = csrf_of(client.get("/official/rounds/R1").text)
    assert client.post("/official/rounds/R1/priorities", data={"rank.A1": "1", "rank.A2": "2"}).status_code == 403
    bad = client.post("/official/rounds/R1/priorities", data={"rank.A1": "1", "rank.A2": "1", "csrf_token": token})
    assert bad.status_code == 422 and '<p class="field-error" id="e-rank-1">排序 1 重复</p>' in bad.text
    assert screening.put == []
    done = client.post("/official/rounds/R1/priorities", data={"rank.A1": "1", "rank.A2": "2", "csrf_token": token})
    assert done.status_code == 303 and screening.put == [{"application_ids": ["A1", "A2"]}]


def test_ranks_out_of_range_are_named() -> None:
    cases = QUEUES["city"]
    assert ranked(cases, {"rank.A1": "2", "rank.A2": "1"}) == (["A2", "A1"], {})
    assert ranked(cases, {"rank.A1": "3", "rank.A2": "x"})[1] == {"rank.A1": "请填写 1 至 2 之间的整数",
                                                                 "rank.A2": "请填写 1 至 2 之间的整数"}


def test_the_county_has_no_city_round_page(screening: Screening) -> None:
    store = SessionStore(idle_s=3600, max_sessions=10)
    app = create_app(ConsoleSettings(), store=store, transport=httpx.MockTransport(screening))
    with TestClient(app, follow_redirects=False) as c:
        sign_in(c, store, "county_official", "420111")
        assert c.get("/official/rounds/R1").status_code == 404
        assert "推荐排序与指标" not in c.get("/official/queue").text
