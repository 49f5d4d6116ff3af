"""`zhongshi demo`: load the sample round over the public HTTP APIs (idempotently) and print its outcome."""

from __future__ import annotations

import hashlib
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from zhongshi_contracts.credit_code import make_credit_code
from zhongshi_contracts.reference import (
    CLUSTERS,
    PLATFORM_TYPE_LABELS,
    TIER_LABELS,
    Cluster,
    ClusterTier,
    PlatformType,
    ServiceKind,
    hubei_cities,
    region,
)
from zhongshi_runtime.auth import Role
from zhongshi_runtime.clock import shanghai_date, utc_now

from zhongshi.demo_data import APPLICANTS, applicant_credit_code, legal_kind
from zhongshi.demo_materials import DEMO_REQUIRED, kinds_for, upload_parts
from zhongshi.demo_officials import run_chain
from zhongshi.demo_registry import run_publicity
from zhongshi.demo_review import run_review
from zhongshi.launcher import Stack
from zhongshi.progress import QuietSteps, Steps

ROUND_ID = "R2026-DEMO"
OUTCOME_LABELS = {"eligible": "待县级初审", "needs_exception": "待县级初审", "returned": "退回修改",
                  "submitted": "审查中", "withdrawn": "已撤回", "city_review": "待市州推荐",
                  "exception_review": "待省级例外认定", "expert_review": "待专家评审", "rejected": "不予推荐",
                  "declined": "例外认定未通过", "proposed_accreditation": "拟认定",
                  "proposed_cultivation": "拟列培育对象", "review_declined": "评审未通过",
                  "accredited": "已认定", "cultivation": "培育对象", "objection_upheld": "异议成立未认定"}


def demo_round(today: date) -> dict[str, Any]:
    return {
        "id": ROUND_ID, "title": "2026年度湖北省制造业中试平台认定（示例批次）",
        "opens_on": (today - timedelta(days=30)).isoformat(), "closes_on": (today + timedelta(days=60)).isoformat(),
        "rule_set_version": "hubei-2025-v1", "required_materials": DEMO_REQUIRED,
    }


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def dossier(i: int, row: tuple[str, str, str, PlatformType, list[Cluster], str], today: date) -> dict[str, Any]:
    """A complete, realistic dossier for applicant ``i``, falling short where its variant says."""
    county, name, platform, ptype, clusters, variant = row
    kind = legal_kind(name)[0]
    credit_code = applicant_credit_code(i)
    docs = [("operations_management", "中试平台运行管理办法"), ("service_process", "中试服务流程及收费标准"),
            ("safety_management", "安全生产与环境保护管理制度")]
    if variant == "c9":
        docs = docs[:2]
    transfers = [
        {"date": f"{2024 + k // 3}-{3 + 2 * (k % 3):02d}-15", "title": f"{platform}成果转化项目{k + 1}",
         "client": f"湖北某制造企业{k + 1}号"}
        for k in range(1 if variant == "c8" else 3 + i % 3)
    ]
    revenue = [
        {"period_start": "2024-01-01", "period_end": "2024-12-31", "amount": "1200000.00" if variant == "c8"
         else f"{3_200_000 + i * 50_000}.00"},
        {"period_start": "2025-01-01", "period_end": "2025-12-31", "amount": "0.00" if variant == "c8"
         else f"{2_900_000 + i * 40_000}.00"},
    ]
    staff = {"management": 1, "rd": 3, "testing": 2, "quality": 1} if variant == "c7" else \
        {"management": 3, "rd": 8 + i % 10, "testing": 5, "quality": 2}
    partners = [
        {"name": f"{name}共建方{k}", "credit_code": make_credit_code(f"91{county}MB{i * 10 + k:07d}"),
         "investment": f"{(k + 2) * 1_500_000}.00", "ip_share_percent": "30", "revenue_share_percent": "25"}
        for k in (1, 2)
    ] if ptype is PlatformType.JOINT_CONSTRUCTION else []
    return {
        "applicant": {
            "name": name, "credit_code": credit_code, "legal_person_kind": kind, "region_code": county,
            "contact": {"name": "张工", "phone": f"1380271{i:04d}", "email": f"pilot{i}@example.cn"},
        },
        "platform": {
            "name": platform, "platform_type": ptype.value, "clusters": [c.value for c in clusters],
            "service_kinds": [ServiceKind.PROCESS_SCALE_UP.value, ServiceKind.SMALL_BATCH_PRODUCTION.value,
                              list(ServiceKind)[i % 9].value],
            "serves_external_clients": variant != "c3",
            "operating_since": (today - timedelta(days=200)).isoformat() if variant == "c2"
            else date(2018 + i % 6, 1 + i % 12, 1 + i % 27).isoformat(),
            "has_pilot_line_or_test_site": True,
            "pilot_line_description": f"{platform}拥有中试生产线{1 + i % 3}条及配套检测实验室",
            "safety_facilities": True, "environmental_facilities": variant != "c4",
            "equipment_original_value": f"{6_800_000 + i * 10_000}.00" if variant == "c5"
            else f"{12_000_000 + i * 1_350_000}.00",
            "site_area_m2": "320.00" if variant == "c6" else f"{600 + i * 35}.00",
            "professionals": staff,
            "mechanism_documents": [{"kind": k, "title": t} for k, t in docs],
            "partners": partners,
        },
        "outcomes": {"technology_transfers": transfers, "service_revenue": revenue},
        "materials": [{"name": n, "kind": k, "sha256": _sha(f"{name}/{n}")}
                      for n, k in (("营业执照", "licence"), ("中试平台建设运行情况报告", "report"))],
    }


