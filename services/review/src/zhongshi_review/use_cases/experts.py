"""The province's expert pool (专家库) and each round's review settings."""

from __future__ import annotations

from zhongshi_contracts.events import Event
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.outbox import Session

from zhongshi_review.pool import Expert
from zhongshi_review.rubric import RoundConfig
from zhongshi_review.use_cases import Deps, ReviewRefused


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


async def put_settings(deps: Deps, settings: RoundConfig, audit: Audit) -> RoundConfig:
    """Set the round's review settings; the rubric is fixed once scoring has started."""
    round_id = settings.round_id
    state = await deps.repo.round_state(round_id)
    if state and state.confirmed_at:
        raise ReviewRefused("本批次评审结果已确认，不能修改评审设置")

    async def work(session: Session) -> list[Event]:
        started = await deps.repo.scoring_started_in(round_id, session)
        current = await deps.repo.round_config(round_id, session)
        if started is not None and settings.rubric != current.rubric:  # never two rubrics in one aggregate
            raise ReviewRefused(f"本批次已开始评分（评分标准 {started.rubric_version}），"
                                "不能修改评分标准；其他设置仍可修改")
        await deps.repo.save_round_config(settings, session)
        return []

    audit.outcome = (f"评分表 {settings.rubric.version}；专家 {settings.panel_size} 人；认定线 "
                     f"{settings.accreditation_line}；培育线 {settings.cultivation_line}；名额 {settings.quota}")
    await deps.uow.run(work, audit=audit)
    return settings
