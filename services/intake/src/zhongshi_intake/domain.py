"""Rounds and applications: pure state transitions that return the events they cause."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from zhongshi_contracts import topics
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.events import (
    ApplicationScreened,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    ScreeningOutcome,
)
from zhongshi_contracts.inputs import ROUND_ID_PATTERN, CalendarDate
from zhongshi_contracts.lifecycle import (
    DECISION_STAGE,
    DESCRIPTIONS,
    EDITABLE,
    FINAL,
    RANK,
    SCREENING_STAGE,
    Stage,
    stage_after,
)
from zhongshi_contracts.materials import MATERIAL_KINDS, MaterialKind, MaterialReference, kind_label
from zhongshi_contracts.recommendation import (
    ApplicationExceptionDecided,
    ApplicationForwarded,
    ApplicationRecommended,
    ApplicationRejected,
    ApplicationReturned,
    ChainStep,
    Level,
)
from zhongshi_contracts.reference import region
from zhongshi_contracts.registry import PlatformAccredited, PlatformCultivationListed, PublicityClosed
from zhongshi_contracts.review import DECISION_LABELS, PanelDrawn, ReviewDecided
from zhongshi_runtime.clock import shanghai_date
from zhongshi_runtime.errors import Refusal
from zhongshi_runtime.store import Versioned


class Round(BaseModel):
    """A round (批次): its submission window (Asia/Shanghai dates, inclusive) and the rule set it uses."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=ROUND_ID_PATTERN, examples=["R2026-01"])
    title: str = Field(min_length=1, max_length=200, examples=["2026年度第一批省级制造业中试平台认定"])
    opens_on: CalendarDate
    closes_on: CalendarDate
    rule_set_version: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$", examples=["hubei-2025-v1"])
    required_materials: list[MaterialKind] = Field(
        default_factory=list, max_length=20, examples=[["application_form", "business_licence", "equipment_list"]],
        description="Material kinds a submission must include (申报材料清单); none when empty.")

    @model_validator(mode="after")
    def _window(self) -> Round:
        if self.closes_on < self.opens_on:
            raise ValueError("closes_on 不得早于 opens_on")
        unknown = [k for k in self.required_materials if k not in MATERIAL_KINDS]
        if unknown:
            raise ValueError(f"未知的材料类别：{'、'.join(unknown)}")
        return self

    def is_open(self, instant: datetime) -> bool:
        return self.opens_on <= shanghai_date(instant) <= self.closes_on


Status = Stage  # the application's stage, from the shared lifecycle (`zhongshi_contracts.lifecycle`)
STATUS_LABELS = DESCRIPTIONS
DECISION_STATUS = DECISION_STAGE
LEVEL_LABELS = {Level.COUNTY: "县市区经信部门", Level.CITY: "市州经信部门", Level.PROVINCE: "省经信厅"}
OUTCOME_STATUS = SCREENING_STAGE


class TransitionRefused(Refusal):
    """The action is not allowed in the application's current state (HTTP 409)."""


class MaterialsMissing(Exception):
    """A submission lacks material kinds its round requires (HTTP 422 listing them)."""

    def __init__(self, kinds: list[str]) -> None:
        super().__init__("缺少必需的申报材料：" + "、".join(kind_label(k) for k in kinds))
        self.kinds = kinds


# The order of steps that happen at one instant (a unit's recommendation and forward are one action).
_FLOW = {t.name: rank for rank, t in enumerate((
    topics.APPLICATION_SUBMITTED, topics.APPLICATION_SCREENED, topics.APPLICATION_RECOMMENDED,
    topics.APPLICATION_RETURNED, topics.APPLICATION_REJECTED, topics.APPLICATION_FORWARDED,
    topics.APPLICATION_EXCEPTION_DECIDED, topics.REVIEW_PANEL_DRAWN, topics.REVIEW_DECIDED,
    topics.PLATFORM_ACCREDITED, topics.PLATFORM_CULTIVATION_LISTED, topics.PUBLICITY_CLOSED,
    topics.APPLICATION_WITHDRAWN))}


class TimelineEntry(BaseModel):
    """One step of the applicant-facing timeline."""

    at: datetime
    event_type: str
    event_id: str
    status: Status
    actor_role: str
    summary: str = Field(description="In Simplified Chinese, for the applicant.")
    details: dict[str, Any] = Field(default_factory=dict)