@dataclass
class RoundOutcome:
    """The sample round as it stands: every application and the per-city progress of the chain."""

    applications: list[dict[str, Any]]
    progress: list[dict[str, Any]]
    review: dict[str, Any]
    registry: dict[str, Any]
    mailbox: str = ""
    mails: int = 0


def load(stack: Stack, timeout: float = 120, steps: Steps | None = None) -> RoundOutcome:
    """Open the round, create and submit every application (idempotent), wait until all are screened,
    then let the simulated officials take them through the recommendation chain; ``steps`` reports each stage."""
    steps = steps or QuietSteps()
    today = shanghai_date(utc_now())
    intake = stack.url("intake")
    province = {"Authorization": f"Bearer {stack.token(Role.PROVINCE_OFFICIAL, '42')}"}
    with httpx.Client(timeout=30) as http:
        with steps.step(f"round {ROUND_ID} opened"):
            _ok(http.post(f"{intake}/api/v1/rounds", json=demo_round(today), headers=province), 201, 409)
        with steps.step(f"{len(APPLICANTS)} applications created and submitted"):
            ids = _submit_all(http, stack, today)
        with steps.step("every application screened (形式审查)"):
            wait_until_all(http, intake, province, ids, timeout, lambda s: s not in ("draft", "submitted"))
        with steps.step("recommendation chain: counties, cities, province"):
            progress = run_chain(stack, ROUND_ID, ids, timeout)
        with steps.step("expert review (专家评审)"):
            review = run_review(stack, ROUND_ID, ids, timeout)
        with steps.step("publicity (公示) and the registry"):
            registry = run_publicity(stack, ROUND_ID)
            closed = bool(registry.get("entries"))  # publicity closed: intake records each listing
            apps = wait_until_all(http, intake, province, ids, timeout,
                                  lambda s: not closed or not s.startswith("proposed_"))
    mails = wait_for_mail(stack.mailbox / "new", at_least=len(ids)) if stack.mail_sink else 0
    return RoundOutcome(applications=apps, progress=progress, review=review, registry=registry,
                        mailbox=str(stack.mailbox), mails=mails)


