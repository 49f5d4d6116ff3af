"""HTTP API of the recommendation chain: queues, the departments' actions, quotas, deadlines, progress."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from pydantic import BaseModel, Field, field_validator
from zhongshi_contracts.events import ClauseResult, Event, ScreeningOutcome
from zhongshi_contracts.inputs import Flag
from zhongshi_contracts.recommendation import Actor, Level, Opinion, RoundScheduled
from zhongshi_contracts.reference import hubei_cities, region
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.auth import OFFICIALS, Principal, Role, require, shown_actor
from zhongshi_runtime.clock import Clock, shanghai_date
from zhongshi_runtime.errors import errors
from zhongshi_runtime.outbox import Session, UnitOfWork
from zhongshi_runtime.paging import Offset

from zhongshi_screening import chain
from zhongshi_screening.chain import STAGE_LABELS, ActionRefused, Case, RoundSettings, Stage
from zhongshi_screening.repository import CaseFilter, ScreeningRepository

Official = Annotated[Principal, Depends(require(*OFFICIALS))]
Province = Annotated[Principal, Depends(require(Role.PROVINCE_OFFICIAL))]
CityOfficial = Annotated[Principal, Depends(require(Role.CITY_OFFICIAL, Role.COUNTY_OFFICIAL))]
Step = Callable[[Case, Session], Awaitable[tuple[Case, list[Event]]]]
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


HOUR, DAY = 3600, 86400
STAGE_BUCKETS = (1, 10, 60, 600, HOUR, 6 * HOUR, DAY, 3 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 60 * DAY)


class ChainMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.actions = Counter("zhongshi_chain_actions_total", "Department actions in the recommendation chain",
                               ["action", "level"], registry=registry)
        self.by_stage = Gauge("zhongshi_applications_by_stage", "Applications by chain stage and city",
                              ["stage", "city"], registry=registry)
        self.overdue = Gauge("zhongshi_chain_overdue", "Applications past their stage deadline",
                             ["stage", "city"], registry=registry)
        self.stage_seconds = Histogram(
            "zhongshi_stage_seconds", "Time an application spent in a chain stage, observed as it leaves it",
            ["stage"], registry=registry, buckets=STAGE_BUCKETS,
        )
        for stage in chain.CASE_STAGES:
            self.stage_seconds.labels(stage.value)

    def left(self, before: Case, after: Case) -> None:
        if after.stage is not before.stage:
            spent = (after.stage_since - before.stage_since).total_seconds()
            self.stage_seconds.labels(before.stage.value).observe(max(0.0, spent))


def may_see(principal: Principal, case: Case) -> bool:
    if principal.role is Role.APPLICANT:
        return principal.organisation == case.applicant_credit_code
    return principal.role in OFFICIALS and principal.covers_region(case.region_code)


def _authority(principal: Principal, case: Case, level: Level) -> None:
    """403 unless the caller is the department that acts at ``level`` for this case."""
    unit = case.province_administered and principal.organisation == case.region_code
    if level is Level.COUNTY:
        ok = unit or (principal.role is Role.COUNTY_OFFICIAL and principal.organisation == case.region_code)
    else:
        ok = unit or (principal.role is Role.CITY_OFFICIAL and principal.organisation == case.city_code)
    if not ok:
        who = "县市区经信部门" if level is Level.COUNTY else "市州经信部门"
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"此环节由申报主体所在地{who}办理")


def actor(principal: Principal) -> Actor:
    return Actor(id=principal.subject, role=principal.role.value, region_code=principal.organisation)


def step_audit(principal: Principal, request: Request, action: str, application_id: str, reason: str) -> Audit:
    return Audit.request(principal, request, f"chain.{action}", "application", application_id,
                         application_ids=[application_id], reason=reason)


def _settings_summary(settings: RoundSettings) -> str:
    quotas = "、".join(f"{code}:{q}" for code, q in sorted(settings.quotas.items()))
    deadlines = "、".join(f"{stage.value}:{day}" for stage, day in sorted(settings.deadlines.items()))
    return f"指标 {quotas}；期限 {deadlines}"


def shown_to(viewer: Principal, case: CaseView) -> CaseView:
    """The case as ``viewer`` sees it: applicants see the departments that gave the opinions, not their people."""
    opinions = [o.model_copy(update={"actor": o.actor.model_copy(update={
        "id": shown_actor(viewer, o.actor.id, o.actor.role, o.actor.region_code)})}) for o in case.opinions]
    return case.model_copy(update={"opinions": opinions})


def _scoped(principal: Principal, where: CaseFilter) -> CaseFilter | None:
    if principal.role is Role.COUNTY_OFFICIAL:
        if where.region_code not in (None, principal.organisation):
            return None
        return CaseFilter(round_id=where.round_id, stage=where.stage, region_code=principal.organisation)
    if principal.role is Role.CITY_OFFICIAL:
        if where.city_code not in (None, principal.organisation):
            return None
        return CaseFilter(round_id=where.round_id, stage=where.stage, region_code=where.region_code,
                          city_code=principal.organisation)
    return where


def router(repo: ScreeningRepository, uow: UnitOfWork, clock: Clock, metrics: ChainMetrics) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["recommendation chain"])

    async def view(case: Case, settings: RoundSettings | None = None) -> CaseView:
        settings = settings or await repo.settings(case.round_id)
        return CaseView(
            **case.model_dump(exclude={"dossier", "earlier_opinions", "applicant_credit_code", "rule_set_version",
                                       "withdrawn_revision"}),
            stage_label=STAGE_LABELS[case.stage], region_name=region(case.region_code).name,
            deadline=settings.deadlines.get(case.stage) if settings else None,
            overdue=case.overdue(settings, shanghai_date(clock())),
        )

    async def act(application_id: str, principal: Principal, step: Step, audit: Audit) -> CaseView:
        """Load the case in scope, apply ``step`` and save it with its events and audit in one transaction."""
        done: list[Case] = []

        async def work(session: Session) -> list[Event]:
            case = await repo.case(application_id, session)
            if case is None or not may_see(principal, case):
                raise HTTPException(status.HTTP_404_NOT_FOUND, f"申报 {application_id} 不存在")
            updated, events = await step(case, session)
            done[:] = [case, await repo.save_case(updated, session)]
            audit.round_id, audit.outcome = case.round_id, updated.stage.value
            return events

        try:
            await uow.run(work, audit=audit)
        except ActionRefused as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        before, after = done
        metrics.left(before, after)
        return await view(after)

    async def claim_slot(case: Case, session: Session) -> tuple[int, int]:
        """Take one of the city's forwarding slots or refuse, saying the quota and how many are used."""
        settings = await repo.settings(case.round_id, session)
        city = hubei_cities()[case.city_code]
        if settings is None or case.city_code not in settings.quotas:
            raise ActionRefused(f"省经信厅尚未下达{city}本批次的推荐指标")
        quota = settings.quotas[case.city_code]
        used = await repo.claim_quota(case.round_id, case.city_code, quota, session)
        if used is None:
            raise ActionRefused(f"{city}本批次推荐指标为{quota}个，已推荐{quota}个，指标已用完")
        return quota, used

    @api.get("/queues/{level}", summary="The queue of a level (county / city / province), within one's scope")
    async def queue(
        level: Level, principal: Official, round_id: str | None = None,
        region_code: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
        city_code: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
        overdue: bool | None = None,
        offset: Offset = 0, limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> QueuePage:
        where = _scoped(principal, CaseFilter(round_id=round_id, stage=chain.QUEUE_STAGES[level],
                                              region_code=region_code, city_code=city_code))
        _, cases = (0, []) if where is None else await repo.cases(where)
        views = [await view(c) for c in cases]
        if overdue is not None:
            views = [v for v in views if v.overdue is overdue]
        return QueuePage(total=len(views), offset=offset, limit=limit, items=views[offset : offset + limit])

    @api.get("/cases/{application_id}", summary="An application's place in the chain, with every opinion",
             responses=errors(404))
    async def read_case(
        application_id: str, principal: Annotated[Principal, Depends(require(Role.APPLICANT, *OFFICIALS))]
    ) -> CaseView:
        case = await repo.case(application_id)
        if case is None or not may_see(principal, case):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"申报 {application_id} 不存在")
        return shown_to(principal, await view(case))

    @api.post("/applications/{application_id}/recommend", summary="County: recommend (units: recommend and forward)",
              responses=errors(404, 409))
    async def recommend(application_id: str, body: OpinionBody, principal: CityOfficial, request: Request) -> CaseView:
        async def step(case: Case, session: Session) -> tuple[Case, list[Event]]:
            _authority(principal, case, Level.COUNTY)
            if not case.province_administered:
                return chain.recommend(case, actor(principal), body.opinion, clock())
            chain.expect_stage(case, Stage.COUNTY_REVIEW)
            quota, used = await claim_slot(case, session)
            return chain.recommend_and_forward(case, actor(principal), body.opinion, clock(), quota=quota, used=used)

        done = await act(application_id, principal, step, step_audit(principal, request, "recommend", application_id,
                                                                   body.opinion))
        metrics.actions.labels("recommend", "county").inc()
        return done

    @api.post("/applications/{application_id}/forward", summary="City: forward to the province within the quota",
              responses=errors(404, 409))
    async def forward(application_id: str, body: OpinionBody, principal: CityOfficial, request: Request) -> CaseView:
        async def step(case: Case, session: Session) -> tuple[Case, list[Event]]:
            _authority(principal, case, Level.CITY)
            chain.expect_stage(case, Stage.CITY_REVIEW)
            quota, used = await claim_slot(case, session)
            return chain.forward(case, actor(principal), body.opinion, clock(), quota=quota, used=used)

        done = await act(application_id, principal, step, step_audit(principal, request, "forward", application_id,
                                                                   body.opinion))
        metrics.actions.labels("forward", "city").inc()
        return done

    def department_step(action: Callable[..., tuple[Case, list[Event]]], principal: Principal, opinion: str) -> Step:
        async def step(case: Case, session: Session) -> tuple[Case, list[Event]]:
            chain.expect_stage(case, Stage.COUNTY_REVIEW, Stage.CITY_REVIEW)
            _authority(principal, case, Level.COUNTY if case.stage is Stage.COUNTY_REVIEW else Level.CITY)
            return action(case, actor(principal), opinion, clock())

        return step

    @api.post("/applications/{application_id}/return", summary="County or city: return for correction",
              responses=errors(404, 409))
    async def return_(application_id: str, body: OpinionBody, principal: CityOfficial, request: Request) -> CaseView:
        done = await act(application_id, principal,
                         department_step(chain.return_for_correction, principal, body.opinion),
                         step_audit(principal, request, "return", application_id, body.opinion))
        metrics.actions.labels("return", done.opinions[-1].level).inc()
        return done

    @api.post("/applications/{application_id}/reject", summary="County or city: reject (final)",
              responses=errors(404, 409))
    async def reject(application_id: str, body: OpinionBody, principal: CityOfficial, request: Request) -> CaseView:
        done = await act(application_id, principal, department_step(chain.reject, principal, body.opinion),
                         step_audit(principal, request, "reject", application_id, body.opinion))
        metrics.actions.labels("reject", done.opinions[-1].level).inc()
        return done

    @api.post("/applications/{application_id}/exception-decision", summary="Province: decide flagged C5/C6",
              responses=errors(404, 409))
    async def exception_decision(application_id: str, body: ExceptionDecision, principal: Province,
                                 request: Request) -> CaseView:
        async def step(case: Case, session: Session) -> tuple[Case, list[Event]]:
            return chain.decide_exception(case, actor(principal), body.approved, body.justification, clock())

        action = "exception_approve" if body.approved else "exception_refuse"
        done = await act(application_id, principal, step,
                         step_audit(principal, request, action, application_id, body.justification))
        metrics.actions.labels("approve" if body.approved else "refuse", "province").inc()
        return done

    @api.put("/rounds/{round_id}/priorities", summary="City: order its recommendations (first = 1)",
             responses=errors(404, 409))
    async def priorities(round_id: str, body: Priorities, principal: CityOfficial, request: Request) -> list[CaseView]:
        ranked: list[Case] = []

        async def work(session: Session) -> list[Event]:
            """Read and rank in one transaction, each write over the version read: a forward cannot be undone."""
            ranked.clear()
            for rank, application_id in enumerate(body.application_ids, start=1):
                case = await repo.case(application_id, session)
                if case is None or not may_see(principal, case) or case.round_id != round_id:
                    raise HTTPException(status.HTTP_404_NOT_FOUND, f"申报 {application_id} 不存在")
                _authority(principal, case, Level.CITY)
                if case.stage is not Stage.CITY_REVIEW:
                    raise HTTPException(status.HTTP_409_CONFLICT,
                                        f"申报 {application_id} 不在市州推荐阶段，不能调整排序")
                ranked.append(await repo.save_case(case.model_copy(update={"priority": rank}), session))
            return []

        await uow.run(work, audit=Audit.request(principal, request, "round.priorities", "round", round_id,
                                                application_ids=list(body.application_ids), round_id=round_id,
                                                outcome="、".join(body.application_ids)))
        return [await view(c) for c in ranked]

    @api.put("/rounds/{round_id}/settings", summary="Province: quotas per city and stage deadlines")
    async def put_settings(round_id: str, body: RoundSettings, principal: Province, request: Request) -> RoundSettings:
        unknown = sorted(set(body.quotas) - set(hubei_cities()))
        if unknown or body.round_id != round_id or any(q < 0 for q in body.quotas.values()):
            raise HTTPException(422, [{
                "loc": ["body", "quotas" if unknown else "round_id"], "type": "value_error",
                "msg": f"不是湖北省市州代码：{unknown}" if unknown else "round_id 与路径不一致，或指标为负数"}])
        async def work(session: Session) -> list[Event]:
            await repo.save_settings(body, session)
            return [RoundScheduled(
                application_id=round_id, round_id=round_id, quotas=body.quotas,
                deadlines={stage.value: day for stage, day in body.deadlines.items()}, scheduled_at=clock(),
                actor=actor(principal),
            )]

        await uow.run(work, audit=Audit.request(principal, request, "round.settings", "round", round_id,
                                                round_id=round_id, outcome=_settings_summary(body)))
        return body

    @api.get("/rounds/{round_id}/settings", summary="Quotas and deadlines of a round")
    async def get_settings(round_id: str, _: Official) -> RoundSettings:
        return await repo.settings(round_id) or RoundSettings(round_id=round_id)

    @api.get("/rounds/{round_id}/progress", summary="Per-city progress: counts by stage, quota used, overdue")
    async def progress(round_id: str, principal: Official) -> list[dict[str, Any]]:
        settings = await repo.settings(round_id)
        used = await repo.quota_used(round_id)
        _, cases = await repo.cases(CaseFilter(round_id=round_id))
        today = shanghai_date(clock())
        rows = []
        for code, name in sorted(hubei_cities().items()):
            if not principal.covers_city(code):
                continue
            mine = [c for c in cases if c.city_code == code]
            rows.append({
                "city_code": code, "city_name": name,
                "quota": settings.quotas.get(code) if settings else None, "quota_used": used.get(code, 0),
                "by_stage": {s.value: sum(1 for c in mine if c.stage is s) for s in chain.CASE_STAGES},
                "overdue": sum(1 for c in mine if c.overdue(settings, today)),
            })
        return rows

    return api


async def refresh_gauges(repo: ScreeningRepository, metrics: ChainMetrics, clock: Clock) -> None:
    """Recompute applications by stage and overdue items for the dashboards and alerts, from counts: loading
    every case with its dossier every 15 s grew with each round (7 % of screening's time in `make bench`)."""
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
