"""The sample round's expert review: a pool of 44 experts, panels drawn with a committed seed, simulated
experts scoring with a realistic spread, the leads' notes on diverging panels, one failed on-site
inspection, and the province confirming the decision list — all through the review service's API."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from zhongshi_contracts.reference import Cluster, hubei_counties
from zhongshi_runtime.auth import Role

from zhongshi.demo_data import APPLICANTS, GIVEN, SURNAMES
from zhongshi.demo_officials import LISTED
from zhongshi.launcher import Stack

ORGANISATIONS = ["武汉大学", "华中科技大学", "武汉理工大学", "中国地质大学（武汉）", "华中农业大学", "湖北大学",
                 "湖北工业大学", "长江大学", "湖北省产业技术研究院", "中国科学院武汉分院", "国家信息光电子创新中心",
                 "湖北省标准化与质量研究院"]
TITLES = ["教授", "研究员", "教授级高级工程师", "高级工程师"]
FAILED_INSPECTION = {"荆州石油装备研究院": "现场核查发现中试线尚未通过安全验收，暂不具备对外服务条件。"}
EXPERTS_AT_ONCE = 8


def expert_pool() -> list[dict[str, Any]]:
    """44 experts whose fields cover every cluster of the sample round several times over, some with
    relations to applicants so that the conflict rules have something to exclude."""
    used = sorted({c.value for *_, clusters, _ in APPLICANTS for c in clusters})
    counties = sorted(hubei_counties())
    pool: list[dict[str, Any]] = []
    for i in range(44):
        fields = sorted({used[(i + k * 7) % len(used)] for k in range(4)} | {Cluster.HIGH_END_EQUIPMENT.value})
        pool.append({
            "id": f"E{i + 1:03d}", "name": SURNAMES[i % len(SURNAMES)] + GIVEN[i % len(GIVEN)],
            "organisation": ORGANISATIONS[i % len(ORGANISATIONS)], "title": TITLES[i % len(TITLES)],
            "fields": fields, "region_code": counties[(i * 11) % len(counties)],
            "email": f"expert{i + 1}@example.cn", "phone": f"1390000{i + 1:04d}",
            "relations": [],
        })
    pool[2]["relations"] = [{"organisation": "东风汽车集团有限公司", "kind": "collaboration", "start": "2023-03-01",
                             "end": "2025-06-30"}]
    pool[5]["relations"] = [{"organisation": "武汉光谷光电子技术研究院有限公司", "kind": "shareholding",
                             "start": "2021-01-01"}]
    pool[8]["relations"] = [{"organisation": "荆门化工循环产业研究院", "kind": "employment", "start": "2015-01-01",
                             "end": "2019-12-31"}]  # long ago: no conflict any more
    return pool


def sheet(rubric: dict[str, Any], quality: float, rng: random.Random) -> dict[str, Any]:
    scores, comments = {}, {}
    for criterion in rubric["criteria"]:
        value = max(0, min(criterion["max_score"], round(quality + rng.uniform(-1.6, 1.6))))
        scores[criterion["key"]] = value
        if value >= rubric["comment_at_or_above"]:
            comments[criterion["key"]] = f"{criterion['title']}表现突出，具有示范带动作用。"
        elif value <= rubric["comment_at_or_below"]:
            comments[criterion["key"]] = f"{criterion['title']}明显不足，需加强建设。"
    return {"scores": scores, "comments": comments, "overall_comment": "综合来看，平台建设基础较好。"}


def quality(assignment: dict[str, Any]) -> float:
    """A simulated expert's view of an application: better equipment and revenue score higher."""
    platform = assignment["dossier"]["platform"]
    revenue = sum(float(r["amount"]) for r in assignment["dossier"]["outcomes"]["service_revenue"])
    base = 6.2 + min(2.0, float(platform["equipment_original_value"]) / 30_000_000) + min(1.0, revenue / 15_000_000)
    return base + (sum(map(ord, assignment["platform_name"])) % 7 - 3) * 0.25


