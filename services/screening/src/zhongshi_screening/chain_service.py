"""The recommendation chain's use cases: the departments' actions, the city's priorities, the province's quotas
and deadlines, per-city progress. Plain async functions over `service.Deps`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

from zhongshi_contracts.events import Event
from zhongshi_contracts.recommendation import Actor, Level, RoundScheduled
from zhongshi_contracts.reference import hubei_cities
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.auth import OFFICIALS, Principal, Role
from zhongshi_runtime.clock import shanghai_date
from zhongshi_runtime.errors import NotFound, Refusal
from zhongshi_runtime.outbox import Outcome, Session

from zhongshi_screening import chain
from zhongshi_screening.chain import ActionRefused, Case, RoundSettings, Stage
from zhongshi_screening.repository import CaseFilter
from zhongshi_screening.service import Deps

Step = Callable[[Case, Session], Awaitable[tuple[Case, list[Event]]]]
Decide = Callable[..., tuple[Case, list[Event]]]
Advance = Callable[[Deps, str, Principal, str, Audit], Awaitable[Case]]


class NotTheDepartment(Refusal):
    """The caller is not the department that acts at this level for this case (403)."""

    status_code = 403


def may_see(principal: Principal, case: Case) -> bool:
    if principal.role is Role.APPLICANT:
        return principal.organisation == case.applicant_credit_code
    return principal.role in OFFICIALS and principal.covers_region(case.region_code)


def authority(principal: Principal, case: Case, level: Level) -> None:
    """403 unless the caller is the department that acts at ``level`` for this case."""
    unit = case.province_administered and principal.organisation == case.region_code
    if level is Level.COUNTY:
        ok = unit or (principal.role is Role.COUNTY_OFFICIAL and principal.organisation == case.region_code)
    else:
        ok = unit or (principal.role is Role.CITY_OFFICIAL and principal.organisation == case.city_code)
    if not ok:
        who = "县市区经信部门" if level is Level.COUNTY else "市州经信部门"
        raise NotTheDepartment(f"此环节由申报主体所在地{who}办理")


def actor(principal: Principal) -> Actor:
    return Actor(id=principal.subject, role=principal.role.value, region_code=principal.organisation)


async def visible(deps: Deps, application_id: str, principal: Principal, session: Session = None) -> Case:
    """The case if the caller may see it, else 404."""
    case = await deps.repo.case(application_id, session)
    if case is None or not may_see(principal, case):
        raise NotFound(f"申报 {application_id} 不存在")
    return case


async def act(deps: Deps, application_id: str, principal: Principal, step: Step, audit: Audit,
              counted: tuple[str, str | None]) -> Case:
    """Load the case in scope, apply ``step`` and save it with its events and audit in one transaction; count
    the action at its level (None: the level of the opinion just given)."""
    async def work(session: Session) -> Outcome[tuple[Case, Case]]:
        case = await visible(deps, application_id, principal, session)
        updated, events = await step(case, session)
        audit.round_id, audit.outcome = case.round_id, updated.stage.value
        return Outcome((case, await deps.repo.save_case(updated, session)), events)

    before, after = await deps.uow.run(work, audit=audit)
    deps.metrics.left(before, after)
    action, level = counted
    deps.metrics.actions.labels(action, level or after.opinions[-1].level).inc()
    return after


async def claim_slot(deps: Deps, case: Case, session: Session) -> int:
    """Take one of the city's forwarding slots and return its quota, or refuse, saying the quota and how many
    are used."""
    settings = await deps.repo.settings(case.round_id, session)
    city = hubei_cities()[case.city_code]
    if settings is None or case.city_code not in settings.quotas:
        raise ActionRefused(f"省经信厅尚未下达{city}本批次的推荐指标")
    quota = settings.quotas[case.city_code]
    if await deps.repo.claim_quota(case.round_id, case.city_code, quota, session) is None:
        raise ActionRefused(f"{city}本批次推荐指标为{quota}个，已推荐{quota}个，指标已用完")
    return quota


async def forwarded(deps: Deps, case: Case, session: Session, decide: Decide) -> tuple[Case, list[Event]]:
    """Forward ``case`` within its city's quota by ``decide(quota=…, unranked=…)``, and record the priority it
    takes: the city's priorities stay distinct whatever the order of rankings, forwards and withdrawals."""
    quota = await claim_slot(deps, case, session)
    marks = await deps.repo.priority_marks(case.round_id, case.city_code, session)
    moved, events = decide(quota=quota, unranked=marks.next)
    assert moved.priority is not None  # a forward always gives one
    await deps.repo.mark_forwarded(case.round_id, case.city_code, moved.priority, session)
    return moved, events


