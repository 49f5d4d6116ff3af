"""Materials and the province's pages against stand-in services: uploads are forwarded with the user's token
and their CSRF check, refusals shown by their kind, downloads streamed, round actions and the audit trail."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from zhongshi_console.app import create_app
from zhongshi_console.pages.province import round_action
from zhongshi_console.sessions import SessionStore
from zhongshi_console.settings import ConsoleSettings

from .test_pages import ASSIGNMENT, csrf_of, sign_in

APP = {"id": "APP-1", "round_id": "R1", "status": "draft", "status_label": "草稿", "revision": 0, "timeline": [],
       "dossier": {"platform": {"name": "光电平台", "mechanism_documents": [{"kind": "safety_management",
                                                                          "title": "安全环保管理制度"}]}}}
RECORD = {"id": "M-1", "kind": "equipment_list", "title": "设备清单（2026年）", "filename": "设备清单.pdf",
          "media_type": "application/pdf", "sha256": "ab" * 32, "size": 2048, "version": 1,
          "uploaded_at": "2026-12-04T02:00:00Z"}
PDF = b"%PDF-1.4 a small file"


class Intake:
    """A stand-in intake (and review, for the audit): what it received, what it answers."""

    def __init__(self) -> None:
        self.uploads: list[tuple[str, bytes]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        if path == "/api/v1/applications/APP-1":
            return httpx.Response(200, json=APP)
        if path == "/api/v1/rounds/R1":
            return httpx.Response(200, json={"id": "R1", "required_materials": ["equipment_list", "site_proof"]})
        if path == "/api/v1/applications/APP-1/materials" and method == "GET":
            return httpx.Response(200, json={"current": ["M-1"], "versions": [RECORD]})
        if path == "/api/v1/applications/APP-1/materials":
            self.uploads.append((request.headers["authorization"], request.content))
            if b"#!/bin/sh" in request.content:
                return httpx.Response(415, json={"detail": "不接受可执行文件或脚本（无论扩展名为何）"})
            return httpx.Response(201, json=RECORD)
        if path == "/api/v1/applications/APP-1/materials/M-1":
            return httpx.Response(200, content=PDF, headers={
                "content-type": "application/pdf", "content-disposition": "attachment; filename=\"x.pdf\"",
                "x-content-type-options": "nosniff", "x-internal": "no"})
        if path == "/api/v1/exports/rounds/R1/results.xlsx":
            return httpx.Response(200, content=b"PK xlsx", headers={
                "content-type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "content-disposition": "attachment; filename=\"results-R1.xlsx\""})
        if path == "/api/v1/assignments/APP-1":
            return httpx.Response(200, json={**ASSIGNMENT, "lead": True, "missing": "评分分歧较大，待组长协调"})
        if path == "/api/v1/assignments/APP-1/reconcile":
            self.uploads.append(("reconcile", request.content))
            return httpx.Response(200, json={})
        if path == "/api/v1/public/certificates/鄂中试〔2026〕001号.pdf":
            assert "authorization" not in request.headers  # public: no one's token is sent
            return httpx.Response(200, content=PDF, headers={"content-type": "application/pdf"})
        if path == "/api/v1/audit":
            at = {"intake": "2026-12-04T02:00:00Z", "screening": "2026-12-04T01:00:00Z"}.get(request.url.host, "")
            items = [{"at": at, "seq": 1, "service": request.url.host, "action": "x", "actor_subject": "u",
                      "actor_role": "r", "actor_organisation": "o", "outcome": "ok", "reason": ""}] if at else []
            return httpx.Response(200, json={"total": len(items), "offset": 0, "limit": 500, "items": items})
        return httpx.Response(404, json={"detail": "不存在"})


@pytest.fixture
def intake() -> Intake:
    return Intake()


@pytest.fixture
def store() -> SessionStore:
    return SessionStore(idle_s=3600, max_sessions=100)


@pytest.fixture
def client(intake: Intake, store: SessionStore) -> Iterator[TestClient]:
    urls = {f"CONSOLE_{n.upper()}_URL": f"http://{n}" for n in ("intake", "screening", "review", "registry", "notify")}
    app = create_app(ConsoleSettings.model_validate(urls), store=store, transport=httpx.MockTransport(intake))
    with TestClient(app, follow_redirects=False) as c:
        yield c


pytestmark = pytest.mark.handler


def test_the_application_lists_required_kinds_with_what_is_uploaded(client: TestClient, store: SessionStore) -> None:
    sign_in(client, store, "applicant", "91420100MA0000001X")
    page = client.get("/applicant/applications/APP-1")
    assert page.status_code == 200
    kinds = [k for k in ("equipment_list", "site_proof", "safety_management") if f'data-kind="{k}"' in page.text]
    assert kinds == ["equipment_list", "site_proof", "safety_management"]  # required, then C9's documents
    assert 'data-kind="equipment_list" data-uploaded="yes"' in page.text and "第 1 版 · 2 KB" in page.text
    assert 'data-kind="site_proof" data-uploaded="no"' in page.text
    assert 'name="replaces" value="M-1"' in page.text and 'enctype="multipart/form-data"' in page.text
    assert "撤回申报" not in page.text  # a draft never submitted is deleted, not withdrawn


def test_an_upload_is_forwarded_with_the_users_token_and_a_refusal_shown_by_its_kind(
        client: TestClient, store: SessionStore, intake: Intake) -> None:
    sign_in(client, store, "applicant", "91420100MA0000001X")
    token = csrf_of(client.get("/applicant/applications/APP-1").text)
    files = {"file": ("设备清单.pdf", PDF, "application/pdf")}
    assert client.post("/applicant/applications/APP-1/materials", data={"kind": "equipment_list"},
                       files=files).status_code == 403
    assert intake.uploads == []  # refused before intake was called
    done = client.post("/applicant/applications/APP-1/materials", files=files,
                       data={"kind": "equipment_list", "title": "设备清单", "csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == "/applicant/applications/APP-1#materials"
    assert intake.uploads[-1][0] == "Bearer t" and PDF in intake.uploads[-1][1]
    shown = client.post("/applicant/applications/APP-1/materials", files={"file": ("a.pdf", b"#!/bin/sh\n")},
                        data={"kind": "site_proof", "title": "场地", "csrf_token": token})
    assert shown.status_code == 415
    assert '<p class="field-error" id="e-m-site_proof" role="alert">不接受可执行文件或脚本' in shown.text
    huge = client.post("/applicant/applications/APP-1/materials", files={"file": ("big.pdf", b"0" * (26 << 20))},
                       data={"kind": "site_proof", "csrf_token": token})
    assert huge.status_code == 413 and "文件过大" in huge.text and len(intake.uploads) == 2  # never forwarded
    empty = client.post("/applicant/applications/APP-1/materials", data={"kind": "site_proof", "csrf_token": token})
    assert empty.status_code == 422 and "请选择要上传的文件" in empty.text and len(intake.uploads) == 2


def test_a_download_is_streamed_with_intakes_headers(client: TestClient, store: SessionStore) -> None:
    sign_in(client, store, "county_official", "420111")
    got = client.get("/materials/APP-1/M-1")
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-disposition"] == 'attachment; filename="x.pdf"'
    assert got.headers["x-content-type-options"] == "nosniff" and "x-internal" not in got.headers
    assert client.get("/materials/APP-1/M-404").status_code == 404  # intake's 404 is the console's 404 page


def test_the_round_actions_call_the_right_service() -> None:
    assert round_action("R1", "draw", {}) == ("review", "POST", "/api/v1/rounds/R1/panels", {})
    current = {"round_id": "R1", "panel_size": 5, "quota": 10, "rubric": {"version": "v1"}}
    assert round_action("R1", "review-settings", {"panel_size": " 3 ", "quota": ""}, current)[3] == {
        "round_id": "R1", "panel_size": "3", "quota": 10, "rubric": {"version": "v1"}}  # the rest is kept
    assert round_action("R1", "resolve", {"objection_id": "O-1", "upheld": "false", "reason": " 不成立 "}) == (
        "registry", "POST", "/api/v1/objections/O-1/resolve", {"upheld": False, "reason": "不成立"})
    assert round_action("R1", "quotas", {"quota.420100": "3", "quota.420200": " "}) == (
        "screening", "PATCH", "/api/v1/rounds/R1/settings", {"quotas": {"420100": 3}})  # the deadlines untouched
    assert round_action("R1", "delete-everything", {}) is None


def test_the_audit_trail_merges_the_services_in_time_order(client: TestClient, store: SessionStore) -> None:
    sign_in(client, store, "province_official", "42")
    page = client.get("/province/audit", params={"application": "APP-1"})
    assert page.status_code == 200 and "共 2 条记录" in page.text
    assert page.text.index("<td>screening</td>") < page.text.index("<td>intake</td>")


NONE = "（未导入任何专家）"


class Review:
    """A stand-in review: an empty pool whose import refuses a file with bad rows."""

    def __init__(self) -> None:
        self.imports: list[tuple[str, bytes]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/experts":
            return httpx.Response(200, json={"total": 0, "items": []})
        if request.url.path == "/api/v1/experts/import":
            self.imports.append((request.url.params["filename"], request.content))
            if b"bad" in request.content:
                return httpx.Response(422, json={"detail": [
                    {"loc": ["body", 2, "fields"], "type": "value_error", "msg": f"第2行 fields：未知领域 x{NONE}"},
                    {"loc": ["body", 3, "email"], "type": "value_error", "msg": f"第3行 email：格式不正确{NONE}"}]})
            return httpx.Response(200, json={"imported": 2, "ids": ["E1", "E2"]})
        return httpx.Response(404, json={"detail": "不存在"})


def test_an_expert_import_shows_every_bad_row_and_a_good_one_is_counted(store: SessionStore) -> None:
    review = Review()
    app = create_app(ConsoleSettings(), store=store, transport=httpx.MockTransport(review))
    with TestClient(app, follow_redirects=False) as client:
        sign_in(client, store, "province_official", "42")
        token = csrf_of(client.get("/province/experts").text)
        shown = client.post("/province/experts/import", data={"csrf_token": token},
                            files={"file": ("专家.CSV", b"id,name\nbad,row\n", "text/csv")})
        assert shown.status_code == 422 and review.imports == [("专家.csv", b"id,name\nbad,row\n")]
        assert "<li>第2行 fields：未知领域 x（未导入任何专家）</li>" in shown.text and "第3行 email" in shown.text
        done = client.post("/province/experts/import", data={"csrf_token": token},
                           files={"file": ("pool.xlsx", b"PK good", "application/octet-stream")})
        assert done.status_code == 200 and "已导入 2 位专家" in done.text
        wrong = client.post("/province/experts/import", data={"csrf_token": token},
                            files={"file": ("pool.txt", b"x", "text/plain")})
        assert wrong.status_code == 422 and "请选择 CSV 或 XLSX 文件" in wrong.text and len(review.imports) == 2


def test_the_province_downloads_a_rounds_results(client: TestClient, store: SessionStore) -> None:
    sign_in(client, store, "province_official", "42")
    got = client.get("/province/exports/results.xlsx", params={"round": "R1"})
    assert got.status_code == 200 and got.content == b"PK xlsx"
    assert got.headers["content-disposition"] == 'attachment; filename="results-R1.xlsx"'
    assert client.get("/province/exports/secrets.xlsx").status_code == 404
    assert client.get("/province/exports/results.xlsx").status_code == 404  # a round is needed


def test_the_panel_lead_reconciles_diverging_scores(client: TestClient, store: SessionStore, intake: Intake) -> None:
    sign_in(client, store, "expert", "E001")
    page = client.get("/expert/assignments/APP-1")
    assert "分歧协调（评审组组长）" in page.text
    done = client.post("/expert/assignments/APP-1/reconcile",
                       data={"note": " 组内讨论后意见统一 ", "csrf_token": csrf_of(page.text)})
    assert done.status_code == 303 and intake.uploads == [("reconcile", '{"note":"组内讨论后意见统一"}'.encode())]


def test_anyone_downloads_a_certificate(client: TestClient) -> None:
    got = client.get("/certificates/%E9%84%82%E4%B8%AD%E8%AF%95%E3%80%942026%E3%80%95001%E5%8F%B7.pdf")
    assert got.status_code == 200 and got.content == PDF and got.headers["content-type"] == "application/pdf"
