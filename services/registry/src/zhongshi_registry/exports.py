"""Officials' exports with Chinese headers: the published list, a round's results, annual-report summaries.
Tables are built purely; the runtime's `csv_bytes` and `xlsx_bytes` render them, neutralising formula cells."""

from __future__ import annotations

from collections.abc import Sequence

from zhongshi_contracts.reference import CLUSTERS, PLATFORM_TYPE_LABELS, SERVICE_KIND_LABELS, hubei_cities
from zhongshi_contracts.registry import FinalDecision
from zhongshi_contracts.review import DECISION_LABELS
from zhongshi_runtime.tables import Table, csv_bytes, xlsx_bytes

from zhongshi_registry.domain import DecisionRecord
from zhongshi_registry.entries import STATUS_LABELS, AnnualReport, Entry

__all__ = ["Table", "csv_bytes", "platforms_table", "reports_table", "results_table", "xlsx_bytes"]

PLATFORM_HEADERS = ["登记编号", "平台名称", "申报主体", "统一社会信用代码", "市州", "县市区代码", "平台类型",
                    "产业集群", "服务类型", "状态", "证书编号", "认定日期", "批次"]
RESULT_HEADERS = ["申报编号", "平台名称", "申报主体", "市州", "评审得分", "排名", "评审结果",
                  "公示后结果", "因异议变更"]
REPORT_HEADERS = ["登记编号", "年度", "中试服务项目数", "服务客户数", "中试服务收入（元）", "技术成果转化（项）",
                  "设备原值（元）", "专业人才（人）", "未达标项", "填报时间"]


def _city(code: str) -> str:
    return hubei_cities().get(code, code)


def platforms_table(entries: Sequence[Entry]) -> Table:
    rows = [[e.id, e.platform_name, e.applicant_name, e.applicant_credit_code, _city(e.city_code), e.region_code,
             PLATFORM_TYPE_LABELS[e.platform_type] if e.platform_type else "",
             "、".join(CLUSTERS[c][0] for c in e.clusters), "、".join(SERVICE_KIND_LABELS[k] for k in e.service_kinds),
             STATUS_LABELS[e.status], e.certificate_no or "", str(e.accredited_on or ""), e.round_id]
            for e in entries]
    return PLATFORM_HEADERS, rows


def results_table(decisions: Sequence[DecisionRecord], finals: Sequence[FinalDecision]) -> Table:
    final = {f.application_id: f for f in finals}
    rows = []
    for d in sorted(decisions, key=lambda d: (d.rank or 10**9, d.application_id)):
        f = final.get(d.application_id)
        rows.append([d.application_id, d.platform_name, d.applicant_name, _city(d.city_code),
                     str(d.score if d.score is not None else ""), str(d.rank or ""), DECISION_LABELS[d.decision],
                     DECISION_LABELS[f.decision] if f else "", "是" if f and f.changed_by_objection else ""])
    return RESULT_HEADERS, rows


def reports_table(reports: Sequence[AnnualReport]) -> Table:
    rows = [[r.platform_id, str(r.year), str(r.service_projects), str(r.clients_served), str(r.service_revenue),
             str(r.technology_transfers), str(r.equipment_value), str(r.staff), "；".join(r.shortfalls),
             r.filed_at.isoformat()] for r in reports]
    return REPORT_HEADERS, rows