async def recommend(deps: Deps, application_id: str, principal: Principal, opinion: str, audit: Audit) -> Case:
    """County: recommend to the city (a province-administered unit: recommend and forward, within the quota)."""
    async def step(case: Case, session: Session) -> tuple[Case, list[Event]]:
        authority(principal, case, Level.COUNTY)
        if not case.province_administered:
            return chain.recommend(case, actor(principal), opinion, deps.clock())
        chain.expect_stage(case, Stage.COUNTY_REVIEW)
        return await forwarded(deps, case, session, partial(chain.recommend_and_forward, case, actor(principal),
                                                            opinion, deps.clock()))

    return await act(deps, application_id, principal, step, audit, ("recommend", "county"))


async def forward(deps: Deps, application_id: str, principal: Principal, opinion: str, audit: Audit) -> Case:
    """City: forward to the province within the city's quota."""
    async def step(case: Case, session: Session) -> tuple[Case, list[Event]]:
        authority(principal, case, Level.CITY)
        chain.expect_stage(case, Stage.CITY_REVIEW)
        return await forwarded(deps, case, session, partial(chain.forward, case, actor(principal), opinion,
                                                            deps.clock()))

    return await act(deps, application_id, principal, step, audit, ("forward", "city"))


async def department_decides(deps: Deps, application_id: str, principal: Principal, opinion: str, audit: Audit,
                             decide: Decide, action: str) -> Case:
    """County or city, whichever holds the case: return it for correction or reject it."""
    async def step(case: Case, session: Session) -> tuple[Case, list[Event]]:
        chain.expect_stage(case, Stage.COUNTY_REVIEW, Stage.CITY_REVIEW)
        authority(principal, case, Level.COUNTY if case.stage is Stage.COUNTY_REVIEW else Level.CITY)
        return decide(case, actor(principal), opinion, deps.clock())

    return await act(deps, application_id, principal, step, audit, (action, None))


async def decide_exception(deps: Deps, application_id: str, principal: Principal, approved: bool,
                           justification: str, audit: Audit) -> Case:
    """Province: approve or refuse a flagged C5/C6 exception."""
    async def step(case: Case, session: Session) -> tuple[Case, list[Event]]:
        return chain.decide_exception(case, actor(principal), approved, justification, deps.clock())

    return await act(deps, application_id, principal, step, audit, ("approve" if approved else "refuse", "province"))


async def prioritise(deps: Deps, round_id: str, principal: Principal, application_ids: Sequence[str],
                     audit: Audit) -> list[Case]:
    """City: rank its recommendations, read and written in one transaction over the versions read (a forward in
    between cannot be undone). Ranks count on after the priorities of those already forwarded; the city's other
    ranked recommendations follow the listed ones in their earlier order, so no two share a priority."""
    async def work(session: Session) -> Outcome[list[Case]]:
        listed = [await rankable(deps, round_id, principal, application_id, session)
                  for application_id in application_ids]
        city = listed[0].city_code
        _, pending = await deps.repo.cases(CaseFilter(round_id=round_id, stage=Stage.CITY_REVIEW, city_code=city))
        rest = sorted((c for c in pending if c.priority is not None and c.id not in application_ids),
                      key=lambda c: c.priority or 0)
        first = (await deps.repo.priority_marks(round_id, city, session)).forwarded + 1
        ranked = [await deps.repo.save_case(case.model_copy(update={"priority": rank}), session)
                  for rank, case in enumerate([*listed, *rest], start=first)]
        await deps.repo.mark_ranked(round_id, city, first + len(ranked) - 1, session)
        return Outcome(ranked[:len(listed)])

    return await deps.uow.run(work, audit=audit)


