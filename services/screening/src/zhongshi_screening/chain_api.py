"""HTTP API of the recommendation chain: queues, the departments' actions, quotas, deadlines, progress."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field, field_validator
from zhongshi_contracts.events import ClauseResult, ScreeningOutcome
from zhongshi_contracts.inputs import ROUND_ID_PATTERN, Flag
from zhongshi_contracts.recommendation import Level, Opinion
from zhongshi_contracts.reference import hubei_cities, region
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.auth import OFFICIALS, Principal, Role, require, shown_actor
from zhongshi_runtime.clock import Clock, shanghai_date
from zhongshi_runtime.errors import errors
from zhongshi_runtime.paging import Offset

from zhongshi_screening import chain, chain_service
from zhongshi_screening.api import Wired
from zhongshi_screening.chain import STAGE_LABELS, Case, RoundSettings, Stage
from zhongshi_screening.metrics import ChainMetrics
from zhongshi_screening.repository import CaseFilter, ScreeningRepository
from zhongshi_screening.service import Deps

Official = Annotated[Principal, Depends(require(*OFFICIALS))]
Province = Annotated[Principal, Depends(require(Role.PROVINCE_OFFICIAL))]
CityOfficial = Annotated[Principal, Depends(require(Role.CITY_OFFICIAL, Role.COUNTY_OFFICIAL))]
Opinionated = Annotated[str, Field(min_length=2, max_length=2000, description="意见（必填）")]


class OpinionBody(BaseModel):
    opinion: Opinionated


class ExceptionDecision(BaseModel):
    approved: Flag
    justification: Annotated[str, Field(min_length=2, max_length=4000, description="认定理由（必填）")]


class Priorities(BaseModel):
    application_ids: list[str] = Field(min_length=1, max_length=500, description="The city's order, first = 1.")

    @field_validator("application_ids")
    @classmethod
    def _unique(cls, ids: list[str]) -> list[str]:
        if len(set(ids)) != len(ids):
            raise ValueError("application_ids 中有重复")
        return ids


class CaseView(BaseModel):
    id: str
    round_id: str
    revision: int
    stage: Stage
    stage_label: str
    stage_since: datetime
    deadline: date | None
    overdue: bool
    applicant_name: str
    platform_name: str
    region_code: str
    region_name: str
    city_code: str
    outcome: ScreeningOutcome
    flagged: list[str]
    clauses: list[ClauseResult]
    opinions: list[Opinion]
    priority: int | None
    version: int


class QueuePage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[CaseView]


def step_audit(principal: Principal, request: Request, action: str, application_id: str, reason: str) -> Audit:
    return Audit.request(principal, request, f"chain.{action}", "application", application_id,
                         application_ids=[application_id], reason=reason)


def _settings_summary(settings: RoundSettings) -> str:
    quotas = "、".join(f"{code}:{q}" for code, q in sorted(settings.quotas.items()))
    deadlines = "、".join(f"{stage.value}:{day}" for stage, day in sorted(settings.deadlines.items()))
    return f"指标 {quotas}；期限 {deadlines}"


def _check_settings(round_id: str, body: RoundSettings) -> None:
    """A 422 naming the quotas of a code that is no Hubei city, or a round id unlike the path's."""
    unknown = sorted(set(body.quotas) - set(hubei_cities()))
    if unknown or body.round_id != round_id or any(q < 0 for q in body.quotas.values()):
        raise HTTPException(422, [{
            "loc": ["body", "quotas" if unknown else "round_id"], "type": "value_error",
            "msg": f"不是湖北省市州代码：{unknown}" if unknown else "round_id 与路径不一致，或指标为负数"}])


def shown_to(viewer: Principal, case: CaseView) -> CaseView:
    """The case as ``viewer`` sees it: applicants see the departments that gave the opinions, not their people."""
    opinions = [o.model_copy(update={"actor": o.actor.model_copy(update={
        "id": shown_actor(viewer, o.actor.id, o.actor.role, o.actor.region_code)})}) for o in case.opinions]
    return case.model_copy(update={"opinions": opinions})


