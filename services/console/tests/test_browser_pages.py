"""The pages added after the first browser tests, in Chromium against the real stack with the sample round:
the applicant's annual report, the province's platform page and stage deadlines, the city's priorities and quota,
the operator's webhooks (registered, rotated, deleted) and dead letters (the selected ones redriven); each new main
page also passes axe-core (no serious or critical violation)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from zhongshi_runtime.auth import Role
from zhongshi_runtime.clock import shanghai_date, utc_now

from zhongshi import demo
from zhongshi.demo_data import APPLICANTS, applicant_credit_code
from zhongshi.launcher import Stack
from zhongshi.polling import wait_until

from .conftest import Console, sign_in
from .test_browser import serious_violations, submitted_application

pytestmark = [pytest.mark.integration, pytest.mark.browser]


@pytest.fixture
def person(browser: Any, console: Console) -> Iterator[Any]:
    """Open a page as a demo login: ``person("province01", "/province/platforms")``."""
    contexts: list[Any] = []

    def open_as(username: str, path: str) -> Any:
        context = browser.new_context(base_url=console.url, viewport={"width": 1280, "height": 900}, locale="zh-CN")
        context.set_default_timeout(30_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(path)
        sign_in(page, username)
        page.wait_for_url(re.compile(re.escape(path.split("?")[0])))
        return page

    yield open_as
    for context in contexts:
        context.close()


def own_platform(console: Console) -> tuple[dict[str, Any], str]:
    """An accredited platform of the sample round (the last listed: others' tests use the first) and the demo
    login of its applicant (applicantNN, in `demo_data.APPLICANTS` order)."""
    found = httpx.get(f"{console.settings.registry_url}/api/v1/public/platforms",
                      params={"status": "accredited", "limit": 200}, timeout=10).json()["items"]
    assert found, "the sample round accredited no platform"
    codes = {applicant_credit_code(i): f"applicant{i + 1:02d}" for i in range(len(APPLICANTS))}
    platform = found[-1]
    return dict(platform), codes[platform["applicant_credit_code"]]


def test_the_applicant_files_an_annual_report(person: Any, console: Console) -> None:
    platform, login = own_platform(console)
    page = person(login, f"/applicant/applications/{platform['id'].removeprefix('P-')}")  # P-<application id>
    page.click("a:has-text('年度报告')")
    page.wait_for_url(f"**/applicant/platforms/{platform['id']}")
    assert not (found := serious_violations(page)), found
    year = str(shanghai_date(utc_now()).year)
    for name, value in {"year": year, "service_projects": "12", "clients_served": "30", "service_revenue": "四百万",
                        "technology_transfers": "2", "equipment_value": "12500000", "staff": "15"}.items():
        page.fill(f"#ar-{name}", value)
    page.click("button:has-text('提交年度报告')")
    assert page.locator("#e-ar-service_revenue").inner_text() == "请填写数字金额"
    page.fill("#ar-service_revenue", "4800000.00")
    page.click("button:has-text('提交年度报告')")
    page.wait_for_url(re.compile(r"filed="))
    row = page.locator(f"table.reports tr[data-year='{year}']")
    assert "4,800,000 元" in row.inner_text() and "中试服务收入" in row.inner_text()  # a shortfall


def test_the_province_evaluates_a_year_and_recommends_for_national_upgrade(person: Any, console: Console) -> None:
    platform, _ = own_platform(console)
    page = person("province01", "/province/platforms")
    assert not (found := serious_violations(page)), found
    page.fill("#q", platform["platform_name"])
    page.click("button:has-text('查询')")
    page.click(f"a:has-text('{platform['platform_name']}')")
    page.wait_for_url(f"**/province/platforms/{platform['id']}")
    assert not (found := serious_violations(page)), found
    year = str(shanghai_date(utc_now()).year)
    page.fill("#ev-year", year)
    page.select_option("#ev-standing", "warning")
    page.fill("#ev-reason", "年度服务收入未达到认定条件")
    page.click("button:has-text('提交年度评价')")
    assert page.locator("#e-ev-rectify_by").inner_text() == "限期整改须填写整改期限"  # nothing changed
    page.select_option("#ev-standing", "good")
    page.click("button:has-text('提交年度评价')")
    page.wait_for_url(f"**/province/platforms/{platform['id']}")
    assert f"{year}年度：合格" in page.locator("dl.facts").inner_text()
    for dimension in ("战略定位", "基础能力", "技术优势", "服务成效", "运行机制", "未来潜力"):
        page.fill(f"#nr-score-{dimension}", "85")
        page.fill(f"#nr-notes-{dimension}", "达到国家级中试平台要求")
    page.click("button:has-text('推荐至国家')")
    page.wait_for_url(f"**/province/platforms/{platform['id']}")
    assert page.locator("[data-national]").get_attribute("data-national") == "pending"


def test_the_city_orders_its_recommendations_and_sees_its_quota(person: Any, demo_stack: Stack) -> None:
    app_id = submitted_application(demo_stack)
    county = {"Authorization": f"Bearer {demo_stack.token(Role.COUNTY_OFFICIAL, '420111')}"}
    recommended = httpx.post(f"{demo_stack.url('screening')}/api/v1/applications/{app_id}/recommend", headers=county,
                             json={"opinion": "同意推荐"}, timeout=30)
    assert recommended.status_code == 200, recommended.text
    page = person("city420100", "/official/round")
    page.click(f"a:has-text('{demo.ROUND_ID}')")
    page.wait_for_url(f"**/official/rounds/{demo.ROUND_ID}")
    assert not (found := serious_violations(page)), found
    assert page.locator("[data-city='420100'] .quota-used").inner_text().isdigit()
    assert "洪山区" in page.locator("table.counties").inner_text()
    row = page.locator(f"table.ranking tr[data-application='{app_id}']")
    row.locator("input").fill("0")
    page.click("button:has-text('保存排序')")
    assert "之间的整数" in row.locator(".field-error").inner_text()
    rows = page.locator("table.ranking tbody tr")
    for i in range(rows.count()):
        rows.nth(i).locator("input").fill(str(rows.count() - i))  # reverse the order shown
    page.click("button:has-text('保存排序')")
    page.wait_for_url(re.compile(r"saved=1"))
    city = {"Authorization": f"Bearer {demo_stack.token(Role.CITY_OFFICIAL, '420100')}"}
    case = httpx.get(f"{demo_stack.url('screening')}/api/v1/cases/{app_id}", headers=city, timeout=10).json()
    assert case["priority"] is not None and page.locator("table.ranking tbody tr").count() == rows.count()


def test_the_province_sets_a_stage_deadline_beside_the_quotas(person: Any, demo_stack: Stack) -> None:
    settings = f"{demo_stack.url('screening')}/api/v1/rounds/{demo.ROUND_ID}/settings"
    province = {"Authorization": f"Bearer {demo_stack.token(Role.PROVINCE_OFFICIAL, '42')}"}
    before = httpx.get(settings, headers=province, timeout=10).json()
    day = (shanghai_date(utc_now()) + timedelta(days=400)).isoformat()  # far off: nothing becomes overdue
    page = person("province01", f"/province/rounds/{demo.ROUND_ID}")
    try:
        page.fill("#dl-exception_review", day)
        page.click("button:has-text('保存办理期限')")
        page.wait_for_url(re.compile("#deadlines$"))
        assert page.locator("#dl-exception_review").input_value() == day
        after = httpx.get(settings, headers=province, timeout=10).json()
        assert after["deadlines"]["exception_review"] == day and after["quotas"] == before["quotas"]
        assert not (found := serious_violations(page)), found
    finally:  # the sample round's settings as they were, for the other tests
        assert httpx.put(settings, headers=province, json=before, timeout=10).status_code == 200


def test_the_operator_registers_rotates_and_deletes_a_subscription(person: Any) -> None:
    page = person("operator", "/operator/webhooks")
    page.fill("#w-url", "不是网址")
    page.check("input[name='event_types'][value='pilot.application.forwarded']")
    page.click("button:has-text('登记订阅')")
    assert page.locator("#e-w-url").inner_text() == "请填写有效网址"  # notify's 422 naming url
    assert page.locator("input[value='pilot.application.forwarded']").is_checked()
    assert not (found := serious_violations(page)), found
    page.fill("#w-url", f"http://127.0.0.1:9/{uuid.uuid4().hex}")
    page.click("button:has-text('登记订阅')")
    sub_id = page.locator("[data-created]").get_attribute("data-created")
    first = page.locator("code.secret").inner_text()
    assert first.startswith("whsec_") and sub_id
    row = page.locator(f"tr[data-subscription='{sub_id}']")
    row.locator("button:has-text('更换密钥')").click()
    secret = page.locator("[data-rotated] code.secret").inner_text()
    assert secret.startswith("whsec_") and secret != first
    page.goto(f"/operator/webhooks/{sub_id}")
    assert page.locator("h1").inner_text() == "投递记录" and not serious_violations(page)
    page.goto("/operator/webhooks")
    assert first not in page.content()  # shown once only
    row.locator("button:has-text('删除')").click()
    page.wait_for_url("**/operator/webhooks")
    assert row.count() == 0


async def publish_poison(stack: Stack, subject: str) -> None:
    """A submission screening cannot read (not JSON), for one subject of its own: screening dead-letters it."""
    headers = {"ce_id": str(uuid.uuid4()), "ce_subject": subject, "ce_specversion": "1.0", "ce_source": "/test",
               "ce_type": "cn.gov.hubei.pilot.application.submitted.v1", "content-type": "application/json"}
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait("pilot.internal.application.submitted", b"{not json", key=subject.encode(),
                                     headers=[(k, v.encode()) for k, v in headers.items()])
    finally:
        await producer.stop()


def test_the_operator_redrives_the_selected_dead_letters(person: Any, demo_stack: Stack) -> None:
    subject = f"A-CONSOLE-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API holds this thread's event loop
        pool.submit(asyncio.run, publish_poison(demo_stack, subject)).result(timeout=60)
    operator = {"Authorization": f"Bearer {demo_stack.token(Role.OPERATOR, '*')}"}

    def dead() -> list[dict[str, Any]]:
        page = httpx.get(f"{demo_stack.url('screening')}/api/v1/dlq", headers=operator, timeout=10,
                         params={"status": "dead", "limit": 500}).json()
        return [d for d in page["items"] if d["subject"] == subject]

    [letter] = wait_until(dead, "screening dead-letters the unreadable submission", timeout=60,
                          interval=0.5)
    page = person("operator", "/operator/dlq?service=screening&status=dead")
    assert page.locator("section[data-service]").count() == 1
    assert not (found := serious_violations(page)), found
    page.check(f"input[name='entry_ids'][value='{letter['id']}']")
    page.click("section[data-service='screening'] button:has-text('重投所选死信')")
    assert page.locator("[data-bulk-redriven]").get_attribute("data-bulk-redriven") == "1"

    def republished() -> bool:  # still unreadable, it comes back as the same entry, failed again
        shown = httpx.get(f"{demo_stack.url('screening')}/api/v1/dlq/{letter['id']}", headers=operator,
                          timeout=10).json()
        return bool(shown["status"] == "redriven" or shown["failed_at"] != letter["failed_at"])

    wait_until(republished, "the ticked letter republished to its topic", timeout=60, interval=0.5)
    page.goto("/operator/dlq")
    assert page.locator("section[data-service]").count() == 5  # each service's own dead letters
