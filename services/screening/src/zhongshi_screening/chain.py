"""The recommendation chain (初审推荐), pure: county review → city recommendation → province check.

Each action takes the case as stored, checks it may happen now, and returns the updated case with the
events it causes. A refusal is an `ActionRefused` with the reason in Chinese (HTTP 409).
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field
from zhongshi_contracts import lifecycle
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.events import ApplicationScreened, ClauseResult, Event, ScreeningOutcome
from zhongshi_contracts.recommendation import (
    Actor,
    ApplicationExceptionDecided,
    ApplicationForwarded,
    ApplicationRecommended,
    ApplicationRejected,
    ApplicationReturned,
    ChainStep,
    Level,
    Opinion,
)
from zhongshi_contracts.reference import region
from zhongshi_runtime.errors import Refusal
from zhongshi_runtime.store import Versioned

Stage = lifecycle.Stage  # screening's cases hold the chain's stages (`lifecycle.CHAIN_STAGES`)
STAGE_LABELS = lifecycle.NAMES
CASE_STAGES = tuple(s for s in lifecycle.CHAIN_STAGES if s is not Stage.SUBMITTED)  # a case begins screened
QUEUE_STAGES = {
    Level.COUNTY: Stage.COUNTY_REVIEW, Level.CITY: Stage.CITY_REVIEW, Level.PROVINCE: Stage.EXCEPTION_REVIEW,
}


class ActionRefused(Refusal):
    """The action cannot happen in the case's current state."""


class RoundSettings(BaseModel):
    """The province's per-round settings for the chain: city quotas (推荐指标) and stage deadlines."""

    round_id: str
    quotas: dict[str, int] = Field(default_factory=dict, description="City-level code → how many it may forward.")
    deadlines: dict[Stage, date] = Field(
        default_factory=dict, description="Last day (Asia/Shanghai) of county_review, city_review, exception_review."
    )

    def overdue(self, stage: Stage, today: date) -> bool:
        deadline = self.deadlines.get(stage)
        return deadline is not None and today > deadline


class Case(Versioned):
    """One application in the chain: the current submission, its report and the departments' opinions."""

    id: str
    round_id: str
    revision: int
    stage: Stage
    stage_since: datetime
    region_code: str
    city_code: str
    applicant_credit_code: str
    applicant_name: str
    platform_name: str
    rule_set_version: str
    outcome: ScreeningOutcome
    flagged: list[str]
    clauses: list[ClauseResult]
    dossier: Dossier
    opinions: list[Opinion] = Field(default_factory=list, description="This revision's opinions, county first.")
    earlier_opinions: list[Opinion] = Field(default_factory=list)
    priority: int | None = None
    withdrawn_revision: int = 0

    @property
    def province_administered(self) -> bool:
        return region(self.region_code).province_administered

    def overdue(self, settings: RoundSettings | None, today: date) -> bool:
        return settings is not None and settings.overdue(self.stage, today)


def screened(case: Case | None, event: ApplicationScreened, dossier: Dossier) -> Case:
    """A new verdict: the submission enters county review, or stays with its applicant when ineligible."""
    stage = Stage.SCREENED_OUT if event.outcome is ScreeningOutcome.INELIGIBLE else Stage.COUNTY_REVIEW
    earlier = [*case.earlier_opinions, *case.opinions] if case else []
    return Case(
        id=event.application_id, round_id=event.round_id, revision=event.revision, stage=stage,
        stage_since=event.screened_at, region_code=event.region_code, city_code=event.city_code,
        applicant_credit_code=event.applicant_credit_code, applicant_name=event.applicant_name,
        platform_name=event.platform_name, rule_set_version=event.rule_set_version, outcome=event.outcome,
        flagged=event.flagged, clauses=event.clauses, dossier=dossier, earlier_opinions=earlier,
        withdrawn_revision=case.withdrawn_revision if case else 0, version=case.version if case else 0,
    )


def expect_stage(case: Case, *stages: Stage) -> None:
    if case.stage not in stages:
        raise ActionRefused(f"申报当前处于“{STAGE_LABELS[case.stage]}”阶段，不能执行此操作")


def _step(cls: type[ChainStep], case: Case, level: Level, actor: Actor, opinion: str, now: datetime,
          **extra: object) -> ChainStep:
    return cls(
        application_id=case.id, round_id=case.round_id, revision=case.revision, level=level, actor=actor,
        opinion=opinion, acted_at=now, region_code=case.region_code, city_code=case.city_code,
        applicant_credit_code=case.applicant_credit_code, applicant_name=case.applicant_name,
        platform_name=case.platform_name, **extra,
    )


