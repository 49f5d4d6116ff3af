"""Review's use cases: plain async functions taking their inputs, the audit of the request, and `Deps` (the
repository, the unit of work, the clock and the metrics). Their refusals are `Refusal`s the kit maps once."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from zhongshi_runtime.clock import Clock
from zhongshi_runtime.errors import NotFound, Refusal
from zhongshi_runtime.outbox import UnitOfWork

from zhongshi_review.domain import Candidate
from zhongshi_review.metrics import ReviewMetrics
from zhongshi_review.records import Panel
from zhongshi_review.repository import ReviewRepository


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


async def open_round(deps: Deps, round_id: str) -> None:
    """Refuse any change to a round whose decisions were confirmed."""
    state = await deps.repo.round_state(round_id)
    if state and state.confirmed_at:
        raise ReviewRefused("本批次评审结果已确认")


async def candidate(deps: Deps, application_id: str) -> Candidate:
    found = await deps.repo.candidate(application_id)
    if found is None:
        raise NotFound(f"申报 {application_id} 不在专家评审阶段")
    return found


async def drawn_panel(deps: Deps, application_id: str) -> Panel:
    found = await deps.repo.panel(application_id)
    if found is None:
        raise NotFound("尚未抽取评审组")
    return found


async def my_panel(deps: Deps, application_id: str, expert_id: str) -> Panel:
    """The panel of an application the expert is assigned to; 404 otherwise (not revealed)."""
    panel = await deps.repo.panel(application_id)
    if panel is None or expert_id not in panel.experts:
        raise NotFound(f"没有申报 {application_id} 的评审任务")
    return panel