async def view(deps: Deps, case: Case, settings: RoundSettings | None = None) -> CaseView:
    """The case with its stage label, deadline and whether it is overdue."""
    settings = settings or await deps.repo.settings(case.round_id)
    return CaseView(
        **case.model_dump(exclude={"dossier", "earlier_opinions", "applicant_credit_code", "rule_set_version",
                                   "withdrawn_revision"}),
        stage_label=STAGE_LABELS[case.stage], region_name=region(case.region_code).name,
        deadline=settings.deadlines.get(case.stage) if settings else None,
        overdue=case.overdue(settings, shanghai_date(deps.clock())),
    )


async def _advanced(deps: Deps, application_id: str, body: OpinionBody, principal: Principal, request: Request,
                    advance: chain_service.Advance, action: str) -> CaseView:
    """The county recommends or the city forwards the case."""
    audit = step_audit(principal, request, action, application_id, body.opinion)
    return await view(deps, await advance(deps, application_id, principal, body.opinion, audit))


async def _decided(deps: Deps, application_id: str, body: OpinionBody, principal: Principal, request: Request,
                   decide: chain_service.Decide, action: str) -> CaseView:
    """The county or city holding the case returns or rejects it."""
    audit = step_audit(principal, request, action, application_id, body.opinion)
    return await view(deps, await chain_service.department_decides(
        deps, application_id, principal, body.opinion, audit, decide, action))


router = APIRouter(prefix="/api/v1", tags=["recommendation chain"])