def upload_materials(http: httpx.Client, application: str, auth: dict[str, str], body: dict[str, Any],
                     listed: list[dict[str, Any]], required: list[str] = DEMO_REQUIRED) -> None:
    """Upload a real small PDF of every kind the round requires and the dossier declares, skipping kinds an
    earlier (interrupted) run uploaded."""
    present = {m["kind"] for m in listed}
    for kind in kinds_for(body, required):
        if kind not in present:
            http.post(f"{application}/materials", headers=auth, **upload_parts(kind, body)).raise_for_status()


def _submit_all(http: httpx.Client, stack: Stack, today: date) -> list[str]:
    """Create and submit each sample application once (an Idempotency-Key per applicant); their ids."""
    intake, ids = stack.url("intake"), []
    for i, row in enumerate(APPLICANTS):
        body = dossier(i, row, today)
        auth = {"Authorization": f"Bearer {stack.token(Role.APPLICANT, body['applicant']['credit_code'])}"}
        r = http.post(f"{intake}/api/v1/applications", json={"round_id": ROUND_ID, "dossier": body},
                      headers={**auth, "Idempotency-Key": f"demo-{i}"})
        app = _ok(r, 200, 201)
        if app["status"] == "draft":
            upload_materials(http, f"{intake}/api/v1/applications/{app['id']}", auth, body, app["materials"])
            _ok(http.post(f"{intake}/api/v1/applications/{app['id']}/submit", headers=auth), 200)
        ids.append(app["id"])
    return ids


def wait_for_mail(folder: Path, at_least: int, timeout: float = 30) -> int:
    """How many e-mails notify delivered to the local maildir, once at least ``at_least`` have arrived."""
    deadline = time.monotonic() + timeout
    while True:
        count = len(list(folder.iterdir())) if folder.exists() else 0
        if count >= at_least or time.monotonic() > deadline:
            return count
        time.sleep(0.2)


def _ok(response: httpx.Response, *expected: int) -> Any:
    if response.status_code not in expected:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    return response.json()


def wait_until_all(http: httpx.Client, intake: str, headers: dict[str, str], ids: list[str], timeout: float,
                   done: Callable[[str], bool]) -> list[dict[str, Any]]:
    """The applications once every status is ``done`` (or the deadline passed)."""
    deadline = time.monotonic() + timeout
    while True:
        apps = [_ok(http.get(f"{intake}/api/v1/applications/{i}", headers=headers), 200) for i in ids]
        if all(done(a["status"]) for a in apps) or time.monotonic() > deadline:
            return apps
        time.sleep(0.2)


def _pad(text: str, width: int) -> str:
    shown = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - shown)


