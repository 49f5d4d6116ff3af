"""The province's round page against stand-in services: the chain's stage deadlines set beside the quotas
(screening's ``PUT /rounds/{id}/settings``), keeping the quotas, with a refused date shown beside its field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from zhongshi_console.app import create_app
from zhongshi_console.sessions import SessionStore
from zhongshi_console.settings import ConsoleSettings

from .test_pages import csrf_of, sign_in

ROUND = {"id": "R1", "title": "2026年第一批", "opens_on": "2026-03-01", "closes_on": "2026-04-30",
         "rule_set_version": "v1", "required_materials": []}
REVIEW_SETTINGS = {"round_id": "R1", "panel_size": 5, "quota": 10, "accreditation_line": 80, "cultivation_line": 70,
                   "divergence_threshold": 15, "conflict_years": 3}
ANSWERS: dict[str, Any] = {
    "/api/v1/rounds/R1": ROUND, "/api/v1/rounds/R1/review-settings": REVIEW_SETTINGS,
    "/api/v1/rounds/R1/proposal": {"items": [], "incomplete": [], "confirmed_at": None},
    "/api/v1/rounds/R1/progress": [{"city_code": "420100", "quota_used": 1, "by_stage": {}, "overdue": 0}]}


class Screening:
    """A stand-in screening keeping the round's settings, changed a part at a time; it refuses a date as pydantic
    does."""

    def __init__(self) -> None:
        self.settings: dict[str, Any] = {"round_id": "R1", "quotas": {"420100": 3},
                                         "deadlines": {"county_review": "2026-05-10"}}
        self.patches: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/v1/rounds/R1/settings" and request.method == "PATCH":
            body = json.loads(request.content)
            self.patches.append(body)
            bad = [s for s, day in body.get("deadlines", {}).items() if day.count("-") != 2]
            if bad:
                return httpx.Response(422, json={"detail": [{"loc": ["body", "deadlines", bad[0]],
                                                             "type": "date_from_datetime_parsing", "msg": "x"}]})
            self.settings = {**self.settings, **body}
            return httpx.Response(200, json=self.settings)
        if path == "/api/v1/rounds/R1/settings":
            return httpx.Response(200, json=self.settings)
        if path in ANSWERS:
            return httpx.Response(200, json=ANSWERS[path])
        return httpx.Response(404, json={"detail": "不存在"})


@pytest.fixture
def screening() -> Screening:
    return Screening()


@pytest.fixture
def store() -> SessionStore:
    return SessionStore(idle_s=3600, max_sessions=100)


@pytest.fixture
def client(screening: Screening, store: SessionStore) -> Iterator[TestClient]:
    app = create_app(ConsoleSettings(), store=store, transport=httpx.MockTransport(screening))
    with TestClient(app, follow_redirects=False) as c:
        yield c


def test_the_province_sets_the_stage_deadlines_and_keeps_the_quotas(client: TestClient, store: SessionStore,
                                                                   screening: Screening) -> None:
    sign_in(client, store, "province_official", "42")
    page = client.get("/province/rounds/R1")
    assert page.status_code == 200 and "各环节办理期限" in page.text
    assert 'name="deadline.county_review" type="date" value="2026-05-10"' in page.text
    form = {"deadline.county_review": "2026-05-10", "deadline.city_review": " 2026-05-20 ",
            "deadline.exception_review": ""}
    assert client.post("/province/rounds/R1/deadlines", data=form).status_code == 403 and screening.patches == []
    saved = client.post("/province/rounds/R1/deadlines", data={**form, "csrf_token": csrf_of(page.text)})
    assert saved.status_code == 303 and saved.headers["location"] == "/province/rounds/R1#deadlines"
    assert screening.patches == [{"deadlines": {"county_review": "2026-05-10", "city_review": "2026-05-20"}}]
    assert screening.settings["quotas"] == {"420100": 3}
    assert 'name="deadline.city_review" type="date" value="2026-05-20"' in client.get("/province/rounds/R1").text
    refused = client.post("/province/rounds/R1/deadlines", data={**form, "deadline.city_review": "5月20日",
                                                                 "csrf_token": csrf_of(page.text)})
    assert refused.status_code == 422
    assert 'aria-invalid="true" aria-describedby="e-dl-city_review"' in refused.text
    assert '<p class="field-error" id="e-dl-city_review">请填写有效日期（年-月-日）</p>' in refused.text


def test_only_the_province_sets_deadlines(client: TestClient, store: SessionStore, screening: Screening) -> None:
    sign_in(client, store, "city_official", "420100")
    token = csrf_of(client.get("/official/round").text)
    assert client.get("/province/rounds/R1").status_code == 404
    done = client.post("/province/rounds/R1/deadlines", data={"deadline.city_review": "2026-05-20",
                                                              "csrf_token": token})
    assert done.status_code == 404 and screening.patches == []
