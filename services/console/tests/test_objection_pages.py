"""An objector without a login on the publicity page, against stand-in notify and registry: the code is asked
for the contact typed, a wrong code is shown under its field, the right one earns the proof the objection is
filed with (once: the proof is reused, not the code), and a changed contact needs a code of its own."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from zhongshi_console.app import create_app
from zhongshi_console.sessions import SessionStore
from zhongshi_console.settings import ConsoleSettings

from .test_pages import PUBLICITY, csrf_of

CODE, PROOF = "246810", "proof-for-objector"
ADDRESS = "objector@example.cn"
FORM = {"application_id": "APP-1", "name": "赵六", "contact": ADDRESS, "grounds": "该平台的设备原值与实际情况不符。"}


class Public:
    """Stand-in notify (codes) and registry (publicity, objections): what each was asked."""

    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []
        self.confirmed: list[str] = []
        self.filed: list[tuple[str | None, dict[str, str]]] = []
        self.forwarded: list[str | None] = []  # the browser's address on each public call

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        body = json.loads(request.content) if request.content else {}
        if request.method == "POST":
            self.forwarded.append(request.headers.get("x-forwarded-for"))
        if path == "/api/v1/public/publicity/R1":
            return httpx.Response(200, json=PUBLICITY)
        if path == "/api/v1/public/contact-verifications":
            if "@" not in body["address"] and not body["address"].isdigit():
                return httpx.Response(422, json={"detail": [{"loc": ["body", "address"], "type": "value_error",
                                                             "msg": "请填写有效的手机号码"}]})
            self.sent.append(body)
            return httpx.Response(202, json={"id": f"V-{len(self.sent)}", "sent_to": "o***@example.cn"})
        if path.startswith("/api/v1/public/contact-verifications/"):
            self.confirmed.append(path.split("/")[-2])
            if body["code"] != CODE:
                return httpx.Response(422, json={"detail": [{"loc": ["body", "code"], "type": "value_error",
                                                             "msg": "验证码不正确"}]})
            return httpx.Response(200, json={"proof": PROOF, "header": "X-Contact-Proof"})
        if path == "/api/v1/publicity/R1/objections":
            self.filed.append((request.headers.get("x-contact-proof"), body))
            if len(body["grounds"]) < 10:
                return httpx.Response(422, json={"detail": [{"loc": ["body", "grounds"], "type": "string_too_short",
                                                             "msg": "String should have at least 10 characters",
                                                             "ctx": {"min_length": 10}}]})
            return httpx.Response(201, json={"id": f"OBJ-{len(self.filed)}"})
        return httpx.Response(404, json={"detail": "不存在"})


@pytest.fixture
def public() -> Public:
    return Public()


@pytest.fixture
def client(public: Public) -> Iterator[TestClient]:
    app = create_app(ConsoleSettings(), store=SessionStore(idle_s=3600, max_sessions=10),
                     transport=httpx.MockTransport(public))
    with TestClient(app, follow_redirects=False) as c:
        yield c


def test_an_anonymous_objector_proves_the_contact_with_a_code_and_files(client: TestClient, public: Public) -> None:
    page = client.get("/publicity", params={"round": "R1"})
    assert 'formaction="/publicity/R1/code"' in page.text and 'id="o-code"' in page.text
    token = csrf_of(page.text)
    unproven = client.post("/publicity/R1/objections", data={**FORM, "csrf_token": token})
    assert unproven.status_code == 422 and '<p class="field-error" id="e-code">请先获取验证码' in unproven.text
    assert client.post("/publicity/R1/code", data=FORM).status_code == 403  # CSRF before any code is sent
    sent = client.post("/publicity/R1/code", data={**FORM, "csrf_token": token})
    assert sent.status_code == 200 and "验证码已发送至 o***@example.cn" in sent.text
    assert public.sent == [{"channel": "email", "address": ADDRESS}] and "该平台的设备原值" in sent.text  # kept
    wrong = client.post("/publicity/R1/objections", data={**FORM, "code": "111111", "csrf_token": token})
    assert wrong.status_code == 422 and '<p class="field-error" id="e-code">验证码不正确</p>' in wrong.text
    assert public.filed == []
    short = client.post("/publicity/R1/objections", data={**FORM, "grounds": "太短", "code": CODE, "csrf_token": token})
    assert short.status_code == 422 and '<p class="field-error" id="e-grounds">至少填写 10 个字符</p>' in short.text
    filed = client.post("/publicity/R1/objections", data={**FORM, "csrf_token": token})  # the proof, not the code
    assert filed.status_code == 200 and "异议已受理" in filed.text and "OBJ-2" in filed.text
    assert public.confirmed == ["V-1", "V-1"] and [proof for proof, _ in public.filed] == [PROOF, PROOF]


@pytest.mark.parametrize(("trusted", "seen"), [(True, "203.0.113.7"), (False, "testclient")])
def test_the_browsers_address_goes_with_the_public_calls_so_each_person_has_their_own_limit(
        public: Public, trusted: bool, seen: str) -> None:
    """Notify and the registry limit codes and objections per address: without it every console user shares
    the console's one limit. The gateway's X-Forwarded-For is believed only when the console is told to."""
    app = create_app(ConsoleSettings(trust_forwarded_for=trusted), store=SessionStore(idle_s=3600, max_sessions=10),
                     transport=httpx.MockTransport(public))
    with TestClient(app, follow_redirects=False, headers={"X-Forwarded-For": "203.0.113.7"}) as browser:
        token = csrf_of(browser.get("/publicity", params={"round": "R1"}).text)
        browser.post("/publicity/R1/code", data={**FORM, "csrf_token": token})
        browser.post("/publicity/R1/objections", data={**FORM, "code": CODE, "csrf_token": token})
    assert len(public.filed) == 1 and len(public.forwarded) == 3  # the code, its confirmation, the objection
    assert public.forwarded[0] == seen and public.forwarded[-1] == seen


def test_another_contact_needs_its_own_code_and_a_bad_number_is_named(client: TestClient, public: Public) -> None:
    token = csrf_of(client.get("/publicity", params={"round": "R1"}).text)
    client.post("/publicity/R1/code", data={**FORM, "csrf_token": token})
    other = client.post("/publicity/R1/objections", data={**FORM, "contact": "13900002222", "code": CODE,
                                                          "csrf_token": token})
    assert other.status_code == 422 and "请先获取验证码" in other.text and public.confirmed == []
    bad = client.post("/publicity/R1/code", data={**FORM, "contact": "电话", "csrf_token": token})
    assert bad.status_code == 422 and '<p class="field-error" id="e-contact">请填写有效的手机号码</p>' in bad.text
    assert public.sent == [{"channel": "email", "address": ADDRESS}]