def run_review(stack: Stack, round_id: str, app_ids: list[str], timeout: float = 120) -> dict[str, Any]:
    """Drive expert review for the round; return the province's proposal once intake shows the decisions."""
    review = stack.url("review") + "/api/v1"
    province = {"Authorization": f"Bearer {stack.token(Role.PROVINCE_OFFICIAL, '42')}"}

    def expert_auth(expert_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {stack.token(Role.EXPERT, expert_id)}"}

    with httpx.Client(timeout=30) as http:
        pool = expert_pool()
        for expert in pool:
            http.put(f"{review}/experts/{expert['id']}", json=expert, headers=province).raise_for_status()
        settings = {"round_id": round_id, "quota": 8, "accreditation_line": "80", "cultivation_line": "70",
                    "aggregation": "trimmed_mean", "panel_size": 5, "divergence_threshold": "18"}
        r = http.put(f"{review}/rounds/{round_id}/review-settings", json=settings, headers=province)
        if r.status_code != 409:  # already confirmed by an earlier run
            r.raise_for_status()
            committed = http.post(f"{review}/rounds/{round_id}/draw-commitment", headers=province)
            if committed.status_code != 409:  # committed by an earlier run that stopped before confirming
                committed.raise_for_status()
            http.post(f"{review}/rounds/{round_id}/panels", json={}, headers=province).raise_for_status()
            score_everything(http, review, pool, expert_auth)
            settle_divergence(http, review, round_id, province, expert_auth)
            inspect(http, review, round_id, province)
            http.post(f"{review}/rounds/{round_id}/confirm", headers=province)
        proposal = http.get(f"{review}/rounds/{round_id}/proposal", headers=province).json()
        wait_decided(stack, http, province, [i["application_id"] for i in proposal["items"]], timeout)
        return dict(proposal)


def score_everything(http: httpx.Client, review: str, pool: list[dict[str, Any]], auth: Any) -> None:
    """The experts score at the same time, each their own assignments in order (so each one's sheets are the
    same whatever the others do)."""

    def score_mine(expert: dict[str, Any]) -> None:
        rng = random.Random(expert["id"])  # noqa: S311 - a simulation
        for task in http.get(f"{review}/assignments", headers=auth(expert["id"])).json():
            if task["scored"]:
                continue
            view = http.get(f"{review}/assignments/{task['application_id']}", headers=auth(expert["id"])).json()
            body = sheet(view["rubric"], quality(view), rng)
            http.post(f"{review}/assignments/{task['application_id']}/score", json=body,
                      headers=auth(expert["id"])).raise_for_status()

    with ThreadPoolExecutor(EXPERTS_AT_ONCE) as experts:
        list(experts.map(score_mine, pool))  # list(): an expert's failure is raised here


def settle_divergence(http: httpx.Client, review: str, round_id: str, province: dict[str, str], auth: Any) -> None:
    for item in http.get(f"{review}/rounds/{round_id}/proposal", headers=province).json()["incomplete"]:
        if "分歧" in item["missing"]:
            panel = http.get(f"{review}/panels/{item['application_id']}", headers=province).json()["panel"]
            note = "经评审组讨论，分歧主要在试验设施评价口径，组内意见已统一，维持各专家独立评分。"
            http.post(f"{review}/assignments/{item['application_id']}/reconcile", json={"note": note},
                      headers=auth(panel["experts"][0])).raise_for_status()


def inspect(http: httpx.Client, review: str, round_id: str, province: dict[str, str]) -> None:
    for item in http.get(f"{review}/rounds/{round_id}/proposal", headers=province).json()["items"]:
        notes = FAILED_INSPECTION.get(item["applicant_name"])
        http.post(f"{review}/applications/{item['application_id']}/inspection",
                  json={"passed": notes is None, "notes": notes or "现场核查情况与申报材料一致。"},
                  headers=province).raise_for_status()


def wait_decided(stack: Stack, http: httpx.Client, province: dict[str, str], ids: list[str], timeout: float) -> None:
    decided = {"proposed_accreditation", "proposed_cultivation", "review_declined", "withdrawn", *LISTED}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = [http.get(f"{stack.url('intake')}/api/v1/applications/{i}", headers=province).json()["status"]
                    for i in ids]
        if all(s in decided for s in statuses):
            return
        time.sleep(0.2)
