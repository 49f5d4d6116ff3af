"""Pure screening rules: `evaluate(dossier, rule_set, as_of, uploaded)` measures every clause of
《湖北省制造业中试平台培育建设工作指引》五、条件要求.

No I/O, no clock. A shortfall is a result with a reason, never an exception. Thresholds are inclusive
("以上" means ≥); money is Decimal yuan.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from zhongshi_contracts.credit_code import credit_code_problem, kind_problem
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.events import ClauseResult, ClauseStatus, ScreeningOutcome
from zhongshi_contracts.materials import MATERIAL_KINDS
from zhongshi_contracts.reference import LEGAL_PERSON_KIND_LABELS

from zhongshi_screening.rules import RuleSet

PASS, FAIL = ClauseStatus.PASS, ClauseStatus.FAIL


@dataclass(frozen=True)
class Verdict:
    """The screening verdict of one dossier under one rule set."""

    outcome: ScreeningOutcome
    clauses: tuple[ClauseResult, ...]
    rule_set_version: str
    as_of: date

    @property
    def failing(self) -> list[str]:
        return [c.clause for c in self.clauses if c.status is ClauseStatus.FAIL]

    @property
    def flagged(self) -> list[str]:
        return [c.clause for c in self.clauses if c.status is ClauseStatus.FLAGGED]


def yuan(amount: Decimal) -> str:
    return f"{amount:,.2f}元"


def wan_yuan(amount: Decimal) -> str:
    """Yuan in 万元, as the guideline writes its thresholds: 10,000,000 is 1000万元."""
    return f"{(amount / 10000).normalize():f}万元"


def years_after(start: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February becomes 28 February in a common year."""
    year = start.year + years
    return start.replace(year=year, day=min(start.day, calendar.monthrange(year, start.month)[1]))


def latest_start(as_of: date, years: int) -> date:
    """The last day a platform may have started to have run ``years`` by ``as_of``: a year before 28 February
    2025 is 28 February 2024, but one started on the 29th has its anniversary on the 28th as well."""
    day = years_after(as_of, -years)
    after = day + timedelta(days=1)
    return after if years_after(after, years) <= as_of else day


def _clause(
    clause: str, title: str, rules: RuleSet, ok: bool, measured: str, threshold: str, reason: str
) -> ClauseResult:
    in_principle = clause in rules.in_principle
    status = PASS if ok else (ClauseStatus.FLAGGED if in_principle else FAIL)
    return ClauseResult(
        clause=clause, title=title, in_principle=in_principle, measured=measured, threshold=threshold,
        status=status, reason="符合" if ok else reason,
    )


def c1_applicant(d: Dossier, r: RuleSet) -> ClauseResult:
    kind = d.applicant.legal_person_kind
    code_problem = credit_code_problem(d.applicant.credit_code)
    kind_mismatch = None if code_problem else kind_problem(d.applicant.credit_code, kind.value,
                                                           LEGAL_PERSON_KIND_LABELS[kind])
    reasons = [why for why in (code_problem, kind_mismatch) if why]
    if kind not in r.allowed_legal_person_kinds:
        reasons.append(f"申报主体须为法人单位，当前为{LEGAL_PERSON_KIND_LABELS[kind]}")
    return _clause(
        "C1", "申报主体为提供中试服务的法人单位", r, not reasons,
        f"{LEGAL_PERSON_KIND_LABELS[kind]}，统一社会信用代码{'无效' if code_problem else '有效'}",
        "法人单位且统一社会信用代码有效", "；".join(reasons),
    )


def c2_operating(d: Dossier, r: RuleSet, as_of: date) -> ClauseResult:
    since = d.platform.operating_since
    ok = as_of >= years_after(since, r.min_operating_years)
    return _clause(
        "C2", f"正式运行{r.min_operating_years}年以上", r, ok, f"自{since.isoformat()}起正式运行",
        f"不晚于{latest_start(as_of, r.min_operating_years).isoformat()}开始运行",
        f"截至{as_of.isoformat()}正式运行不满{r.min_operating_years}年",
    )


def c3_positioning(d: Dossier, r: RuleSet) -> ClauseResult:
    p = d.platform
    missing = [
        text for text, present in (
            ("未选择服务的“51020”产业集群", p.clusters),
            ("未选择中试服务类型", p.service_kinds),
            ("不对外提供服务，缺乏公共服务属性", p.serves_external_clients),
        ) if not present
    ]
    return _clause(
        "C3", "目标定位符合本指引", r, not missing,
        f"产业集群{len(p.clusters)}个，服务类型{len(p.service_kinds)}类，"
        f"{'对外服务' if p.serves_external_clients else '不对外服务'}",
        "至少1个产业集群、1类服务，且具备公共服务属性", "；".join(missing),
    )