def _table(rows: Sequence[tuple[str, ...]], widths: list[int]) -> list[str]:
    return ["  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def _note(app: dict[str, Any]) -> str:
    """Why the application stands where it does: failing or flagged clauses, the last opinion or step."""
    last = app["timeline"][-1]
    if last["event_type"].endswith("screened"):
        return "；".join(f"{c['clause']} {c['reason']}" for c in last["details"]["clauses"] if c["status"] != "pass")
    return str(last["details"].get("opinion") or last["summary"])


def summary(outcome: RoundOutcome) -> str:
    """The sample round as text tables: every application, then the per-city results of the chain."""
    apps = outcome.applications
    rows = [("城市", "申报主体", "平台类型", "集群层级", "当前环节", "说明")]
    for a in apps:
        d = a["dossier"]
        served = {CLUSTERS[Cluster(c)][1] for c in d["platform"]["clusters"]}
        tiers = [TIER_LABELS[t] for t in ClusterTier if t in served]
        rows.append((
            region(a["region_code"]).city_name, d["applicant"]["name"][:16],
            PLATFORM_TYPE_LABELS[PlatformType(d["platform"]["platform_type"])], "/".join(tiers),
            OUTCOME_LABELS.get(a["status"], a["status"]), _note(a)[:48],
        ))
    lines = _table(rows, [20, 34, 18, 22, 16, 0])
    counts: dict[str, int] = {}
    for a in apps:
        label = OUTCOME_LABELS.get(a["status"], a["status"])
        counts[label] = counts.get(label, 0) + 1
    cities = {region(a["region_code"]).city_code for a in apps}
    tally = "，".join(f"{k}{v}份" for k, v in counts.items())
    files = sum(len(a.get("materials", [])) for a in apps)
    lines += ["", f"共{len(apps)}份申报，来自{len(cities)}个市州：{tally}",
              f"申报材料：已上传{files}份PDF（存于申报服务数据库的GridFS）。查看：GET /api/v1/applications/"
              "<申报编号>/materials；打印申报书：GET /api/v1/applications/<申报编号>/form.pdf", ""]
    stages = ("county_review", "city_review", "exception_review", "expert_review", "returned", "rejected", "declined")
    header = ("市州", "推荐指标", "已推荐", "县级初审", "市州推荐", "例外认定", "专家评审", "退回", "不予推荐",
              "例外未过")
    city_rows = [header] + [
        (p["city_name"], str(p["quota"]), str(p["quota_used"]), *(str(p["by_stage"][s]) for s in stages))
        for p in outcome.progress if any(p["by_stage"].values())
    ]
    lines += _table(city_rows, [24, 10, 8, 10, 10, 10, 10, 6, 10, 10])
    decided = [("排名", "市州", "平台名称", "综合得分", "评审结论")] + [
        (str(i["rank"] or "—"), hubei_cities()[i["city_code"]], i["platform_name"], str(i["score"] or "—"),
         i["label"] + ("（省厅调整）" if i["override"] else ""))
        for i in outcome.review.get("items", [])
    ]
    confirmed = "省经信厅已确认" if outcome.review.get("confirmed_at") else "待确认"
    lines += ["", f"专家评审结果（{confirmed}）:"]
    mail = [f"通知邮件：{outcome.mails}封，已投递到本地邮箱 {outcome.mailbox}（maildir 格式）"]
    if not outcome.mailbox:
        mail = []
    return "\n".join(lines + _table(decided, [6, 24, 32, 10, 0]) + _registry_lines(outcome.registry) + mail)


def _registry_lines(registry: dict[str, Any]) -> list[str]:
    lines = [""]
    publicity = registry.get("publicity")
    if publicity:
        state = "已办结" if publicity.get("closed_at") else "公示中"
        lines.append(f"公示（{state}）：{publicity['starts_on']}至{publicity['ends_on']}，共{publicity['working_days']}个"
                     f"工作日，公示{len(publicity['items'])}项，收到实名异议{len(publicity['objections'])}件"
                     f"（开发环境：登记服务的日期已拨至{registry['today']}，以演示公示期满）")
    if registry.get("note"):
        lines.append(f"说明：{registry['note']}")
    entries = registry.get("entries", [])
    if entries:
        lines += ["", "登记簿（本批次）:"]
        rows = [("类别", "证书编号", "平台名称", "市州")] + [
            (e["status_label"], e["certificate_no"] or "—", e["platform_name"], hubei_cities()[e["city_code"]])
            for e in sorted(entries, key=lambda e: (e["certificate_no"] is None, e["certificate_no"] or "", e["id"]))]
        lines += _table(rows, [20, 20, 32, 0])
    stats = registry.get("stats", {})
    done, targets = stats.get("accredited", {}), stats.get("targets", {})
    if targets:
        by_city = "，".join(f"{c['city_name']}{c['accredited']}个" for c in stats.get("by_city", []))
        lines += ["", f"2030年目标进度：省级中试平台{done.get('provincial', 0)}/{targets['provincial']}个"
                      f"（{done.get('provincial_progress_percent', 0)}%），国家级{done.get('national', 0)}/"
                      f"{targets['national']}个，培育对象{done.get('cultivation', 0)}个",
                  f"按市州：{by_city or '暂无'}"]
    return lines
