"""Rule sets: the C1–C9 thresholds of 《湖北省制造业中试平台培育建设工作指引》五、条件要求 as versioned data."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from zhongshi_contracts.materials import MATERIAL_KINDS
from zhongshi_contracts.reference import LegalPersonKind

CLAUSE_IDS = ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9")


class RuleSet(BaseModel):
    """One version of the screening thresholds; a round names the version it uses."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$", examples=["hubei-2025-v1"])
    title: str = Field(min_length=1, max_length=200)
    allowed_legal_person_kinds: list[LegalPersonKind] = Field(min_length=1)
    min_operating_years: int = Field(ge=0, le=50, description="C2: 正式运行N年以上")
    min_equipment_value: Decimal = Field(ge=0, description="C5: 设备原值, yuan")
    min_site_area_m2: Decimal = Field(ge=0, description="C6: 试验场地面积, m²")
    min_professionals: int = Field(ge=0, description="C7: 专业人才人数")
    outcomes_since: date = Field(description="C8: outcomes count from this date (inclusive)")
    min_technology_transfers: int = Field(ge=0, description="C8: 技术成果转化项数")
    min_service_revenue: Decimal = Field(ge=0, description="C8: 中试服务收入, yuan")
    required_mechanism_kinds: list[str] = Field(description="C9: material kinds that must be uploaded")
    in_principle: list[str] = Field(description="Clauses whose shortfall is flagged, not failed (原则上)")

    @field_validator("required_mechanism_kinds")
    @classmethod
    def _known_kinds(cls, kinds: list[str]) -> list[str]:
        """A misspelt kind could never be uploaded, and C9 would fail every application."""
        return known(kinds, list(MATERIAL_KINDS), "材料类别")

    @field_validator("in_principle")
    @classmethod
    def _known_clauses(cls, clauses: list[str]) -> list[str]:
        """A misspelt clause (``c5``) would turn a 原则上 shortfall into a failure."""
        return known(clauses, list(CLAUSE_IDS), "条款")


def known(values: list[str], allowed: list[str], what: str) -> list[str]:
    """``values``, or a ValueError naming those not ``allowed`` (pydantic makes it a 422 naming the field)."""
    if unknown := [v for v in values if v not in allowed]:
        raise ValueError(f"未知的{what}：{'、'.join(unknown)}（可选：{'、'.join(allowed)}）")
    return values


DEFAULT_RULE_SET = RuleSet(
    version="hubei-2025-v1",
    title="湖北省制造业中试平台培育建设工作指引（默认规则）",
    allowed_legal_person_kinds=[
        LegalPersonKind.ENTERPRISE, LegalPersonKind.PUBLIC_INSTITUTION, LegalPersonKind.SOCIAL_ORGANISATION,
    ],
    min_operating_years=1,
    min_equipment_value=Decimal("10000000"),
    min_site_area_m2=Decimal("500"),
    min_professionals=10,
    outcomes_since=date(2024, 1, 1),
    min_technology_transfers=3,
    min_service_revenue=Decimal("5000000"),
    required_mechanism_kinds=["operations_management", "service_process", "safety_management"],
    in_principle=["C5", "C6"],
)
