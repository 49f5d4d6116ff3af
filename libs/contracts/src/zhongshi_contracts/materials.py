"""Application materials (申报材料): the kinds a round may require and the reference events carry."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from zhongshi_contracts.privacy import Classification, mark_fields

MATERIAL_KINDS: dict[str, str] = {
    "application_form": "申报书",
    "business_licence": "营业执照或法人证书",
    "equipment_list": "设备清单",
    "site_proof": "场地证明",
    "staff_list": "人员名单",
    "financial_audit": "近两年财务审计报告",
    "service_outcomes": "服务成效证明",
    "operations_management": "运行管理制度",
    "service_process": "服务流程与收费制度",
    "safety_management": "安全环保管理制度",
    "other": "其他材料",
}

MaterialKind = Annotated[str, Field(pattern=r"^[a-z_]{1,50}$", examples=["equipment_list"],
                                    description="One of the material kinds (see `MATERIAL_KINDS`).")]


def kind_label(kind: str) -> str:
    return MATERIAL_KINDS.get(kind, kind)


class MaterialReference(BaseModel):
    """An uploaded material as events carry it: what it is and how to check it, never its bytes."""

    model_config = ConfigDict(frozen=True, extra="ignore", json_schema_extra=mark_fields)
    classification: ClassVar[Classification] = Classification.PUBLIC

    id: str = Field(examples=["M-3f9c2a1b7d4e4f0a"])
    kind: MaterialKind
    title: str = Field(max_length=200, examples=["设备清单（2026年11月）"])
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=1, description="Bytes.")