class Stored(BaseModel):
    """What an application's materials take in storage, kept on it so that an upload need not read the records."""

    model_config = ConfigDict(frozen=True)

    total: int = Field(0, ge=0, description="Bytes of every version stored, replaced ones included: what the "
                       "application's allowance counts.")
    versions: dict[str, int] = Field(default_factory=dict, description="Each material's version number.")

    def next_version(self, replaces: str | None) -> int:
        """1 for a new material, the replaced one's version + 1 for a replacement."""
        return self.versions.get(replaces, 0) + 1 if replaces is not None else 1

    def adding(self, material: MaterialReference, replaces: str | None) -> Stored:
        return Stored(total=self.total + material.size,
                      versions={**self.versions, material.id: self.next_version(replaces)})


class Application(Versioned):
    """An application (申报) of one applicant in one round; every write bumps its version (`save`)."""

    id: str
    round_id: str
    applicant_credit_code: str
    region_code: str
    city_code: str
    status: Status = Status.DRAFT
    revision: int = Field(0, description="How many times it was submitted.")
    chain_step: int = Field(0, description="How far this revision got in the chain (see `step_order`).")
    dossier: Dossier
    idempotency_key: str | None = None
    created_at: datetime
    updated_at: datetime
    timeline: list[TimelineEntry] = Field(default_factory=list)
    materials: list[MaterialReference] = Field(
        default_factory=list, description="The uploaded materials it lists now (the latest version of each).")
    stored: Stored | None = Field(
        None, description="What its materials take in storage; None for an application saved before intake kept "
        "this (counted from the material records then).")

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    def has_event(self, event_id: str) -> bool:
        return any(entry.event_id == event_id for entry in self.timeline)

    def with_step(self, entry: TimelineEntry) -> list[TimelineEntry]:
        """The timeline with ``entry`` where it happened: steps arrive on different topics, in any order."""
        return sorted([*self.timeline, entry], key=lambda e: (e.at, _FLOW.get(e.event_type, len(_FLOW))))


def new_application_id(now: datetime) -> str:
    return f"A{shanghai_date(now):%Y%m%d}-{secrets.token_hex(4)}"


def draft(
    dossier: Dossier, round_: Round, *, now: datetime, idempotency_key: str | None = None
) -> Application:
    county = region(dossier.applicant.region_code)
    return Application(
        id=new_application_id(now), round_id=round_.id, applicant_credit_code=dossier.applicant.credit_code,
        region_code=county.code, city_code=county.city_code, dossier=dossier,
        idempotency_key=idempotency_key, created_at=now, updated_at=now, stored=Stored(),
    )


def revise(app: Application, dossier: Dossier, *, now: datetime) -> Application:
    if app.status not in EDITABLE:
        raise TransitionRefused(f"申报当前状态为“{app.status_label}”，不能修改")
    if dossier.applicant.credit_code != app.applicant_credit_code:
        raise TransitionRefused("不能修改申报主体的统一社会信用代码")
    county = region(dossier.applicant.region_code)
    if app.revision and county.code != app.region_code:  # its officials have seen it: it stays with them
        raise TransitionRefused(f"申报已提交过，所在县市区（{app.region_code}）不能变更")
    return app.model_copy(
        update={"dossier": dossier, "region_code": county.code, "city_code": county.city_code, "updated_at": now}
    )


def submit(
    app: Application, round_: Round, *, now: datetime, event_id: str
) -> tuple[Application, ApplicationSubmitted]:
    if app.status not in EDITABLE:
        raise TransitionRefused(f"申报当前状态为“{app.status_label}”，不能提交")
    if not round_.is_open(now):
        raise TransitionRefused(
            f"批次“{round_.title}”的申报时间为{round_.opens_on}至{round_.closes_on}，当前不在申报期内"
        )
    uploaded = {m.kind for m in app.materials}
    missing = [k for k in round_.required_materials if k not in uploaded]
    if missing:
        raise MaterialsMissing(missing)
    revision = app.revision + 1
    event = ApplicationSubmitted(
        application_id=app.id, round_id=app.round_id, revision=revision,
        rule_set_version=round_.rule_set_version, submitted_at=now, city_code=app.city_code, dossier=app.dossier,
        materials=app.materials,
    )
    entry = TimelineEntry(
        at=now, event_type=event.topic.name, event_id=event_id, status=Status.SUBMITTED, actor_role="applicant",
        summary="已提交申报" if revision == 1 else f"已修改并第{revision}次提交申报",
        details={"revision": revision},
    )
    updated = app.model_copy(
        update={"status": Status.SUBMITTED, "revision": revision, "chain_step": 0, "updated_at": now,
                "timeline": app.with_step(entry)}
    )
    return updated, event