def _moved(case: Case, stage: Stage, now: datetime, *opinions: Opinion) -> Case:
    return case.model_copy(update={"stage": stage, "stage_since": now, "opinions": [*case.opinions, *opinions]})


def _level_of(case: Case) -> Level:
    return Level.COUNTY if case.stage is Stage.COUNTY_REVIEW else Level.CITY


def recommend(case: Case, actor: Actor, opinion: str, now: datetime) -> tuple[Case, list[Event]]:
    """The county recommends to the city (for a province-administered unit, see `recommend_and_forward`)."""
    expect_stage(case, Stage.COUNTY_REVIEW)
    said = Opinion(level=Level.COUNTY, action="recommend", actor=actor, text=opinion, at=now)
    return _moved(case, Stage.CITY_REVIEW, now, said), [_step(ApplicationRecommended, case, Level.COUNTY, actor,
                                                             opinion, now)]


def forward(
    case: Case, actor: Actor, opinion: str, now: datetime, *, quota: int, unranked: int
) -> tuple[Case, list[Event]]:
    """The city forwards to the province (the caller claimed the quota slot). The application keeps the priority
    the city ranked it at, or takes ``unranked``: the next after every priority the city has given."""
    expect_stage(case, Stage.CITY_REVIEW)
    said = Opinion(level=Level.CITY, action="forward", actor=actor, text=opinion, at=now)
    moved = _moved(case, Stage.EXCEPTION_REVIEW if case.flagged else Stage.EXPERT_REVIEW, now, said)
    priority = case.priority or unranked
    moved = moved.model_copy(update={"priority": priority})
    event = _step(
        ApplicationForwarded, case, Level.CITY, actor, opinion, now, priority=priority, quota=quota,
        opinions=moved.opinions, flagged=case.flagged, rule_set_version=case.rule_set_version,
        clauses=case.clauses, dossier=case.dossier,
    )
    return moved, [event]


def recommend_and_forward(case: Case, actor: Actor, opinion: str, now: datetime, *, quota: int,
                          unranked: int) -> tuple[Case, list[Event]]:
    """仙桃、潜江、天门、神农架: one department, one action, both steps — and both events."""
    recommended, first = recommend(case, actor, opinion, now)
    forwarded, second = forward(recommended, actor, opinion, now, quota=quota, unranked=unranked)
    return forwarded, [*first, *second]


def return_for_correction(case: Case, actor: Actor, opinion: str, now: datetime) -> tuple[Case, list[Event]]:
    expect_stage(case, Stage.COUNTY_REVIEW, Stage.CITY_REVIEW)
    level = _level_of(case)
    said = Opinion(level=level, action="return", actor=actor, text=opinion, at=now)
    return _moved(case, Stage.RETURNED, now, said), [_step(ApplicationReturned, case, level, actor, opinion, now)]


def reject(case: Case, actor: Actor, opinion: str, now: datetime) -> tuple[Case, list[Event]]:
    expect_stage(case, Stage.COUNTY_REVIEW, Stage.CITY_REVIEW)
    level = _level_of(case)
    said = Opinion(level=level, action="reject", actor=actor, text=opinion, at=now)
    return _moved(case, Stage.REJECTED, now, said), [_step(ApplicationRejected, case, level, actor, opinion, now)]


def decide_exception(case: Case, actor: Actor, approved: bool, justification: str,
                     now: datetime) -> tuple[Case, list[Event]]:
    """The province decides the flagged in-principle clauses with a written justification."""
    expect_stage(case, Stage.EXCEPTION_REVIEW)
    said = Opinion(level=Level.PROVINCE, action="exception", actor=actor, text=justification, at=now)
    moved = _moved(case, Stage.EXPERT_REVIEW if approved else Stage.DECLINED, now, said)
    event = _step(ApplicationExceptionDecided, case, Level.PROVINCE, actor, justification, now,
                  approved=approved, clauses=case.flagged)
    return moved, [event]


def withdrawn(case: Case, revision: int, now: datetime) -> Case:
    return case.model_copy(update={"stage": Stage.WITHDRAWN, "stage_since": now, "withdrawn_revision": revision})
