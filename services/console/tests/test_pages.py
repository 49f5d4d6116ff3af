"""The console's pages against stand-in services (httpx MockTransport): CSRF, the 404 page, role guards,
validation errors in Chinese next to their field. The browser tests run the same against the real stack."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from zhongshi_console.app import create_app
from zhongshi_console.sessions import COOKIE, SessionStore
from zhongshi_console.settings import ConsoleSettings

PUBLICITY = {"round_id": "R1", "working_days": 5, "starts_on": "2026-12-01", "ends_on": "2026-12-07",
             "opened_at": "2026-12-01T01:00:00Z", "closed_at": None, "objections": [],
             "items": [{"application_id": "APP-1", "platform_name": "光电子器件工艺放大中试平台",
                        "applicant_name": "某公司",
                        "city_code": "420100", "region_code": "420111", "platform_type": None, "clusters": [],
                        "decision": "accredit"}]}


ASSIGNMENT = {"application_id": "APP-1", "platform_name": "光电平台", "lead": False, "my_sheet": None,
              "dossier": {"applicant": {"name": "某公司"}, "platform": {"equipment_original_value": "12500000.00",
                                                                     "operating_since": "2020-03-01"}},
              "screening_report": [], "opinions": [],
              "rubric": {"version": "v1", "comment_at_or_below": 3, "comment_at_or_above": 9,
                         "criteria": [{"key": "technology", "title": "技术水平", "weight": "60", "max_score": 10},
                                      {"key": "service", "title": "服务能力", "weight": "40", "max_score": 10}]}}


class Services:
    """What the stand-in services saw and answer."""

    def __init__(self) -> None:
        self.posted: list[tuple[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/v1/public/publicity/R1":
            return httpx.Response(200, json=PUBLICITY)
        if path == "/api/v1/publicity/R1/objections":
            body = json.loads(request.content)
            self.posted.append((path, body))
            if len(body["contact"]) < 5:
                return httpx.Response(422, json={"detail": [{"loc": ["body", "contact"], "type": "string_too_short",
                                                             "msg": "String should have at least 5 characters",
                                                             "ctx": {"min_length": 5}}]})
            return httpx.Response(201, json={"id": "OBJ-1", "application_id": body["application_id"]})
        if path == "/api/v1/public/platforms":
            self.posted.append((path, dict(request.url.params)))
            return httpx.Response(200, json={"total": 0, "offset": 0, "limit": 20, "items": []})
        if path == "/api/v1/assignments/APP-1":
            return httpx.Response(200, json=ASSIGNMENT)
        if path == "/api/v1/assignments/APP-1/score":
            sheet = json.loads(request.content)
            self.posted.append((path, sheet))
            if sheet["scores"].get("technology", 0) <= 3 and "technology" not in sheet["comments"]:
                return httpx.Response(422, json={"detail": [{"loc": ["body", "scores", "technology"],
                                                             "msg": "技术水平评分不高于3分，须填写评语",
                                                             "type": "value_error"}]})
            return httpx.Response(200, json={})
        if path.startswith("/api/v1/inbox/") and path.endswith("/read"):
            self.posted.append((request.url.raw_path.decode(), None))  # the id stays one path segment
            return httpx.Response(200, json={"read": True})
        if path == "/api/v1/preferences":
            if request.method == "PUT":
                self.posted.append((path, json.loads(request.content)))
            return httpx.Response(200, json={"email": True, "sms": False})
        if path == "/api/v1/assignments/APP-1/decline":
            reason = json.loads(request.content)["reason"]
            self.posted.append((path, reason))
            if len(reason) < 2:
                return httpx.Response(422, json={"detail": [{"loc": ["body", "reason"], "type": "string_too_short",
                                                             "msg": "String should have at least 2 characters",
                                                             "ctx": {"min_length": 2}}]})
            return httpx.Response(200, json={})
        if path == "/api/v1/inbox":
            return httpx.Response(200, json={"unread": 1, "items": [
                {"id": "m1", "title": "申报已受理", "body": "您的申报已进入县级初审。", "read": False,
                 "application_id": "APP-1", "event_type": "x", "created_at": "2026-12-04T02:00:00Z"}]})
        return httpx.Response(404, json={"detail": "不存在"})


@pytest.fixture
def services() -> Services:
    return Services()


@pytest.fixture
def store() -> SessionStore:
    return SessionStore(idle_s=3600, max_sessions=100)


@pytest.fixture
def client(services: Services, store: SessionStore) -> Iterator[TestClient]:
    app = create_app(ConsoleSettings(), store=store, transport=httpx.MockTransport(services))
    with TestClient(app, follow_redirects=False) as c:
        yield c


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the form carries no CSRF token"
    return found.group(1)


def sign_in(client: TestClient, store: SessionStore, role: str, organisation: str) -> None:
    sid, data = store.create()
    data.update(user={"subject": "u1", "name": "张三", "role": role, "organisation": organisation},
                token={"access_token": "t", "refresh_token": None, "expires_at": time.time() + 3600})
    client.headers["Cookie"] = f"{COOKIE}={sid}"


def test_the_objection_form_is_refused_without_its_csrf_token(client: TestClient, store: SessionStore,
                                                              services: Services) -> None:
    sign_in(client, store, "applicant", "91420100MA0000001X")  # a signed-in person objects without a code
    page = client.get("/publicity", params={"round": "R1"})
    assert page.status_code == 200 and "提出异议" in page.text
    form = {"application_id": "APP-1", "name": "李四", "contact": "13800000000",
            "grounds": "该平台设备原值与实际不符。"}
    refused = client.post("/publicity/R1/objections", data=form)
    assert refused.status_code == 403 and "请求已被拒绝" in refused.text
    wrong = client.post("/publicity/R1/objections", data={**form, "csrf_token": "forged"})
    assert wrong.status_code == 403
    assert services.posted == []  # nothing reached the registry
    filed = client.post("/publicity/R1/objections", data={**form, "csrf_token": csrf_of(page.text)})
    assert filed.status_code == 200 and "异议已受理" in filed.text and "OBJ-1" in filed.text


def test_a_refused_field_shows_its_chinese_message_next_to_it(client: TestClient, store: SessionStore) -> None:
    sign_in(client, store, "applicant", "91420100MA0000001X")
    token = csrf_of(client.get("/publicity", params={"round": "R1"}).text)
    form = {"application_id": "APP-1", "name": "李四", "contact": "138", "grounds": "该平台设备原值与实际不符。",
            "csrf_token": token}
    shown = client.post("/publicity/R1/objections", data=form)
    assert shown.status_code == 422
    next_to_field = (r'id="o-contact"[^>]*aria-invalid="true".*?'
                     r'<p class="field-error" id="e-contact">至少填写 5 个字符</p>')
    assert re.search(next_to_field, shown.text, re.S)
    assert "should have" not in shown.text
    assert 'value="138"' in shown.text  # what was typed is kept


def test_an_unknown_page_is_the_console_404_page(client: TestClient) -> None:
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "页面不存在" in page.text and "Traceback" not in page.text


def test_a_role_page_asks_to_log_in_and_remembers_the_page(client: TestClient) -> None:
    response = client.get("/applicant/inbox")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/applicant/inbox"


def test_another_roles_page_is_the_404_page_and_the_menu_is_the_roles_own(client: TestClient,
                                                                          store: SessionStore) -> None:
    sign_in(client, store, "applicant", "91420100MA0000001X")
    inbox = client.get("/applicant/inbox")
    assert inbox.status_code == 200 and "申报已受理" in inbox.text and "2026年12月4日 10:00" in inbox.text
    assert 'data-role="applicant"' in inbox.text and "待办审核" not in inbox.text
    for other in ("/official/queue", "/official/cases/APP-1"):
        page = client.get(other)
        assert page.status_code == 404 and "页面不存在" in page.text, other


def test_logout_needs_the_token_and_ends_the_session(client: TestClient, store: SessionStore) -> None:
    sign_in(client, store, "applicant", "91420100MA0000001X")
    token = csrf_of(client.get("/applicant/inbox").text)
    assert client.post("/logout").status_code == 403
    out = client.post("/logout", data={"csrf_token": token})
    assert out.status_code == 303
    assert client.get("/applicant/inbox").status_code == 303  # signed out: login again


def test_probes_and_metrics(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").status_code == 503  # the stand-in registry has no /health
    client.post("/logout")
    metrics = client.get("/metrics").text
    assert "zhongshi_console_csrf_refused_total 1.0" in metrics
    assert 'zhongshi_http_requests_total{method="POST",route="/logout",service="console",status="4xx"} 1.0' in metrics


def test_a_bad_registry_filter_is_named_in_chinese_and_the_others_still_apply(client: TestClient,
                                                                               services: Services) -> None:
    page = client.get("/registry", params={"city": "wuhan", "q": "光电", "offset": "-1"})
    assert page.status_code == 422
    assert "市州（格式不正确）" in page.text and "页码（不能小于 0）" in page.text
    assert services.posted == [("/api/v1/public/platforms", {"q": "光电", "offset": "0", "limit": "20"})]


def test_an_expert_scores_and_a_missing_comment_is_shown_by_its_criterion(client: TestClient, store: SessionStore,
                                                                          services: Services) -> None:
    sign_in(client, store, "expert", "E001")
    page = client.get("/expert/assignments/APP-1")
    assert page.status_code == 200 and "12,500,000 元" in page.text and "2020年3月1日" in page.text
    form = {"csrf_token": csrf_of(page.text), "score.technology": "2", "score.service": "7", "comment.service": ""}
    shown = client.post("/expert/assignments/APP-1/score", data=form)
    assert shown.status_code == 422
    assert '<p class="field-error" id="e-technology">技术水平评分不高于3分，须填写评语</p>' in shown.text
    assert services.posted[-1] == ("/api/v1/assignments/APP-1/score",
                                   {"scores": {"technology": 2, "service": 7}, "comments": {}, "overall_comment": ""})
    done = client.post("/expert/assignments/APP-1/score", data={**form, "comment.technology": "工艺放大能力不足"})
    assert done.status_code == 303 and done.headers["location"] == "/expert/assignments/APP-1"


def test_a_message_is_marked_read_from_the_inbox(client: TestClient, store: SessionStore, services: Services) -> None:
    sign_in(client, store, "applicant", "91420100MA0000001X")
    inbox = client.get("/applicant/inbox")
    done = client.post("/applicant/inbox/read", data={"message_id": "m1/x", "csrf_token": csrf_of(inbox.text)})
    assert done.status_code == 303 and services.posted == [("/api/v1/inbox/m1%2Fx/read", None)]


def test_the_province_decides_an_exception_and_departments_give_opinions() -> None:
    from zhongshi_console.pages.officials import step

    reason = "设备原值接近要求，同意例外"
    assert step("A1", "approve", reason) == (
        "POST", "/api/v1/applications/A1/exception-decision", {"approved": True, "justification": reason})
    assert step("A1", "return", "请补充材料") == ("POST", "/api/v1/applications/A1/return", {"opinion": "请补充材料"})


def test_notification_preferences_are_saved_from_the_inbox(client: TestClient, store: SessionStore,
                                                           services: Services) -> None:
    sign_in(client, store, "applicant", "91420100MA0000001X")
    inbox = client.get("/applicant/inbox")
    assert re.search(r'name="email" value="true" checked', inbox.text) and 'name="sms" value="true">' in inbox.text
    saved = client.post("/applicant/preferences", data={"sms": "true", "csrf_token": csrf_of(inbox.text)})
    assert saved.status_code == 303 and services.posted == [("/api/v1/preferences", {"email": False, "sms": True})]


def test_an_expert_declares_a_conflict_with_a_reason(client: TestClient, store: SessionStore,
                                                     services: Services) -> None:
    sign_in(client, store, "expert", "E001")
    token = csrf_of(client.get("/expert/assignments/APP-1").text)
    shown = client.post("/expert/assignments/APP-1/decline", data={"reason": " ", "csrf_token": token})
    assert shown.status_code == 422 and '<p class="field-error" id="e-reason">至少填写 2 个字符</p>' in shown.text
    done = client.post("/expert/assignments/APP-1/decline", data={"reason": "曾任申报单位顾问", "csrf_token": token})
    assert done.status_code == 303 and services.posted[-1] == ("/api/v1/assignments/APP-1/decline", "曾任申报单位顾问")
