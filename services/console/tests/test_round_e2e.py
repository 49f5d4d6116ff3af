"""One application through a whole new round in the browser, each person logging in at the provider's own page:
the province opens the round, the applicant applies with materials, county, city and province decide, an expert
scores, the province confirms and runs publicity (a member of the public objects, proving an e-mail address with
notify's one-time code), and a member of the public verifies the certificate. Only the
registry's development clock is moved through the API (the publicity window is counted in working days)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from zhongshi_console.dossier_form import to_form
from zhongshi_runtime.auth import Role
from zhongshi_runtime.clock import shanghai_date, utc_now

from tests.integration.test_objection_flood import code_in_mailbox
from zhongshi import demo
from zhongshi.demo_data import APPLICANTS
from zhongshi.demo_materials import DEMO_REQUIRED
from zhongshi.launcher import Stack
from zhongshi.polling import wait_until

from .conftest import Console, capture, sign_in
from .test_browser import fill_dossier, upload_materials

pytestmark = [pytest.mark.integration, pytest.mark.browser]
ROUND = "R2026-E2E"
FLAGGED = next(i for i, row in enumerate(APPLICANTS) if row[5] == "c5" and not row[0].startswith("429"))
COUNTY = APPLICANTS[FLAGGED][0]
CITY = COUNTY[:4] + "00"
PLATFORM = "端到端验证中试平台"


class People:
    """One browser context per person, signed in once at the provider's login page."""

    def __init__(self, browser: Any, console: Console, shots: Path) -> None:
        self.browser, self.console, self.shots = browser, console, shots
        self.pages: dict[str, Any] = {}

    def __call__(self, username: str, path: str) -> Any:
        if username not in self.pages:
            context = self.browser.new_context(base_url=self.console.url, viewport={"width": 1280, "height": 900},
                                               locale="zh-CN")
            context.set_default_timeout(30_000)
            page = context.new_page()
            page.goto(path)
            if username != "public":  # a member of the public never logs in
                sign_in(page, username)
                page.wait_for_url(re.compile(re.escape(path.split("?")[0])))
            self.pages[username] = page
        page = self.pages[username]
        page.goto(path)
        return page

    def shot(self, page: Any, name: str, full_page: bool = True, at: str = "") -> None:
        """The whole page, or the screen that shows ``at`` at its top (for the docs' first-screen images)."""
        if at:
            page.locator(at).first.evaluate("element => element.scrollIntoView()")
        capture(page, self.shots / f"e2e-{name}.png", full_page=full_page and not at)

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()


@pytest.fixture
def people(browser: Any, console: Console, screenshots: Path) -> Iterator[People]:
    found = People(browser, console, screenshots)
    yield found
    found.close()