def c4_facilities(d: Dossier, r: RuleSet) -> ClauseResult:
    p = d.platform
    missing = [
        text for text, present in (
            ("中试线或试验场地", p.has_pilot_line_or_test_site),
            ("安全配套设施", p.safety_facilities),
            ("环保配套设施", p.environmental_facilities),
        ) if not present
    ]
    return _clause(
        "C4", "具备中试线或试验场地及安全、环保配套", r, not missing,
        "齐备" if not missing else "缺少" + "、".join(missing), "中试线或试验场地、安全配套、环保配套齐备",
        "缺少" + "、".join(missing),
    )


def c5_equipment(d: Dossier, r: RuleSet) -> ClauseResult:
    value = d.platform.equipment_original_value
    return _clause(
        "C5", f"中试设备设施原值{wan_yuan(r.min_equipment_value)}以上", r, value >= r.min_equipment_value, yuan(value),
        f"≥ {yuan(r.min_equipment_value)}", f"设备原值{yuan(value)}低于{yuan(r.min_equipment_value)}",
    )


def c6_site_area(d: Dossier, r: RuleSet) -> ClauseResult:
    area = d.platform.site_area_m2
    return _clause(
        "C6", f"试验场地面积{r.min_site_area_m2.normalize():f}平方米以上", r, area >= r.min_site_area_m2, f"{area}㎡",
        f"≥ {r.min_site_area_m2}㎡", f"试验场地{area}㎡低于{r.min_site_area_m2}㎡",
    )


def c7_professionals(d: Dossier, r: RuleSet) -> ClauseResult:
    staff = d.platform.professionals
    return _clause(
        "C7", f"专业人才{r.min_professionals}人以上", r, staff.total >= r.min_professionals,
        f"{staff.total}人（管理{staff.management}、研发{staff.rd}、检测{staff.testing}、质量{staff.quality}）",
        f"≥ {r.min_professionals}人", f"专业人才{staff.total}人，不足{r.min_professionals}人",
    )


def c8_outcomes(d: Dossier, r: RuleSet, as_of: date) -> ClauseResult:
    since = r.outcomes_since
    transfers = sum(1 for t in d.outcomes.technology_transfers if since <= t.date <= as_of)
    revenue = sum(
        (p.amount for p in d.outcomes.service_revenue if since <= p.period_start and p.period_end <= as_of),
        Decimal(0)
    )
    ok = transfers >= r.min_technology_transfers or revenue >= r.min_service_revenue
    return _clause(
        "C8", f"{since.isoformat()}以来服务成效", r, ok,
        f"技术成果转化{transfers}项；中试服务收入{yuan(revenue)}",
        f"转化≥ {r.min_technology_transfers}项 或 收入≥ {yuan(r.min_service_revenue)}",
        f"{since.isoformat()}以来技术成果转化{transfers}项（不足{r.min_technology_transfers}项）且"
        f"中试服务收入{yuan(revenue)}（不足{yuan(r.min_service_revenue)}）",
    )


def c9_mechanism(uploaded: Collection[str], r: RuleSet) -> ClauseResult:
    """Rests on uploaded documents (their kinds), never on titles typed into the dossier."""
    present = [k for k in r.required_mechanism_kinds if k in uploaded]
    missing = [k for k in r.required_mechanism_kinds if k not in uploaded]
    labels = [MATERIAL_KINDS[k] for k in missing]
    return _clause(
        "C9", "建立完善的运行体系和机制", r, not missing, f"已上传运行机制文件{len(present)}类",
        "、".join(MATERIAL_KINDS[k] for k in r.required_mechanism_kinds) or "无",
        "未上传" + "、".join(labels),
    )


def evaluate(dossier: Dossier, rule_set: RuleSet, as_of: date, uploaded: Collection[str] = ()) -> Verdict:
    """Measure every clause; ineligible lists every failing hard clause, flagged ones need an exception.
    ``uploaded`` holds the kinds of the materials uploaded with the submission (C9)."""
    clauses = (
        c1_applicant(dossier, rule_set),
        c2_operating(dossier, rule_set, as_of),
        c3_positioning(dossier, rule_set),
        c4_facilities(dossier, rule_set),
        c5_equipment(dossier, rule_set),
        c6_site_area(dossier, rule_set),
        c7_professionals(dossier, rule_set),
        c8_outcomes(dossier, rule_set, as_of),
        c9_mechanism(set(uploaded), rule_set),
    )
    statuses = {c.status for c in clauses}
    if ClauseStatus.FAIL in statuses:
        outcome = ScreeningOutcome.INELIGIBLE
    elif ClauseStatus.FLAGGED in statuses:
        outcome = ScreeningOutcome.NEEDS_EXCEPTION
    else:
        outcome = ScreeningOutcome.ELIGIBLE
    return Verdict(outcome=outcome, clauses=clauses, rule_set_version=rule_set.version, as_of=as_of)
