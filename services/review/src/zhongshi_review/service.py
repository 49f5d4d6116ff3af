"""Review's use cases: plain async functions taking `Deps` (the repository, the unit of work, the clock and the
metrics), their inputs and the audit of the request; their refusals are `Refusal`s the kit maps once. Here: the
guards the others share, the expert pool (专家库) and the round's review settings; draws, scoring and decisions
are in `draw_service`, `scoring_service` and `decision_service`."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from zhongshi_contracts.events import Event
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.clock import Clock
from zhongshi_runtime.errors import NotFound, Refusal, must_exist
from zhongshi_runtime.outbox import Session, UnitOfWork

from zhongshi_review.domain import Candidate, committed_rules
from zhongshi_review.metrics import ReviewMetrics
from zhongshi_review.pool import Expert
from zhongshi_review.records import Panel
from zhongshi_review.repository import ReviewRepository
from zhongshi_review.rubric import RoundConfig


@dataclass(frozen=True)
class Deps:
    """What review's use cases work with."""

    repo: ReviewRepository
    uow: UnitOfWork
    clock: Clock
    metrics: ReviewMetrics = field(default_factory=lambda: ReviewMetrics(CollectorRegistry()))


class ReviewRefused(Refusal):
    """The round, panel or sheet does not allow what was asked (409)."""


class NotLead(Refusal):
    """Only the panel's lead may do this (403)."""

    status_code = 403


async def open_round(deps: Deps, round_id: str, session: Session = None) -> None:
    """Refuse any change to a round whose decisions were confirmed."""
    state = await deps.repo.round_state(round_id, session)
    if state and state.confirmed_at:
        raise ReviewRefused("本批次评审结果已确认")


async def still_open(deps: Deps, round_id: str, application_id: str, session: Session) -> None:
    """In a transaction changing what an application's decision rests on (a score sheet, a decline, an
    inspection, an override): take the application's turn, then refuse if its round was confirmed. Confirming
    takes every candidate's turn, so the two cannot both commit: the second runs again and sees the first, a
    change the confirmation included or a round now closed to it."""
    await deps.repo.take_turn(application_id, session)
    await open_round(deps, round_id, session)


async def draw_rules_of(deps: Deps, round_id: str) -> RoundConfig:
    """The draw rules the round's commitment fixed (`domain.committed_rules`)."""
    return committed_rules(must_exist(await deps.repo.commitment(round_id), f"批次 {round_id} 尚未发布抽取承诺"))


async def candidate(deps: Deps, application_id: str) -> Candidate:
    return must_exist(await deps.repo.candidate(application_id), f"申报 {application_id} 不在专家评审阶段")


async def drawn_panel(deps: Deps, application_id: str) -> Panel:
    return must_exist(await deps.repo.panel(application_id), "尚未抽取评审组")


async def my_panel(deps: Deps, application_id: str, expert_id: str) -> Panel:
    """The panel of an application the expert is assigned to; 404 otherwise (not revealed)."""
    panel = await deps.repo.panel(application_id)
    if panel is None or expert_id not in panel.experts:
        raise NotFound(f"没有申报 {application_id} 的评审任务")
    return panel


async def save_experts(deps: Deps, experts: list[Expert], audit: Audit) -> None:
    """Add or update experts, all or none, with the audit of the request."""
    async def work(session: Session) -> list[Event]:
        await deps.repo.save_experts(experts, session)
        return []

    await deps.uow.run(work, audit=audit)


async def put_expert(deps: Deps, expert: Expert, audit: Audit) -> Expert:
    before = await deps.repo.expert(expert.id)
    audit.outcome = ("停用" if not expert.active else "更新") if before else "新增"
    await save_experts(deps, [expert], audit)
    return expert


DRAW_RULES = ("panel_size", "conflict_years", "exclude_same_city")


async def put_settings(deps: Deps, settings: RoundConfig, audit: Audit) -> RoundConfig:
    """Set the round's review settings; the draw rules are fixed by the draw commitment (the panels were drawn,
    and are judged complete, by them), the rubric once scoring has started."""
    round_id = settings.round_id
    state = await deps.repo.round_state(round_id)
    if state and state.confirmed_at:
        raise ReviewRefused("本批次评审结果已确认，不能修改评审设置")

    async def work(session: Session) -> list[Event]:
        started = await deps.repo.scoring_started_in(round_id, session)
        current = await deps.repo.round_config(round_id, session)
        committed = await deps.repo.commitment(round_id, session)
        if committed is not None and any(getattr(settings, f) != getattr(committed, f) for f in DRAW_RULES):
            raise ReviewRefused("本批次已发布抽取承诺，评审组人数、回避年限和同城回避不能再修改；其他设置仍可修改")
        if started is not None and settings.rubric != current.rubric:  # never two rubrics in one aggregate
            raise ReviewRefused(f"本批次已开始评分（评分标准 {started.rubric_version}），"
                                "不能修改评分标准；其他设置仍可修改")
        await deps.repo.save_round_config(settings, session)
        return []

    audit.outcome = (f"评分表 {settings.rubric.version}；专家 {settings.panel_size} 人；认定线 "
                     f"{settings.accreditation_line}；培育线 {settings.cultivation_line}；名额 {settings.quota}")
    await deps.uow.run(work, audit=audit)
    return settings
