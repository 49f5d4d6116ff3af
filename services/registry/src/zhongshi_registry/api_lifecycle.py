"""Lifecycle of accredited platforms: annual reports (applicant), yearly standing, revocation and national
recommendation (province)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field, ValidationInfo, field_validator
from zhongshi_contracts.inputs import CalendarDate
from zhongshi_contracts.registry import NationalOutcome
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.auth import Principal, Role, require
from zhongshi_runtime.errors import errors

from zhongshi_registry import entries as lifecycle
from zhongshi_registry.api import Province, Wired
from zhongshi_registry.entries import AnnualReport, Entry, Standing
from zhongshi_registry.use_cases import lifecycle as use

router = APIRouter(prefix="/api/v1/platforms", tags=["lifecycle"])
ApplicantCaller = Annotated[Principal, Depends(require(Role.APPLICANT))]
Reader = Annotated[Principal, Depends(require(Role.PROVINCE_OFFICIAL, Role.APPLICANT))]
Reason = Annotated[str, Field(min_length=2, max_length=2000)]
Yuan = Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=2, description="CNY yuan, exact.")]
Count = Annotated[int, Field(ge=0, le=1_000_000)]


class ReportRequest(BaseModel):
    year: int = Field(ge=2024, le=2100)
    service_projects: Count
    clients_served: Count
    service_revenue: Yuan
    technology_transfers: Count
    equipment_value: Yuan
    staff: Count


class Evaluation(BaseModel):
    standing: Standing
    reason: Reason
    rectify_by: CalendarDate | None = Field(None, validate_default=True,
                                            description="Required with a warning: the rectification deadline.")

    @field_validator("rectify_by")
    @classmethod
    def required_with_a_warning(cls, rectify_by: date | None, info: ValidationInfo) -> date | None:
        if rectify_by is None and info.data.get("standing") is Standing.WARNING:
            raise ValueError("限期整改须填写整改期限")
        return rectify_by


class Revocation(BaseModel):
    reason: Reason


class Recommendation(BaseModel):
    profile: dict[str, dict[str, str]] = Field(description="Each of the six national dimensions → {score, notes}.")

    @field_validator("profile")
    @classmethod
    def six_dimensions(cls, profile: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        if problem := lifecycle.national_profile_problem(profile):
            raise ValueError(problem)
        return profile


class OutcomeRequest(BaseModel):
    outcome: NationalOutcome


def _audit(principal: Principal, request: Request, action: str, platform_id: str, reason: str = "",
           outcome: str = "") -> Audit:
    """A province action on a platform; `use.change` adds its application and round, and its new status when no
    ``outcome`` is given."""
    return Audit.request(principal, request, action, "platform", platform_id, reason=reason, outcome=outcome)


def shown(entry: Entry) -> dict[str, Any]:
    return entry.model_dump(mode="json")


@router.post("/{platform_id}/annual-reports", status_code=201, summary="File the year's report (the applicant)",
             responses=errors(404, 409))
async def report(platform_id: str, body: ReportRequest, caller: ApplicantCaller, request: Request, deps: Wired
                 ) -> AnnualReport:
    entry = await use.entry_of(deps, platform_id)
    if caller.organisation != entry.applicant_credit_code:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "只有该平台的申报主体可以填报年度报告")
    filed = AnnualReport(platform_id=platform_id, filed_at=deps.clock(), **body.model_dump())
    return await use.file_report(deps, entry, filed, Audit.request(caller, request, "annual_report.file", "platform",
                                                                   platform_id))


@router.get("/{platform_id}/annual-reports", summary="The platform's reports (province or the applicant)",
            responses=errors(404))
async def reports(platform_id: str, caller: Reader, deps: Wired) -> list[AnnualReport]:
    entry = await use.entry_of(deps, platform_id)
    if caller.role is Role.APPLICANT and caller.organisation != entry.applicant_credit_code:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "只能查看本单位平台的年度报告")
    return await deps.repo.reports_of(platform_id)


@router.post("/{platform_id}/evaluations/{year}", summary="Mark the year good / warning / revoked (province)",
             responses=errors(404, 409))
async def evaluate(platform_id: str, year: int, body: Evaluation, principal: Province, request: Request, deps: Wired
                   ) -> dict[str, Any]:
    step = use.evaluation(year, body.standing, body.reason, body.rectify_by)
    audit = _audit(principal, request, "platform.evaluate", platform_id, body.reason,
                   f"{year}年度：{body.standing.value}")
    return shown(await use.change(deps, platform_id, step, audit))


@router.post("/{platform_id}/revoke", summary="Revoke the accreditation, on request or for cause (province)",
             responses=errors(404, 409))
async def revoke(platform_id: str, body: Revocation, principal: Province, request: Request, deps: Wired
                 ) -> dict[str, Any]:
    audit = _audit(principal, request, "platform.revoke", platform_id, body.reason)
    return shown(await use.change(deps, platform_id, use.revocation(body.reason), audit))


@router.post("/{platform_id}/national-recommendation", summary="Recommend for national upgrade (province)",
             responses=errors(404, 409))
async def recommend(platform_id: str, body: Recommendation, principal: Province, request: Request, deps: Wired
                    ) -> dict[str, Any]:
    audit = _audit(principal, request, "platform.recommend_national", platform_id)
    return shown(await use.change(deps, platform_id, use.recommendation(body.profile), audit))


@router.put("/{platform_id}/national-recommendation/outcome", summary="Record the national outcome (province)",
            responses=errors(404, 409))
async def outcome(platform_id: str, body: OutcomeRequest, principal: Province, request: Request, deps: Wired
                  ) -> dict[str, Any]:
    audit = _audit(principal, request, "platform.national_outcome", platform_id, outcome=body.outcome.value)
    return shown(await use.change(deps, platform_id, use.national_outcome(body.outcome), audit))
