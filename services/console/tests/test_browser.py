"""The console in Debian's Chromium against the real stack with the sample round (see conftest.py)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from zhongshi_console.dossier_form import fields, to_form
from zhongshi_console.roles import MENUS
from zhongshi_runtime.auth import Role
from zhongshi_runtime.clock import shanghai_date, utc_now

from zhongshi import demo
from zhongshi.demo_data import APPLICANTS
from zhongshi.demo_materials import DEMO_REQUIRED, kinds_for, sample_pdf, upload_parts
from zhongshi.launcher import Stack

from .conftest import AXE, Console, capture, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.browser]
PUBLIC_PAGES = {"home": ("/", "制造业中试平台认定与服务"), "registry": ("/registry", "湖北省制造业中试平台名录"),
                "progress": ("/progress", "全省制造业中试平台建设进展"), "verify": ("/verify", "证书查验"),
                "publicity": ("/publicity?round=R2026-DEMO", "R2026-DEMO 拟认定名单公示")}


def accredited(console: Console) -> list[dict[str, Any]]:
    found = httpx.get(f"{console.settings.registry_url}/api/v1/public/platforms",
                      params={"status": "accredited", "limit": 200}, timeout=10).json()
    assert found["items"], "the sample round accredited no platform"
    return list(found["items"])


def test_public_pages_render_in_chinese(page: Any, screenshots: Path) -> None:
    for name, (path, heading) in PUBLIC_PAGES.items():
        response = page.goto(path)
        assert response.status == 200, path
        assert page.locator("h1, h2").filter(has_text=heading).count() >= 1, path
        assert page.title().endswith("湖北省制造业中试平台服务平台")
        capture(page, screenshots / f"public-{name}.png", full_page=True)
    page.goto("/progress")
    assert page.locator("svg.chart, .chart svg").count() == 4  # by city, tier, type and year


def test_small_screenshots_for_the_docs(browser: Any, console: Console, screenshots: Path) -> None:
    """The docs' images (docs/img/console-*.png are copies): 1280 px pages drawn at 960 px, the first screen."""
    context = browser.new_context(base_url=console.url, viewport={"width": 1280, "height": 760},
                                  device_scale_factor=0.75)
    small = context.new_page()
    for name, path in (("registry", "/registry"), ("progress", "/progress"),
                       ("verify", f"/verify?no={accredited(console)[0]['certificate_no']}")):
        small.goto(path)
        capture(small, screenshots / f"docs-console-{name}.png")
        assert (screenshots / f"docs-console-{name}.png").stat().st_size < 250_000
    context.close()


def test_public_pages_fit_a_phone(browser: Any, console: Console, screenshots: Path) -> None:
    context = browser.new_context(base_url=console.url, viewport={"width": 375, "height": 740}, is_mobile=True)
    phone = context.new_page()
    for path in ("/", "/registry", "/progress", "/verify"):
        phone.goto(path)
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} scrolls sideways on a phone by {overflow}px"
    phone.goto("/registry")
    capture(phone, screenshots / "public-registry-phone.png")
    context.close()


def test_registry_filters_narrow_the_list(page: Any) -> None:
    page.goto("/registry")
    everything = int(page.locator("[data-total]").inner_text())
    page.select_option("#f-city", label="黄石市")
    page.click("button:has-text('查询')")
    page.wait_for_url(re.compile(r"city=420200"))
    total = int(page.locator("[data-total]").inner_text())
    cities = page.locator("table.list tbody tr td:nth-child(3)").all_inner_texts()
    assert 0 < total < everything and set(cities) == {"黄石市"}
    page.select_option("#f-status", label="培育对象")
    page.click("button:has-text('查询')")
    page.wait_for_url(re.compile(r"status=cultivation"))
    statuses = page.locator("table.list tbody tr td:nth-child(5)").all_inner_texts()
    assert all(s == "培育对象" for s in statuses)
    page.goto("/registry?type=no_such_type")
    assert page.locator("[data-total]").inner_text() == "0" and page.get_by_text("没有符合条件的平台").is_visible()