def attach(app: Application, material: MaterialReference, *, stored: Stored, replaces: str | None, now: datetime
           ) -> Application:
    """List an uploaded material, or a new version in place of ``replaces``, counted in ``stored`` (what the
    application had stored before); the earlier version is kept in storage, and a submitted dossier's materials
    are frozen with it (only drafts and returned ones change)."""
    if app.status not in EDITABLE:
        raise TransitionRefused(f"申报当前状态为“{app.status_label}”，材料已随申报冻结，不能上传")
    listed = [m for m in app.materials if m.id != replaces]
    if replaces is not None and len(listed) == len(app.materials):
        raise ValueError(f"申报中没有材料 {replaces}，无法替换")
    return app.model_copy(update={"materials": [*listed, material], "stored": stored.adding(material, replaces),
                                  "updated_at": now})


def deletable(app: Application) -> None:
    """Only a draft that was never submitted may be deleted (a submitted one is withdrawn instead)."""
    if app.status is not Status.DRAFT or app.revision:
        raise TransitionRefused(f"申报当前状态为“{app.status_label}”，只能删除从未提交的草稿")


def withdraw(
    app: Application, *, reason: str, now: datetime, event_id: str
) -> tuple[Application, ApplicationWithdrawn]:
    if app.status in FINAL:
        raise TransitionRefused(f"申报当前状态为“{app.status_label}”，不能撤回")
    if not app.revision:  # no service has heard of it: a withdrawal would announce what was never submitted
        raise TransitionRefused("申报尚未提交，无需撤回；不再申报可删除草稿")
    event = ApplicationWithdrawn(
        application_id=app.id, round_id=app.round_id, revision=app.revision, withdrawn_at=now,
        reason=reason, applicant_credit_code=app.applicant_credit_code, region_code=app.region_code,
        city_code=app.city_code,
    )
    entry = TimelineEntry(
        at=now, event_type=event.topic.name, event_id=event_id, status=Status.WITHDRAWN, actor_role="applicant",
        summary=f"申报主体撤回申报：{reason}" if reason else "申报主体撤回申报",
    )
    updated = app.model_copy(
        update={"status": Status.WITHDRAWN, "updated_at": now, "timeline": app.with_step(entry)}
    )
    return updated, event


def record_screening(app: Application, event: ApplicationScreened, *, event_id: str) -> Application:
    """Add the verdict to the timeline; it moves the status only if it is about the current submission."""
    current = event.revision == app.revision and app.status is Status.SUBMITTED
    status = OUTCOME_STATUS[event.outcome] if current else app.status
    problems = [c for c in event.clauses if c.status != "pass"]
    if event.outcome is ScreeningOutcome.INELIGIBLE:
        summary = "形式审查未通过，已退回修改：" + "；".join(f"{c.clause} {c.reason}" for c in problems)
    elif event.outcome is ScreeningOutcome.NEEDS_EXCEPTION:
        summary = "形式审查通过，以下“原则上”条件待省级认定：" + "；".join(f"{c.clause} {c.reason}" for c in problems)
    else:
        summary = "形式审查通过，符合全部申报条件"
    entry = TimelineEntry(
        at=event.screened_at, event_type=event.topic.name, event_id=event_id, status=status,
        actor_role="screening",
        summary=summary if event.revision >= app.revision else f"（第{event.revision}次提交的结果，已被取代）{summary}",
        details={"revision": event.revision, "outcome": event.outcome, "rule_set_version": event.rule_set_version,
                 "failing": event.failing, "flagged": event.flagged,
                 "clauses": [c.model_dump(mode="json") for c in event.clauses]},
    )
    return app.model_copy(update={"status": status, "timeline": app.with_step(entry)})


def chain_status(event: ChainStep) -> Status:
    """The stage a department's step leads to."""
    stage = stage_after(event)
    if stage is None:
        raise TypeError(type(event).__name__)
    return stage


def _chain_summary(event: ChainStep) -> str:
    who = LEVEL_LABELS[event.level]
    if isinstance(event, ApplicationRecommended):
        return f"{who}初审通过并推荐。意见：{event.opinion}"
    if isinstance(event, ApplicationForwarded):
        return f"{who}推荐至省经信厅（推荐排序第{event.priority}位）。意见：{event.opinion}"
    if isinstance(event, ApplicationReturned):
        return f"{who}退回修改，请在申报期内修改后重新提交。意见：{event.opinion}"
    if isinstance(event, ApplicationRejected):
        return f"{who}不予推荐。理由：{event.opinion}"
    if isinstance(event, ApplicationExceptionDecided):
        verdict = "同意" if event.approved else "不同意"
        return f"{who}对{'、'.join(event.clauses)}“原则上”条件的例外认定：{verdict}。理由：{event.opinion}"
    raise TypeError(type(event).__name__)