@router.get("/queues/{level}", summary="The queue of a level (county / city / province), within one's scope")
async def queue(
    level: Level, principal: Official, deps: Wired, round_id: str | None = None,
    region_code: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    city_code: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    overdue: bool | None = None,
    offset: Offset = 0, limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> QueuePage:
    where = CaseFilter(round_id=round_id, stage=chain.QUEUE_STAGES[level], region_code=region_code,
                       city_code=city_code)
    views = [await view(deps, c) for c in await chain_service.queue(deps, principal, where)]
    if overdue is not None:
        views = [v for v in views if v.overdue is overdue]
    return QueuePage(total=len(views), offset=offset, limit=limit, items=views[offset : offset + limit])


@router.get("/cases/{application_id}", summary="An application's place in the chain, with every opinion",
            responses=errors(404))
async def read_case(
    application_id: str, principal: Annotated[Principal, Depends(require(Role.APPLICANT, *OFFICIALS))], deps: Wired,
) -> CaseView:
    return shown_to(principal, await view(deps, await chain_service.visible(deps, application_id, principal)))


@router.post("/applications/{application_id}/recommend", summary="County: recommend (units: recommend and forward)",
             responses=errors(404, 409))
async def recommend(application_id: str, body: OpinionBody, principal: CityOfficial, request: Request,
                    deps: Wired) -> CaseView:
    return await _advanced(deps, application_id, body, principal, request, chain_service.recommend, "recommend")


@router.post("/applications/{application_id}/forward", summary="City: forward to the province within the quota",
             responses=errors(404, 409))
async def forward(application_id: str, body: OpinionBody, principal: CityOfficial, request: Request,
                  deps: Wired) -> CaseView:
    return await _advanced(deps, application_id, body, principal, request, chain_service.forward, "forward")


@router.post("/applications/{application_id}/return", summary="County or city: return for correction",
             responses=errors(404, 409))
async def return_(application_id: str, body: OpinionBody, principal: CityOfficial, request: Request,
                  deps: Wired) -> CaseView:
    return await _decided(deps, application_id, body, principal, request, chain.return_for_correction, "return")


@router.post("/applications/{application_id}/reject", summary="County or city: reject (final)",
             responses=errors(404, 409))
async def reject(application_id: str, body: OpinionBody, principal: CityOfficial, request: Request,
                 deps: Wired) -> CaseView:
    return await _decided(deps, application_id, body, principal, request, chain.reject, "reject")


@router.post("/applications/{application_id}/exception-decision", summary="Province: decide flagged C5/C6",
             responses=errors(404, 409))
async def exception_decision(application_id: str, body: ExceptionDecision, principal: Province, request: Request,
                             deps: Wired) -> CaseView:
    action = "exception_approve" if body.approved else "exception_refuse"
    audit = step_audit(principal, request, action, application_id, body.justification)
    return await view(deps, await chain_service.decide_exception(
        deps, application_id, principal, body.approved, body.justification, audit))


@router.put("/rounds/{round_id}/priorities", summary="City: order its recommendations (first = 1)",
            responses=errors(404, 409))
async def priorities(round_id: str, body: Priorities, principal: CityOfficial, request: Request,
                     deps: Wired) -> list[CaseView]:
    audit = Audit.request(principal, request, "round.priorities", "round", round_id,
                          application_ids=list(body.application_ids), round_id=round_id,
                          outcome="、".join(body.application_ids))
    ranked = await chain_service.prioritise(deps, round_id, principal, body.application_ids, audit)
    return [await view(deps, c) for c in ranked]


RoundId = Annotated[str, Path(pattern=ROUND_ID_PATTERN, examples=["R2026-01"])]


@router.put("/rounds/{round_id}/settings", summary="Province: quotas per city and stage deadlines")
async def put_settings(round_id: RoundId, body: RoundSettings, principal: Province, request: Request,
                       deps: Wired) -> RoundSettings:
    _check_settings(round_id, body)
    audit = Audit.request(principal, request, "round.settings", "round", round_id, round_id=round_id,
                          outcome=_settings_summary(body))
    return await chain_service.schedule(deps, body, principal, audit)


class SettingsChange(BaseModel):
    """Part of a round's settings: a part given replaces that part, a part left out stays as it is."""

    quotas: dict[str, int] | None = Field(None, description="City-level code → how many it may forward.")
    deadlines: dict[Stage, date] | None = Field(None, description="Last day of county_review, city_review, "
                                                                  "exception_review (Asia/Shanghai).")


@router.patch("/rounds/{round_id}/settings", summary="Province: change the quotas or the deadlines, keeping the rest")
async def patch_settings(round_id: RoundId, body: SettingsChange, principal: Province, request: Request,
                         deps: Wired) -> RoundSettings:
    change = body.model_dump(exclude_none=True)
    part = RoundSettings(round_id=round_id, **change)
    _check_settings(round_id, part)
    audit = Audit.request(principal, request, "round.settings", "round", round_id, round_id=round_id,
                          outcome=_settings_summary(part))
    return await chain_service.reschedule(deps, round_id, change, principal, audit)


@router.get("/rounds/{round_id}/settings", summary="Quotas and deadlines of a round")
async def get_settings(round_id: str, _: Official, deps: Wired) -> RoundSettings:
    return await deps.repo.settings(round_id) or RoundSettings(round_id=round_id)


@router.get("/rounds/{round_id}/progress", summary="Per-city progress: counts by stage, quota used, overdue")
async def progress(round_id: str, principal: Official, deps: Wired) -> list[dict[str, Any]]:
    return await chain_service.progress(deps, round_id, principal)


async def refresh_gauges(repo: ScreeningRepository, metrics: ChainMetrics, clock: Clock) -> None:
    """Recompute applications by stage and overdue items for the dashboards and alerts, from the repository's
    tally of cases by round, stage and city (`stage_counts`), never from the cases themselves."""
    today = shanghai_date(clock())
    settings: dict[str, RoundSettings | None] = {}
    stages: dict[tuple[str, str], int] = {}
    overdue: dict[tuple[str, str], int] = {}
    for (round_id, stage, city_code), count in (await repo.stage_counts()).items():
        if round_id not in settings:
            settings[round_id] = await repo.settings(round_id)
        key, round_settings = (stage.value, city_code), settings[round_id]
        stages[key] = stages.get(key, 0) + count
        overdue[key] = overdue.get(key, 0) + (count if round_settings and round_settings.overdue(stage, today) else 0)
    for stage in chain.CASE_STAGES:
        for city in hubei_cities():
            metrics.by_stage.labels(stage.value, city).set(stages.get((stage.value, city), 0))
            metrics.overdue.labels(stage.value, city).set(overdue.get((stage.value, city), 0))