def test_a_real_certificate_verifies_and_a_made_up_one_does_not(page: Any, console: Console, screenshots: Path) -> None:
    platform = accredited(console)[0]
    page.goto("/verify")
    page.fill("#no", platform["certificate_no"])
    page.click("button:has-text('查验')")
    verdict = page.locator("[data-result]")
    assert verdict.get_attribute("data-result") == "valid"
    assert "证书有效" in verdict.inner_text() and platform["platform_name"] in verdict.inner_text()
    capture(page, screenshots / "public-verify-valid.png", full_page=True)
    page.click(f"text={platform['platform_name']}")
    assert page.locator("h1").inner_text() == platform["platform_name"]
    page.goto("/verify")
    page.fill("#no", "鄂中试〔2026〕999号")
    page.click("button:has-text('查验')")
    assert page.locator("[data-result]").get_attribute("data-result") == "unknown"


HOMES = {Role.APPLICANT: "applicant01", Role.COUNTY_OFFICIAL: "county420111", Role.CITY_OFFICIAL: "city420100",
         Role.PROVINCE_OFFICIAL: "province01", Role.EXPERT: "expert001", Role.OPERATOR: "operator"}
OTHER_SCOPE = {Role.APPLICANT: "/official/queue", Role.COUNTY_OFFICIAL: "/applicant/inbox",
               Role.CITY_OFFICIAL: "/applicant", Role.PROVINCE_OFFICIAL: "/applicant/rounds",
               Role.EXPERT: "/official/queue", Role.OPERATOR: "/applicant"}


def test_applicant_and_official_see_their_own_pages(page: Any, screenshots: Path) -> None:
    page.goto("/applicant")
    sign_in(page, "applicant01")
    page.wait_for_url(re.compile(r"/applicant$"))
    assert page.locator("h1").inner_text() == "我的申报" and page.locator("table.list tbody tr").count() >= 1
    capture(page, screenshots / "applicant-home.png", full_page=True)
    page.locator("table.list tbody tr a").first.click()
    assert page.locator("h2").filter(has_text="办理进程").count() == 1
    assert page.locator("ol.timeline li").count() >= 2  # submitted, screened, ...