def until(page: Any, path: str, ready: Callable[[], bool], what: str, timeout: float = 90) -> None:
    """Reload ``path`` until ``ready()`` (the services work from the broker, asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(path)
        if ready():
            return
        assert time.monotonic() < deadline, f"never {what}: {page.url}"
        page.wait_for_timeout(500)


def test_one_application_through_a_whole_round(people: People, demo_stack: Stack, console: Console) -> None:
    today = shanghai_date(utc_now())
    open_the_round(people, today)
    app_id = apply(people, today)
    departments_decide(people, app_id)
    expert_scores(people, app_id)
    certificate = publicity(people, demo_stack, app_id)
    the_public_verifies(people, certificate)


def open_the_round(people: People, today: date) -> None:
    page = people("province01", "/province/rounds")
    page.fill("#r-id", ROUND)
    page.fill("#r-title", "2026年度端到端验证批次")
    page.fill("#r-opens_on", (today - timedelta(days=1)).isoformat())
    page.fill("#r-closes_on", (today + timedelta(days=30)).isoformat())
    page.select_option("#r-rule_set_version", "hubei-2025-v1")
    for kind in DEMO_REQUIRED:
        page.check(f"input[name=required_materials][value={kind}]")
    people.shot(page, "01-province-new-round")
    page.click("button:has-text('创建批次')")
    page.wait_for_url(re.compile(f"/province/rounds/{ROUND}$"))
    page.fill(f"#q-{CITY}", "2")
    page.click("button:has-text('保存推荐指标')")
    page.wait_for_url(re.compile(f"/province/rounds/{ROUND}"))
    assert page.locator(f"#q-{CITY}").input_value() == "2"
    page.fill("#s-panel_size", "1")
    page.click("button:has-text('保存评审设置')")
    page.wait_for_url(re.compile(f"/province/rounds/{ROUND}"))
    assert page.locator("#s-panel_size").input_value() == "1"
    people.shot(page, "02-province-round")


def apply(people: People, today: date) -> str:
    page = people(f"applicant{FLAGGED + 1:02d}", f"/applicant/rounds/{ROUND}/apply")
    dossier = demo.dossier(FLAGGED, APPLICANTS[FLAGGED], today)
    fill_dossier(page, {**to_form(dossier), "platform.name": PLATFORM})
    people.shot(page, "03-applicant-dossier")
    page.click("button:has-text('保存草稿')")
    page.wait_for_url(re.compile(r"/applicant/applications/[^/]+$"))
    app_id: str = page.url.rsplit("/", 1)[1]
    upload_materials(page, dossier, people.shots)
    people.shot(page, "04-applicant-materials")
    page.click("a:has-text('自查申报条件')")
    assert page.locator("[data-outcome]").get_attribute("data-outcome") == "needs_exception"  # C5 is flagged
    people.shot(page, "05-applicant-self-check")
    page.go_back()
    page.click("button:has-text('提交申报')")
    page.wait_for_url(re.compile(r"/applicant/applications/[^/]+$"))
    assert page.locator(".facts .status").inner_text() != "草稿"
    return app_id


def decide(people: People, username: str, app_id: str, action: str, opinion: str, name: str) -> None:
    page = people(username, "/official/queue")
    until(page, "/official/queue", lambda: page.get_by_text(app_id).count() > 0, f"in {username}'s queue")
    people.shot(page, f"{name}-queue", full_page=False)
    page.click(f"text={app_id}")
    assert page.locator("table.materials tbody tr").count() >= len(DEMO_REQUIRED)  # officials read the materials
    page.check(f"input[name=action][value={action}]")
    page.fill("#opinion", opinion)
    people.shot(page, name)
    page.click("button:has-text('提交')")
    page.wait_for_load_state()
    refused = page.locator(".error-summary")
    assert refused.count() == 0, f"{username} {action}: {refused.all_inner_texts()}"
    page.wait_for_url(re.compile(r"/official/queue$"))


def departments_decide(people: People, app_id: str) -> None:
    decide(people, f"county{COUNTY}", app_id, "recommend", "经核查，申报材料真实完整，同意推荐。", "06-county")
    decide(people, f"city{CITY}", app_id, "forward", "同意推荐至省经信厅。", "07-city")
    decide(people, "province01", app_id, "approve", "该平台服务本地特色产业，同意按例外认定。", "08-exception")


def expert_scores(people: People, app_id: str) -> None:
    page = people("province01", f"/province/rounds/{ROUND}")
    drawn = page.locator(f"li[data-application='{app_id}'] .panel-experts")

    page.click("button:has-text('发布抽取承诺')")  # the draw's seed is fixed, and its hash published, first
    page.wait_for_url(re.compile(f"/province/rounds/{ROUND}"))
    assert page.locator("#draw code.digest").count() == 1

    def draw() -> bool:
        if drawn.count() == 0:  # the candidate reaches review from the broker: draw until it is there
            page.click("button:has-text('抽取评审专家')")
            page.wait_for_url(re.compile(f"/province/rounds/{ROUND}"))
        return bool(drawn.count() > 0)

    until(page, f"/province/rounds/{ROUND}", draw, "drawn a panel")
    expert = drawn.inner_text().split("、")[0]
    people.shot(page, "09-province-panel")
    page = people(f"expert{expert[1:]}", f"/expert/assignments/{app_id}")
    until(page, f"/expert/assignments/{app_id}", lambda: page.locator("table.materials").count() > 0,
          "let the expert read the materials")
    for label in page.locator("label[for^='s-']").all():
        key = label.get_attribute("for").removeprefix("s-")
        top = int(re.search(r"满分 (\d+)", label.inner_text()).group(1))
        page.fill(f"#s-{key}", str(top - 1 if top > 1 else top))
        page.fill(f"#c-{key}", "该项建设基础扎实，服务成效明显。")
    page.fill("#overall", "平台建设基础较好，建议认定。")
    people.shot(page, "10-expert-scoring")
    page.click("button:has-text('提交评分')")
    page.wait_for_selector("[data-scored=true]")


def publicity(people: People, stack: Stack, app_id: str) -> str:
    page = people("province01", f"/province/rounds/{ROUND}")
    row = page.locator(f"table.decisions tr[data-application='{app_id}']")
    until(page, f"/province/rounds/{ROUND}", lambda: row.count() > 0 and page.locator("ul.incomplete").count() == 0,
          "finished the review")
    assert row.locator(".decision").inner_text().startswith("拟认定为省级制造业中试平台")
    people.shot(page, "11-province-decisions")
    people.shot(page, "11a-province-decision-list", at="table.decisions")
    page.click("button:has-text('确认认定名单')")
    page.wait_for_url(re.compile(f"/province/rounds/{ROUND}"))
    opened = page.locator("#publicity:has-text('公示期')")

    def open_publicity() -> bool:  # the registry learns the decisions from the broker
        if opened.count() == 0 and page.locator("button:has-text('发布公示')").count():
            page.click("button:has-text('发布公示')")
            page.wait_for_url(re.compile(f"/province/rounds/{ROUND}"))
        return bool(opened.count() > 0)

    until(page, f"/province/rounds/{ROUND}", open_publicity, "opened publicity")
    window = httpx.get(f"{stack.url('registry')}/api/v1/public/publicity/{ROUND}", timeout=10).json()
    move_clock(stack, date.fromisoformat(window["starts_on"]))
    anonymous_objection(people, stack, app_id)
    page = people("province01", f"/province/rounds/{ROUND}")
    page.fill("ul.objections input[name=reason]", "经核查，相关服务合同真实有效，异议不成立。")
    page.click("ul.objections button:has-text('处理')")
    page.wait_for_url(re.compile(f"/province/rounds/{ROUND}"))
    assert page.locator("ul.objections li").first.get_attribute("data-status") == "dismissed"
    move_clock(stack, date.fromisoformat(window["ends_on"]) + timedelta(days=1))
    page.goto(f"/province/rounds/{ROUND}")
    page.click("button:has-text('结束公示并发证')")
    page.wait_for_url(re.compile(f"/province/rounds/{ROUND}"))
    people.shot(page, "12-province-publicity-closed")
    with page.expect_download() as results:
        page.click("a:has-text('评审与认定结果（Excel）')")
    assert Path(results.value.path()).read_bytes().startswith(b"PK")  # an xlsx (a zip)
    page.goto(f"/province/audit?application={app_id}")
    assert page.locator("table.trail tbody tr").count() >= 8
    people.shot(page, "13-province-audit")
    return PLATFORM


def anonymous_objection(people: People, stack: Stack, app_id: str) -> None:
    """A member of the public, not logged in, proves an e-mail address with the code notify sends (read from
    the stack's local maildir) and files an objection."""
    objector = people("public", f"/publicity?round={ROUND}")
    objector.select_option("#o-application_id", app_id)
    objector.fill("#o-name", "王五")
    objector.fill("#o-contact", address := f"objector-{uuid.uuid4().hex[:6]}@example.cn")
    objector.fill("#o-grounds", "该平台的服务收入中有一部分来自关联企业，建议核实。")
    asked = time.time() - 1
    objector.click("button:has-text('获取验证码')")
    assert "验证码已发送至" in objector.locator(".code-sent").inner_text()
    assert objector.input_value("#o-contact") == address  # what was typed is kept
    code = wait_until(lambda: code_in_mailbox(stack, asked), "the code in the local mailbox", timeout=60)
    objector.fill("#o-code", "000000" if code != "000000" else "111111")
    objector.click("button:has-text('提交异议')")
    assert objector.locator("#e-code").inner_text() == "验证码不正确"
    objector.fill("#o-code", code)
    people.shot(objector, "11b-public-objection", at="#o-application_id")
    objector.click("button:has-text('提交异议')")
    assert objector.locator("[data-filed]").count() == 1


def move_clock(stack: Stack, day: date) -> None:
    """The registry's development clock (the only API call the test makes for a person)."""
    province = {"Authorization": f"Bearer {stack.token(Role.PROVINCE_OFFICIAL, '42')}"}
    registry = f"{stack.url('registry')}/api/v1/dev/clock"
    now = date.fromisoformat(httpx.get(registry, headers=province, timeout=10).json()["today"])
    if now < day:
        httpx.put(registry, json={"today": day.isoformat()}, headers=province, timeout=10).raise_for_status()


def the_public_verifies(people: People, platform: str) -> None:
    page = people("public", "/registry")
    found = page.locator(f"a:has-text('{platform}')")
    until(page, f"/registry?q={platform}", lambda: found.count() > 0, "listed the platform")
    page.goto("/registry")
    people.shot(page, "14a-public-registry", full_page=False)
    page.goto("/progress")
    people.shot(page, "14b-public-progress", full_page=False)
    page.goto(f"/registry?q={platform}")
    page.click(f"a:has-text('{platform}')")
    assert page.locator("h1").inner_text() == platform
    people.shot(page, "14-public-platform")
    printed = page.request.get(page.locator("a:has-text('下载证书（PDF）')").get_attribute("href"))
    assert printed.ok and printed.headers["content-type"] == "application/pdf" and printed.body().startswith(b"%PDF")
    page.click("a[href^='/verify?no=']")
    verdict = page.locator("[data-result]")
    assert verdict.get_attribute("data-result") == "valid" and platform in verdict.inner_text()
    people.shot(page, "15-public-verify")