def step_order(event: ChainStep) -> int:
    """Steps of one revision follow the lifecycle's ranks; events on different topics may arrive in another order."""
    return RANK[chain_status(event)]


def moves(app: Application, stage: Status) -> bool:
    """Whether an event of the current submission leading to ``stage`` moves the application: a stage gives way
    only to one of higher rank, since events on different topics arrive in any order (a decision can overtake
    the forwarding it followed) and a withdrawal ends everything."""
    return RANK[stage] > RANK[app.status]


def record_chain_step(app: Application, event: ChainStep, *, event_id: str) -> Application:
    """Add a department's step, with its opinion, to the timeline; it moves the status only if it is about
    the current submission and no later step (or decision, listing, withdrawal) arrived first."""
    current = (event.revision == app.revision and moves(app, chain_status(event))
               and step_order(event) > app.chain_step)
    status = chain_status(event) if current else app.status
    entry = TimelineEntry(
        at=event.acted_at, event_type=event.topic.name, event_id=event_id, status=status,
        actor_role=event.actor.role, summary=_chain_summary(event),
        details={"revision": event.revision, "level": event.level, "opinion": event.opinion,
                 "actor": event.actor.model_dump()},
    )
    # how far the revision got: the furthest of its steps, whatever their arrival order (a forwarding that
    # arrives after the withdrawal still happened before it), while only a current step moves the status
    step = max(app.chain_step, step_order(event)) if event.revision == app.revision else app.chain_step
    return app.model_copy(update={"status": status, "chain_step": step, "timeline": app.with_step(entry)})


def record_panel(app: Application, event: PanelDrawn, *, event_id: str) -> Application:
    """The applicant learns that a panel was formed, never who is on it."""
    entry = TimelineEntry(at=event.drawn_at, event_type=event.topic.name, event_id=event_id, status=app.status,
                          actor_role="province_official", summary="省经信厅已组织专家评审（评审专家名单保密）")
    return app.model_copy(update={"timeline": app.with_step(entry)})


def record_decision(app: Application, event: ReviewDecided, *, event_id: str) -> Application:
    """The province's proposed decision (nothing can be resubmitted once in expert review, so it concerns the
    current submission), even when it arrives before the forwarding that led to it."""
    decided = DECISION_STATUS[event.decision]
    status = decided if moves(app, decided) else app.status
    score = f"综合得分{event.score}，排名第{event.rank}。" if event.rank else ""
    entry = TimelineEntry(
        at=event.decided_at, event_type=event.topic.name, event_id=event_id, status=status,
        actor_role="province_official", summary=f"{DECISION_LABELS[event.decision]}。{score}{event.justification}",
        details={"decision": event.decision, "score": str(event.score) if event.score is not None else None,
                 "rank": event.rank, "rubric_version": event.rubric_version},
    )
    return app.model_copy(update={"status": status, "timeline": app.with_step(entry)})


def record_listing(app: Application, event: PlatformAccredited | PlatformCultivationListed, *,
                   event_id: str) -> Application:
    """Publicity closed: the proposed decision became final and the platform is in the registry."""
    if isinstance(event, PlatformAccredited):
        final, number = Status.ACCREDITED, event.certificate_no
        summary = f"公示期满，认定为省级制造业中试平台，证书编号{number}（认定日期{event.accredited_on}）。"
    else:
        final, number, summary = Status.CULTIVATION, None, "公示期满，列为省级制造业中试平台培育对象。"
    status = final if moves(app, final) else app.status
    entry = TimelineEntry(at=event.listed_at or app.updated_at, event_type=event.topic.name, event_id=event_id,
                          status=status, actor_role="province_official", summary=summary,
                          details={"platform_id": event.platform_id, "certificate_no": number})
    return app.model_copy(update={"status": status, "timeline": app.with_step(entry)})


def record_objection_upheld(app: Application, event: PublicityClosed, *, event_id: str) -> Application:
    """Publicity closed with an upheld objection against this application: it is not accredited."""
    status = Status.OBJECTION_UPHELD if moves(app, Status.OBJECTION_UPHELD) else app.status
    entry = TimelineEntry(at=event.closed_at, event_type=event.topic.name, event_id=event_id, status=status,
                          actor_role="province_official", summary="公示期间收到的实名异议经核查成立，不予认定。")
    return app.model_copy(update={"status": status, "timeline": app.with_step(entry)})
