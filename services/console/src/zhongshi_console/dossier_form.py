"""The dossier form (pure): its sections and fields, the form's values as the dossier JSON intake takes, and
back. Field names are the dossier's dotted paths, so intake's errors land next to their field."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from zhongshi_contracts.reference import (
    CLUSTERS,
    LEGAL_PERSON_KIND_LABELS,
    PLATFORM_TYPE_LABELS,
    SERVICE_KIND_LABELS,
    hubei_counties,
)

TRANSFER_ROWS, REVENUE_ROWS = 6, 3  # rows offered for the outcome lists (empty rows are left out)
# The guideline's mechanism documents (C9), one title field each; an empty title means the document is missing.
MECHANISM_KINDS = {"operations_management": "运行管理制度", "service_process": "服务流程及收费标准",
                   "safety_management": "安全生产与环境保护管理制度"}
DOCUMENTS = "platform.mechanism_documents"


@dataclass(frozen=True)
class FormField:
    name: str  # the dossier path: "platform.professionals.rd"
    label: str
    kind: str = "text"  # text | textarea | int | decimal | date | flag | select | multi
    options: tuple[tuple[str, str], ...] = ()
    hint: str = ""


def _options(labels: Mapping[Any, str]) -> tuple[tuple[str, str], ...]:
    return tuple((str(getattr(k, "value", k)), v) for k, v in labels.items())


def sections() -> list[tuple[str, list[FormField]]]:
    """The form, section by section, in the guideline's order."""
    counties = tuple((c.code, f"{c.city_name} {c.name}") for c in hubei_counties().values())
    return [
        ("一、申报主体", [
            FormField("applicant.name", "单位名称"),
            FormField("applicant.legal_person_kind", "法人类型", "select", _options(LEGAL_PERSON_KIND_LABELS)),
            FormField("applicant.region_code", "所在县（市、区）", "select", counties),
            FormField("applicant.contact.name", "联系人"),
            FormField("applicant.contact.phone", "联系电话"),
            FormField("applicant.contact.email", "电子邮箱"),
        ]),
        ("二、平台基本情况", [
            FormField("platform.name", "平台名称"),
            FormField("platform.platform_type", "平台类型", "select", _options(PLATFORM_TYPE_LABELS)),
            FormField("platform.clusters", "服务的产业集群", "multi",
                      tuple((c.value, name) for c, (name, _) in CLUSTERS.items())),
            FormField("platform.service_kinds", "服务内容", "multi", _options(SERVICE_KIND_LABELS)),
            FormField("platform.operating_since", "正式运行日期", "date"),
            FormField("platform.serves_external_clients", "面向社会提供服务", "flag"),
        ]),
        ("三、条件设施", [
            FormField("platform.has_pilot_line_or_test_site", "具备中试线或试验场地", "flag"),
            FormField("platform.pilot_line_description", "中试线（场地）情况", "textarea"),
            FormField("platform.safety_facilities", "具备安全生产设施", "flag"),
            FormField("platform.environmental_facilities", "具备环境保护设施", "flag"),
            FormField("platform.equipment_original_value", "设备原值（元）", "decimal", hint="例如 12500000.00"),
            FormField("platform.site_area_m2", "场地面积（平方米）", "decimal"),
        ]),
        ("四、运行机制文件（填写文件名称）", [
            FormField(f"{DOCUMENTS}.{kind}", label, hint=f"例如《{label}》") for kind, label in MECHANISM_KINDS.items()
        ]),
        ("五、专业人员", [
            FormField("platform.professionals.management", "管理人员（人）", "int"),
            FormField("platform.professionals.rd", "研发人员（人）", "int"),
            FormField("platform.professionals.testing", "检验检测人员（人）", "int"),
            FormField("platform.professionals.quality", "质量管理人员（人）", "int"),
        ]),
        ("六、服务成效：近三年成果转化", [
            f for k in range(TRANSFER_ROWS) for f in (
                FormField(f"outcomes.technology_transfers.{k}.date", f"第{k + 1}项 日期", "date"),
                FormField(f"outcomes.technology_transfers.{k}.title", f"第{k + 1}项 成果名称"),
                FormField(f"outcomes.technology_transfers.{k}.client", f"第{k + 1}项 服务对象"))
        ]),
        ("七、服务成效：中试服务收入", [
            f for k in range(REVENUE_ROWS) for f in (
                FormField(f"outcomes.service_revenue.{k}.period_start", f"第{k + 1}期 起始日期", "date"),
                FormField(f"outcomes.service_revenue.{k}.period_end", f"第{k + 1}期 截止日期", "date"),
                FormField(f"outcomes.service_revenue.{k}.amount", f"第{k + 1}期 收入（元）", "decimal"))
        ]),
    ]


def fields() -> list[FormField]:
    return [f for _, group in sections() for f in group]


def _value(field: FormField, values: Sequence[str]) -> Any:
    text = values[0].strip() if values else ""
    if field.kind == "multi":
        return [v for v in values if v]
    if field.kind == "flag":
        return text == "true"
    if field.kind == "int" and text.isdigit():
        return int(text)
    return text.replace(",", "") if field.kind == "decimal" else text  # "1,000" typed with separators


def to_dossier(form: Mapping[str, Sequence[str]], credit_code: str) -> dict[str, Any]:
    """The form's values as dossier JSON; empty outcome rows are left out; the credit code is the session's."""
    dossier: dict[str, Any] = {"applicant": {"credit_code": credit_code}, "platform": {"mechanism_documents": []},
                               "outcomes": {"technology_transfers": [], "service_revenue": []}}
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    for field in fields():
        value = _value(field, form.get(field.name, []))
        parts = field.name.split(".")
        if field.name.startswith(DOCUMENTS):
            if value:
                dossier["platform"].setdefault("mechanism_documents", []).append({"kind": parts[2], "title": value})
            continue
        if parts[0] == "outcomes":
            rows.setdefault((parts[1], int(parts[2])), {})[parts[3]] = value
            continue
        node = dossier
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    for (name, _), row in sorted(rows.items()):
        if any(row.values()):
            dossier["outcomes"][name].append(row)
    return dossier


def to_form(dossier: Mapping[str, Any]) -> dict[str, Any]:
    """A dossier's values by field name, to fill the form in."""
    values: dict[str, Any] = {f"{DOCUMENTS}.{doc['kind']}": doc["title"]
                              for doc in dossier.get("platform", {}).get("mechanism_documents", [])
                              if doc.get("kind") in MECHANISM_KINDS}
    for field in fields():
        if field.name.startswith(DOCUMENTS):
            continue
        node: Any = dossier
        for part in field.name.split("."):
            if isinstance(node, list):
                node = node[int(part)] if part.isdigit() and int(part) < len(node) else None
            elif isinstance(node, Mapping):
                node = node.get(part)
            if node is None:
                break
        if node is not None:
            values[field.name] = node
    return values


def errors_by_field(fields_: Mapping[str, str]) -> dict[str, str]:
    """Intake's errors (``dossier.platform.name``) by form field; those of fields not on the form by their path."""
    return {key.removeprefix("dossier."): message for key, message in fields_.items()}