async def rankable(deps: Deps, round_id: str, principal: Principal, application_id: str, session: Session) -> Case:
    """The round's case awaiting the caller's city, or 404/403/409."""
    case = await visible(deps, application_id, principal, session)
    if case.round_id != round_id:
        raise NotFound(f"申报 {application_id} 不存在")
    authority(principal, case, Level.CITY)
    if case.stage is not Stage.CITY_REVIEW:
        raise ActionRefused(f"申报 {application_id} 不在市州推荐阶段，不能调整排序")
    return case


async def schedule(deps: Deps, settings: RoundSettings, principal: Principal, audit: Audit) -> RoundSettings:
    """Province: set a round's quotas per city and its stage deadlines, and announce them."""
    async def work(session: Session) -> Outcome[RoundSettings]:
        return await _scheduled(deps, settings, principal, session)

    return await deps.uow.run(work, audit=audit)


async def reschedule(deps: Deps, round_id: str, change: dict[str, Any], principal: Principal, audit: Audit
                     ) -> RoundSettings:
    """Province: change one part of a round's settings (its quotas, or its deadlines), keeping the rest. Read
    and written in one transaction: a change to the other part made at the same moment is kept as well."""
    async def work(session: Session) -> Outcome[RoundSettings]:
        current = await deps.repo.settings(round_id, session) or RoundSettings(round_id=round_id)
        return await _scheduled(deps, RoundSettings.model_validate({**current.model_dump(), **change}), principal,
                                session)

    return await deps.uow.run(work, audit=audit)


async def _scheduled(deps: Deps, settings: RoundSettings, principal: Principal, session: Session
                     ) -> Outcome[RoundSettings]:
    await _set_quotas(deps, settings, session)
    await deps.repo.save_settings(settings, session)
    return Outcome(settings, [RoundScheduled(
        application_id=settings.round_id, round_id=settings.round_id, quotas=settings.quotas,
        deadlines={stage.value: day for stage, day in settings.deadlines.items()}, scheduled_at=deps.clock(),
        actor=actor(principal),
    )])


async def _set_quotas(deps: Deps, settings: RoundSettings, session: Session) -> None:
    """Refuse a quota below what the city has forwarded already; written where forwards claim their slots, so a
    quota lowered at the moment of a forward cannot end below the slots taken."""
    before = await deps.repo.settings(settings.round_id, session)
    for city, quota in settings.quotas.items():
        if before is not None and before.quotas.get(city) == quota:
            continue
        if (used := await deps.repo.set_quota(settings.round_id, city, quota, session)) > quota:
            raise ActionRefused(f"{hubei_cities()[city]}本批次已推荐{used}个，推荐指标不得少于已推荐数")


async def progress(deps: Deps, round_id: str, principal: Principal) -> list[dict[str, Any]]:
    """Per city within the caller's scope: counts by stage, quota and quota used, overdue cases."""
    settings = await deps.repo.settings(round_id)
    used = await deps.repo.quota_used(round_id)
    _, cases = await deps.repo.cases(CaseFilter(round_id=round_id))
    today = shanghai_date(deps.clock())
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


def scoped(principal: Principal, where: CaseFilter) -> CaseFilter | None:
    """Narrow a queue's filter to the caller's scope; None when it asks for something outside it."""
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


async def queue(deps: Deps, principal: Principal, where: CaseFilter) -> list[Case]:
    """The cases of a queue within the caller's scope."""
    scoped_where = scoped(principal, where)
    return [] if scoped_where is None else (await deps.repo.cases(scoped_where))[1]