@pytest.mark.parametrize("role", list(HOMES), ids=[r.value for r in HOMES])
def test_each_role_sees_only_its_menu_and_another_scope_is_404(browser: Any, console: Console, role: Role) -> None:
    context = browser.new_context(base_url=console.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    home = MENUS[role][0][1]
    page.goto(home)
    sign_in(page, HOMES[role])
    page.wait_for_url(f"**{home}")
    menu = page.locator(".role-menu a").all_inner_texts()
    assert menu == [label for label, _ in MENUS[role]]
    assert page.locator(".role-menu").get_attribute("data-role") == role.value
    response = page.goto(OTHER_SCOPE[role])
    assert response.status == 404 and page.locator("[data-page=not-found]").is_visible()
    assert "Traceback" not in page.content()
    context.close()


def test_a_form_posted_without_its_csrf_token_is_refused(page: Any, console: Console) -> None:
    page.goto("/applicant")
    sign_in(page, "applicant01")
    page.wait_for_url(re.compile(r"/applicant$"))
    page.evaluate("document.querySelector('.account form input[name=csrf_token]').remove()")
    page.click("button:has-text('退出登录')")
    assert page.locator("h1").inner_text() == "请求已被拒绝"
    page.goto("/applicant")  # still signed in: the refused logout changed nothing
    assert page.locator("h1").inner_text() == "我的申报"
    page.click("button:has-text('退出登录')")  # with its token it works
    page.wait_for_url(re.compile(rf"^{re.escape(console.url)}/(\?.*)?$"))  # home (the provider may add state)
    assert page.goto("/applicant").url.startswith(console.settings.oidc_issuer)


def test_an_expired_session_logs_in_again_and_returns_to_the_page(page: Any, console: Console,
                                                                  provider: Any) -> None:
    page.goto("/applicant")
    sign_in(page, "applicant01")
    page.wait_for_url(re.compile(r"/applicant$"))
    console.clock.offset += console.settings.session_idle_s + 1  # the session idles out
    visited: list[str] = []
    page.on("request", lambda request: visited.append(request.url))
    page.goto("/applicant/inbox")
    if page.url.startswith(provider.issuer):  # the provider's login page (a provider session may skip it)
        sign_in(page, "applicant01")
    page.wait_for_url(re.compile(r"/applicant/inbox$"))
    assert page.locator("h1").inner_text() == "消息中心"
    assert f"{console.url}/login?next=/applicant/inbox" in visited
    assert any(url.startswith(provider.issuer) for url in visited)  # through the provider and back


def test_an_expired_access_token_is_refreshed(page: Any, console: Console) -> None:
    page.goto("/applicant")
    sign_in(page, "applicant01")
    page.wait_for_url(re.compile(r"/applicant$"))
    signed_in = [data for _, data in console.store._data.values() if data.get("user")]
    expired = {data["token"]["access_token"] for data in signed_in}
    for data in signed_in:
        data["token"]["expires_at"] = 0  # the access token has expired; its refresh token has not
    visited: list[str] = []
    page.on("request", lambda request: visited.append(request.url))
    page.goto("/applicant/inbox")
    assert page.locator("h1").inner_text() == "消息中心"
    assert not any("/login" in url for url in visited)  # no new login: the token was refreshed
    fresh = [data["token"] for data in signed_in if data["token"]["access_token"] not in expired]
    assert fresh and all(token["expires_at"] > time.time() for token in fresh)


def serious_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page (the npm package's axe.min.js, injected)."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make test` installs axe-core from npm (make browser-setup)")
    page.add_script_tag(path=str(AXE))
    violations: list[dict[str, Any]] = page.evaluate("""async () => (await axe.run(document,
        {resultTypes: ['violations']})).violations.map(v => ({id: v.id, impact: v.impact,
        nodes: v.nodes.map(n => n.target.join(' '))}))""")
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def test_public_pages_have_no_serious_accessibility_violations(page: Any, console: Console) -> None:
    platform = accredited(console)[0]
    paths = [p for p, _ in PUBLIC_PAGES.values()] + [f"/registry/{platform['id']}",
                                                      f"/verify?no={platform['certificate_no']}"]
    for path in paths:
        page.goto(path)
        assert not (found := serious_violations(page)), f"{path}: {found}"


@pytest.mark.parametrize(("login", "paths"), [
    ("applicant01", ("/applicant", "/applicant/rounds", f"/applicant/rounds/{demo.ROUND_ID}/apply",
                     "/applicant/inbox")),
    ("county420111", ("/official/queue",)),
    ("city420100", ("/official/queue", "/official/round", f"/official/rounds/{demo.ROUND_ID}")),
    ("province01", ("/official/queue", "/province/rounds", f"/province/rounds/{demo.ROUND_ID}", "/province/audit",
                    "/province/experts", "/province/platforms")),
    ("expert001", ("/expert/assignments",)), ("operator", ("/operator/webhooks", "/operator/dlq")),
], ids=["applicant", "county", "city", "province", "expert", "operator"])
def test_each_roles_main_pages_have_no_serious_accessibility_violations(browser: Any, console: Console, login: str,
                                                                        paths: tuple[str, ...]) -> None:
    context = browser.new_context(base_url=console.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(paths[0])
    sign_in(page, login)
    page.wait_for_url(f"**{paths[0]}")
    for path in paths:
        page.goto(path)
        assert not (found := serious_violations(page)), f"{path}: {found}"
    page.goto(paths[0])  # and the first detail page listed there (an application, a case, an assignment)
    detail = page.locator("main a[href^='/applicant/applications/'], main a[href^='/official/cases/'], "
                          "main a[href^='/expert/assignments/']")
    if detail.count():
        detail.first.click()
        page.wait_for_load_state()
        assert not (found := serious_violations(page)), f"{page.url}: {found}"
    context.close()


def submitted_application(stack: Stack) -> str:
    """A new application of the sample round's first applicant, submitted and waiting in its county's queue."""
    today = shanghai_date(utc_now())
    body = demo.dossier(0, APPLICANTS[0], today)
    applicant = {"Authorization": f"Bearer {stack.token(Role.APPLICANT, body['applicant']['credit_code'])}"}
    province = {"Authorization": f"Bearer {stack.token(Role.PROVINCE_OFFICIAL, '42')}"}
    with httpx.Client(timeout=30) as http:
        created = http.post(f"{stack.url('intake')}/api/v1/applications", headers=applicant,
                            json={"round_id": demo.ROUND_ID, "dossier": body})
        assert created.status_code == 201, created.text
        app_id = created.json()["id"]
        for kind in kinds_for(body, DEMO_REQUIRED):  # the round's required kinds and C9's documents
            uploaded = http.post(f"{stack.url('intake')}/api/v1/applications/{app_id}/materials", headers=applicant,
                                 **upload_parts(kind, body))
            assert uploaded.status_code == 201, uploaded.text
        assert http.post(f"{stack.url('intake')}/api/v1/applications/{app_id}/submit",
                         headers=applicant).status_code == 200
        deadline = time.monotonic() + 60
        while True:  # screening reads the submission from the broker
            case = http.get(f"{stack.url('screening')}/api/v1/cases/{app_id}", headers=province)
            if case.status_code == 200 and case.json()["stage"] == "county_review":
                return str(app_id)
            assert time.monotonic() < deadline, f"{app_id} never reached the county queue: {case.text}"
            time.sleep(0.2)


def test_the_county_recommends_with_a_required_opinion(page: Any, demo_stack: Stack, screenshots: Path) -> None:
    app_id = submitted_application(demo_stack)
    page.goto("/official/queue")
    sign_in(page, "county420111")
    page.wait_for_url(re.compile(r"/official/queue$"))
    page.click(f"text={app_id}")
    page.check("input[name=action][value=recommend]")
    page.click("button:has-text('提交')")
    error = page.locator("#e-opinion")
    assert error.inner_text() == "至少填写 2 个字符"  # pydantic's string_too_short, in Chinese, by the field
    assert page.locator("#opinion").get_attribute("aria-invalid") == "true"
    capture(page, screenshots / "official-case-opinion-required.png", full_page=True)
    page.fill("#opinion", "经核查，申报材料真实完整，同意推荐。")
    page.click("button:has-text('提交')")
    page.wait_for_url(re.compile(r"/official/queue$"))
    assert page.get_by_text(app_id).count() == 0  # no longer waiting at the county
    province = {"Authorization": f"Bearer {demo_stack.token(Role.PROVINCE_OFFICIAL, '42')}"}
    case = httpx.get(f"{demo_stack.url('screening')}/api/v1/cases/{app_id}", headers=province, timeout=10).json()
    assert case["stage"] == "city_review" and case["opinions"][-1]["text"] == "经核查，申报材料真实完整，同意推荐。"


def fill_dossier(page: Any, values: dict[str, Any]) -> None:
    """Type a dossier into the form as a person would: text, selects, ticked boxes."""
    kinds = {f.name: f.kind for f in fields()}
    for name, value in values.items():
        locator = f"[name='{name}']"
        if kinds[name] == "select":
            page.select_option(locator, str(value))
        elif kinds[name] == "multi":
            for option in value:
                page.check(f"{locator}[value='{option}']")
        elif kinds[name] == "flag":
            page.set_checked(locator, bool(value))
        else:
            page.fill(locator, str(value))


def test_the_applicant_drafts_a_dossier_with_errors_by_their_fields_then_submits(page: Any, demo_stack: Stack,
                                                                                 screenshots: Path) -> None:
    page.goto("/applicant/rounds")
    sign_in(page, "applicant01")
    page.wait_for_url(re.compile(r"/applicant/rounds$"))
    page.click("a:has-text('在线申报')")
    page.click("button:has-text('保存草稿')")  # nothing filled in
    assert page.locator("#error-summary").is_visible()
    assert page.locator("#e-d-platform-name").inner_text() == "至少填写 1 个字符"
    assert page.locator("#e-d-platform-platform_type").inner_text() == "请从列表中选择"
    assert "Input should" not in page.content() and "String should" not in page.content()
    capture(page, screenshots / "applicant-dossier-errors.png", full_page=True)
    today = shanghai_date(utc_now())
    dossier = demo.dossier(0, APPLICANTS[0], today)
    fill_dossier(page, {**to_form(dossier), "platform.name": "光电子器件可靠性中试平台"})
    page.click("button:has-text('保存草稿')")
    page.wait_for_url(re.compile(r"/applicant/applications/[^/]+$"))
    assert page.locator("h1").inner_text() == "光电子器件可靠性中试平台"
    assert page.locator(".facts .status").inner_text() == "草稿"
    page.click("a:has-text('自查申报条件')")
    assert page.locator("[data-outcome]").get_attribute("data-outcome") != "eligible"  # C9: nothing uploaded yet
    page.go_back()
    upload_materials(page, dossier, screenshots)
    page.click("a:has-text('自查申报条件')")
    assert page.locator("[data-outcome]").get_attribute("data-outcome") == "eligible"
    assert page.locator("table.clauses tbody tr td:first-child").all_inner_texts() == [f"C{i}" for i in range(1, 10)]
    capture(page, screenshots / "applicant-self-check.png", full_page=True)
    page.go_back()
    page.click("button:has-text('提交申报')")
    page.wait_for_url(re.compile(r"/applicant/applications/[^/]+$"))
    assert page.locator(".facts .status").inner_text() != "草稿"
    assert page.locator("ol.timeline li").count() >= 1  # the submission is the timeline's first step


def upload_materials(page: Any, dossier: dict[str, Any], screenshots: Path) -> None:
    """On the application page: a script is refused beside its field, then a PDF of every listed kind uploads."""
    rows = page.locator("table.materials tbody tr")
    kinds = [rows.nth(i).get_attribute("data-kind") for i in range(rows.count())]
    assert kinds == kinds_for(dossier, DEMO_REQUIRED)  # the round's required kinds, then C9's documents
    first = kinds[0]
    page.set_input_files(f"#f-{first}", files=[{"name": "说明.pdf", "mimeType": "application/pdf",
                                                  "buffer": b"#!/bin/sh\necho hi\n"}])
    page.click(f"#m-{first} button:has-text('上传')")
    assert page.locator(f"#e-m-{first}").inner_text().startswith("不接受可执行文件或脚本")
    assert page.locator(f"#m-{first}").get_attribute("data-uploaded") == "no"
    for kind in kinds:
        page.set_input_files(f"#f-{kind}", files=[{"name": f"{kind}.pdf", "mimeType": "application/pdf",
                                                   "buffer": sample_pdf(kind, dossier)}])
        page.fill(f"#t-{kind}", f"{kind} 材料")
        page.click(f"#m-{kind} button:has-text('上传')")
        page.wait_for_selector(f"#m-{kind}[data-uploaded=yes]")
        assert "第 1 版" in page.locator(f"#m-{kind}").inner_text()
    page.set_input_files(f"#f-{first}", files=[{"name": "v2.pdf", "mimeType": "application/pdf",
                                                  "buffer": sample_pdf(first, dossier)}])
    page.click(f"#m-{first} button:has-text('上传')")  # a new version replaces the first
    page.wait_for_selector(f"#m-{first}:has-text('第 2 版')")
    assert page.locator(f"#m-{first} details summary").inner_text() == "历史版本（1）"
    capture(page, screenshots / "applicant-materials.png", full_page=True)
    with page.expect_download() as download:
        page.click(f"#m-{first} .material a")
    assert download.value.suggested_filename.endswith(".pdf")
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")


def test_an_expert_file_with_bad_rows_is_refused_row_by_row(page: Any, screenshots: Path) -> None:
    page.goto("/province/experts")
    sign_in(page, "province01")
    page.wait_for_url(re.compile(r"/province/experts$"))
    before = page.locator("p.count").inner_text()
    header = "id,name,organisation,organisation_credit_code,title,fields,region_code,email,phone,active,relations\n"
    rows = "E901,测试专家,武汉大学,,教授,no_such_field,420111,a@example.cn,13800000000,true,\n"
    page.set_input_files("#pool-file", files=[{"name": "专家名单.csv", "mimeType": "text/csv",
                                               "buffer": (header + rows).encode()}])
    page.click("button:has-text('导入')")
    problems = page.locator("ul.problems li").all_inner_texts()
    assert problems and all("未导入任何专家" in p for p in problems) and any("fields" in p for p in problems)
    assert page.locator("p.count").inner_text() == before  # all rows or none
    capture(page, screenshots / "province-experts-refused.png", full_page=True)
