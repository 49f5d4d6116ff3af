"""The operator's pages against stand-in services: webhook subscriptions registered, with their delivery log,
enable, rotate and delete; each service's dead letters, shown and redriven with the operator's token."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from zhongshi_console.app import create_app
from zhongshi_console.sessions import SessionStore
from zhongshi_console.settings import ConsoleSettings

from .test_pages import csrf_of, sign_in

PORTS = {8001: "intake", 8002: "screening", 8003: "review", 8004: "registry", 8005: "notify"}
SUBSCRIPTION = {"id": "wh-1", "url": "https://hooks.example.cn/zhongshi",
                "event_types": ["pilot.application.forwarded"], "description": "",
                "enabled": False, "consecutive_failures": 3, "created_at": "2026-12-01T02:00:00Z",
                "disabled_at": "2026-12-03T02:00:00Z"}
ATTEMPT = {"delivery_id": "D-1", "source_id": "E-1", "channel": "webhook", "recipient": "wh-1",
           "kind": "pilot.application.forwarded", "attempt": 2, "at": "2026-12-03T02:00:00Z", "outcome": "failed",
           "status_code": 503, "error": "HTTP 503", "duration_ms": 41.7}
LETTER = {"id": "DL-1", "group": "registry", "topic": "pilot.review.decided", "partition": 0, "offset": 42,
          "kind": "poison", "reason": "ValidationError: decision", "status": "dead", "subject": "APP-1",
          "event_id": "E-9", "event_type": "pilot.review.decided", "failed_at": "2026-12-04T01:00:00Z"}


class Services:
    """What the stand-in services received (service, method, path, token), and their answers."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, str]] = []
        self.redriven: set[str] = set()
        self.registered: list[dict[str, object]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        service, path, method = PORTS[request.url.port or 0], request.url.path, request.method
        self.calls.append((service, method, path, request.headers.get("authorization", "")))
        return self.answer(service, method, path, request)

    def answer(self, service: str, method: str, path: str, request: httpx.Request) -> httpx.Response:
        if service == "notify" and path == "/api/v1/webhooks" and method == "POST":
            return self.register(json.loads(request.content))
        if service == "notify" and path == "/api/v1/webhooks":
            return httpx.Response(200, json=[SUBSCRIPTION])
        if path == "/api/v1/webhooks/wh-1/deliveries":
            assert dict(request.url.params) == {"offset": "0", "limit": "50"}
            return httpx.Response(200, json=[ATTEMPT])
        if path == "/api/v1/webhooks/wh-1/rotate-secret":
            return httpx.Response(200, json={"id": "wh-1", "secret": "whsec_bmV3LXNlY3JldA=="})
        if path in ("/api/v1/webhooks/wh-1", "/api/v1/webhooks/wh-1/enable"):
            return httpx.Response(200, json={})
        if path == "/api/v1/dlq":
            items = [LETTER] if service == "registry" else []
            return httpx.Response(200, json={"total": len(items), "items": items})
        if service == "registry" and path == "/api/v1/dlq/DL-1":
            status = "redriven" if "DL-1" in self.redriven else "dead"
            return httpx.Response(200, json={**LETTER, "status": status, "headers": {"event_type": "x"},
                                             "body": '{"decision": "maybe"}'})
        if service == "registry" and path == "/api/v1/dlq/DL-1/redrive":
            if "DL-1" in self.redriven:
                return httpx.Response(409, json={"detail": "只能重投仍在死信队列中的事件"})
            self.redriven.add("DL-1")
            return httpx.Response(200, json={"redriven": ["DL-1"]})
        return httpx.Response(404, json={"detail": "不存在"})

    def register(self, body: dict[str, object]) -> httpx.Response:
        """Notify's answers: a private address refused naming ``url``, else the subscription with its secret."""
        if "10.0.0.1" in str(body["url"]):
            return httpx.Response(422, json={"detail": [{"loc": ["body", "url"], "type": "value_error",
                                                         "msg": "回调地址不能指向内网地址"}]})
        self.registered.append(body)
        return httpx.Response(201, json={**SUBSCRIPTION, "id": "wh-2", "url": body["url"], "enabled": True,
                                         "secret": "whsec_Zmlyc3Qtc2VjcmV0"})


@pytest.fixture
def services() -> Services:
    return Services()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    store = SessionStore(idle_s=3600, max_sessions=100)
    app = create_app(ConsoleSettings(), store=store, transport=httpx.MockTransport(services))
    with TestClient(app, follow_redirects=False) as c:
        sign_in(c, store, "operator", "*")
        yield c


def unsafe(calls: list[tuple[str, str, str, str]]) -> list[tuple[str, str, str]]:
    return [(s, m, p) for s, m, p, _ in calls if m != "GET"]


def test_an_operator_reads_a_subscriptions_delivery_log(client: TestClient, services: Services) -> None:
    listed = client.get("/operator/webhooks")
    assert listed.status_code == 200 and "已停用" in listed.text and 'href="/operator/webhooks/wh-1"' in listed.text
    log = client.get("/operator/webhooks/wh-1")
    assert log.status_code == 200 and 'data-outcome="failed"' in log.text and "503" in log.text
    assert "2026年12月3日" in log.text and "42 毫秒" in log.text
    assert {token for *_, token in services.calls} == {"Bearer t"}
    assert client.get("/operator/webhooks/wh-unknown").status_code == 404


def test_enable_rotate_and_delete_need_the_csrf_token_and_call_notify(client: TestClient, services: Services) -> None:
    token = csrf_of(client.get("/operator/webhooks").text)
    for action in ("enable", "rotate", "delete"):
        assert client.post(f"/operator/webhooks/wh-1/{action}").status_code == 403
    assert unsafe(services.calls) == []
    rotated = client.post("/operator/webhooks/wh-1/rotate", data={"csrf_token": token})
    assert rotated.status_code == 200 and "whsec_bmV3LXNlY3JldA==" in rotated.text and "仅显示这一次" in rotated.text
    assert client.post("/operator/webhooks/wh-1/enable", data={"csrf_token": token}).status_code == 303
    deleted = client.post("/operator/webhooks/wh-1/delete", data={"csrf_token": token})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/operator/webhooks"
    assert client.post("/operator/webhooks/wh-1/purge", data={"csrf_token": token}).status_code == 404
    assert unsafe(services.calls) == [("notify", "POST", "/api/v1/webhooks/wh-1/rotate-secret"),
                                      ("notify", "POST", "/api/v1/webhooks/wh-1/enable"),
                                      ("notify", "DELETE", "/api/v1/webhooks/wh-1")]


def test_a_subscription_is_registered_once_its_url_is_accepted_and_its_secret_shown_once(
        client: TestClient, services: Services) -> None:
    page = client.get("/operator/webhooks")
    assert 'value="pilot.platform.accredited"' in page.text and "pilot.internal." not in page.text
    form = {"url": "https://10.0.0.1/hook", "event_types": ["pilot.platform.accredited", "pilot.internal.x"],
            "description": "省大数据中心"}
    assert client.post("/operator/webhooks", data=form).status_code == 403
    refused = client.post("/operator/webhooks", data={**form, "csrf_token": csrf_of(page.text)})
    assert refused.status_code == 422 and services.registered == []
    assert 'aria-invalid="true" aria-describedby="e-w-url"' in refused.text
    assert '<p class="field-error" id="e-w-url">回调地址不能指向内网地址</p>' in refused.text
    assert 'value="https://10.0.0.1/hook"' in refused.text and "whsec_" not in refused.text
    created = client.post("/operator/webhooks", data={**form, "url": "https://hooks.example.cn/x",
                                                      "csrf_token": csrf_of(page.text)})
    assert created.status_code == 200 and 'data-created="wh-2"' in created.text
    assert "whsec_Zmlyc3Qtc2VjcmV0" in created.text and "仅显示这一次" in created.text
    assert services.registered == [{"url": "https://hooks.example.cn/x", "description": "省大数据中心",
                                    "event_types": ["pilot.platform.accredited"]}]
    assert "whsec_Zmlyc3Qtc2VjcmV0" not in client.get("/operator/webhooks").text


def test_dead_letters_of_every_service_are_listed_shown_and_redriven_once(client: TestClient,
                                                                          services: Services) -> None:
    listed = client.get("/operator/dlq")
    assert listed.status_code == 200 and "认定登记（registry）：1 条" in listed.text
    assert sorted(s for s, _, p, _ in services.calls if p == "/api/v1/dlq") == sorted(PORTS.values())
    shown = client.get("/operator/dlq/registry/DL-1")
    assert shown.status_code == 200 and "ValidationError: decision" in shown.text and "&#34;maybe&#34;" in shown.text
    redriven = client.post("/operator/dlq/registry/DL-1/redrive", data={"csrf_token": csrf_of(shown.text)})
    assert redriven.status_code == 303
    assert redriven.headers["location"] == "/operator/dlq?service=registry&redriven=DL-1"
    again = client.post("/operator/dlq/registry/DL-1/redrive", data={"csrf_token": csrf_of(shown.text)})
    assert again.status_code == 409 and "只能重投仍在死信队列中的事件" in again.text
    assert client.get("/operator/dlq/mongodb/DL-1").status_code == 404
    assert client.get("/operator/dlq", params={"service": "x"}).status_code == 404


def test_the_selected_dead_letters_of_one_service_are_redriven_each_and_refusals_reported(
        client: TestClient, services: Services) -> None:
    listed = client.get("/operator/dlq", params={"service": "registry"})
    assert 'form="redrive-registry" aria-label="选择死信 DL-1"' in listed.text
    assert client.post("/operator/dlq/registry/redrive", data={"entry_ids": ["DL-1"]}).status_code == 403
    token = csrf_of(listed.text)
    none = client.post("/operator/dlq/registry/redrive", data={"csrf_token": token, "entry_ids": [".."]})
    assert none.status_code == 200 and "请先勾选要重投的死信" in none.text and unsafe(services.calls) == []
    done = client.post("/operator/dlq/registry/redrive",
                       data={"csrf_token": token, "entry_ids": ["DL-1", "DL-9", "DL-1"]})
    assert done.status_code == 200 and 'data-bulk-redriven="1"' in done.text
    assert "已重投 1 条：DL-1" in done.text and "<li>DL-9：不存在</li>" in done.text
    assert unsafe(services.calls) == [("registry", "POST", "/api/v1/dlq/DL-1/redrive"),
                                      ("registry", "POST", "/api/v1/dlq/DL-9/redrive")]
    assert client.post("/operator/dlq/mongodb/redrive", data={"csrf_token": token,
                                                              "entry_ids": ["DL-1"]}).status_code == 404


def test_the_operator_pages_are_the_404_page_for_other_roles(services: Services) -> None:
    store = SessionStore(idle_s=3600, max_sessions=100)
    app = create_app(ConsoleSettings(), store=store, transport=httpx.MockTransport(services))
    with TestClient(app, follow_redirects=False) as c:
        sign_in(c, store, "province_official", "42")
        token = csrf_of(c.get("/").text)
        assert c.post("/operator/webhooks", data={"csrf_token": token, "url": "https://a.cn"}).status_code == 404
        assert c.post("/operator/dlq/registry/redrive", data={"csrf_token": token,
                                                              "entry_ids": ["DL-1"]}).status_code == 404
        for path in ("/operator/webhooks", "/operator/webhooks/wh-1", "/operator/dlq", "/operator/dlq/registry/DL-1"):
            assert c.get(path).status_code == 404, path
    assert [c for c in services.calls if c[2] != "/api/v1/public/stats"] == []


