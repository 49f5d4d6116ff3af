"""After accreditation, against a stand-in registry: the applicant files the annual report (errors beside their
fields, another organisation's platform is the 404 page), the province evaluates, revokes and recommends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from zhongshi_console.app import create_app
from zhongshi_console.pages.lifecycle import NATIONAL_DIMENSIONS, province_step
from zhongshi_console.sessions import SessionStore
from zhongshi_console.settings import ConsoleSettings

from .test_pages import csrf_of, sign_in

CREDIT = "91420100MA0000001X"
ENTRY = {"id": "P-APP-1", "kind": "platform", "status": "warning", "status_label": "限期整改",
         "round_id": "R1", "platform_name": "光电子器件工艺放大中试平台",
         "applicant_name": "某公司", "applicant_credit_code": CREDIT, "city_code": "420100", "region_code": "420111",
         "certificate_no": "鄂中试〔2026〕001号", "accredited_on": "2026-12-01", "listed_on": "2026-12-01",
         "national_outcome": None, "history": [{"at": "2026-12-01T02:00:00Z", "action": "accredited"},
                                               {"at": "2026-12-04T02:00:00Z", "action": "evaluated_2026_good"},
                                               {"at": "2026-12-05T02:00:00Z", "action": "evaluated_2026_warning"}]}
REPORT = {"platform_id": "P-APP-1", "year": 2026, "service_projects": 12, "clients_served": 30,
          "service_revenue": "4800000.00", "technology_transfers": 2, "equipment_value": "12500000.00", "staff": 15,
          "filed_at": "2026-12-04T02:00:00Z", "shortfalls": ["年度服务收入低于 500 万元"]}
REPORT_FORM = {"year": "2026", "service_projects": "12", "clients_served": "30", "service_revenue": "4800000.00",
               "technology_transfers": "2", "equipment_value": "12500000.00", "staff": "15"}


class Registry:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        body: Any = json.loads(request.content) if request.content else None
        if method != "GET":
            self.calls.append((method, path, body))
        if path in ("/api/v1/public/platforms/P-APP-1", "/api/v1/public/platforms"):
            return httpx.Response(200, json=ENTRY if path.endswith("P-APP-1") else
                                  {"total": 1, "offset": 0, "limit": 50, "items": [ENTRY]})
        if path == "/api/v1/platforms/P-APP-1/annual-reports" and method == "GET":
            if request.headers["authorization"] == "Bearer other":
                return httpx.Response(403, json={"detail": "只能查看本单位平台的年度报告"})
            return httpx.Response(200, json=[REPORT])
        if path == "/api/v1/platforms/P-APP-1/annual-reports":
            if not str(body["service_revenue"]).replace(".", "").isdigit():
                refused = {"loc": ["body", "service_revenue"], "type": "decimal_parsing", "msg": "Input should be …"}
                return httpx.Response(422, json={"detail": [refused]})
            return httpx.Response(201, json=REPORT)
        if path == "/api/v1/platforms/P-APP-1/evaluations/2026":
            if body["standing"] == "warning" and "rectify_by" not in body:
                return httpx.Response(422, json={"detail": [{"loc": ["body", "rectify_by"], "type": "value_error",
                                                             "msg": "Value error, 限期整改须填写整改期限"}]})
            return httpx.Response(200, json=ENTRY)
        if path == "/api/v1/platforms/P-APP-1/revoke":
            return httpx.Response(409, json={"detail": "该平台已撤销"})
        return httpx.Response(404, json={"detail": "不存在"})


@pytest.fixture
def registry() -> Registry:
    return Registry()


@pytest.fixture
def store() -> SessionStore:
    return SessionStore(idle_s=3600, max_sessions=10)


@pytest.fixture
def client(registry: Registry, store: SessionStore) -> Iterator[TestClient]:
    app = create_app(ConsoleSettings(), store=store, transport=httpx.MockTransport(registry))
    with TestClient(app, follow_redirects=False) as c:
        yield c


def test_the_applicant_files_an_annual_report(client: TestClient, store: SessionStore, registry: Registry) -> None:
    sign_in(client, store, "applicant", CREDIT)
    page = client.get("/applicant/platforms/P-APP-1")
    assert page.status_code == 200 and "4,800,000 元" in page.text and "年度服务收入低于 500 万元" in page.text
    token = csrf_of(page.text)
    assert client.post("/applicant/platforms/P-APP-1/annual-reports", data=REPORT_FORM).status_code == 403
    bad = client.post("/applicant/platforms/P-APP-1/annual-reports",
                      data={**REPORT_FORM, "service_revenue": "四百万", "csrf_token": token})
    assert bad.status_code == 422 and 'id="e-ar-service_revenue">请填写数字金额' in bad.text, bad.text
    assert 'value="四百万"' in bad.text  # what was typed is kept
    done = client.post("/applicant/platforms/P-APP-1/annual-reports", data={**REPORT_FORM, "csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == "/applicant/platforms/P-APP-1?filed=2026"
    assert registry.calls[-1] == ("POST", "/api/v1/platforms/P-APP-1/annual-reports", REPORT_FORM)


def test_another_organisations_platform_is_the_404_page(client: TestClient, store: SessionStore) -> None:
    sign_in(client, store, "applicant", "91420100MA0000002Y")
    store.load(client.headers["Cookie"].split("=", 1)[1])["token"]["access_token"] = "other"
    assert client.get("/applicant/platforms/P-APP-1").status_code == 404
    assert client.get("/province/platforms/P-APP-1").status_code == 404  # the province's page, too


def test_the_province_evaluates_with_a_deadline_and_sees_a_refusal(client: TestClient, store: SessionStore,
                                                                  registry: Registry) -> None:
    sign_in(client, store, "province_official", "42")
    listed = client.get("/province/platforms", params={"q": "光电"})
    assert 'href="/province/platforms/P-APP-1"' in listed.text
    page = client.get("/province/platforms/P-APP-1")
    assert page.status_code == 200 and "2026年度：限期整改" in page.text and "未推荐" in page.text
    token = csrf_of(page.text)
    form = {"year": "2026", "standing": "warning", "reason": "服务收入未达标", "csrf_token": token}
    no_year = client.post("/province/platforms/P-APP-1/evaluate", data={**form, "year": ""})
    assert no_year.status_code == 422 and 'id="e-ev-year">请填写评价年度' in no_year.text
    missing = client.post("/province/platforms/P-APP-1/evaluate", data={**form, "rectify_by": ""})
    assert missing.status_code == 422 and 'id="e-ev-rectify_by">限期整改须填写整改期限' in missing.text
    done = client.post("/province/platforms/P-APP-1/evaluate", data={**form, "rectify_by": "2027-06-30"})
    assert done.status_code == 303
    assert registry.calls[-1] == ("POST", "/api/v1/platforms/P-APP-1/evaluations/2026",
                                  {"standing": "warning", "reason": "服务收入未达标", "rectify_by": "2027-06-30"})
    refused = client.post("/province/platforms/P-APP-1/revoke", data={"reason": "主动申请", "csrf_token": token})
    assert refused.status_code == 409 and "该平台已撤销" in refused.text
    assert client.post("/province/platforms/P-APP-1/delete", data={"csrf_token": token}).status_code == 404


def test_the_national_recommendation_sends_the_six_dimensions() -> None:
    form = {f"score.{d}": "85" for d in NATIONAL_DIMENSIONS} | {"notes.战略定位": "符合国家布局"}
    method, path, body = province_step("P-1", "recommend", form)
    assert (method, path) == ("POST", "/api/v1/platforms/P-1/national-recommendation")
    assert list(body["profile"]) == list(NATIONAL_DIMENSIONS)
    assert body["profile"]["战略定位"] == {"score": "85", "notes": "符合国家布局"}
    assert province_step("P-1", "outcome", {"outcome": "upgraded"}) == (
        "PUT", "/api/v1/platforms/P-1/national-recommendation/outcome", {"outcome": "upgraded"})
