"""Lifecycle of accredited platforms: annual reports (applicant), yearly standing, revocation and national
recommendation (province)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationInfo, field_validator
from zhongshi_contracts.events import Event
from zhongshi_contracts.inputs import CalendarDate
from zhongshi_contracts.registry import (
    AnnualReportFiled,
    NationalOutcome,
    NationalRecommended,
    PlatformRevoked,
    PlatformStandingConfirmed,
    PlatformWarned,
)
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.auth import Principal, Role, require
from zhongshi_runtime.clock import Clock, shanghai_date
from zhongshi_runtime.errors import errors
from zhongshi_runtime.outbox import Session, UnitOfWork

from zhongshi_registry import entries as lifecycle
from zhongshi_registry.domain import Refused
from zhongshi_registry.entries import STATUS_LABELS, AnnualReport, Entry, Standing, Thresholds
from zhongshi_registry.repository import RegistryRepository

Province = Annotated[Principal, Depends(require(Role.PROVINCE_OFFICIAL))]
ApplicantCaller = Annotated[Principal, Depends(require(Role.APPLICANT))]
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


Step = Callable[[Entry, datetime], tuple[Entry, Event]]


def router(repo: RegistryRepository, uow: UnitOfWork, clock: Clock, thresholds: Thresholds) -> APIRouter:
    api = APIRouter(prefix="/api/v1/platforms", tags=["lifecycle"])

    async def entry_of(platform_id: str) -> Entry:
        found = await repo.entries.get(platform_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"登记簿中没有 {platform_id}")
        return found

    async def change(platform_id: str, step: Step, audit: Audit) -> dict[str, Any]:
        """Apply a province action to the entry as stored, with its event, in one transaction (no lost update)."""
        now = clock()
        done: list[Entry] = []

        async def work(session: Session) -> list[Event]:
            entry = await repo.entries.get(platform_id, session)
            if entry is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, f"登记簿中没有 {platform_id}")
            try:
                changed, event = step(entry, now)
            except Refused as exc:
                raise refused(exc) from exc
            await repo.entries.put(changed.id, changed, session)
            done[:] = [changed]
            audit.application_ids, audit.round_id = [entry.application_id], entry.round_id
            audit.outcome = audit.outcome or STATUS_LABELS[changed.status]
            return [event]

        await uow.run(work, audit=audit)
        return done[0].model_dump(mode="json")

    def refused(exc: Refused) -> HTTPException:
        return HTTPException(status.HTTP_409_CONFLICT, str(exc))

    @api.post("/{platform_id}/annual-reports", status_code=201, summary="File the year's report (the applicant)",
              responses=errors(404, 409))
    async def report(platform_id: str, body: ReportRequest, caller: ApplicantCaller, request: Request
                     ) -> AnnualReport:
        entry = await entry_of(platform_id)
        if caller.organisation != entry.applicant_credit_code:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "只有该平台的申报主体可以填报年度报告")
        now = clock()
        try:
            lifecycle.check_accredited(entry)
        except Refused as exc:
            raise refused(exc) from exc
        if body.year > shanghai_date(now).year:
            raise RequestValidationError([{"loc": ("body", "year"), "msg": f"{body.year} 年尚未开始",
                                           "type": "value_error"}])
        filed = AnnualReport(platform_id=platform_id, filed_at=now, **body.model_dump())
        filed = filed.model_copy(update={"shortfalls": lifecycle.shortfalls(filed, thresholds)})

        async def work(session: Session) -> list[Event]:
            await repo.reports.put(f"{platform_id}/{body.year}", filed, session)
            return [AnnualReportFiled(application_id=entry.application_id, round_id=entry.round_id,
                                      **filed.model_dump(exclude={"platform_id"}), platform_id=platform_id)]

        await uow.run(work, audit=Audit.request(
            caller, request, "annual_report.file", "platform", platform_id, application_ids=[entry.application_id],
            round_id=entry.round_id, outcome=f"{body.year}年度；未达标：{'；'.join(filed.shortfalls) or '无'}"))
        return filed

    @api.get("/{platform_id}/annual-reports", summary="The platform's reports (province or the applicant)",
             responses=errors(404))
    async def reports(platform_id: str, caller: Annotated[Principal, Depends(
            require(Role.PROVINCE_OFFICIAL, Role.APPLICANT))]) -> list[AnnualReport]:
        entry = await entry_of(platform_id)
        if caller.role is Role.APPLICANT and caller.organisation != entry.applicant_credit_code:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "只能查看本单位平台的年度报告")
        return await repo.reports.find(platform_id=platform_id)

    @api.post("/{platform_id}/evaluations/{year}", summary="Mark the year good / warning / revoked (province)",
              responses=errors(404, 409))
    async def evaluate(platform_id: str, year: int, body: Evaluation, principal: Province, request: Request
                       ) -> dict[str, Any]:
        def step(entry: Entry, now: datetime) -> tuple[Entry, Event]:
            changed = lifecycle.evaluate(entry, year, body.standing, body.reason, body.rectify_by, now)
            if body.standing is Standing.WARNING:
                return changed, PlatformWarned(application_id=entry.application_id, round_id=entry.round_id,
                                               platform_id=entry.id, year=year, reason=body.reason,
                                               rectify_by=body.rectify_by, warned_at=now)
            if body.standing is Standing.REVOKED:
                return changed, revoked_event(changed, body.reason, now, year)
            return changed, PlatformStandingConfirmed(application_id=entry.application_id, round_id=entry.round_id,
                                                      platform_id=entry.id, year=year, reason=body.reason,
                                                      confirmed_at=now)

        return await change(platform_id, step, _audit(principal, request, "platform.evaluate", platform_id,
                                                      body.reason, f"{year}年度：{body.standing.value}"))

    @api.post("/{platform_id}/revoke", summary="Revoke the accreditation, on request or for cause (province)",
              responses=errors(404, 409))
    async def revoke(platform_id: str, body: Revocation, principal: Province, request: Request) -> dict[str, Any]:
        def step(entry: Entry, now: datetime) -> tuple[Entry, Event]:
            changed = lifecycle.revoke(entry, body.reason, now)
            return changed, revoked_event(changed, body.reason, now)

        return await change(platform_id, step, _audit(principal, request, "platform.revoke", platform_id, body.reason))

    @api.post("/{platform_id}/national-recommendation", summary="Recommend for national upgrade (province)",
              responses=errors(404, 409))
    async def recommend(platform_id: str, body: Recommendation, principal: Province, request: Request
                        ) -> dict[str, Any]:
        def step(entry: Entry, now: datetime) -> tuple[Entry, Event]:
            changed = lifecycle.recommend_national(entry, body.profile, now)
            return changed, national_event(changed, now)

        return await change(platform_id, step, _audit(principal, request, "platform.recommend_national", platform_id))

    @api.put("/{platform_id}/national-recommendation/outcome", summary="Record the national outcome (province)",
             responses=errors(404, 409))
    async def outcome(platform_id: str, body: OutcomeRequest, principal: Province, request: Request
                      ) -> dict[str, Any]:
        def step(entry: Entry, now: datetime) -> tuple[Entry, Event]:
            changed = lifecycle.record_national_outcome(entry, body.outcome, now)
            return changed, national_event(changed, now)

        return await change(platform_id, step, _audit(principal, request, "platform.national_outcome", platform_id,
                                                      outcome=body.outcome.value))

    return api


def _audit(principal: Principal, request: Request, action: str, platform_id: str, reason: str = "",
           outcome: str = "") -> Audit:
    """A province action on a platform; `change` adds its application and round, and its new status when no
    ``outcome`` is given."""
    return Audit.request(principal, request, action, "platform", platform_id, reason=reason, outcome=outcome)


def revoked_event(entry: Entry, reason: str, now: datetime, year: int | None = None) -> PlatformRevoked:
    return PlatformRevoked(application_id=entry.application_id, round_id=entry.round_id, platform_id=entry.id,
                           certificate_no=entry.certificate_no, reason=reason, revoked_at=now, year=year)


def national_event(entry: Entry, now: datetime) -> NationalRecommended:
    if entry.national is None:
        raise ValueError("no national recommendation")
    return NationalRecommended(application_id=entry.application_id, round_id=entry.round_id, platform_id=entry.id,
                               profile=entry.national.profile, outcome=entry.national.outcome, at=now)
